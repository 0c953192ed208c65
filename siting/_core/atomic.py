"""Atomic file output: a result file or folder is either complete or absent, never half written.

Faults while writing leave the earlier output as it was and remove the temporary one: a full
disk (an `OutputError` naming the output), Ctrl-C or SIGTERM (the CLI turns both into
exceptions), a concurrent run (the swap takes `siting._core.outlock.output_lock`). What only a
SIGKILL leaves behind, the next write of the same output removes (`siting._core.leftovers`).
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from siting._core.errors import OutputError
from siting._core.leftovers import SET_ASIDE, TEMPORARY, hold, leftover_prefix, remove_leftovers
from siting._core.outlock import LOCK_TIMEOUT_S, output_lock

#: errno values of a full disk (EDQUOT: the user's quota is full)
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
#: signals the CLI turns into exceptions: held back while a swap is half done
_DEFERRED = (signal.SIGINT, signal.SIGTERM)


class _DiskFullError(OutputError):
    """The disk filled up; an enclosing atomic output renames it after itself."""


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `target`; it replaces `target` only if the block succeeds.

    Raises
    ------
    OutputError
        If the disk fills up: "disk full while writing <target>"; `target` is left as it was.
    """
    final = Path(target)
    with _disk_full_names(final):
        final.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(final)
        handle, name = tempfile.mkstemp(
            dir=final.parent, prefix=leftover_prefix(final), suffix=f".{TEMPORARY}"
        )
    temporary = Path(name)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)  # in use: see siting._core.leftovers
        # mkstemp makes the file private (0600); results and published pages get the
        # permissions of any new file (0644 with the usual umask), so a web server can serve them
        os.chmod(temporary, 0o666 & ~_umask())
        with _disk_full_names(final):
            yield temporary
            temporary.replace(final)
    finally:
        with _signals_deferred():
            temporary.unlink(missing_ok=True)
        os.close(handle)


@contextmanager
def atomic_directory(
    target: str | os.PathLike[str], *, lock_timeout_s: float = LOCK_TIMEOUT_S
) -> Iterator[Path]:
    """Yield a temporary folder beside `target`; it replaces `target` only if the block succeeds.

    A failure (or an interruption) inside the block leaves `target` as it was and removes the
    temporary folder. The swap is two renames under the output's lock, with SIGINT and SIGTERM
    held back, so for an instant `target` is absent, but it is never half written.

    Raises
    ------
    OutputError
        If the disk fills up ("disk full while writing <target>"), or another run holds the
        output's lock for longer than `lock_timeout_s` seconds.
    """
    final = Path(target)
    temporary: Path | None = None
    held: int | None = None
    old = None
    with _disk_full_names(final):
        final.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(final)
    try:
        # a signal while the temporary is made is raised at the end of this block, inside
        # the `try`, so the `finally` removes what was made (it used to leak one)
        with _signals_deferred(), _disk_full_names(final):
            temporary = Path(
                tempfile.mkdtemp(
                    dir=final.parent, prefix=leftover_prefix(final), suffix=f".{TEMPORARY}"
                )
            )
            held = hold(temporary)
        os.chmod(temporary, 0o777 & ~_umask())  # mkdtemp makes it private (0700)
        with _disk_full_names(final):
            yield temporary
        with output_lock(final, timeout_s=lock_timeout_s), _signals_deferred():
            old = _swap_in(temporary, final)
    finally:
        with _signals_deferred():  # a second Ctrl-C must not leave half a temporary
            if temporary is not None:
                shutil.rmtree(temporary, ignore_errors=True)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        if held is not None:
            os.close(held)


def _swap_in(new: Path, final: Path) -> Path | None:
    """Rename `new` to `final`; return where the earlier `final` was set aside, if any."""
    if not final.exists():
        new.rename(final)
        return None
    # a directory cannot be renamed over a non-empty one: move the old one aside first
    old = Path(
        tempfile.mkdtemp(dir=final.parent, prefix=leftover_prefix(final), suffix=f".{SET_ASIDE}")
    )
    old.rmdir()
    final.rename(old)
    new.rename(final)
    return old


@contextmanager
def _disk_full_names(final: Path) -> Iterator[None]:
    """Turn a full disk into one `OutputError` naming `final` (the outermost output wins)."""
    try:
        yield
    except _DiskFullError as error:
        raise _DiskFullError(f"disk full while writing {final}") from error.__cause__
    except OSError as error:
        if error.errno not in _DISK_FULL:
            raise
        raise _DiskFullError(f"disk full while writing {final}") from error


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for the block, then handle them as they would have been."""
    if threading.current_thread() is not threading.main_thread():
        yield  # Python runs signal handlers in the main thread only: this block is not cut
        return
    caught: list[int] = []
    previous = {}
    for number in _DEFERRED:
        if signal.getsignal(number) is not None:  # None: set outside Python, not restorable
            previous[number] = signal.signal(number, lambda signum, _: caught.append(signum))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for signum in dict.fromkeys(caught):
            handler = previous[signal.Signals(signum)]
            if callable(handler):
                handler(signum, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(signum)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_bytes_atomic(target: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to `target` atomically and return the path."""
    with atomic_path(target) as temporary:
        temporary.write_bytes(data)
    return Path(target)


def write_text_atomic(target: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 `text` to `target` atomically and return the path."""
    return write_bytes_atomic(target, text.encode("utf-8"))
