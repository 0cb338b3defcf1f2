"""Mastodon's HTML (a status's ``content``, an account's ``note``) → plain text and links.

Servers send sanitized HTML (``<p>``, ``<br>``, ``<a>``, ``<span>``…). It is parsed with
the standard library's HTML parser, never with regular expressions, and nothing of it
but text is kept: pages escape that text like any other, so no markup from a post can
reach them. What the parser keeps:

- the text, with paragraphs as blank lines and ``<br>`` as line breaks, entities decoded;
  the ``invisible`` spans Mastodon hides in long URLs are kept (the text then holds the
  whole URL); the ``quote-inline`` element (the "RE: <link>" fallback of a quote post, for
  clients that cannot show quotes) is dropped, as quote-aware clients do;
- every anchor: its href, its text and its classes and rel, so the normalizer can tell
  hashtags and mentions (which the status lists on their own) from shared links.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import NamedTuple

# tags after which text continues on a new line
_BLOCKS = frozenset({"p", "div", "li", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5",
                     "h6", "ul", "ol", "tr"})
# tags whose content is never text
_HIDDEN = frozenset({"script", "style", "template"})
_VOID = frozenset({"br", "img", "hr", "wbr", "input", "meta", "link"})


class Anchor(NamedTuple):
    href: str
    text: str
    classes: frozenset[str]
    rel: frozenset[str]

    @property
    def is_hashtag(self) -> bool:
        return "hashtag" in self.classes or "tag" in self.rel

    @property
    def is_mention(self) -> bool:
        return not self.is_hashtag and ("mention" in self.classes or "u-url" in self.classes)


class Parsed(NamedTuple):
    text: str
    anchors: list[Anchor]


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.anchors: list[Anchor] = []
        self._anchor: tuple[str, list[str], frozenset[str], frozenset[str]] | None = None
        # elements whose text is not kept: [tag, depth of that tag inside it]
        self._dropping: list[list] = []
        self._hidden = 0  # open <script>, <style>…

    def _newline(self, blank: bool) -> None:
        if not self.parts:
            return
        tail = "".join(self.parts[-2:])
        want = "\n\n" if blank else "\n"
        if not tail.endswith(want):
            self.parts.append("\n" if blank and tail.endswith("\n") else want)

    @property
    def _dropped(self) -> bool:
        return bool(self._dropping) or self._hidden > 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = frozenset(a.get("class", "").split())
        if self._dropping and self._dropping[-1][0] == tag:
            self._dropping[-1][1] += 1
            return
        if "quote-inline" in classes and tag not in _VOID:
            self._dropping.append([tag, 1])
            return
        if tag == "br":
            if not self._dropped:
                self.parts.append("\n")
        elif tag == "p":
            self._newline(blank=True)
        elif tag in _BLOCKS:
            self._newline(blank=False)
        elif tag in _HIDDEN:
            self._hidden += 1
        elif tag == "a" and not self._dropped:
            self._anchor = (a.get("href", "").strip(), [], classes,
                            frozenset(a.get("rel", "").lower().split()))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" and not self._dropped:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._dropping and self._dropping[-1][0] == tag:
            self._dropping[-1][1] -= 1
            if not self._dropping[-1][1]:
                self._dropping.pop()
            return
        if tag in _HIDDEN:
            self._hidden = max(self._hidden - 1, 0)
        elif tag == "a" and self._anchor is not None:
            href, text, classes, rel = self._anchor
            self._anchor = None
            self.anchors.append(Anchor(href, "".join(text), classes, rel))
        elif tag in _BLOCKS and tag != "p":
            self._newline(blank=False)

    def handle_data(self, data: str) -> None:
        if self._dropped:
            return
        self.parts.append(data)
        if self._anchor is not None:
            self._anchor[1].append(data)


def parse(html_text_: str) -> Parsed:
    """The text and anchors of a piece of Mastodon HTML (any string: never raises)."""
    if "<" not in html_text_ and "&" not in html_text_:
        return Parsed(html_text_.strip(), [])  # plain text already (bios of bridges…)
    r = _Reader()
    r.feed(html_text_)
    r.close()
    if r._anchor is not None:  # an <a> never closed: its text is still text
        href, text, classes, rel = r._anchor
        r.anchors.append(Anchor(href, "".join(text), classes, rel))
    text = "".join(r.parts)
    # no line of only spaces, no run of more than one blank line
    lines = [line.rstrip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return Parsed("\n".join(out).strip(), r.anchors)


def html_text(html_: str) -> str:
    """The text of a piece of Mastodon HTML."""
    return parse(html_).text
