"""Download SCB population grid cells ("Statistik på rutor") from SCB's open WFS.

SCB serves the grid as GeoServer layers `stat:befolkning_1km_<year>` at
https://geodata.scb.se/geoserver/stat/wfs, one polygon per populated cell with `rutid_scb`
(the SWEREF99 TM corner), `beftotalt` (people) and more head counts. The cells in a bounding
box are fetched page by page; `siting.inputs.scb_grid` clips them to a region and writes them.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from typing import Any

import geopandas as gpd
import requests
from tqdm import tqdm

from siting._core.errors import DownloadError, InputError
from siting.download.http import (
    check_status,
    get_response,
    send_get,
)

logger = logging.getLogger(__name__)

SCB_WFS_URL = "https://geodata.scb.se/geoserver/stat/wfs"
GRID_SIZES = ("1km", "250m")
SWEREF99_TM = "EPSG:3006"
_ID_PROPERTY = "rutid_scb"
_POPULATION_PROPERTY = "beftotalt"
PAGE_SIZE = 10_000
_OWS = "{http://www.opengis.net/ows}"


def population_layer(size: str, year: int) -> str:
    """The WFS layer of SCB's population grid: `stat:befolkning_1km_2025`."""
    return f"stat:befolkning_{size}_{year}"


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


def newest_year(size: str, base_url: str, session: requests.Session) -> int:
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


def download_cells(
    layer: str,
    bbox: tuple[float, float, float, float] | None,
    *,
    where: str,
    base_url: str = SCB_WFS_URL,
    page_size: int = PAGE_SIZE,
    session: requests.Session,
) -> gpd.GeoDataFrame:
    """Every populated cell of `layer` in `bbox` (SWEREF99 TM; all of Sweden when None).

    `where` names the area in messages. Cells come page by page in a stable order, with
    `rutid` (the cell's corner id) and SCB's head counts, in EPSG:3006.
    """
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
    if bbox is not None:
        params["bbox"] = ",".join(f"{value:.0f}" for value in bbox) + f",{SWEREF99_TM}"
    features = _all_pages(layer, params, base_url=base_url, session=session)
    if not features:
        msg = f"SCB layer {layer} has no populated cells in {where} (bbox {params.get('bbox')})"
        raise InputError(msg)
    return _cells_frame(features, layer)


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
