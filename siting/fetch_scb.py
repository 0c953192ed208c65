"""Download SCB population grids ("Statistik på rutor") from SCB's open WFS for a region.

SCB serves the grid as GeoServer layers `stat:befolkning_1km_<year>` at
https://geodata.scb.se/geoserver/stat/wfs, one polygon per populated cell with `rutid_scb`
(the SWEREF99 TM corner), `beftotalt` (people) and more head counts. The cells in the region's
bounding box are fetched page by page, clipped to the region and written as a GeoPackage or
CSV that `siting.load_population` reads as it is.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import requests
from tqdm import tqdm

from .atomic import atomic_path
from .errors import InputError
from .fetch_http import (
    DownloadError,
    cache_root,
    check_status,
    get_response,
    http_session,
    send_get,
)
from .regions import DEFAULT_GAP_TOLERANCE_M, Region, clip_to_region, find_region

logger = logging.getLogger(__name__)

SCB_WFS_URL = "https://geodata.scb.se/geoserver/stat/wfs"
GRID_SIZES = ("1km", "250m")
OUTPUT_SUFFIXES = (".gpkg", ".csv")
SWEREF99_TM = "EPSG:3006"
_ID_PROPERTY = "rutid_scb"
_POPULATION_PROPERTY = "beftotalt"
_PAGE_SIZE = 10_000
_OWS = "{http://www.opengis.net/ows}"


def population_layer(size: str, year: int) -> str:
    """The WFS layer of SCB's population grid: `stat:befolkning_1km_2025`."""
    return f"stat:befolkning_{size}_{year}"


def fetch_population_grid(
    *,
    size: str = "1km",
    year: int | None = None,
    region: str | Region | None = None,
    out: str | os.PathLike[str] | None = None,
    refresh: bool = False,
    page_size: int = _PAGE_SIZE,
    base_url: str = SCB_WFS_URL,
    cache_dir: str | os.PathLike[str] | None = None,
    session: requests.Session | None = None,
) -> Path:
    """Download SCB's population grid of a region and return the file written.

    Parameters
    ----------
    size
        Cell size, ``"1km"`` or ``"250m"`` (the layer must exist on the server).
    year
        Reference year; the newest the server offers when None.
    region
        Municipality, county or FA region (`siting.regions.find_region`); all of Sweden when
        None (about 115,000 cells at 1 km).
    out
        A `.gpkg` or `.csv` file to write; else the GeoPackage in the cache is returned.
    refresh
        Download again even if the cache holds this layer and region.
    page_size
        Cells per request (SCB's server caps an answer at some tens of thousands).

    Raises
    ------
    InputError
        Bad size, year, region or output suffix; a layer the server does not have (the
        message lists the ones it has); no populated cell in the region.
    DownloadError
        Network failure, a server error, or pages that do not add up.
    """
    _check_options(size, year, out, page_size)
    found = None if region is None else find_region(region)
    session = session or http_session()
    year = year if year is not None else _newest_year(size, base_url, session)
    layer = population_layer(size, year)
    place = "sverige" if found is None else f"{found.level}-{found.code}"
    cached = cache_root(cache_dir) / "scb" / f"{layer.partition(':')[2]}_{place}.gpkg"
    if refresh or not cached.is_file():
        frame = _download_cells(
            layer, found, base_url=base_url, page_size=page_size, session=session
        )
        _write_geopackage(frame, cached, layer=layer.partition(":")[2])
    else:
        logger.info("%s: using %s from the cache", layer, cached)
    return cached if out is None else _write_output(cached, Path(out))


def _write_geopackage(frame: gpd.GeoDataFrame, target: Path, *, layer: str) -> None:
    with atomic_path(target) as temporary, warnings.catch_warnings():
        # GDAL warns that the temporary name does not end in .gpkg; the final name does
        warnings.filterwarnings("ignore", "The filename extension", RuntimeWarning)
        frame.to_file(temporary, driver="GPKG", layer=layer)


def _check_options(size: str, year: int | None, out: object, page_size: int) -> None:
    if size not in GRID_SIZES:
        msg = f"grid size must be one of {', '.join(GRID_SIZES)}, got {size!r}"
        raise InputError(msg)
    if year is not None and not 1990 <= year <= 2100:
        msg = f"year must be a year such as 2025, got {year!r}"
        raise InputError(msg)
    if out is not None and Path(str(out)).suffix.lower() not in OUTPUT_SUFFIXES:
        msg = f"output {str(out)!r} must end in {' or '.join(OUTPUT_SUFFIXES)}"
        raise InputError(msg)
    if page_size < 1:
        msg = f"page size must be at least 1, got {page_size!r}"
        raise InputError(msg)


def offered_layers(base_url: str, session: requests.Session) -> list[str]:
    """Names of the population grid layers the WFS offers (from GetCapabilities)."""
    params = {"service": "WFS", "version": "1.1.0", "request": "GetCapabilities"}
    response = get_response(session, base_url, what="SCB WFS capabilities", params=params)
    try:
        root = ET.fromstring(response.content)
    except ET.ParseError as error:
        msg = f"SCB WFS capabilities at {response.url} are not XML ({error})"
        raise DownloadError(msg) from error
    names = (element.text or "" for element in root.iter() if element.tag.endswith("}Name"))
    return sorted({n.strip() for n in names if re.fullmatch(r"stat:befolkning_\w+_\d{4}", n)})


def _newest_year(size: str, base_url: str, session: requests.Session) -> int:
    prefix = population_layer(size, 0).removesuffix("0")
    layers = offered_layers(base_url, session)
    years = [int(n.removeprefix(prefix)) for n in layers if n.startswith(prefix)]
    if not years:
        offer = _offer_text(layers)
        msg = f"SCB's WFS at {base_url} offers no {prefix}<year> layer; {offer}"
        raise InputError(msg)
    logger.info("SCB's newest %s grid is %d", size, max(years))
    return max(years)


def _offer_text(layers: list[str]) -> str:
    return f"it offers {', '.join(layers)}" if layers else "it offers no population grid"


def _download_cells(
    layer: str,
    region: Region | None,
    *,
    base_url: str,
    page_size: int,
    session: requests.Session,
) -> gpd.GeoDataFrame:
    params: dict[str, Any] = {
        # version 1.1.0 with a bbox in "EPSG:3006" reads the box as east, north (GeoServer's
        # rule for the short CRS form), as SCB's own published download links use it
        "service": "WFS",
        "version": "1.1.0",
        "request": "GetFeature",
        "typeName": layer,
        "outputFormat": "application/json",
        "srsName": SWEREF99_TM,
        "sortBy": _ID_PROPERTY,  # a stable order, or pages may overlap and skip cells
        "maxFeatures": page_size,
    }
    if region is not None:
        params["bbox"] = _bbox(region)
    features = _all_pages(layer, params, base_url=base_url, session=session)
    where = "Sweden" if region is None else str(region)
    if not features:
        msg = f"SCB layer {layer} has no populated cells in {where} (bbox {params.get('bbox')})"
        raise InputError(msg)
    frame = _cells_frame(features, layer)
    if region is not None:
        frame = clip_to_region(
            frame,
            region,
            id_column="rutid",
            population_column=_POPULATION_PROPERTY,
            code_column="",
            source=layer,
        ).kept
    logger.info(
        "%s: %d cells, %.0f people in %s",
        layer,
        len(frame),
        frame[_POPULATION_PROPERTY].sum(),
        where,
    )
    return frame


def _bbox(region: Region) -> str:
    """The region's bounds as a WFS bbox, widened by the gap tolerance."""
    # clip_to_region joins cells just outside a generalised boundary to the region: fetch them
    minx, miny, maxx, maxy = region.geometry.bounds
    margin = DEFAULT_GAP_TOLERANCE_M
    corners = (minx - margin, miny - margin, maxx + margin, maxy + margin)
    return ",".join(f"{value:.0f}" for value in corners) + f",{SWEREF99_TM}"


def _all_pages(
    layer: str, params: dict[str, Any], *, base_url: str, session: requests.Session
) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = []
    matched: int | None = None
    with tqdm(desc=layer, unit=" cells", disable=None, leave=False) as bar:
        while matched is None or len(features) < matched:
            page = _get_page(layer, {**params, "startIndex": len(features)}, base_url, session)
            batch = page.get("features") or []
            matched = _number_matched(page, len(features) + len(batch), params["maxFeatures"])
            bar.total = matched
            bar.update(len(batch))
            features.extend(batch)
            if not batch:
                break
    if matched is not None and len(features) != matched:
        msg = f"{layer}: the server announced {matched} cells but sent {len(features)}"
        raise DownloadError(msg)
    return features


def _number_matched(page: dict[str, Any], so_far: int, page_size: int) -> int:
    """Cells in all pages: GeoServer's `numberMatched` (or `totalFeatures`), else inferred."""
    for key in ("numberMatched", "totalFeatures"):
        value = page.get(key)
        if isinstance(value, int) and value >= 0:
            return value
    # no count ("unknown"): a short page is the last one
    return so_far if len(page.get("features") or []) < page_size else so_far + 1


def _get_page(
    layer: str, params: dict[str, Any], base_url: str, session: requests.Session
) -> dict[str, Any]:
    what = f"SCB layer {layer}"
    response = send_get(session, base_url, what=what, params=params)
    # GeoServer reports a bad request as an XML ExceptionReport, with status 200 or 400
    if b"ExceptionReport" in response.content[:1000]:
        raise _report_error(response.content, layer, base_url, session)
    check_status(response, what=what)
    try:
        page = response.json()
    except ValueError as error:
        msg = f"{what}: {response.url} sent no JSON ({response.text[:120]!r})"
        raise DownloadError(msg) from error
    if not isinstance(page, dict) or not isinstance(page.get("features", []), list):
        msg = f"{what}: {response.url} sent JSON that is no feature collection"
        raise DownloadError(msg)
    return page


def _report_error(
    content: bytes, layer: str, base_url: str, session: requests.Session
) -> InputError | DownloadError:
    """Turn GeoServer's ExceptionReport into an error; an unknown layer lists the offered ones."""
    try:
        root = ET.fromstring(content)
    except ET.ParseError:
        return DownloadError(f"SCB layer {layer}: unreadable error report {content[:200]!r}")
    exception = root.find(f"{_OWS}Exception")
    code = "" if exception is None else exception.get("exceptionCode", "")
    locator = "" if exception is None else exception.get("locator", "")
    text = " ".join(" ".join(t.text or "" for t in root.iter(f"{_OWS}ExceptionText")).split())
    if locator.casefold().startswith("typename"):
        return InputError(
            f"SCB's WFS has no layer {layer}; {_offer_text(offered_layers(base_url, session))}"
        )
    if code in ("InvalidParameterValue", "MissingParameterValue"):
        return InputError(f"SCB layer {layer}: the server rejected the request: {text}")
    return DownloadError(f"SCB layer {layer}: the server failed: {code} {text}".strip())


def _cells_frame(features: list[dict[str, Any]], layer: str) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame.from_features(features, crs=SWEREF99_TM)
    missing = [c for c in (_ID_PROPERTY, _POPULATION_PROPERTY) if c not in frame.columns]
    if missing:
        msg = f"SCB layer {layer}: cells lack {', '.join(missing)}; they have {list(frame.columns)}"
        raise DownloadError(msg)
    # `rutid` is the name siting.load_population decodes the cell from, in CSV and GeoPackage
    frame = frame.rename(columns={_ID_PROPERTY: "rutid"})
    frame["rutid"] = frame["rutid"].astype(str)
    if frame["rutid"].duplicated().any():
        msg = f"SCB layer {layer}: pages overlap (a cell came twice); run the command again"
        raise DownloadError(msg)
    return frame.sort_values("rutid", ignore_index=True)


def _write_output(cached: Path, out: Path) -> Path:
    if out.suffix.lower() == ".gpkg":
        with atomic_path(out) as temporary:
            shutil.copyfile(cached, temporary)
        return out
    frame = pd.DataFrame(gpd.read_file(cached).drop(columns="geometry"))
    with atomic_path(out) as temporary:
        frame.to_csv(temporary, index=False)
    return out
