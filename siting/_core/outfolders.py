"""Check where output goes before any work: a bad path or a foreign folder fails at once.

Each command writes its output folder as a whole (`siting._core.atomic.atomic_directory`) and
replaces only a folder it wrote before; a folder holding anything else is refused, so a
mistyped `--out` never deletes a user's own files. The output's folder (or the nearest one
that exists, when folders are still to be made) must let a file be made in it, tried for real,
so a read-only or foreign folder fails before hours of solving, not after. Leftovers of killed
runs of the same output are removed here too (`siting._core.leftovers`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from siting._core.errors import InputError
from siting._core.leftovers import remove_leftovers
from siting._core.paths import name_problem, shown_path

#: how errors name an output folder: the Python argument and the command-line option
OUT_OPTION = "out_dir (--out)"
RUN_KIND = "siting run"
DEMO_KIND = "siting demo"
SITE_KIND = "siting compare / publish"
#: bytes a temporary's name adds to the output's: `.`, `.<pid>.<random>.tmp` (tempfile)
TEMPORARY_AFFIXES = 32
#: what each command leaves in its folder: every listed name is there
OUTPUT_KINDS = {
    RUN_KIND: ("summary.json", "assignments.csv"),
    DEMO_KIND: ("summary.json", "jamforelse"),
    SITE_KIND: ("site.json", "index.html"),
}


def output_kind(folder: Path) -> str | None:
    """The command that wrote `folder`, or None if none did."""
    for kind, names in OUTPUT_KINDS.items():
        if all((folder / name).exists() for name in names):
            return kind
    return None


def check_out_dir(folder: Path, *, kind: str, option: str = OUT_OPTION) -> None:
    """Refuse a `folder` that cannot be made or written, or holds other than output of `kind`.

    Raises
    ------
    InputError
        Naming `option` and the path: a file in the way, a folder that takes no new file
        (read-only, no permission), or a folder of other files.
    """
    check_folder_path(folder, option)
    _check_writable(folder, option)
    remove_leftovers(folder)
    if not folder.exists() or not any(folder.iterdir()):
        return
    found = output_kind(folder)
    if found is None:
        msg = f"{option}: {folder} holds files siting did not write; choose another folder"
        raise InputError(msg)
    if found != kind:
        msg = f"{option}: {folder} holds the output of `{found}`, not `{kind}`; choose another"
        raise InputError(msg)


def check_folder_path(folder: Path, option: str) -> None:
    """Refuse a folder option (such as a cache) that is a file or lies under one."""
    _check_parents(folder, option)
    if folder.exists() and not folder.is_dir():
        msg = f"{option}: {folder} is a file, not a folder"
        raise InputError(msg)


def check_file_path(file: Path, option: str) -> None:
    """Refuse an output file whose folder cannot be made or written, or that is a folder."""
    _check_parents(file, option)
    if file.is_dir():
        msg = f"{option}: {file} is a folder, not a file"
        raise InputError(msg)
    _check_writable(file, option)
    remove_leftovers(file)


def _check_parents(path: Path, option: str) -> None:
    problem = name_problem(path, reserve=TEMPORARY_AFFIXES)
    if problem is not None:
        msg = f"{option}: {shown_path(path)}: {problem}"
        raise InputError(msg)
    # the nearest existing ancestor must be a folder, else mkdir fails after all the work
    parent = _nearest_existing(path)
    if not parent.is_dir():
        msg = f"{option}: {path} lies under {parent}, which is a file, not a folder"
        raise InputError(msg)


def _check_writable(path: Path, option: str) -> None:
    """Refuse `path` if its folder (or the nearest existing one) takes no new file.

    A real file is made and removed: `os.access` and the mode bits say nothing of a read-only
    mount for root, of ACLs or of a full inode table.
    """
    parent = _nearest_existing(path)
    try:
        handle, name = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".probe")
    except OSError as error:
        msg = f"{option}: cannot write {path}: {parent}: {error.strerror or error}"
        raise InputError(msg) from None
    os.close(handle)
    os.unlink(name)


def _nearest_existing(path: Path) -> Path:
    absolute = path.absolute()
    return next((parent for parent in absolute.parents if parent.exists()), absolute)
