"""Find Leaflet's files in installed packages, copy them beside pages or embed them in one."""

from __future__ import annotations

import base64
import functools
import importlib.util
import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from siting._core.errors import InputError

logger = logging.getLogger(__name__)

LEAFLET_FILES = ("leaflet.js", "leaflet.css")
#: the PyPI package siting depends on for Leaflet's files: its static folder is npm's
#: leaflet@1.9.4 dist, byte for byte (BSD-2-Clause, Leaflet's licence); its Django app is
#: never imported, only the files are read
LEAFLET_PACKAGE = "js_lib_leaflet"
_MISSING_MESSAGE = (
    "no installed Leaflet found; reinstall siting (its dependency django-js-lib-leaflet "
    "ships Leaflet), run `npm install leaflet` here or set SITING_LEAFLET_DIR to its dist folder"
)


def find_leaflet(start: str | os.PathLike[str] | None = None) -> Path | None:
    """Return the folder of an installed copy of Leaflet's ``dist`` files, or None.

    Looks, in order, at ``$SITING_LEAFLET_DIR``, ``node_modules/leaflet/dist`` in `start`
    (default: the current folder) and its parents, the Python package siting depends on
    (``django-js-lib-leaflet``), then npm's global root.
    """
    candidates: list[Path] = []
    if os.environ.get("SITING_LEAFLET_DIR"):
        candidates.append(Path(os.environ["SITING_LEAFLET_DIR"]))
    here = Path(start or Path.cwd()).resolve()
    candidates += [folder / "node_modules" / "leaflet" / "dist" for folder in (here, *here.parents)]
    candidates += [_python_package_dist()]
    for folder in candidates:
        if _has_leaflet(folder):
            return folder
    # npm last: asking it where its global root is starts a process
    folder = _npm_global_root() / "leaflet" / "dist"
    return folder if _has_leaflet(folder) else None


def _has_leaflet(folder: Path) -> bool:
    return all((folder / name).is_file() for name in LEAFLET_FILES)


def _python_package_dist() -> Path:
    # find_spec locates the package without running it (its apps.py would import Django)
    spec = importlib.util.find_spec(LEAFLET_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return Path("/nonexistent")
    return Path(next(iter(spec.submodule_search_locations))) / "static" / LEAFLET_PACKAGE


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
        raise InputError(f"self-contained: {_MISSING_MESSAGE}")
    folder = Path(target)
    folder.mkdir(parents=True, exist_ok=True)
    for name in LEAFLET_FILES:
        shutil.copy2(found / name, folder / name)
    if (found / "images").is_dir():
        shutil.copytree(found / "images", folder / "images", dirs_exist_ok=True)
    logger.info("copied Leaflet from %s to %s", found, folder)
    return folder


@dataclass(frozen=True)
class EmbeddedLeaflet:
    """Leaflet's script and style sheet as text to write into a page (see `embedded_leaflet`)."""

    script: str
    css: str


def embedded_leaflet() -> EmbeddedLeaflet:
    """The installed Leaflet (`find_leaflet`) as text for a page that needs no other file.

    The style sheet's images (the layer control's icon, the default marker) become
    ``data:`` URLs, so the page shows them wherever it is opened from.

    Raises
    ------
    InputError
        If no installed Leaflet is found.
    """
    found = find_leaflet()
    if found is None:
        raise InputError(f"map: {_MISSING_MESSAGE}")
    return _read_leaflet(found.resolve())


@functools.lru_cache(maxsize=4)
def _read_leaflet(folder: Path) -> EmbeddedLeaflet:
    script = (folder / "leaflet.js").read_text(encoding="utf-8")
    css = (folder / "leaflet.css").read_text(encoding="utf-8")
    # text that would end the <script> or <style> element early must not reach the page
    if re.search(r"</(script|style)", script + css, re.IGNORECASE):
        msg = f"map: {folder} holds a Leaflet that cannot be embedded (it contains a closing tag)"
        raise InputError(msg)

    def inline_image(found: re.Match[str]) -> str:
        image = folder / found.group(1)
        if not image.is_file():
            return found.group(0)
        return "url(data:image/png;base64," + base64.b64encode(image.read_bytes()).decode() + ")"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", inline_image, css)
    return EmbeddedLeaflet(script=script, css=css)
