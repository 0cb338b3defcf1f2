"""``dnflow recheck <slug>``: ask each platform which of a search's posts still exist.

The posts are the search's counted ids (data/<slug>/summary/tweet-ids.txt), sorted by
their shape: digits are X ids, ``at://…/app.bsky.feed.post/…`` Bluesky posts, and
``https://<host>/users/<name>/statuses/<id>`` Mastodon statuses. Each platform is asked
in batches, through the transport its source collects with (the same retries, rate-limit
pacing and scrubbed errors):

- X: tweet lookup, 100 ids a request; an id the answer's ``errors`` name as not found
  (deleted, suspended) or not authorized (protected) is gone;
- Bluesky: ``app.bsky.feed.getPosts``, 25 URIs a request; a URI missing from the answer
  is gone;
- Mastodon: ``GET /api/v1/statuses/:id`` on the status's home instance, one a request
  within its rate limit; 404 is gone.

What is gone is appended to data/<slug>/deletions-recheck.txt (dnflow.deletions reads it
for the search: the next run removes those posts everywhere), one id a line with the date
it was found gone, then ``# checked <date>`` when every platform answered. A platform
that cannot be asked (no credentials, refused, retries spent) is reported and the others
still are; its posts are asked again next time.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TextIO

from dnflow import deletions, windows
from dnflow.redact import redact
from dnflow.sources import SourceError

X_BATCH = 100
BLUESKY_BATCH = 25
_AT_POST = re.compile(r"^at://[^/\s]+/app\.bsky\.feed\.post/[^/\s]+$")
_MASTODON = re.compile(r"^https?://([^/\s]+)/users/[^/\s]+/statuses/([0-9A-Za-z]+)$")
# X's errors for a post it no longer shows: deleted or suspended (not found), protected
_X_GONE = {"Not Found Error": "not found", "Authorization Error": "not authorized"}

Log = Callable[[str], None]


class Partial(SourceError):
    """Some of a platform's posts could not be asked about; ``gone``: what the others
    said."""

    def __init__(self, message: str, gone: dict[str, str]) -> None:
        super().__init__(message)
        self.gone = gone


def batches(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def by_platform(ids: Iterable[str]) -> dict[str, list[str]]:
    """The ids each platform can be asked about; ``other``: those none can (withheld
    keys, Bluesky feed reposts, statuses of other servers than Mastodon's)."""
    out: dict[str, list[str]] = {"x": [], "bluesky": [], "mastodon": [], "other": []}
    for i in ids:
        if i.isdigit() and i.isascii():
            out["x"].append(i)
        elif _AT_POST.match(i):
            out["bluesky"].append(i)
        elif _MASTODON.match(i):
            out["mastodon"].append(i)
        else:
            out["other"].append(i)
    return out


# ------------------------------------------------------------------ the platforms


def gone_on_x(ids: list[str], env: Mapping[str, str], log: Log) -> dict[str, str]:
    """id → why, for the ids X no longer shows."""
    from dnflow.sources import x

    transport = x.Transport(x.bearer_token(env), api_url=env.get(x.API_URL_ENV) or None,
                            backoff=x.Backoff.from_env(env), log=log)
    lookup = transport.retrying(transport.client.get_tweets, "lookup")
    gone: dict[str, str] = {}
    for batch in batches(ids, X_BATCH):
        answer = lookup(ids=batch)
        for err in answer.get("errors") or ():
            tid = str(err.get("resource_id") or err.get("value") or "")
            why = _X_GONE.get(err.get("title"))
            if why and tid in batch:
                gone[tid] = why
    return gone


def gone_on_bluesky(uris: list[str], env: Mapping[str, str], log: Log) -> dict[str, str]:
    from dnflow.sources import bluesky_client as bc

    service = (env.get(bc.API_URL_ENV) or bc.API_URL).rstrip("/")
    creds = bc.credentials(env)
    client = bc.Client(creds, bc.SessionStore(bc.state_dir(env), service, creds.handle),
                       service=service, backoff=bc.backoff_from_env(env), log=log)
    gone: dict[str, str] = {}
    for batch in batches(uris, BLUESKY_BATCH):
        there = {p.get("uri") for p in client.get_posts(batch)["posts"] if isinstance(p, dict)}
        gone.update((u, "not found") for u in batch if u not in there)
    return gone


def gone_on_mastodon(uris: list[str], env: Mapping[str, str], log: Log) -> dict[str, str]:
    from dnflow.sources import mastodon_api as ma

    client = ma.Client(ma.read_tokens(env), backoff=ma.Backoff.from_env(env), log=log,
                       loopback=bool(env.get(ma.API_URL_ENV)))
    gone: dict[str, str] = {}
    failed: dict[str, str] = {}  # host → why: its other statuses are not asked
    for uri in uris:
        m = _MASTODON.match(uri)
        assert m is not None
        host = m.group(1)
        if host in failed:
            continue
        try:
            if not client.status_exists(ma.Instance.of(host, env), m.group(2)):
                gone[uri] = "not found"
        except ma.MastodonError as e:
            failed[host] = str(e)
            log(f"{host}: {e}")
    if failed:
        raise Partial(f"{len(failed)} instances could not be asked: "
                      + "; ".join(failed.values()), gone)
    return gone


ASK: dict[str, Callable[[list[str], Mapping[str, str], Log], dict[str, str]]] = {
    "x": gone_on_x, "bluesky": gone_on_bluesky, "mastodon": gone_on_mastodon}


# ------------------------------------------------------------------ the command


def listed(path: Path) -> set[str]:
    """The entries a recheck file already holds (so a second recheck adds none twice)."""
    if not path.is_file():
        return set()
    return {line.split("#", 1)[0].strip() for line in path.read_text("utf-8").splitlines()
            if line.split("#", 1)[0].strip()}


def recheck(slug: str, data: str | Path = "data", env: Mapping[str, str] | None = None,
            out: TextIO = sys.stdout) -> int:
    """Recheck one search; returns the exit status (0: every platform answered)."""
    env = os.environ if env is None else env

    def say(line: str) -> None:
        # every secret the transports registered is scrubbed (their retry notes may
        # quote a server that echoes the request)
        print(redact(line), file=out)

    base = Path(data) / slug
    ids_file = base / "summary" / "tweet-ids.txt"
    if not ids_file.is_file():
        say(f"dnflow: {slug} has no summary yet ({ids_file}): run snakemake first")
        return 2
    ids = [i for i in ids_file.read_text("utf-8").split("\n") if i]
    day = windows.now(env).strftime("%Y-%m-%d")
    target = base / deletions.RECHECK_FILE
    known = listed(target)
    groups = by_platform(i for i in ids if i not in known)
    found: dict[str, str] = {}
    failed = []
    for platform, ask in ASK.items():
        todo = groups[platform]
        if not todo:
            continue

        def log(line: str, platform: str = platform) -> None:
            say(f"  {platform}: {line}")

        try:
            gone = ask(todo, env, log)
        except Partial as e:
            found.update(e.gone)
            say(f"{slug}: {platform}: {len(e.gone):,} gone; {e}; asked again next time")
            failed.append(platform)
            continue
        except SourceError as e:  # the transports' errors are scrubbed of secrets
            say(f"{slug}: {platform}: could not ask ({e}); asked again next time")
            failed.append(platform)
            continue
        found.update(gone)
        say(f"{slug}: {platform}: {len(todo):,} posts asked, {len(gone):,} gone")
    if groups["other"]:
        say(f"{slug}: {len(groups['other']):,} posts no platform can be asked about "
            "(withheld, reposts in feeds, or other servers)")
    lines = [f"{i}  # gone {day} ({why})\n" for i, why in found.items()]
    asked = sum(len(groups[p]) for p in ASK)
    if failed:
        lines.append(f"# partial check {day}: {', '.join(failed)} not asked\n")
    else:
        lines.append(f"# checked {day}: {asked:,} posts asked, {len(found):,} gone\n")
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "a", encoding="utf-8") as f:
        f.writelines(lines)
    say(f"{slug}: {len(found):,} gone, written to {target}; the next run removes them")
    return 1 if failed else 0

