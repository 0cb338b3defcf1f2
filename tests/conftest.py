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


@pytest.fixture
def corpus() -> Path:
    return CORPUS
