"""The golden cases: summaries of every X file of the corpus and of generated archives,
as the code before the record-and-registries rewrite made them (``summaries.json``).

``python -m tests.golden.cases --write`` records them again: do that only for a change
that is meant to change outputs, and say so in its commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from dnflow.generate import write_archive
from dnflow.summary import summarize

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = Path(os.environ.get("DNFLOW_CORPUS", ROOT.parent / "shared" / "corpus"))
GOLDEN = HERE / "summaries.json"
X_DIRS = ("twarc-csv/test-data", "twarc-csv/test-data-historical", "twarc-hashtags/test-data",
          "derived/v1.1")
# topic, seed, tweets: the shipped demo searches' topics, smaller
GENERATED = (("climate", 7, 3000), ("music", 11, 2000), ("news", 3, 1500))


def corpus_files() -> list[str]:
    """Paths relative to the corpus, so the recorded summaries name no machine's folder."""
    out = []
    for d in X_DIRS:
        out += sorted(str(p.relative_to(CORPUS)) for p in (CORPUS / d).iterdir()
                      if p.suffix in (".json", ".jsonl"))
    return out


def cases(tmp: Path) -> dict[str, tuple[Path, list[str]]]:
    """case name → (folder the paths are relative to, input paths)."""
    files = corpus_files()
    out = {f: (CORPUS, [f]) for f in files}
    out["corpus-all"] = (CORPUS, files)
    for topic, seed, n in GENERATED:
        name = f"{topic}-{seed}.jsonl.gz"
        if not (tmp / name).exists():
            write_archive(tmp / name, n, seed, topic=topic)
        out[f"generated-{topic}"] = (tmp, [name])
    return out


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}


def run_case(base: Path, files: list[str], outdir: Path, **kw) -> dict[str, str]:
    cwd = os.getcwd()
    os.chdir(base)
    try:
        kw.setdefault("workers", 1)
        summarize(files, outdir, {"slug": "golden", "generated": "2026-01-01T00:00:00Z"}, **kw)
    finally:
        os.chdir(cwd)
    return digests(outdir)


def main() -> None:
    import tempfile

    if "--write" not in sys.argv:
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        result = {name: run_case(base, files, tmp / "out" / name.replace("/", "_"))
                  for name, (base, files) in cases(tmp).items()}
    GOLDEN.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}: {len(result)} cases")


if __name__ == "__main__":
    main()
