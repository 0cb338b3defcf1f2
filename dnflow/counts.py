"""Every counter of a search, and the counting rules the README and every page describe
("how counted").

Two ways in, held to the same results: ``Counts.count_page`` takes normalized records
(any format), ``count_v2`` takes the decoded structs of a v2 page (dnflow.v2struct)
straight, without a record per tweet: the hot path of every big summary
(docs/performance.md; tests/test_v2count.py compares both on every v2 line of the
corpus and on generated archives).
"""

from __future__ import annotations

import heapq
import html
import zlib
from collections import Counter, _count_elements  # type: ignore[attr-defined]
from typing import Any

from dnflow import v2struct
from dnflow.rows import (
    METRICS,
    NOBODY,
    TIME_KEY,
    csv_row,
    original_row,
    time_key,
    user_row,
)
from dnflow.tweets import Record, iso_time

SAMPLE_SIZE = 10


def seen_key(tid: Any) -> Any:
    """What dedup stores for a tweet id: canonical decimal ids as ints (less than half the
    memory of their text), anything else as it is. "12" → 12, "012" stays "012"."""
    if tid.__class__ is str and tid.isascii() and tid.isdigit() and tid[0] != "0":
        return int(tid)
    return tid


class Counts:
    """Every counter of a search; ``count_page`` takes the new tweets of one page.

    Counts of disjoint tweets merge exactly (``merge``): every rule below is a sum, a
    min/max, or "first seen" — never anything that depends on how the input was cut.
    """

    def __init__(self) -> None:
        self.seen: set = set()  # seen_key() of every id counted
        self.tweets = self.retweets = self.quotes = self.replies = self.originals = 0
        self.hashtags: Counter[str] = Counter()
        self.mentions: Counter[str] = Counter()
        self.urls: Counter[str] = Counter()
        self.domains: Counter[str] = Counter()
        self.languages: Counter[str] = Counter()
        self.sources: Counter[str] = Counter()
        self.minutes: Counter[str] = Counter()
        self.media: Counter[str] = Counter()
        # media key → (type, url, preview, alt_text): the first with a URL, else the first
        self.media_info: dict[str, tuple] = {}
        # author (seen_key of its id, else its username) → its profile: the time key of
        # the tweet it is from (time_key), then its users.csv row (user_row), in one bytes
        # object; a big search has a profile per author, most of whom tweet once
        self.users: dict[Any, bytes] = {}
        # author → tweets beyond their first (no entry for those with one). Both are
        # this process's part since it last handed them to the authors' table
        # (dnflow.userscsv.Table), which merges the parts and keeps them with a state
        self.more: Counter[Any] = Counter()
        self.retweeted: Counter[str] = Counter()
        # retweeted id → (its retweets.csv row up to the count, its card as orjson bytes):
        # the first seen (a third of the memory of the card's dict)
        self.originals_info: dict[str, tuple[bytes, bytes]] = {}
        self.first: str | None = None
        self.last: str | None = None
        # min-heap of (-hash, id, record): the SAMPLE_SIZE smallest (hash, id) pairs
        self._sample: list[tuple[int, str, Record]] = []

    def count_page(self, recs: list[Record]) -> None:
        """Count tweets whose ids the caller has just added to ``seen``."""
        # the hot loop of every summary: per tweet only list appends and a few dict
        # updates; the counters take each page's keys at once (collections' C counter)
        created_l: list[str] = []
        retweeted_l: list[str] = []
        tags_l: list[str] = []
        names_l: list[str] = []
        urls_l: list[str] = []
        domains_l: list[str] = []
        media_l: list[str] = []
        langs_l: list[str] = []
        sources_l: list[str] = []
        quotes = replies = originals = 0
        oinfo = self.originals_info
        media_info = self.media_info
        users = self.users
        more_l: list = []
        crc32, adler32 = zlib.crc32, zlib.adler32
        make_row = user_row
        tk = TIME_KEY
        worst = self._worst()  # a tweet whose CRC is above it cannot enter the sample
        for rec in recs:
            created = rec["created_at"]
            if created:
                created_l.append(created)
            else:
                created = ""
            orig = rec["retweeted"]
            retweet_of = rec["retweet_of"]
            if retweet_of:
                retweeted_l.append(retweet_of)
                if orig is not None and retweet_of not in oinfo:
                    oinfo[retweet_of] = original_row(retweet_of, orig)
            elif rec["quote_of"]:
                quotes += 1
            if rec["reply_to"]:
                replies += 1
            elif not (retweet_of or rec["quote_of"]):
                originals += 1

            # a retweet's own entities are cut with its text: count the original's;
            # once per tweet however often it repeats them
            src = orig if orig is not None else rec
            tags = src["hashtags"]
            if tags:
                if len(tags) == 1:
                    tags_l.append(tags[0].casefold())
                else:
                    tags_l.extend({h.casefold() for h in tags})
            names = src["mentions"]
            if names:
                if len(names) == 1:
                    names_l.append(names[0].casefold())
                else:
                    names_l.extend({m.casefold() for m in names})
            urls = src["urls"]
            if urls:
                # already distinct per tweet (tweets.py)
                if len(urls) == 1:
                    u = urls[0]
                    urls_l.append(u["url"])
                    if u["domain"]:
                        domains_l.append(u["domain"])
                else:
                    urls_l.extend([u["url"] for u in urls])
                    domains_l.extend({u["domain"] for u in urls if u["domain"]})
            media = src["media"]
            if media:
                for m in media:
                    key = m["key"]
                    if key is None:
                        continue
                    media_l.append(key)
                    known = media_info.get(key)
                    if known is None or (known[1] is None and m["url"]):
                        media_info[key] = (m["type"], m["url"], m["preview"], m["alt_text"])
            lang = rec["lang"] or (orig["lang"] if orig else None)
            if lang:
                langs_l.append(lang)
            source = rec["source"]
            if source:
                sources_l.append(source)

            a = rec["author"]
            aid = a["id"] or a["username"]
            if aid:
                # the profile as of the newest tweet that names its author (the closest
                # to "now"); equal times keep the later one; a profile without username
                # is kept only until one with a username comes
                if aid.__class__ is str and aid.isdigit() and aid.isascii() and aid[0] != "0":
                    aid = int(aid)  # seen_key, inlined: a third of the memory of the text
                old = users.get(aid)
                if old is not None:
                    more_l.append(aid)
                if a["username"]:
                    t = created if len(created) == tk and created.isascii() else time_key(
                        created)
                    if old is None or t.encode() >= old[:tk]:
                        users[aid] = make_row(t, a["username"], a["name"], a["followers"],
                                              a["following"])
                elif old is None:
                    users[aid] = make_row(NOBODY, "", a["name"], a["followers"],
                                          a["following"])

            tid = rec["id"]
            b = tid.encode()
            h = crc32(b)
            if h <= worst:
                key = -(h << 32 | adler32(b))
                if self._enters(key, tid):
                    worst = self._sample_add(key, tid, rec)

        self._tally(len(recs), quotes, replies, originals, created_l, retweeted_l, more_l, tags_l,
                    names_l, urls_l, domains_l, media_l, langs_l, sources_l)

    # the sample keeps the smallest (hash, id): a min-heap of negated hashes

    def _worst(self) -> int:
        """The CRC of ids above which none can enter the sample."""
        s = self._sample
        return (-s[0][0]) >> 32 if len(s) >= SAMPLE_SIZE else 1 << 32

    def _enters(self, key: int, tid: str) -> bool:
        s = self._sample
        return len(s) < SAMPLE_SIZE or key > s[0][0] or (key == s[0][0] and tid > s[0][1])

    def _sample_add(self, key: int, tid: str, rec: Record) -> int:
        """Put a tweet that enters (``_enters``) in the sample; returns ``_worst()``."""
        s = self._sample
        if len(s) < SAMPLE_SIZE:
            heapq.heappush(s, (key, tid, rec))
        else:
            heapq.heapreplace(s, (key, tid, rec))
        return self._worst()

    def _tally(self, new: int, quotes: int, replies: int, originals: int,
               created_l: list, retweeted_l: list, more_l: list, *keys: list) -> None:
        """Add a page's counts and keys (the lists of ``count_page``'s hot loop: hashtags,
        mentions, URLs, domains, media, languages, sources) to the counters at once, by
        collections' C counter."""
        self.tweets += new
        self.retweets += len(retweeted_l)
        self.quotes += quotes
        self.replies += replies
        self.originals += originals
        if created_l:
            lo, hi = min(created_l), max(created_l)
            if self.first is None or lo < self.first:
                self.first = lo
            if self.last is None or hi > self.last:
                self.last = hi
            _count_elements(self.minutes, [c[:16] for c in created_l])
        if retweeted_l:
            _count_elements(self.retweeted, retweeted_l)
        if more_l:
            _count_elements(self.more, more_l)
        for counter, page_keys in zip((self.hashtags, self.mentions, self.urls, self.domains,
                                       self.media, self.languages, self.sources), keys,
                                      strict=True):
            if page_keys:
                _count_elements(counter, page_keys)

    _COUNTERS = ("hashtags", "mentions", "urls", "domains", "languages", "sources",
                 "minutes", "media", "retweeted")

    def to_state(self) -> dict:
        """Everything but ``seen`` and the authors (the table's), as builtin types (for
        marshal)."""
        state = {k: v for k, v in vars(self).items() if k not in ("seen", "users", "more")}
        for k in self._COUNTERS:
            state[k] = dict(state[k])
        return state

    @classmethod
    def from_state(cls, state: dict) -> Counts:
        counts = cls()
        for k, v in state.items():
            setattr(counts, k, Counter(v) if k in cls._COUNTERS else v)
        return counts

    def sample(self) -> list[Record]:
        return [r for _, _, r in sorted(self._sample, key=lambda s: s[:2], reverse=True)]

    def merge(self, other: Counts) -> None:
        """Add the counts of tweets read after ours, none of them seen by us (all but the
        authors: each process's go to the authors' table)."""
        self.seen |= other.seen
        for attr in ("tweets", "retweets", "quotes", "replies", "originals"):
            setattr(self, attr, getattr(self, attr) + getattr(other, attr))
        for attr in ("hashtags", "mentions", "urls", "domains", "languages", "sources",
                     "minutes", "media", "retweeted"):
            mine = getattr(self, attr)
            for k, v in getattr(other, attr).items():
                mine[k] = mine.get(k, 0) + v
        if other.first is not None and (self.first is None or other.first < self.first):
            self.first = other.first
        if other.last is not None and (self.last is None or other.last > self.last):
            self.last = other.last
        info = self.media_info
        for key, m in other.media_info.items():
            known = info.get(key)
            if known is None or (known[1] is None and m[1]):
                info[key] = m
        for tid, card in other.originals_info.items():
            self.originals_info.setdefault(tid, card)
        both = self._sample + other._sample
        self._sample = heapq.nlargest(SAMPLE_SIZE, both, key=lambda s: s[:2])
        heapq.heapify(self._sample)



def count_v2(counts: Counts, raws: list, inc: Any, seen: set) -> tuple[list, list, list]:
    """Count the tweets of a decoded v2 page (``v2struct.tweets_in``) whose ids are not in
    ``seen`` (which gains them), straight from the structs: what ``Counts.count_page`` and
    ``rows.tweet_row`` do with ``v2struct.normalize``'s records, without making a record
    per tweet. Returns the new tweets' tweets.csv rows, their ids and their seen keys.

    A record is still made for a tweet that enters the sample, for an original counted
    for the first time (its card), and for a row the csv module must write (a quote in
    a value, a count that is missing). The loop repeats ``count_page``'s rules inline
    rather than calling shared helpers per tweet (a call per tweet and rule costs more
    than the rule); tests/test_v2count.py holds the two equal.
    """
    normalize = v2struct.normalize
    entities_of = v2struct.entities_of
    rows: list[bytes] = []
    ids: list[str] = []
    keys: list = []
    created_l: list[str] = []
    retweeted_l: list[str] = []
    tags_l: list[str] = []
    names_l: list[str] = []
    urls_l: list[str] = []
    domains_l: list[str] = []
    media_l: list[str] = []
    langs_l: list[str] = []
    sources_l: list[str] = []
    more_l: list = []
    quotes = replies = originals = 0
    oinfo = counts.originals_info
    media_info = counts.media_info
    users = counts.users
    crc32, adler32 = zlib.crc32, zlib.adler32
    make_row = user_row
    tk = TIME_KEY
    worst = counts._worst()
    users_tab = inc.users
    # original id → what its retweets count and show: (hashtags, mentions, urls, media,
    # lang, author's username, text), or None when the page does not have it
    origs: dict[str, tuple | None] = {}
    for t in raws:
        tid = t.id
        if tid is None:
            continue
        key = int(tid) if tid.isdigit() and tid.isascii() and tid[0] != "0" else tid
        if key in seen:
            continue
        seen.add(key)
        keys.append(key)
        ids.append(tid)
        retweet_of = quote_of = reply_to = None
        refs = t.referenced_tweets
        if refs:
            for ref in refs:
                kind = ref.type
                if kind == "retweeted":
                    retweet_of = ref.id
                elif kind == "quoted":
                    quote_of = ref.id
                elif kind == "replied_to":
                    reply_to = ref.id
        tags, names, urls, media = entities_of(t, inc)
        src = None  # the original's facts, for a retweet of one the page has
        if retweet_of is not None:
            src = origs.get(retweet_of, False)
            if src is False:
                src = origs[retweet_of] = _original_facts(retweet_of, inc, oinfo)
        if retweet_of:
            retweeted_l.append(retweet_of)
        elif quote_of:
            quotes += 1
        if reply_to:
            replies += 1
        elif not (retweet_of or quote_of):
            originals += 1

        # a retweet's own entities are cut with its text: count the original's;
        # once per tweet however often it repeats them
        if src is None:
            ctags, cnames, curls, cmedia = tags, names, urls, media
            lang = t.lang
            text = None
        else:
            ctags, cnames, curls, cmedia, olang, ousername, otext = src
            lang = t.lang or olang
            text = f"RT @{ousername}: {otext}" if ousername else None
        if text is None:  # its own, unescaped (the API escapes &, < and >)
            text = t.text or ""
            if "&" in text:
                text = html.unescape(text)
        if ctags:
            if len(ctags) == 1:
                tags_l.append(ctags[0].casefold())
            else:
                tags_l.extend({h.casefold() for h in ctags})
        if cnames:
            if len(cnames) == 1:
                names_l.append(cnames[0].casefold())
            else:
                names_l.extend({m.casefold() for m in cnames})
        if curls:
            if len(curls) == 1:
                u = curls[0]
                urls_l.append(u["url"])
                if u["domain"]:
                    domains_l.append(u["domain"])
            else:
                urls_l.extend([u["url"] for u in curls])
                domains_l.extend({u["domain"] for u in curls if u["domain"]})
        if cmedia:
            for m in cmedia:
                mk = m["key"]
                if mk is None:
                    continue
                media_l.append(mk)
                known = media_info.get(mk)
                if known is None or (known[1] is None and m["url"]):
                    media_info[mk] = (m["type"], m["url"], m["preview"], m["alt_text"])
        if lang:
            langs_l.append(lang)
        source = t.source
        if source:
            sources_l.append(source)
        ca = t.created_at
        created = ca[:19] + "Z" if ca and ca[4:5] == "-" else iso_time(ca)
        if created:
            created_l.append(created)
        else:
            created = ""

        # the author, from the page's user struct (no record's author dict)
        author_id = t.author_id
        u = users_tab.get(author_id)
        if u is None:
            a_id, username, name = author_id, None, None
        else:
            a_id, username, name = u.id, u.username, u.name
        aid = a_id or username
        if aid:
            if aid.__class__ is str and aid.isdigit() and aid.isascii() and aid[0] != "0":
                aid = int(aid)
            old = users.get(aid)
            if old is not None:
                more_l.append(aid)
            if username:
                tt = created if len(created) == tk and created.isascii() else time_key(
                    created)
                if old is None or tt.encode() >= old[:tk]:
                    pm = u.public_metrics
                    users[aid] = (make_row(tt, username, name, None, None) if pm is None else
                                  make_row(tt, username, name, pm.followers_count,
                                           pm.following_count))
            elif old is None:
                pm = None if u is None else u.public_metrics
                users[aid] = (make_row(NOBODY, "", name, None, None) if pm is None else
                              make_row(NOBODY, "", name, pm.followers_count,
                                       pm.following_count))

        b = tid.encode()
        h = crc32(b)
        if h <= worst:
            skey = -(h << 32 | adler32(b))
            if counts._enters(skey, tid):
                worst = counts._sample_add(skey, tid, normalize(t, inc))

        # the tweets.csv line, as rows.tweet_row writes it
        line = None
        pm = t.public_metrics
        if pm is not None:
            try:
                rc, pc, lc, qc = METRICS(pm)
            except KeyError:
                rc = None
            if type(rc) is int and type(pc) is int and type(lc) is int and type(qc) is int:
                if retweet_of:
                    kind = "retweet"
                elif quote_of:
                    kind = "quote"
                elif reply_to:
                    kind = "reply"
                else:
                    kind = "original"
                try:
                    head = '","'.join((
                        tid,
                        created,
                        "" if a_id is None else a_id,
                        "" if username is None else username,
                        "" if name is None else name,
                        kind,
                        text,
                        "" if (v := t.lang) is None else v,
                        "" if retweet_of is None else retweet_of,
                        "" if quote_of is None else quote_of,
                        "" if reply_to is None else reply_to,
                        " ".join(tags),
                        " ".join(names),
                        " ".join([u["url"] for u in urls]) if urls else "",
                        " ".join([x["key"] for x in media if x["key"]]) if media else "",
                    ))
                except TypeError:  # not text where text is expected
                    pass
                else:
                    place = ""
                    geo = t.geo
                    if geo is not None:  # as v2struct.normalize finds the place's name
                        pl = geo.place or inc.places.get(geo.place_id)
                        if pl and (v := pl.get("full_name")) is not None:
                            place = v
                    line = (f'"{head}",{rc},{pc},{lc},{qc},'
                            f'"{"" if source is None else source}","{place}"\r\n').encode()
                    # 17 quoted fields: any other quote came from a value
                    if line.count(b'"') != 34:
                        line = None
        rows.append(line if line is not None else csv_row(normalize(t, inc)).encode())

    counts._tally(len(ids), quotes, replies, originals, created_l, retweeted_l, more_l,
                  tags_l, names_l, urls_l, domains_l, media_l, langs_l, sources_l)
    return rows, ids, keys


def _original_facts(tid: str, inc: Any, oinfo: dict) -> tuple | None:
    """What a retweet of ``tid`` counts and shows of its original (None if the page does
    not have it); the first time an original is counted, also its retweets.csv row and
    card into ``oinfo`` (only truthy ids are counted, as ``count_page`` counts them)."""
    orec = inc.normalized.get(tid)
    if orec is None and tid not in inc.tweets:
        return None
    if orec is None and tid and tid not in oinfo:
        orec = inc.normalized[tid] = v2struct.normalize(inc.tweets[tid], inc, 1)
    if orec is not None:
        if tid and tid not in oinfo:
            oinfo[tid] = original_row(tid, orec)
        return (orec["hashtags"], orec["mentions"], orec["urls"], orec["media"],
                orec["lang"], orec["author"]["username"], orec["text"])
    o = inc.tweets[tid]
    a = inc.authors.get(o.author_id) or v2struct.author_of(inc, o.author_id)
    return (*v2struct.entities_of(o, inc), o.lang, a["username"], v2struct.text_of(o))
