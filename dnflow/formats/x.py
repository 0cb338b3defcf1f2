"""X's archive formats: what twarc, twarc2 and the X API write (dnflow.formats).

Detection here, normalizing in :mod:`dnflow.formats.x_json` (parsed JSON) and
:mod:`dnflow.formats.x_struct` (v2 pages decoded into structs, the fast path).
"""

from __future__ import annotations

from operator import attrgetter, methodcaller
from typing import Any

from dnflow.formats import FORMATS, Batch, Format, x_struct
from dnflow.formats.x_json import _EMPTY, Includes, _describe, normalize_v1, normalize_v2
from dnflow.record import Post

_v2_id = methodcaller("get", "id")


def _v1_id(raw: dict) -> Any:
    return raw.get("id_str") or (str(raw["id"]) if "id" in raw else None)


def _normalize_v1(raw: dict, inc: Includes | None) -> Post:
    return normalize_v1(raw)


def _normalize_v2(raw: dict, inc: Includes | None) -> Post:
    return normalize_v2(raw, inc or _EMPTY)


_struct_id = attrgetter("id")  # C-level: called for every post of every page
def _errors(errors: Any) -> int:
    """How many errors an answer reports (its ``errors``, when it has some)."""
    try:
        return len(errors) if errors else 0
    except TypeError:
        return 1


class _X(Format):
    platform = "x"
    explains_all = True

    def explain(self, value: Any) -> str | None:
        return _describe(value)


@FORMATS.register
class V2Page(_X):
    """X API v2 search answers: a ``data`` list, with ``includes`` for what they name.
    Pages decoded by ``x_struct.loads`` come as structs (the fast path)."""

    name = "v2-page"
    loads = staticmethod(x_struct.loads)

    def split(self, value: Any) -> Batch | None:
        if value.__class__ is x_struct.Page:
            if value.data.__class__ is not list:
                return None
            return Batch(self.name, value.data, x_struct.includes_of(value), _struct_id,
                         x_struct.normalize, True, _errors(value.errors))
        if isinstance(value, dict):
            data = value.get("data")
            if isinstance(data, list):
                if data and isinstance(data[0], dict) and "text" in data[0]:
                    return Batch(self.name, data, Includes(value.get("includes")), _v2_id,
                                 _normalize_v2, False, _errors(value.get("errors")))
                if not data and "meta" in value and "errors" not in value:
                    # an empty search answer: valid, no tweets
                    return Batch(self.name, [], None, _v2_id, _normalize_v2)
        return None


@FORMATS.register
class V2Stream(_X):
    """X API v2 stream lines: ``data`` is one tweet."""

    name = "v2-stream"

    def split(self, value: Any) -> Batch | None:
        if value.__class__ is x_struct.Page:
            if value.data.__class__ is list:
                return None
            return Batch(self.name, [value.data], x_struct.includes_of(value), _struct_id,
                         x_struct.normalize, True, _errors(value.errors))
        if isinstance(value, dict):
            data = value.get("data")
            if isinstance(data, dict) and "text" in data:
                return Batch(self.name, [data], Includes(value.get("includes")), _v2_id,
                             _normalize_v2)
        return None


@FORMATS.register
class V11(_X):
    """X API v1.1 tweets, one per line (twarc 1, DocNow's first dnflow)."""

    name = "v1.1"

    def split(self, value: Any) -> Batch | None:
        if (isinstance(value, dict) and value.get("data") is None and "user" in value
                and ("id_str" in value or "id" in value)
                and ("text" in value or "full_text" in value or "extended_tweet" in value)):
            return Batch(self.name, [value], None, _v1_id, _normalize_v1)
        return None


@FORMATS.register
class V2Flat(_X):
    """``twarc2 flatten`` output: one v2 tweet per line, author and references inlined."""

    name = "v2-flat"

    def split(self, value: Any) -> Batch | None:
        # a Mastodon status may have a "text" (its source, as a delete answers it): it
        # has an "account", which no tweet has
        if (isinstance(value, dict) and value.get("data") is None and "id" in value
                and "text" in value and "account" not in value):
            return Batch(self.name, [value], None, _v2_id, _normalize_v2)
        return None

