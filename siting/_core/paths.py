"""Say why a path given as a data file cannot be read, before a library says it its own way.

`os.stat` and `pathlib` report a symbolic-link loop, an over-long name or a NUL byte as
"no such file", as a `RuntimeError` or as a `ValueError` with no file named; a folder or a
device given as a data file fails later inside a reader. Here each case gets its own words.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from siting._core.errors import InputError

#: Linux limits: a whole path (PATH_MAX) and one component of it (NAME_MAX), in bytes
PATH_MAX = 4096
NAME_MAX = 255
_SHOWN = 80
#: the reason `file_problem` gives for a path that names nothing
MISSING = "no such file"

_ERRNO_REASONS = {
    errno.ENOENT: MISSING,
    errno.ELOOP: "is a symbolic link loop (a link that leads back to itself)",
    errno.EACCES: "permission denied",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ENAMETOOLONG: "the path is too long for the file system",
}


def shown_path(path: str | os.PathLike[str], limit: int = _SHOWN) -> str:
    """The path for a message: shortened in the middle when long, NUL bytes made visible."""
    text = os.fspath(path).replace("\0", "\\0")
    if len(text) <= limit:
        return text
    half = (limit - 1) // 2
    return f"{text[:half]}…{text[-half:]} ({len(text)} characters)"


def name_problem(path: str | os.PathLike[str], reserve: int = 0) -> str | None:
    """Why no file system could hold a file named `path`, or None; nothing is looked up.

    `reserve` bytes are kept free in the last name and the whole path, for the affixes of a
    temporary made beside it (`.<name>.<pid>.<random>.tmp`).
    """
    text = os.fspath(path)
    if "\0" in text:
        return "the path contains a NUL byte"
    size = len(os.fsencode(text))
    if size + reserve >= PATH_MAX:
        return f"the path is {size} bytes long, over the limit of {PATH_MAX - 1 - reserve}"
    parts = Path(text).parts
    for index, part in enumerate(parts):
        size = len(os.fsencode(part))
        limit = NAME_MAX - (reserve if index == len(parts) - 1 else 0)
        if size > limit:
            return f"the name {part[:24]!r}... is {size} bytes long, over the limit of {limit}"
    return None


def file_problem(path: str | os.PathLike[str]) -> str | None:
    """Why `path` is not a regular file that can be read, or None when it is one."""
    text = os.fspath(path)
    problem = name_problem(text)
    if problem is not None:
        return problem
    try:
        mode = os.stat(text).st_mode
    except OSError as error:
        return _ERRNO_REASONS.get(error.errno or 0, f"cannot be opened ({error.strerror})")
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(mode):
        return "is a device, pipe or socket, not a file"
    return None


def readable_file(path: str | os.PathLike[str]) -> Path:
    """`path` as a Path when it names a regular file, else an InputError saying why not.

    >>> readable_file("/dev/null")
    Traceback (most recent call last):
    ...
    siting._core.errors.InputError: /dev/null: is a device, pipe or socket, not a file
    """
    problem = file_problem(path)
    if problem is not None:
        msg = f"{shown_path(path)}: {problem}"
        raise InputError(msg)
    return Path(path)
