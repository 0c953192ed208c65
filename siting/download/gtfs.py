"""Download a region's GTFS feed from Trafiklab's GTFS Regional (Samtrafiken's open data).

Each regional public transport operator publishes one zip at
``{server}/{operator}/{operator}.zip?key=KEY``; the key is a free API key from trafiklab.se,
read from the environment (``TRAFIKLAB_API_KEY``) and never written to a log or an error.
"""

from __future__ import annotations

import difflib
import logging
import os
import zipfile
from pathlib import Path

from siting._core.errors import DownloadError, InputError
from siting.download.http import cache_root, download_file, http_session

logger = logging.getLogger(__name__)

TRAFIKLAB_GTFS_URL = "https://opendata.samtrafiken.se/gtfs"
API_KEY_VARIABLE = "TRAFIKLAB_API_KEY"
#: Files every GTFS feed must hold (the calendar may be either of two).
GTFS_REQUIRED_FILES = ("stops.txt", "routes.txt", "trips.txt", "stop_times.txt")
#: Operator names of GTFS Regional (Trafiklab's list; an unlisted one may be given anyway
#: with `strict=False`, the command's --any-operator).
OPERATORS = (
    "blekinge",
    "dt",
    "dintur",
    "gotland",
    "halland",
    "jlt",
    "klt",
    "krono",
    "norrbotten",
    "orebro",
    "otraf",
    "skane",
    "sl",
    "sormland",
    "ul",
    "varm",
    "vasterbotten",
    "vastmanland",
    "vt",
    "xt",
)


def fetch_gtfs(
    operator: str,
    *,
    refresh: bool = False,
    base_url: str = TRAFIKLAB_GTFS_URL,
    cache_dir: str | os.PathLike[str] | None = None,
    strict: bool = True,
) -> Path:
    """The operator's GTFS zip in the cache, downloaded unless there (or `refresh`).

    Raises
    ------
    InputError
        An unknown operator, no API key in the environment, a key the server refuses, or an
        operator the server does not know.
    DownloadError
        The download fails, or what arrives is not a GTFS zip (nothing is kept then).
    """
    name = _operator(operator, strict=strict)
    target = cache_root(cache_dir) / "gtfs" / f"{name}.zip"
    if target.is_file() and not refresh:
        logger.info("GTFS %s: reusing %s", name, target)
        return target
    key = os.environ.get(API_KEY_VARIABLE, "").strip()
    if not key:
        msg = f"set {API_KEY_VARIABLE} to a Trafiklab API key (free at trafiklab.se) to fetch GTFS"
        raise InputError(msg)
    session = http_session()
    session.params = {"key": key}  # on every request, so the logged URL holds no key
    url = f"{base_url.rstrip('/')}/{name}/{name}.zip"
    fresh = target.with_name(f"{name}.download.zip")
    try:
        download_file(url, fresh, session=session)
    except (InputError, DownloadError) as error:
        text = str(error).replace(key, "***")  # the server's URL carries the key
        if " 401 " in text or " 403 " in text:
            raise InputError(f"{url}: the Trafiklab API key was refused ({text})") from None
        raise type(error)(text) from None
    _check_feed(fresh, url)
    os.replace(fresh, target)
    return target


def _operator(operator: str, *, strict: bool) -> str:
    name = operator.strip().casefold()
    if not name.isalnum():
        raise InputError(f"GTFS operator {operator!r}: letters and digits only")
    if strict and name not in OPERATORS:
        close = difflib.get_close_matches(name, OPERATORS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        msg = (
            f"GTFS operator {operator!r} is not in Trafiklab's GTFS Regional list; {hint}"
            f"choose one of {', '.join(OPERATORS)} (or --any-operator)"
        )
        raise InputError(msg)
    return name


def _check_feed(path: Path, url: str) -> None:
    """A readable zip holding the required files; else it is deleted."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = {Path(name).name for name in archive.namelist()}
            broken = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        path.unlink(missing_ok=True)
        raise DownloadError(f"{url}: the answer is not a zip ({error})") from None
    missing = [name for name in GTFS_REQUIRED_FILES if name not in names]
    if broken is not None or missing:
        path.unlink(missing_ok=True)
        what = f"{broken} is corrupt" if broken else f"no {', '.join(missing)}"
        raise DownloadError(f"{url}: the answer is not a GTFS feed ({what})")
