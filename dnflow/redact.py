"""The one redactor: every error text that is stored, logged or printed passes here.

A secret reaches an error text in many ways: a server or proxy that echoes the request's
``Authorization`` header in its 400 or 500 body, a session answer quoted in a message,
an HTTP library that quotes a header value it refuses. Each source registers the
secrets it holds (X's bearer token, Bluesky's app password and session tokens,
Mastodon's tokens) when it reads them; :func:`redact` removes those, and whatever looks
like a credential even when unknown: ``Authorization``/``Cookie`` values, ``Bearer``
tokens, and the JSON fields that carry session tokens and passwords. Sources'
exceptions (dnflow.sources.SourceError), their loggers and run records go through it.
"""

from __future__ import annotations

import re
import threading

MASK = "[redacted]"
_lock = threading.Lock()
_secrets: set[str] = set()
# shorter than this, a "secret" would mask ordinary words (no real token is this short)
_MIN_SECRET = 6

_PATTERNS = [
    # header lines and their echoes: Authorization: Bearer x, Cookie: a=b; c=d
    (re.compile(r"(?i)\b((?:proxy-)?authorization|set-cookie|cookie)(\"?\s*[:=]\s*\"?)"
                r"[^\"\r\n]*"), r"\1\2" + MASK),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 " + MASK),
    # JSON fields of session answers and logins
    (re.compile(r"(?i)(\"(?:accessJwt|refreshJwt|access_token|refresh_token|password|"
                r"app_password|client_secret|token)\"\s*:\s*\")[^\"]*"), r"\1" + MASK),
    (re.compile(r"(?i)\b((?:access_token|refresh_token|password|client_secret)=)[^&\s\"']+"),
     r"\1" + MASK),
]


def register(*secrets: str | None) -> None:
    """Remember secrets to remove from every text (empty or very short ones are not)."""
    with _lock:
        for s in secrets:
            if isinstance(s, str) and len(s.strip()) >= _MIN_SECRET:
                _secrets.add(s)
                _secrets.add(s.strip())


def redact(text: object) -> str:
    """``text`` without any registered secret or credential-looking value."""
    out = str(text)
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for s in known:
        if s in out:
            out = out.replace(s, MASK)
    for pattern, repl in _PATTERNS:
        out = pattern.sub(repl, out)
    return out


def check_secret(value: str, name: str) -> str | None:
    """Why ``value`` (the secret named ``name``, e.g. "X_BEARER_TOKEN") cannot go in an
    HTTP header, or None. The reason never shows the value."""
    if any(c in value for c in "\r\n\t\0") or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return (f"{name} holds a line break or control character: it must be the secret "
                "alone, on one line")
    if " " in value:
        return f"{name} holds a space: it must be the secret alone, without spaces"
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return (f"{name} holds a character that cannot be sent in an HTTP header (not "
                "Latin-1): copy the secret again, exactly as the platform gave it "
                "(a placeholder such as AAAA… is not one)")
    return None
