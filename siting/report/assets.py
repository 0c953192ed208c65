"""Find Leaflet's files in installed packages and copy them beside published pages."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

from siting._core.errors import InputError

logger = logging.getLogger(__name__)

LEAFLET_FILES = ("leaflet.js", "leaflet.css")


def find_leaflet(start: str | os.PathLike[str] | None = None) -> Path | None:
    """Return the ``dist`` folder of an installed copy of npm's ``leaflet``, or None.

    Looks, in order, at ``$SITING_LEAFLET_DIR``, ``node_modules/leaflet/dist`` in `start`
    (default: the current folder) and its parents, then npm's global root.
    """
    candidates: list[Path] = []
    if os.environ.get("SITING_LEAFLET_DIR"):
        candidates.append(Path(os.environ["SITING_LEAFLET_DIR"]))
    here = Path(start or Path.cwd()).resolve()
    candidates += [folder / "node_modules" / "leaflet" / "dist" for folder in (here, *here.parents)]
    candidates += [_npm_global_root() / "leaflet" / "dist"]
    for folder in candidates:
        if all((folder / name).is_file() for name in LEAFLET_FILES):
            return folder
    return None


def _npm_global_root() -> Path:
    npm = shutil.which("npm")
    if npm is None:
        return Path("/nonexistent")
    try:
        answer = subprocess.run(
            [npm, "root", "-g"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return Path("/nonexistent")
    return Path(answer.stdout.strip())


def copy_leaflet(target: str | os.PathLike[str], *, source: Path | None = None) -> Path:
    """Copy Leaflet's JS, CSS and images into `target` (a folder); return it.

    Raises
    ------
    InputError
        If no installed Leaflet is found (install it with ``npm install leaflet``).
    """
    found = source or find_leaflet()
    if found is None:
        msg = (
            "self-contained: no installed Leaflet found; run `npm install leaflet` here or "
            "set SITING_LEAFLET_DIR to its dist folder"
        )
        raise InputError(msg)
    folder = Path(target)
    folder.mkdir(parents=True, exist_ok=True)
    for name in LEAFLET_FILES:
        shutil.copy2(found / name, folder / name)
    if (found / "images").is_dir():
        shutil.copytree(found / "images", folder / "images", dirs_exist_ok=True)
    logger.info("copied Leaflet from %s to %s", found, folder)
    return folder
