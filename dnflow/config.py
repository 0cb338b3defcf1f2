"""searches.yaml: load, validate, and explain mistakes in one line each.

The JSON schema is the contract: a base (dnflow/schema/searches.schema.yaml, shipped in
the package) plus each registered source's keys (:func:`searches_schema`). This module turns
jsonschema's errors into "search 'x', key 'y': what is wrong", and asks each source to
check what a schema cannot (archive: that every file or glob names an existing file).
"""

from __future__ import annotations

import copy
import glob
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from dnflow import deletions
from dnflow.sources import SOURCES

# the base schema, package data: found the same way in an editable or a wheel install
BASE_SCHEMA = Path(__file__).resolve().parent / "schema" / "searches.schema.yaml"


class ConfigError(ValueError):
    """A mistake in searches.yaml; str() is the one line to show the user."""


def load_schema(path: str | Path = BASE_SCHEMA) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def searches_schema() -> dict:
    """The whole schema: the base, with each registered source's keys.

    A key that several sources share with one definition (``query``) is checked at the top;
    a key they define differently is checked per source. Each source's required keys apply
    when ``source`` is that source; a key of another source is caught by :func:`validate`.
    """
    out = load_schema()
    search = out["$defs"]["search"]
    defs: dict[str, list[dict]] = {}
    for src in SOURCES:
        for key, sub in src.schema()["properties"].items():
            if sub not in defs.setdefault(key, []):
                defs[key].append(sub)
    for key, subs in defs.items():
        search["properties"][key] = copy.deepcopy(subs[0]) if len(subs) == 1 else {}
    search["properties"]["source"]["enum"] = SOURCES.names()
    for src in SOURCES:
        part = src.schema()
        then: dict = {"required": part["required"]}
        own = {k: v for k, v in part["properties"].items() if len(defs[k]) > 1}
        if own:
            then["properties"] = copy.deepcopy(own)
        search["allOf"].append({"if": {"properties": {"source": {"const": src.name}}},
                                "then": then})
    return out


def _where(path: list) -> str:
    if len(path) >= 2 and path[0] == "searches":
        where = f"search '{path[1]}'"
        if len(path) >= 3:
            # a key of a mapping inside a search (media: download) is named media.download
            keys = [str(path[2])]
            for p in path[3:]:
                if not isinstance(p, str):
                    break
                keys.append(p)
            where += f", key '{'.'.join(keys)}'"
        return where
    return "top level" if not path else "key '" + "/".join(map(str, path)) + "'"


def _explain(err: jsonschema.ValidationError) -> str:
    path = list(err.absolute_path)
    v = err.validator
    if v == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        if path == ["searches"]:
            return f"bad slug {extra[0]!r}: use lower-case letters, digits, - and _ (max 64)"
        return f"{_where(path)}: unknown key {', '.join(map(repr, extra))}"
    if v == "propertyNames" or "propertyNames" in err.relative_schema_path:
        return (f"bad slug {err.instance!r}: use lower-case letters, digits, - and _, "
                "starting with a letter or digit (max 64)")
    if v == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        return f"{_where(path)}: missing key '{missing}'"
    if v == "enum":
        return f"{_where(path)}: {err.instance!r} is not one of {err.validator_value}"
    if v == "pattern" and path[-1:] == ["every"]:
        return f"{_where(path)}: {err.instance!r} is not a window like 15m, 6h or 1d"
    if v == "pattern" and err.schema.get("description"):  # a source says what it wants
        return f"{_where(path)}: {err.instance!r} is not {err.schema['description']}"
    if v == "pattern":
        return f"{_where(path)}: {err.instance!r} should look like 2026-11-01T00:00:00Z"
    if v == "type" and path[-1:] == ["media"]:
        return f"{_where(path)}: give a mapping, such as {{download: full, max_items: 500}}"
    if v == "oneOf" and path[-1:] in (["files"], ["deletions"]):
        return f"{_where(path)}: give a path, a glob or a list of them"
    return f"{_where(path)}: {err.message}"


# values a searches.yaml may hold once its aliases are expanded: a thousand searches of
# a few dozen values each. A YAML alias bomb (billion laughs) is refused at this count,
# in time and memory bounded by it, before anything walks or prints the whole value
MAX_VALUES = 100_000


def check_size(config: Any, limit: int = MAX_VALUES) -> None:
    """ConfigError when ``config`` holds more than ``limit`` values (aliases counted
    each time they are used)."""
    stack, seen = [config], 0
    while stack:
        value = stack.pop()
        seen += 1
        if seen > limit:
            raise ConfigError(f"more than {limit:,} values once its YAML aliases are "
                              "expanded: an alias bomb, or a file that is not a "
                              "searches.yaml")
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (YAML would keep the last
    silently: a duplicated slug would replace the first search)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, list | dict):
                continue  # (not a valid key anyway: the schema says so)
            if key in seen:
                raise ConfigError(f"line {line}: key {key!r} appears twice in the same "
                                  f"mapping (first on line {seen[key]})")
            seen[key] = line
        return super().construct_mapping(node, deep)


def check_files(paths: Any) -> None:
    """Read each config file as YAML again, strictly: ConfigError naming the file and
    line of a duplicate key, or of an alias bomb (before Snakemake's copy is walked)."""
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                loader = _StrictLoader(f)
                try:
                    value = loader.get_single_data()
                finally:
                    loader.dispose()
        except ConfigError as e:
            raise ConfigError(f"{path}: {e}") from None
        except (OSError, yaml.YAMLError, UnicodeDecodeError):
            continue  # Snakemake reports a file it cannot read or parse
        try:
            check_size(value)
        except ConfigError as e:
            raise ConfigError(f"{path}: {e}") from None


def _slugs_as_text(config: dict) -> None:
    """YAML reads an unquoted slug 2024 as a number: it means the text. One it reads as
    true, false or null (yes, no, on, off, ~) cannot be told back: ConfigError."""
    searches = config.get("searches")
    if not isinstance(searches, dict):
        return
    for key in list(searches):
        if isinstance(key, bool) or key is None:
            raise ConfigError(f"a search's slug reads as {key!r} in YAML (yes, no, on, off, "
                              "true, false, ~ and null do): put it in quotes")
    if any(not isinstance(k, str) for k in searches):
        config["searches"] = {str(k) if isinstance(k, int) else k: v
                              for k, v in searches.items()}


def _times_as_text(value: Any) -> None:
    """YAML reads an unquoted 2026-11-01T00:00:00Z as a datetime and 2026-11-01 as a
    date: put them back as the ISO text the schema (and the APIs) take, in place; and a
    whole number written 5.0 as the number 5."""
    items = (value.items() if isinstance(value, dict)
             else enumerate(value) if isinstance(value, list) else ())
    for key, v in list(items):
        if isinstance(v, datetime):
            if v.tzinfo is not None:
                v = v.astimezone(UTC).replace(tzinfo=None)
                value[key] = v.isoformat(timespec="seconds") + "Z"
            else:
                value[key] = v.isoformat(timespec="seconds")
        elif isinstance(v, date):
            value[key] = v.isoformat()
        elif isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
            value[key] = int(v)  # tweets: 5.0 is 5 (5.5 is not a count: the schema says so)
        elif isinstance(v, dict | list):
            _times_as_text(v)


def validate(config: Any, schema: dict | None = None, workdir: str | Path = ".") -> dict:
    """Return the searches dict or raise ConfigError with a one-line message."""
    if not isinstance(config, dict):
        raise ConfigError("top level: expected a mapping with a 'searches' key")
    check_size(config)
    _slugs_as_text(config)
    _times_as_text(config)
    validator = jsonschema.Draft202012Validator(schema or searches_schema())
    errors = list(validator.iter_errors(config))
    if errors:
        # a typo'd key also makes the real key "missing": name the typo first
        first = [e for e in errors if e.validator in ("additionalProperties", "propertyNames")
                 or "propertyNames" in e.relative_schema_path]
        best = jsonschema.exceptions.best_match(first or errors)
        raise ConfigError(_explain(best))
    searches = config["searches"] or {}
    try:
        expand_paths(config.get("deletions") or [], workdir, allow_empty_glob=True)
    except ConfigError as e:
        raise ConfigError(f"deletions: {e}") from None
    common = set(load_schema()["$defs"]["search"]["properties"])
    for slug, search in searches.items():
        src = SOURCES[search["source"]]
        for key in search:
            if key not in common | src.config_keys():
                raise ConfigError(f"search '{slug}', key '{key}': not used by "
                                  f"source '{search['source']}'")
        src.check(slug, search, workdir)
        deletions.search_files(slug, search, config, workdir)  # every path names a file
    return searches


def archive_files(slug: str, search: dict, workdir: str | Path = ".") -> list[str]:
    """Expand a search's ``files`` (paths and globs) in order, without duplicates."""
    try:
        return expand_paths(search["files"], workdir)
    except ConfigError as e:
        raise ConfigError(f"search '{slug}', key 'files': {e}") from None


def expand_paths(patterns: str | list[str], workdir: str | Path = ".",
                 allow_empty_glob: bool = False) -> list[str]:
    """Paths and globs (relative to ``workdir``) → the files they name, in order, without
    duplicates; ConfigError for a path that is no file or (unless allowed) a glob that
    matches none."""
    if isinstance(patterns, str):
        patterns = [patterns]
    out: list[str] = []
    seen: set[tuple[int, int]] = set()  # a file reached by two names (links, a glob
    # through a symlink loop) is read and published once, under its first name
    for pattern in patterns:
        expanded = Path(workdir, pattern)
        if glob.has_magic(pattern):
            matches = sorted(glob.glob(str(expanded), recursive=True))
            matches = [m for m in matches if Path(m).is_file()]
            if not matches and not allow_empty_glob:
                raise ConfigError(f"no file matches {pattern!r}")
        else:
            if not expanded.is_file():
                raise ConfigError(f"no such file {pattern!r}")
            matches = [str(expanded)]
        for m in matches:
            st = os.stat(m)
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            out.append(m if Path(pattern).is_absolute() else os.path.relpath(m, workdir))
    return out
