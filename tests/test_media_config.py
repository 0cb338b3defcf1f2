"""A search's media: keys: their defaults, a demo's, and the environment's override."""

import pytest
import yaml

from dnflow.config import validate
from dnflow.media.settings import DOWNLOAD_ENV, MediaSettings, media_settings


def settings(text: str, env: dict | None = None) -> MediaSettings:
    (search,) = validate(yaml.safe_load(text)).values()
    return media_settings(search, env or {})


def test_the_defaults():
    assert settings("searches: {s: {source: x, query: a}}") == MediaSettings(
        "thumbnails", 2000, 5_000_000)


def test_a_demo_downloads_its_generated_images_offline():
    # its URLs are invented: they are answered by the demo's fetcher, never a server
    got = settings("searches: {s: {source: demo, posts: 5}}")
    assert got.download == "thumbnails"
    assert got.fetcher == "dnflow.media.demo_fetch:DemoFetcher"
    assert got.params()["fetcher"] == got.fetcher
    assert "fetcher" not in settings("searches: {s: {source: x, query: a}}").params()
    assert settings("searches: {s: {source: demo, posts: 5, media: {download: none}}}"
                    ).download == "none"


def test_given_keys_and_a_whole_number_written_with_a_point():
    got = settings("searches: {s: {source: x, query: a, media: "
                   "{download: full, max_items: 10, max_bytes: 1000000.0}}}")
    assert got == MediaSettings("full", 10, 1_000_000)
    assert settings("searches: {s: {source: x, query: a, media: {}}}") == MediaSettings()


def test_the_environment_overrides_every_search():
    text = "searches: {s: {source: x, query: a, media: {download: full, max_items: 3}}}"
    assert settings(text, {DOWNLOAD_ENV: "none"}) == MediaSettings("none", 3)
    assert settings(text, {DOWNLOAD_ENV: ""}).download == "full"
    with pytest.raises(ValueError, match="DNFLOW_MEDIA_DOWNLOAD='some'"):
        settings(text, {DOWNLOAD_ENV: "some"})
