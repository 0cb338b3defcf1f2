"""Files written whole or not at all: a temporary file beside the target, then a rename.

A reader (a page job, a later run, a person) sees the old file or the new one, never half
of one. The temporary name is unique per process and thread, so two writers of one path
(two threads storing one image) never write into each other's temporary file.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


def write_bytes(path: Path, data: bytes, *, fsync: bool = False) -> None:
    """Replace ``path`` with ``data`` (its folder made if missing). ``fsync``: on disk
    before the rename, for records a crash must not leave empty (a run's record)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident():x}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
