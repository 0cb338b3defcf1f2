"""Deletions: posts that must leave every output (issue 14).

A search's deletions are the lines of its ``deletions:`` files (and the top level's, and
``data/<slug>/deletions-recheck.txt`` that ``dnflow recheck`` writes). One entry a line:

- ``1170025343920402432``: a post id (any platform's id as the records hold it);
- ``https://x.com/<user>/status/<id>`` (twitter.com, mobile.twitter.com too): that id;
- ``at://<did>/app.bsky.feed.post/<rkey>``: a Bluesky post;
  ``https://bsky.app/profile/<handle or did>/post/<rkey>``: the same post by its link;
- ``https://<instance>/users/<name>/statuses/<id>`` or ``https://<instance>/@<name>/<id>``:
  a Mastodon status by its URI or its URL (any other http(s) link: the post whose URI or
  URL it is);
- ``account:<id>`` or ``did:<…>``: every post of that account (X user id, Bluesky DID,
  Mastodon account URI ``https://<instance>/users/<name>``); ``@<handle>``: every post of
  that handle (case-folded; a Mastodon handle as the records hold it, ``name`` or
  ``name@instance``); a Mastodon profile link (``https://<instance>/@<name>``): every post
  of that account;
- a JSON object: a line of an X compliance job's results (``{"id", "action": "delete",
  "reason", …}``): a post id, or an account id when the file's name says ``user``
  (``users_compliance.jsonl``); ``reason: scrub_geo`` removes a location, not a post, and
  is passed over.

``#`` starts a comment (at the start of a line, or after a space); a comment
``# checked YYYY-MM-DD`` says when the platforms were last asked (``dnflow recheck``
writes one), and the page says so. A line that is none of these is skipped with its
file, line and why; it never fails the search.

What goes: a listed post; a repost of a listed post (the platform takes reposts down with
their original); every post of a listed account, its reposts, and reposts of its posts
when the archive holds the original. The summary job sets :data:`ACTIVE` before counting
(workers inherit it); its digest is part of a summary state's fingerprint, so changing
the deletions recounts the search from its archives.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from dnflow import atomic
from dnflow.optouts import account_key, hidden_key
from dnflow.record import Post

RECHECK_FILE = "deletions-recheck.txt"
"""What ``dnflow recheck`` appends to, in data/<slug>/: always among a search's deletions."""

_X_STATUS = re.compile(r"^/(?:i/web|[A-Za-z0-9_]{1,50})/status(?:es)?/(\d{1,25})(?:/.*)?$")
_X_HOSTS = {"x.com", "twitter.com", "mobile.twitter.com", "mobile.x.com", "www.x.com",
            "www.twitter.com"}
_BSKY_POST = re.compile(r"^/profile/([^/]+)/post/([A-Za-z0-9._:~-]+)/?$")
_AT_POST = re.compile(r"^at://([^/\s]+)/app\.bsky\.feed\.post/([A-Za-z0-9._:~-]+)$")
_CHECKED = re.compile(r"#\s*checked\s+(\d{4}-\d{2}-\d{2})\b")
_ID = re.compile(r"^[A-Za-z0-9_.:~-]{1,200}$")
_PROFILE_PATH = re.compile(r"^/(?:@|users/)([^/@]+)/?$")
_HANDLE = re.compile(r"^@?([A-Za-z0-9_.-]{1,253}(?:@[A-Za-z0-9.-]{1,253})?)$")
MAX_PROBLEMS = 100


@dataclass
class Deletions:
    """Every entry of a search's deletions files, ready to test records against."""

    posts: set[str] = field(default_factory=set)  # ids, URIs, URLs and their hidden keys
    bsky: set[tuple[str, str]] = field(default_factory=set)  # (actor, rkey) of bsky.app links
    accounts: set[str] = field(default_factory=set)
    handles: set[str] = field(default_factory=set)  # case-folded, without "@"
    checked: str | None = None  # the last "# checked" date
    files: list[str] = field(default_factory=list)  # none: the search lists no deletions
    problems: list[str] = field(default_factory=list)  # "file:line: why" (first 100)
    bad_lines: int = 0

    def __bool__(self) -> bool:
        return bool(self.posts or self.bsky or self.accounts or self.handles)

    def digest(self) -> str:
        """What the entries are (not their order, files or comments): a summary state
        counted with other deletions is not this one's."""
        if not self:
            return ""
        h = hashlib.blake2b(digest_size=16)
        for name, part in (("p", self.posts), ("b", {"/".join(t) for t in self.bsky}),
                           ("a", self.accounts), ("h", self.handles)):
            h.update(f"{name}{len(part)}\n".encode())
            h.update("\n".join(sorted(part)).encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def gone(self, rec: Post) -> bool:
        """Whether a post leaves every output (see the module's docstring)."""
        if self._listed(rec):
            return True
        if rec.repost_of is not None and rec.repost_of in self.posts:
            return True
        r = rec.reposted
        return r is not None and self._listed(r)

    def _listed(self, rec: Post) -> bool:
        p = self.posts
        if rec.id in p or (rec.uri is not None and rec.uri in p) or (
                rec.url is not None and rec.url in p):
            return True
        a = rec.author
        if a.id is not None and a.id in self.accounts:
            return True
        if a.url is not None and a.url in p:  # a profile's link (Mastodon: @name URLs)
            return True
        if a.handle and self.handles and a.handle.lower() in self.handles:
            return True
        if self.bsky and rec.id and rec.id.startswith("at://"):
            rkey = rec.id.rsplit("/", 1)[-1]
            for actor in (a.id, a.handle):
                if actor and (actor.lower(), rkey) in self.bsky:
                    return True
        return False

    # ------------------------------------------------------------------ reading

    def add_line(self, text: str, where: str, users: bool = False) -> None:
        """Take one line of a deletions file; ``where`` ("file:line") names a bad one."""
        m = _CHECKED.search(text)
        if m and (self.checked is None or m.group(1) > self.checked):
            self.checked = m.group(1)
        line = text.strip()
        if line.startswith("{"):
            why = self._compliance(line, users)
        else:
            line = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()
            why = self._entry(line) if line else None
        if why is not None:
            self.bad_lines += 1
            if len(self.problems) < MAX_PROBLEMS:
                self.problems.append(f"{where}: {why}")

    def _compliance(self, line: str, users: bool) -> str | None:
        try:
            obj = json.loads(line)
        except ValueError as e:
            return f"not JSON ({e})"
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), (str, int)):
            return "a compliance line without an \"id\""
        if obj.get("action", "delete") != "delete":
            return f"action {obj.get('action')!r} is not a deletion"
        if obj.get("reason") == "scrub_geo":
            return None  # the post stays; only its location goes
        tid = str(obj["id"])
        if not tid.isdigit():
            return f"id {tid!r} is not an X id"
        (self.accounts if users else self.posts).add(tid)
        return None

    def _entry(self, line: str) -> str | None:
        if " " in line or "\t" in line:
            return "one entry a line (an id, a link, account:<id> or @handle)"
        low = line.lower()
        if low.startswith("account:"):
            acct = line[8:]
            if not acct:
                return "account: needs an id"
            # a withheld record's author is known only by the hidden key of its handle
            self.accounts.update((acct, hidden_key(acct)))
            self._withheld_account(acct)
            return None
        if low.startswith("did:"):
            self.accounts.add(line)
            return None
        if line.startswith("@"):
            m = _HANDLE.match(line)
            if not m:
                return f"{line!r} is not a handle"
            self.handles.add(m.group(1).lower())
            return None
        if low.startswith("at://"):
            m = _AT_POST.match(line)
            if not m:
                return "an at-URI that is not a post (app.bsky.feed.post)"
            self._post(line)
            return None
        if low.startswith(("http://", "https://")):
            return self._url(line)
        if _ID.match(line):
            self.posts.add(line)
            return None
        return f"not an id, a link, account:<id> or @handle: {line[:60]!r}"

    def _url(self, url: str) -> str | None:
        try:
            parts = urlsplit(url)
        except ValueError as e:
            return f"unreadable link ({e})"
        host = (parts.hostname or "").lower()
        if not host:
            return "a link without a host"
        if host in _X_HOSTS:
            m = _X_STATUS.match(parts.path)
            if not m:
                return "an X link that is not a post (…/status/<id>)"
            self.posts.add(m.group(1))
            return None
        if host == "bsky.app":
            m = _BSKY_POST.match(parts.path)
            if not m:
                return "a bsky.app link that is not a post (/profile/<who>/post/<rkey>)"
            self.bsky.add((m.group(1).lower(), m.group(2)))
            return None
        self._post(url.rstrip("/") if parts.path not in ("", "/") else url)
        return None

    def _post(self, uri: str) -> None:
        """A post by its URI or URL; a withheld record (dnflow.optouts) is known only by
        the hidden key of its URI (and a withheld author by that of its handle)."""
        self.posts.add(uri)
        self.posts.add(hidden_key(uri))
        self._withheld_account(uri)

    def _withheld_account(self, link: str) -> None:
        """A Mastodon account's profile link (``https://host/@user``) or URI
        (``https://host/users/user``): a withheld author is known by its handle's key."""
        try:
            parts = urlsplit(link)
        except ValueError:
            return
        m = _PROFILE_PATH.match(parts.path)
        if m and parts.hostname:
            self.accounts.add(account_key(f"{m.group(1)}@{parts.hostname.lower()}"))


def read(paths: Iterable[str | Path]) -> Deletions:
    """Every entry of ``paths`` (a missing or unreadable file is a problem, not a failure)."""
    out = Deletions()
    for path in paths:
        out.files.append(str(path))
        path = Path(path)
        users = "user" in path.name.lower()
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                for n, text in enumerate(f, 1):
                    out.add_line(text, f"{path}:{n}", users)
        except OSError as e:
            out.bad_lines += 1
            out.problems.append(f"{path}: unreadable ({e.strerror or e})")
    return out


ACTIVE = Deletions()
"""The deletions of the summary being counted (see the module's docstring)."""


def activate(d: Deletions | None) -> None:
    """Count the next summary under ``d`` (None: no deletions)."""
    global ACTIVE
    ACTIVE = d if d is not None else Deletions()


def gone_test():
    """The test new posts go through, or None when nothing is deleted (the hot path
    then costs one comparison a post)."""
    return ACTIVE.gone if ACTIVE else None


def fingerprint() -> str:
    return ACTIVE.digest()


def summary_fields(removed: int) -> dict:
    """What summary.json says of a search's deletions (nothing when it lists none):
    ``removed``, the posts not counted, and ``removed_checked``, the last recheck's date."""
    if not ACTIVE.files:
        return {}
    out: dict = {"removed": removed}
    if ACTIVE.checked:
        out["removed_checked"] = ACTIVE.checked
    if ACTIVE.bad_lines:
        out["deletions_skipped"] = ACTIVE.bad_lines
    return out


def search_files(slug: str, search: dict, top: dict | None, workdir: str | Path = ".",
                 data: str = "data") -> list[str]:
    """A search's deletions files, in order: the top level's, its own, then what
    ``dnflow recheck`` found gone (when there is such a file). Globs that match nothing
    are no files; a path that names no file is a ConfigError (a typo would keep posts
    that were meant to go)."""
    from dnflow.config import ConfigError, expand_paths

    out: list[str] = []
    for where, patterns in (("deletions", (top or {}).get("deletions")),
                            (f"search '{slug}', key 'deletions'", search.get("deletions"))):
        try:
            for p in expand_paths(patterns or [], workdir, allow_empty_glob=True):
                if p not in out:
                    out.append(p)
        except ConfigError as e:
            raise ConfigError(f"{where}: {e}") from None
    recheck = Path(data) / slug / RECHECK_FILE
    if (Path(workdir) / recheck).is_file() and str(recheck) not in out:
        out.append(str(recheck))
    return out


# ------------------------------------------------------------ filtered copies of raw files

REMOVED_IDS = "removed-ids.txt"
"""data/<slug>/removed-ids.txt: the keys of the posts a summary left out (private: what a
page needs to publish filtered copies of the raw files)."""

_ID_FIELD = re.compile(rb'"(id|id_str|uri|author_id|did)"\s*:\s*"([^"\\]+)"')
_ID_KEYS = ("id", "id_str", "uri")


def write_removed(path: Path, removed: Iterable[Any]) -> None:
    """Keep the keys of the posts a summary removed, with the posts and accounts its
    deletions list (a listed original may be only embedded in the raw answers), or drop
    the file: none removed."""
    keys = sorted({*map(str, removed)} | ({*ACTIVE.posts, *(f"account:{a}" for a in
                                                             ACTIVE.accounts)}
                                          if removed else set()))
    if not keys:
        path.unlink(missing_ok=True)
        return
    atomic.write_bytes(path, "".join(k + "\n" for k in keys).encode("utf-8"))


def read_removed(path: Path) -> set[str]:
    try:
        return set(path.read_text(encoding="utf-8").split())
    except OSError:
        return set()


def _gone_obj(obj: dict, removed: set[str]) -> bool:
    for k in _ID_KEYS:
        v = obj.get(k)
        if v.__class__ in (str, int) and str(v) in removed:
            return True
    # a post of a listed account: X v2's author_id, v1.1's user, Bluesky's author
    author = obj.get("author_id")
    if author is None:
        who = obj.get("user") or obj.get("author")
        author = who.get("id_str") or who.get("did") if isinstance(who, dict) else None
    if author.__class__ is str and f"account:{author}" in removed:
        return True
    post = obj.get("post")  # a Bluesky feed item
    return isinstance(post, dict) and _gone_obj(post, removed)


def _prune(value: Any, removed: set[str]) -> Any:
    """``value`` without any object (list item or field) that is a removed post."""
    if isinstance(value, list):
        return [_prune(v, removed) for v in value
                if not (isinstance(v, dict) and _gone_obj(v, removed))]
    if isinstance(value, dict):
        return {k: _prune(v, removed) for k, v in value.items()
                if not (isinstance(v, dict) and _gone_obj(v, removed))}
    return value


def filtered_lines(lines: Iterable[bytes], removed: set[str]) -> Iterator[bytes]:
    """Raw archive lines with the removed posts taken out wherever they are: a page's
    ``data`` item, ``includes.tweets``, an embedded original (retweeted_status, reblog,
    a feed item's post). A line that names no removed id is kept byte for byte; one that
    is itself a removed post is dropped; any other is written again without them."""
    for line in lines:
        if not removed.isdisjoint(
                (v if k in (b"id", b"id_str", b"uri") else b"account:" + v).decode(
                    "utf-8", "replace") for k, v in _ID_FIELD.findall(line)):
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError:
                yield line  # not JSON: it holds no post the summary counted
                continue
            if isinstance(value, dict) and _gone_obj(value, removed):
                continue
            yield orjson.dumps(_prune(value, removed)) + b"\n"
        else:
            yield line


def filtered_copy(src: Path, dst: Path, removed: set[str]) -> None:
    """Write ``dst``: ``src`` (plain or gzip) without the removed posts, compressed as
    ``src`` is. Remade only when ``src`` or the removed posts changed."""
    import gzip

    from dnflow.sources.archive import is_gzip, open_binary

    st = src.stat()
    digest = hashlib.blake2b("\n".join(sorted(removed)).encode(), digest_size=8).hexdigest()
    key = f"{st.st_size}:{st.st_mtime_ns}:{digest}"
    mark = dst.with_name(f".{dst.name}.key")
    if dst.exists() and mark.exists() and mark.read_text() == key:
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp")
    with open_binary(src) as f, open(tmp, "wb") as raw:
        out = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if is_gzip(
            src) else raw
        try:
            for line in filtered_lines(f, removed):
                out.write(line)
        finally:
            if out is not raw:
                out.close()
    os.replace(tmp, dst)
    mark.write_text(key)
