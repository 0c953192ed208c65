"""Name the temporaries of an output by their writer's pid; remove those a killed writer left.

A writer builds `.<name>.<pid>.<random>.tmp` beside the output `<name>` and, while swapping it
in, moves the earlier output aside as `.<name>.<pid>.<random>.old`. SIGKILL (or a power cut)
runs no cleanup, so the next write of the same output removes what dead writers left: a
leftover counts as dead only if no process of that pid runs *and* nobody holds the flock its
writer keeps on a temporary, so a writer in another pid namespace (a container sharing the
folder) is never mistaken for a dead one. An earlier output found set aside while the output
itself is missing (a writer killed between the two renames of the swap) is put back.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
from pathlib import Path

from siting._core.errors import warn
from siting._core.outlock import output_lock

logger = logging.getLogger(__name__)

TEMPORARY = "tmp"
SET_ASIDE = "old"


def leftover_prefix(final: Path) -> str:
    """The start of the names of this process's temporaries of `final` (its pid in them)."""
    return f".{final.name}.{os.getpid()}."


def hold(path: Path) -> int:
    """Mark the temporary `path` (file or folder) as in use until the returned fd is closed."""
    descriptor = os.open(path, os.O_RDONLY)
    fcntl.flock(descriptor, fcntl.LOCK_EX)  # blocks only while a cleaner looks (an instant)
    return descriptor


def remove_leftovers(final: Path) -> list[str]:
    """Remove the leftovers of dead writers of `final`; say (log and warn) what was done.

    Returns
    -------
    list of str
        One line per leftover removed or put back.
    """
    dead = _dead_leftovers(final)
    if not dead:
        return []
    with output_lock(final):  # a live writer swaps under this lock: never while we restore
        # another run may have cleared some while we waited for the lock
        done = [_clear(path, pid, kind, final) for path, pid, kind, _ in dead if _exists(path)]
    for line in done:
        warn(logger, line)
    return done


def _dead_leftovers(final: Path) -> list[tuple[Path, int, str, float]]:
    if not final.parent.is_dir():
        return []
    pattern = re.compile(
        rf"\.{re.escape(final.name)}\.(?P<pid>[0-9]+)\.[a-z0-9_]{{8}}\.(?P<kind>tmp|old)"
    )
    found = []
    for path in final.parent.iterdir():
        match = pattern.fullmatch(path.name)
        if match is None:
            continue
        pid = int(match["pid"])
        if not _alive(pid) and not _in_use(path):
            found.append((path, pid, match["kind"], _modified(path)))
    # newest first: if the output is missing, the newest earlier output set aside goes back
    found.sort(key=lambda item: (item[2] != SET_ASIDE, -item[3]))
    return found


def _clear(path: Path, pid: int, kind: str, final: Path) -> str:
    if kind == SET_ASIDE and not final.exists():
        path.rename(final)
        return f"restored {final} from {path}, set aside by process {pid} that was killed"
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    if path.exists():
        return f"could not remove {path}, left by process {pid} that no longer runs"
    return f"removed {path}, left by process {pid} that no longer runs"


def _exists(path: Path) -> bool:
    return os.path.lexists(path)


def _modified(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except FileNotFoundError:  # removed by another run meanwhile: skipped under the lock
        return 0.0


def _alive(pid: int) -> bool:
    if pid <= 0:
        return True  # not a pid a writer has; os.kill(0, ...) would mean the process group
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _in_use(path: Path) -> bool:
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return True  # cannot even look: leave it alone
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False
