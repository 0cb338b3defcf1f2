"""Issue 15, class 4: secrets never leak. Each source's fake echoes the request's
credentials (Authorization, Cookie, the bare token, Bluesky's app password and refresh
token) in 400 and 500 bodies, from several pages on; the run records, archives and logs
never hold one. Odd tokens (line breaks, control or non-Latin-1 characters) are refused
before use with a message that never shows them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dnflow.redact import MASK, redact, register

from . import bskyutil, mastodonutil, xutil

ECHOES = ["echo-400", "echo-500"]


def _texts(root: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace")
                     for p in sorted(root.rglob("*")) if p.is_file())


def _assert_clean(text: str, secrets: list[str]) -> None:
    for s in secrets:
        if s:
            assert s not in text, f"a secret leaked: …{text[max(text.find(s) - 80, 0):][:200]}"


@pytest.mark.parametrize("start", [1, 3])
@pytest.mark.parametrize("fault", ECHOES)
def test_x_echoed_credentials_never_leak(tmp_path, fault, start):
    from dnflow.sources.x import collect_window

    with (xutil.make_api(450, token=xutil.TOKEN, faults=[f"{start}+={fault}"]) as api,
          open(tmp_path / "collect.log", "w") as log):
        rec = collect_window("s", {"source": "x", "query": xutil.QUERY}, "once",
                             tmp_path / "data", env=xutil.x_env(api), log=log,
                             backoff=xutil.FAST)
    assert rec["status"] == "failed" and rec["error"]
    _assert_clean(json.dumps(rec) + _texts(tmp_path), [xutil.TOKEN])
    assert "Authorization: " + MASK in rec["error"] or "Bearer " + MASK in rec["error"] \
        or MASK in rec["error"]


@pytest.mark.parametrize("start", [1, 3])
@pytest.mark.parametrize("fault", ECHOES)
def test_bluesky_echoed_credentials_never_leak(tmp_path, fault, start):
    from dnflow.sources.bluesky import collect_window

    with bskyutil.make_api(450, faults=[f"{start}+={fault}"]) as api:
        env = bskyutil.bsky_env(api, tmp_path.parent / (tmp_path.name + "-state"))
        with open(tmp_path / "collect.log", "w") as log:
            rec = collect_window("s", {"source": "bluesky", "query": bskyutil.QUERY}, "once",
                                 tmp_path / "data", env=env, log=log, backoff=bskyutil.FAST)
        secrets = api.secrets() + [bskyutil.PASSWORD]
    assert rec["status"] == "failed"
    _assert_clean(json.dumps(rec) + _texts(tmp_path), secrets)


@pytest.mark.parametrize("start", [1, 3])
@pytest.mark.parametrize("fault", ECHOES)
def test_mastodon_echoed_credentials_never_leak(tmp_path, fault, start):
    from dnflow.sources.mastodon import collect_window

    inst = mastodonutil.INSTANCES
    with mastodonutil.make_fake(240, faults=[f"{start}+={fault}"], login=inst,
                                tokens={i: mastodonutil.TOKEN for i in inst}) as api:
        env = mastodonutil.m_env(api, MASTODON_TOKEN=mastodonutil.TOKEN)
        with open(tmp_path / "collect.log", "w") as log:
            rec = collect_window("s", mastodonutil.SEARCH, "once", tmp_path / "data",
                                 env=env, log=log, backoff=mastodonutil.FAST)
    assert rec["status"] == "failed"
    assert any(r.get("auth") == "token" for r in api.requests)  # the token was sent
    _assert_clean(json.dumps(rec) + _texts(tmp_path), [mastodonutil.TOKEN])


ODD = st.builds(lambda a, c, b: a + c + b,
                st.text("AZaz09-_", min_size=4, max_size=20),
                st.sampled_from(["\n", "\r\n", "\t", "\x00", "…", "é€", "\u2028", " "]),
                st.text(min_size=0, max_size=10))


@settings(max_examples=30, deadline=None, derandomize=True)
@given(token=ODD)
def test_odd_tokens_are_refused_without_being_shown(tmp_path_factory, token):
    """A token with a line break, a control or non-Latin-1 character (the docs' own
    AAAA… placeholder): every source refuses it before any request, in one line that
    does not show it."""
    from dnflow.sources.bluesky import collect_window as bsky
    from dnflow.sources.mastodon import collect_window as masto
    from dnflow.sources.x import collect_window as x

    tmp = tmp_path_factory.mktemp("odd")
    shown = token.strip()
    runs = [
        (x, {"source": "x", "query": "#a"}, {"X_BEARER_TOKEN": token,
                                             "DNFLOW_X_API_URL": "http://127.0.0.1:9"}),
        (bsky, {"source": "bluesky", "query": "#a"},
         {"BLUESKY_HANDLE": "a.bsky.social", "BLUESKY_APP_PASSWORD": token,
          "DNFLOW_BLUESKY_API_URL": "http://127.0.0.1:9", "XDG_STATE_HOME": str(tmp / "st")}),
        (masto, mastodonutil.SEARCH, {"MASTODON_TOKEN": token,
                                      "DNFLOW_MASTODON_API_URL": "http://127.0.0.1:9"}),
    ]
    for i, (collect, search, env) in enumerate(runs):
        if not shown or shown.isascii() and shown.isprintable() and " " not in shown:
            continue  # (stripped to a usable token: not an odd one)
        with open(tmp / f"{i}.log", "w") as log:
            rec = collect("s", search, "once", tmp / f"d{i}", env=env, log=log)
        assert rec["status"] == "failed"
        text = json.dumps(rec, ensure_ascii=False) + _texts(tmp)
        assert shown not in text


def test_the_redactor_removes_credentials_it_was_never_told():
    register("registered-secret-123")
    text = ('401: {"Authorization": "Bearer abcdefghijk", "cookie": "sid=xyz123456", '
            '"accessJwt": "eyJhbGciOi.x.y", "password": "hunter22"} registered-secret-123 '
            "Proxy-Authorization: Basic dXNlcjpwYXNz")
    out = redact(text)
    for s in ("abcdefghijk", "sid=xyz123456", "eyJhbGciOi.x.y", "hunter22",
              "registered-secret-123", "dXNlcjpwYXNz"):
        assert s not in out
    assert redact("next_token 7140dibdnow9c7btw481y8a5jmm5 page 3") == \
        "next_token 7140dibdnow9c7btw481y8a5jmm5 page 3"
