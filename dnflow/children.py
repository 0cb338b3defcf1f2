"""Helper processes end with the process that forked them.

A summary forks counting workers and the users.csv writer. When the summary's process
is killed (the OOM killer, a cluster's time limit, Ctrl-C twice), its helpers must not
live on, blocked on a pipe nobody will write to again: on Linux the kernel kills them
(PR_SET_PDEATHSIG); elsewhere they notice on their next read or write of the pipe.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Call first thing in a forked helper; ``parent``: the forking process's pid, taken
    before the fork (a parent that died before this call is noticed too)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)
