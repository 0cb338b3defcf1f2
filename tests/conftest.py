import gzip
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# the recorded payloads live beside the project, read-only; never copied into it
CORPUS = Path(os.environ.get("DNFLOW_CORPUS", ROOT.parent / "shared" / "corpus"))
V2 = CORPUS / "twarc-csv" / "test-data"


def pytest_configure(config):
    if not CORPUS.is_dir():
        raise pytest.UsageError(f"corpus not found at {CORPUS} (set DNFLOW_CORPUS)")
    # the corpus's media URLs are real platforms' servers: no test but the media ones
    # (which point searches at a loopback image server and clear this) downloads media
    os.environ["DNFLOW_MEDIA_DOWNLOAD"] = "none"


@pytest.fixture
def corpus() -> Path:
    return CORPUS


def damaged_gzip(src: Path, dst: Path) -> None:
    """A gzip copy of ``src`` with a run of flipped bytes in the middle (a bad copy): it
    opens, and fails partway through (a CRC or a deflate error)."""
    data = bytearray(gzip.compress(src.read_bytes(), mtime=0))
    mid = len(data) // 2
    data[mid:mid + 64] = bytes(b ^ 0x5A for b in data[mid:mid + 64])
    dst.write_bytes(bytes(data))
