"""Atomic file output: a result file is either complete or absent, never half written."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `target`; it replaces `target` only if the block succeeds."""
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        # mkstemp makes the file private (0600); results and published pages get the
        # permissions of any new file (0644 with the usual umask), so a web server can serve them
        os.chmod(temporary, 0o666 & ~_umask())
        yield temporary
        temporary.replace(final)
    finally:
        temporary.unlink(missing_ok=True)


@contextmanager
def atomic_directory(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary folder beside `target`; it replaces `target` only if the block succeeds.

    A failure (or an interruption) inside the block leaves `target` as it was and removes the
    temporary folder. The swap is two renames, so for an instant `target` is absent, but it
    is never half written.
    """
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp"))
    try:
        os.chmod(temporary, 0o777 & ~_umask())  # mkdtemp makes it private (0700)
        yield temporary
        _swap_in(temporary, final)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _swap_in(new: Path, final: Path) -> None:
    if not final.exists():
        new.rename(final)
        return
    # a directory cannot be renamed over a non-empty one: move the old one aside first
    old = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".old"))
    old.rmdir()
    final.rename(old)
    new.rename(final)
    shutil.rmtree(old, ignore_errors=True)


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
