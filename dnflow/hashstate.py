"""SHA-512 whose running state can be saved and taken up again in a later process.

The bag's sha512 manifest needs the digest of tweets.csv, which grows by appending at
every update; hashlib cannot save a hash's state, so the whole file was hashed again
each time. OpenSSL's SHA512_CTX (the low-level API, deprecated in 3.0 but exported) is a
plain struct: its bytes are the state. They are saved with a tag naming the library and
the struct's size, and taken up only by the same. Where libcrypto or those functions
are missing, :class:`Sha512` is hashlib's and saves nothing (every file is then hashed
whole, as before). tests/test_hashstate.py holds a resumed digest to hashlib's.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import re
from functools import cache
from typing import Any

CTX_SIZE = 216  # sizeof(SHA512_CTX): h[8], Nl, Nh (8 bytes each), 128-byte block, num, md_len
_HEX = re.compile("[0-9a-f]*")
_BUFFER = 512  # what a context is given: room beyond CTX_SIZE (see _saves_and_resumes)


@cache
def _lib() -> tuple[ctypes.CDLL, str] | None:
    """libcrypto with the SHA512_* functions, and the tag its saved states carry."""
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")
        lib.OpenSSL_version_num.restype = ctypes.c_ulong
        for name in ("SHA512_Init", "SHA512_Update", "SHA512_Final"):
            getattr(lib, name).restype = ctypes.c_int
        lib.SHA512_Update.argtypes = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t)
    except (OSError, AttributeError):
        return None
    if not _saves_and_resumes(lib):
        return None
    # the struct's layout has not changed since OpenSSL 0.9.8; the major version guards it
    return lib, f"openssl{lib.OpenSSL_version_num() >> 28}-{CTX_SIZE}"


def _saves_and_resumes(lib: ctypes.CDLL) -> bool:
    """Whether CTX_SIZE bytes are the whole state here: a hash saved mid-block, taken up
    in a fresh buffer, gives hashlib's digest (the buffers are larger than CTX_SIZE, so a
    larger struct spoils no memory: it fails this instead)."""
    data = bytes(range(256)) * 3
    ctx, again, out = (ctypes.create_string_buffer(_BUFFER) for _ in range(3))
    lib.SHA512_Init(ctx)
    lib.SHA512_Update(ctx, data[:300], 300)
    ctypes.memmove(again, ctx.raw[:CTX_SIZE], CTX_SIZE)
    lib.SHA512_Update(again, data[300:], len(data) - 300)
    lib.SHA512_Final(out, again)
    return out.raw[:64] == hashlib.sha512(data).digest()


def tag() -> str | None:
    """What a state saved here is tagged with (None: states are not saved)."""
    found = _lib()
    return found[1] if found else None


class Sha512:
    """hashlib.sha512's update and hexdigest, plus :meth:`save` and :meth:`resume`."""

    def __init__(self) -> None:
        found = _lib()
        self._h = None if found else hashlib.sha512()
        if found:
            self._lib, self._tag = found
            self._ctx = ctypes.create_string_buffer(_BUFFER)
            if self._lib.SHA512_Init(self._ctx) != 1:
                raise OSError("SHA512_Init failed")

    def update(self, data: bytes) -> None:
        if self._h is not None:
            self._h.update(data)
        elif self._lib.SHA512_Update(self._ctx, data, len(data)) != 1:
            raise OSError("SHA512_Update failed")

    def save(self) -> str:
        """The state as text (``""`` where states are not saved)."""
        return "" if self._h is not None else f"{self._tag}:{self._ctx.raw[:CTX_SIZE].hex()}"

    def resume(self, state: str) -> bool:
        """Take up a state :meth:`save` gave; False (nothing changed) if it cannot be."""
        if self._h is not None or not resumable(state):
            return False
        ctypes.memmove(self._ctx, bytes.fromhex(state[len(self._tag) + 1:]), CTX_SIZE)
        return True

    def hexdigest(self) -> str:
        if self._h is not None:
            return self._h.hexdigest()
        ctx = ctypes.create_string_buffer(self._ctx.raw, _BUFFER)  # Final spoils its ctx
        out = ctypes.create_string_buffer(64)
        if self._lib.SHA512_Final(out, ctx) != 1:
            raise OSError("SHA512_Final failed")
        return out.raw.hex()


def resumable(state: Any) -> bool:
    """Whether a saved state can be taken up here (of this library, whole, hex)."""
    t = tag()
    if not (t and isinstance(state, str) and state.startswith(t + ":")):
        return False
    text = state[len(t) + 1:]
    return len(text) == 2 * CTX_SIZE and _HEX.fullmatch(text) is not None
