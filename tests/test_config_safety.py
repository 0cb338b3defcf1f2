"""Issue 15, class 6 (part): the config is read safely. Generated YAML alias bombs are
refused in bounded memory, and a key given twice anywhere is refused with its line."""

from __future__ import annotations

import tracemalloc

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from dnflow import config

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True)


def _bomb(depth: int, fan: int) -> str:
    lines = ["searches:", "  demo:", "    source: demo", "    tweets: 10", "    title:",
             "      - &a0 [" + ", ".join(['"lol"'] * fan) + "]"]
    for d in range(1, depth):
        lines.append(f"      - &a{d} [" + ", ".join([f"*a{d - 1}"] * fan) + "]")
    return "\n".join(lines) + "\n"


@SETTINGS
@given(depth=st.integers(3, 9), fan=st.integers(9, 30))
def test_alias_bombs_are_refused_in_bounded_memory(tmp_path_factory, depth, fan):
    path = tmp_path_factory.mktemp("bomb") / "searches.yaml"
    path.write_text(_bomb(depth, fan))
    expanded = sum(fan ** d for d in range(1, depth + 1))
    tracemalloc.start()
    try:
        if expanded > config.MAX_VALUES:
            with pytest.raises(config.ConfigError, match="alias"):
                config.check_files([path])
            with pytest.raises(config.ConfigError, match="alias"):
                config.validate(yaml.safe_load(path.read_text()))
        else:
            config.check_files([path])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20


@SETTINGS
@given(slugs=st.lists(st.sampled_from(["a", "b", "c", "news", "x1"]), min_size=2,
                      max_size=6), key=st.sampled_from(["slug", "search", "top"]))
def test_a_key_given_twice_is_refused_with_its_line(tmp_path_factory, slugs, key):
    lines = ["searches:"]
    for slug in slugs:
        lines.append(f"  {slug}:")
        lines.append("    source: demo")
        lines.append("    tweets: 10")
        if key == "search":
            lines.append("    tweets: 20")
    if key == "top":
        lines.append("searches: {}")
    path = tmp_path_factory.mktemp("dup") / "searches.yaml"
    path.write_text("\n".join(lines) + "\n")
    twice = len(set(slugs)) < len(slugs) or key in ("search", "top")
    if twice:
        with pytest.raises(config.ConfigError, match=r"line \d+: key .* appears twice"):
            config.check_files([path])
    else:
        config.check_files([path])
