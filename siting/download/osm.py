"""Download OpenStreetMap data: Geofabrik extracts (verified, resumable) and places via Overpass.

Downloads land in the cache (`$SITING_CACHE_DIR`, else `~/.cache/siting`) and are reused: an
extract under `osm/`, a place's roads under `networks/overpass/`, where `siting.load_network`
looks for them, so a place fetched here is not downloaded again when a scenario names it.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import requests

from siting._core.atomic import atomic_path, write_text_atomic
from siting._core.errors import DownloadError, InputError
from siting.download.geofabrik import GEOFABRIK_REGIONS, GEOFABRIK_URL, REGION_ALIASES
from siting.download.http import (
    cache_root,
    download_file,
    get_response,
    http_session,
    md5_of_file,
)

logger = logging.getLogger(__name__)

_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")


def extract_url(region_or_url: str, *, base_url: str = GEOFABRIK_URL) -> str:
    """The `.osm.pbf` URL of a Geofabrik region name ("sweden", "norge") or a full URL.

    Raises
    ------
    InputError
        If the name is no region in `GEOFABRIK_REGIONS`, or the URL is not an `.osm.pbf`.
    """
    text = region_or_url.strip()
    if re.match(r"^https?://", text, flags=re.IGNORECASE):
        if not urlsplit(text).path.endswith(".osm.pbf"):
            msg = f"extract URL {text!r} does not end in .osm.pbf"
            raise InputError(msg)
        return text
    key = "-".join(text.casefold().split())
    key = REGION_ALIASES.get(key, key)
    if key not in GEOFABRIK_REGIONS:
        names = sorted({*GEOFABRIK_REGIONS, *REGION_ALIASES})
        close = difflib.get_close_matches(key, names, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        msg = (
            f"extract region {region_or_url!r} is unknown; {hint}choose one of "
            f"{', '.join(sorted(GEOFABRIK_REGIONS))} or give the full .osm.pbf URL"
        )
        raise InputError(msg)
    return f"{base_url.rstrip('/')}/{GEOFABRIK_REGIONS[key]}-latest.osm.pbf"


def fetch_osm_extract(
    region_or_url: str,
    *,
    refresh: bool = False,
    verify: bool = True,
    base_url: str = GEOFABRIK_URL,
    cache_dir: str | os.PathLike[str] | None = None,
    session: requests.Session | None = None,
) -> Path:
    """Download an OSM extract from Geofabrik into the cache and return its path.

    Parameters
    ----------
    region_or_url
        A region of `GEOFABRIK_REGIONS` (English or Swedish name) or a full `.osm.pbf` URL.
    refresh
        Ask the server whether a newer extract was published (Geofabrik's `-latest` files
        change daily) and download it if so. Otherwise a verified file in the cache is used
        without going online.
    verify
        Check the download against the `.md5` file the server publishes beside it.
    base_url
        Geofabrik or a mirror of it.
    cache_dir
        Cache folder; `$SITING_CACHE_DIR` or `~/.cache/siting` when None.

    Raises
    ------
    InputError
        Unknown region, a URL that is no extract, or an HTTP 400, 404 or 410 from the server.
    DownloadError
        Network or server failure, a truncated download (resumed by the next call), or an MD5
        mismatch (the download is deleted).
    """
    url = extract_url(region_or_url, base_url=base_url)
    target = cache_root(cache_dir) / "osm" / _cache_name(url)
    checksum = target.with_name(target.name + ".md5")
    if not refresh and _usable_from_cache(target, checksum, verify=verify):
        logger.info("%s: using %s from the cache", url, target)
        return target
    session = session or http_session()
    expected = _published_md5(url, session) if verify else None
    if expected is not None and _matches(target, expected):
        logger.info("%s: the cached %s is the latest", url, target)
    else:
        download_file(url, target, session=session, expected_md5=expected)
    if expected is None:
        checksum.unlink(missing_ok=True)  # nothing verified: nothing to vouch for it later
    else:
        write_text_atomic(checksum, f"{expected}  {target.name}\n")
    return target


def _cache_name(url: str) -> Path:
    # the URL's path keeps two countries' `-latest` files apart; the host does not, so a
    # mirror fills the same cache
    parts = [p for p in urlsplit(url).path.split("/") if p and p not in (".", "..")]
    return Path(*parts)


def _usable_from_cache(target: Path, checksum: Path, *, verify: bool) -> bool:
    """Verified when it was downloaded (and unchanged since), or no verification is wanted."""
    if not verify:
        return target.is_file()
    return _matches(target, _stored_md5(checksum))


def _stored_md5(checksum: Path) -> str | None:
    """The MD5 a cached extract was verified against when it was downloaded."""
    words = checksum.read_text().split() if checksum.is_file() else []
    return words[0] if words and _MD5.match(words[0]) else None


def _matches(target: Path, md5: str | None) -> bool:
    return md5 is not None and target.is_file() and md5_of_file(target) == md5


def _published_md5(url: str, session: requests.Session) -> str:
    """The hash in the `.md5` file beside the extract ("<hex>  sweden-latest.osm.pbf")."""
    md5_url = url + ".md5"
    response = get_response(session, md5_url, what="MD5 of the extract")
    words = response.text.split()
    if not words or not _MD5.match(words[0]):
        msg = f"{md5_url} holds no MD5 sum (starts {response.text[:60]!r})"
        raise DownloadError(msg)
    return words[0].lower()


def fetch_place(
    place: str,
    *,
    out: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Download every highway and car ferry of a place from Overpass as an `.osm` file.

    The file lands where `siting.load_network(place)` looks for it, so a network built from
    the place name afterwards needs no download; with `out` a copy is written there too.

    Raises
    ------
    InputError
        If the place resolves to no area, or `out` is not an `.osm` file.
    SitingError
        If Overpass or the geocoder cannot be reached or answers with an error.
    """
    from siting.download.overpass import (
        download_place_osm,  # late: pulls in shapely and, for names, osmnx
    )

    if out is not None and not str(out).endswith(".osm"):
        msg = f"--out {str(out)!r} must end in .osm (the file is OSM XML)"
        raise InputError(msg)
    directory = cache_root(cache_dir) / "networks" / "overpass"
    cached = download_place_osm(place, cache_dir=directory)
    if out is None:
        return cached
    with atomic_path(out) as temporary:
        shutil.copyfile(cached, temporary)
    return Path(out)
