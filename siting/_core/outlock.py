"""An exclusive lock per output path, so that concurrent runs replace it one at a time.

The lock is `.<name>.lock` beside the output, held with `fcntl.flock`. It is held only while
the finished temporary folder is swapped in (and while leftovers of killed runs are removed),
not while the results are written: writing maps takes seconds to minutes and concurrent runs
each write their own temporary folder, so only the two renames of the swap can interfere
(one run moving the folder aside while another moves its own into place). The kernel drops a
flock when its holder dies, so a killed run never leaves the lock held.

`filelock` is not used: it leaves the lock file behind, and a hidden file beside every output
is a leftover of its own; this lock removes its file while still holding it (see `_acquire`).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from siting._core.errors import OutputError

logger = logging.getLogger(__name__)

#: the longest wait for another run's swap (milliseconds normally) before refusing
LOCK_TIMEOUT_S = 60.0
#: how often a waiting run tries again
_POLL_S = 0.01


def lock_path(final: Path) -> Path:
    """The lock file of the output `final`: hidden, beside it."""
    return final.parent / f".{final.name}.lock"


@contextlib.contextmanager
def output_lock(final: Path, *, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the exclusive lock of the output `final` for the block.

    Raises
    ------
    OutputError
        If another process holds the lock for longer than `timeout_s` seconds.
    """
    path = lock_path(final)
    descriptor = _acquire(path, final, timeout_s)
    try:
        yield
    finally:
        # unlinked while held: a waiter that opened this file sees it gone and opens a new one
        path.unlink(missing_ok=True)
        os.close(descriptor)


def _acquire(path: Path, final: Path, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    waiting = False
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(descriptor)
            os.close(descriptor)
            if time.monotonic() > deadline:
                msg = (
                    f"another run{holder} is writing {final}; waited {timeout_s:g} s, "
                    "try again when it has finished"
                )
                raise OutputError(msg) from None
            if not waiting:
                logger.info("waiting for another run%s writing %s", holder, final)
                waiting = True
            time.sleep(_POLL_S)
            continue
        if _is_current(descriptor, path):
            os.ftruncate(descriptor, 0)
            os.write(descriptor, f"{os.getpid()}\n".encode())
            return descriptor
        os.close(descriptor)  # its holder removed it after we opened it: lock the new one


def _is_current(descriptor: int, path: Path) -> bool:
    """Whether the locked file is still the one at `path` (not removed by its last holder)."""
    try:
        named = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(descriptor)
    return (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino)


def _holder(descriptor: int) -> str:
    """Name the process holding the lock, as ' (pid N)', once it has written its pid."""
    text = os.pread(descriptor, 32, 0).decode(errors="replace").strip()
    return f" (pid {text})" if text.isdigit() else ""
