"""SCB's population grid of a region: download the cells in its box, clip them, write them.

The WFS protocol lives in `siting.download.scb`; this module decides which cells belong to
a municipality, county or FA region, and writes a GeoPackage or CSV that
`siting.load_population` reads as it is.
"""

from __future__ import annotations

import logging
import os
import shutil
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import requests

from siting._core.atomic import atomic_path
from siting._core.errors import InputError
from siting.download.http import cache_root, http_session
from siting.download.scb import (
    GRID_SIZES,
    PAGE_SIZE,
    SCB_WFS_URL,
    download_cells,
    newest_year,
    population_layer,
)
from siting.inputs.regions import DEFAULT_GAP_TOLERANCE_M, Region, clip_to_region, find_region

logger = logging.getLogger(__name__)

_POPULATION_COLUMN = "beftotalt"
OUTPUT_SUFFIXES = (".gpkg", ".csv")


def fetch_population_grid(
    *,
    size: str = "1km",
    year: int | None = None,
    region: str | Region | None = None,
    out: str | os.PathLike[str] | None = None,
    refresh: bool = False,
    page_size: int = PAGE_SIZE,
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
        Municipality, county or FA region (`siting.find_region`); all of Sweden when
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
    year = year if year is not None else newest_year(size, base_url, session)
    layer = population_layer(size, year)
    place = "sverige" if found is None else f"{found.level}-{found.code}"
    cached = cache_root(cache_dir) / "scb" / f"{layer.partition(':')[2]}_{place}.gpkg"
    if refresh or not cached.is_file():
        frame = _region_cells(layer, found, base_url=base_url, page_size=page_size, session=session)
        _write_geopackage(frame, cached, layer=layer.partition(":")[2])
    else:
        logger.info("%s: using %s from the cache", layer, cached)
    return cached if out is None else _write_output(cached, Path(out))


def _region_cells(
    layer: str,
    region: Region | None,
    *,
    base_url: str,
    page_size: int,
    session: requests.Session,
) -> gpd.GeoDataFrame:
    where = "Sweden" if region is None else str(region)
    bbox = None if region is None else _bbox(region)
    frame = download_cells(
        layer, bbox, where=where, base_url=base_url, page_size=page_size, session=session
    )
    if region is not None:
        frame = clip_to_region(
            frame,
            region,
            id_column="rutid",
            population_column=_POPULATION_COLUMN,
            code_column="",
            source=layer,
        ).kept
    people = frame[_POPULATION_COLUMN].sum()
    logger.info("%s: %d cells, %.0f people in %s", layer, len(frame), people, where)
    return frame


def _bbox(region: Region) -> tuple[float, float, float, float]:
    """The region's bounds, widened by the gap tolerance."""
    # clip_to_region joins cells just outside a generalised boundary to the region: fetch them
    minx, miny, maxx, maxy = region.geometry.bounds
    margin = DEFAULT_GAP_TOLERANCE_M
    return (minx - margin, miny - margin, maxx + margin, maxy + margin)


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


def _write_output(cached: Path, out: Path) -> Path:
    if out.suffix.lower() == ".gpkg":
        with atomic_path(out) as temporary:
            shutil.copyfile(cached, temporary)
        return out
    frame = pd.DataFrame(gpd.read_file(cached).drop(columns="geometry"))
    with atomic_path(out) as temporary:
        frame.to_csv(temporary, index=False)
    return out
