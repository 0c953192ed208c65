"""Download the roads and car ferries of a place or polygon from Overpass, as OSM XML.

The download is saved as an `.osm` file and then built exactly like a local extract, so a
place and a file give the same network. Responses are cached by query.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import requests
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from siting._core.atomic import write_bytes_atomic
from siting._core.errors import InputError, SitingError

logger = logging.getLogger(__name__)

# Overpass URLs get long with detailed boundaries; ~0.001° (about 100 m) keeps the query
# small and still covers every road near the border.
_SIMPLIFY_DEGREES = 0.001
_BUFFER_DEGREES = 0.002


def download_place_osm(
    place: str | BaseGeometry, *, cache_dir: Path, timeout_s: float = 180.0
) -> Path:
    """Return an `.osm` file with every highway and car ferry of a place or lon/lat polygon."""
    polygon = _polygon_of(place)
    query = overpass_query(polygon, timeout_s=timeout_s)
    target = cache_dir / f"{hashlib.sha256(query.encode()).hexdigest()[:32]}.osm"
    if target.is_file():
        logger.info("%s: roads from cache %s", place, target)
        return target
    import osmnx as ox  # late: osmnx is slow to import; its settings name the server

    url = f"{ox.settings.overpass_url.rstrip('/')}/interpreter"
    logger.info("downloading roads of %s from %s", place, url)
    try:
        response = requests.post(
            url,
            data={"data": query},
            headers={"User-Agent": ox.settings.http_user_agent},
            timeout=timeout_s + 30,
        )
        response.raise_for_status()
    except requests.RequestException as error:
        msg = f"Overpass download for {place!r} failed: {error}"
        raise SitingError(msg) from error
    if b"<osm" not in response.content[:1000]:
        msg = f"Overpass returned no OSM data for {place!r}: {response.text[:200]!r}"
        raise SitingError(msg)
    return write_bytes_atomic(target, response.content)


def overpass_query(polygon: Polygon | MultiPolygon, *, timeout_s: float = 180.0) -> str:
    """The Overpass QL query for every highway and ferry way in a polygon, with their nodes.

    All highways are fetched; the drive, walk or bike filter is applied when the file is read,
    so another mode or option (tracks, ferries) needs no new download.
    """
    parts = list(polygon.geoms) if isinstance(polygon, MultiPolygon) else [polygon]
    clauses = []
    for part in parts:
        ring = " ".join(f"{lat:.6f} {lon:.6f}" for lon, lat in part.exterior.coords)
        clauses.append(f'way["highway"](poly:"{ring}");')
        clauses.append(f'way["route"="ferry"](poly:"{ring}");')
    return f"[out:xml][timeout:{int(timeout_s)}];({''.join(clauses)});(._;>;);out body;"


def _polygon_of(place: str | BaseGeometry) -> Polygon | MultiPolygon:
    if isinstance(place, BaseGeometry):
        geometry = place
        name = "the polygon"
    else:
        geometry = _geocode(place)
        name = repr(place)
    if not isinstance(geometry, Polygon | MultiPolygon) or geometry.is_empty:
        msg = f"{name} is not a polygon in lon/lat (got {geometry.geom_type})"
        raise InputError(msg)
    minx, miny, maxx, maxy = geometry.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        msg = f"{name} is not in lon/lat degrees (bounds {geometry.bounds})"
        raise InputError(msg)
    simplified = shapely.simplify(geometry.buffer(_BUFFER_DEGREES), _SIMPLIFY_DEGREES)
    assert isinstance(simplified, Polygon | MultiPolygon)  # buffering keeps it areal
    return simplified


def _geocode(place: str) -> BaseGeometry:
    import osmnx as ox  # late: osmnx is slow to import

    try:
        found = ox.geocode_to_gdf(place)
    except (ox._errors.InsufficientResponseError, TypeError, ValueError) as error:
        msg = f"place {place!r} resolves to no area on OpenStreetMap ({error})"
        raise InputError(msg) from error
    except requests.RequestException as error:
        msg = f"geocoding {place!r} failed: {error}"
        raise SitingError(msg) from error
    geometry: BaseGeometry = found.geometry.iloc[0]
    return geometry
