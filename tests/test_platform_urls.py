"""Fast paths of the X URLs every record makes, held to the plain way of making them."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from dnflow.formats.x_struct import User, _user
from dnflow.platforms import PLATFORMS

HANDLES = st.one_of(st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True),
                    st.text(min_size=1, max_size=20))


@settings(max_examples=300, derandomize=True)
@given(handle=HANDLES)
def test_x_profile_url_is_the_quoted_handle(handle):
    want = "https://x.com/" + quote(handle.lstrip("@＠"), safe="")
    assert PLATFORMS["x"].profile_url(handle) == want


@settings(max_examples=300, derandomize=True)
@given(handle=HANDLES)
def test_a_v2_authors_profile_url_is_the_platforms(handle):
    assert _user(User("1", handle), "1").url == PLATFORMS["x"].profile_url(handle)
