"""dnflow.hashstate: a SHA-512 saved in one process and taken up in another gives
hashlib's digest, on real files of the corpus cut anywhere."""

import hashlib
import subprocess
import sys

import pytest

from dnflow import hashstate
from dnflow.hashstate import Sha512

from .golden.cases import CORPUS

FILES = sorted((CORPUS / "twarc-csv" / "test-data").glob("*.jsonl"))[:6]


def test_this_machine_saves_states():
    """CI's machine (Debian's OpenSSL 3) has the functions: the bag's saving depends on it."""
    assert hashstate.tag() is not None


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_a_resumed_hash_is_hashlibs(path):
    data = path.read_bytes()
    assert len(data) > 1000
    for cut in (0, 1, 127, 128, 129, len(data) // 3, len(data) - 1, len(data)):
        h = Sha512()
        h.update(data[:cut])
        state = h.save()
        again = Sha512()
        assert again.resume(state)
        again.update(data[cut:])
        assert again.hexdigest() == hashlib.sha512(data).hexdigest(), cut
        assert h.hexdigest() == hashlib.sha512(data[:cut]).hexdigest()  # h is unspoilt


def test_a_state_is_taken_up_in_another_process():
    data = FILES[0].read_bytes()
    h = Sha512()
    h.update(data[:1000])
    code = ("import sys; from dnflow.hashstate import Sha512; h = Sha512(); "
            "assert h.resume(sys.argv[1]); h.update(sys.stdin.buffer.read()); "
            "print(h.hexdigest())")
    done = subprocess.run([sys.executable, "-c", code, h.save()], input=data[1000:],
                          capture_output=True, check=True)
    assert done.stdout.decode().strip() == hashlib.sha512(data).hexdigest()


@pytest.mark.parametrize("state", ["", "openssl9-216:" + "00" * 216, "sha512:" + "00" * 216,
                                   lambda t: f"{t}:" + "00" * 215])
def test_a_foreign_or_damaged_state_is_not_taken_up(state):
    """A state of another library, layout or length: refused, and the hash unchanged."""
    state = state(hashstate.tag()) if callable(state) else state
    assert not hashstate.resumable(state)
    h = Sha512()
    h.update(b"abc")
    assert not h.resume(state)
    assert h.hexdigest() == hashlib.sha512(b"abc").hexdigest()


def test_a_state_of_another_size_is_found_out(monkeypatch):
    """The check made before any state is saved: were the struct larger than the bytes
    saved, a resumed hash would differ from hashlib's, and states would not be used."""
    lib = hashstate._lib()[0]
    assert hashstate._saves_and_resumes(lib)
    monkeypatch.setattr(hashstate, "CTX_SIZE", hashstate.CTX_SIZE - 8)  # num, md_len lost
    assert not hashstate._saves_and_resumes(lib)
