"""Coordinates of a table: its CRS, points from coordinate columns, and plausibility checks.

A CRS stated by the data and one given by the user must agree; coordinates must look like the
units of their CRS (degrees or metres). Everything leaves in SWEREF99 TM (EPSG:3006).
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from siting._core.errors import InputError, warn
from siting.inputs.tables import Kind, numeric_column, row_label

logger = logging.getLogger(__name__)

SWEREF99_TM = "EPSG:3006"
# coordinate column pairs and the CRS they imply when none is given (None: must be given)
COORDINATE_COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("e", "n", SWEREF99_TM),
    ("easting", "northing", SWEREF99_TM),
    ("lon", "lat", "EPSG:4326"),
    ("longitude", "latitude", "EPSG:4326"),
    ("x", "y", None),
)
#: geometry types of one family; a layer holds one family
_FAMILY = {"Point": "points", "MultiPoint": "points", "Polygon": "areas", "MultiPolygon": "areas",
           "LineString": "lines", "MultiLineString": "lines"}  # fmt: skip
#: how far beyond SWEREF99 TM's area of use (Sweden) data may lie: Norway, Denmark and
#: southern Finland (Helsinki at 24.9 E) are in, which the demo and border regions need
_MARGIN_DEGREES = 5.0
_SWEDEN = CRS.from_epsg(3006).area_of_use
assert _SWEDEN is not None
_WORK_AREA = (_SWEDEN.west - _MARGIN_DEGREES, _SWEDEN.south - _MARGIN_DEGREES,
              _SWEDEN.east + _MARGIN_DEGREES, _SWEDEN.north + _MARGIN_DEGREES)  # fmt: skip


def resolve_crs(stated: Any, given: str | CRS | None, name: str) -> CRS:
    """Choose the CRS of a source: the one it states, else the one given; never a clash.

    Raises
    ------
    InputError
        If neither states a CRS, the one given is unknown, or both do and they differ.
    """
    if stated is None and given is None:
        msg = f"{name}: no CRS is stated; set the option crs (for example 'EPSG:3006')"
        raise InputError(msg)
    given_crs = None if given is None else _known_crs(given, name)
    if stated is None:
        assert given_crs is not None
        return given_crs
    stated_crs = CRS.from_user_input(stated)
    if given_crs is not None and not stated_crs.equals(given_crs, ignore_axis_order=True):
        msg = (
            f"{name}: CRS mismatch: the data is in {stated_crs.to_string()} "
            f"but crs={given_crs.to_string()} was given"
        )
        raise InputError(msg)
    return stated_crs


def _known_crs(given: str | CRS, name: str) -> CRS:
    try:
        return CRS.from_user_input(given)
    except CRSError:
        msg = f"{name}: crs {given!r} is no coordinate system PROJ knows (try 'EPSG:3006')"
        raise InputError(msg) from None


def points_from_columns(
    table: pd.DataFrame,
    kind: Kind,
    name: str,
    *,
    xy_columns: tuple[str | None, str | None] = (None, None),
    crs: str | CRS | None = None,
) -> gpd.GeoSeries:
    """Build points in SWEREF99 TM from coordinate columns of a table.

    Parameters
    ----------
    table
        The table.
    kind, name
        How rows and the source are named in messages.
    xy_columns
        Coordinate columns; when None, the first pair of ``COORDINATE_COLUMNS`` present
        (``e``/``n`` implies EPSG:3006, ``lon``/``lat`` EPSG:4326, ``x``/``y`` needs `crs`).
    crs
        CRS of the coordinates; must agree with the one the column names imply.

    Returns
    -------
    geopandas.GeoSeries

    Raises
    ------
    InputError
        If no coordinate columns are found, a coordinate is missing or not a number, no CRS
        is known, or the values do not fit the CRS (degrees in a metric CRS, or the reverse).
    """
    x_name, y_name, implied = _coordinate_columns(table, xy_columns, name)
    source_crs = resolve_crs(implied, crs, name) if implied else resolve_crs(None, crs, name)
    x = numeric_column(table, x_name, kind, name)
    y = numeric_column(table, y_name, kind, name)
    bounds = pd.DataFrame({"minx": x, "miny": y, "maxx": x, "maxy": y})
    _check_plausible(bounds, source_crs, name)
    check_extent(x, y, source_crs, kind, name, table.index)
    east, north = Transformer.from_crs(source_crs, SWEREF99_TM, always_xy=True).transform(x, y)
    return gpd.GeoSeries(gpd.points_from_xy(east, north), crs=SWEREF99_TM)


def _coordinate_columns(
    table: pd.DataFrame, xy_columns: tuple[str | None, str | None], name: str
) -> tuple[str, str, str | None]:
    x_name, y_name = xy_columns
    if x_name is not None and y_name is not None:
        for column in (x_name, y_name):
            if column not in table.columns:
                msg = f"{name}: coordinate column {column!r} is missing"
                raise InputError(msg)
        implied = next((c for x, y, c in COORDINATE_COLUMNS if (x, y) == (x_name, y_name)), None)
        return x_name, y_name, implied
    lower = {str(c).casefold(): str(c) for c in table.columns}
    for x, y, implied in COORDINATE_COLUMNS:
        if x in lower and y in lower:
            return lower[x], lower[y], implied
    msg = (
        f"{name}: no geometry, grid id (rutid) or coordinate columns (e/n, lon/lat, x/y); "
        f"columns are {', '.join(map(str, table.columns))}"
    )
    raise InputError(msg)


def _check_plausible(bounds: pd.DataFrame, crs: CRS, name: str) -> None:
    in_degrees = (
        bounds["minx"].min() >= -180
        and bounds["maxx"].max() <= 180
        and bounds["miny"].min() >= -90
        and bounds["maxy"].max() <= 90
    )
    if crs.is_geographic and not in_degrees:
        msg = (
            f"{name}: CRS mismatch: {crs.to_string()} is in degrees but coordinates reach "
            f"x={bounds['maxx'].max():.0f}, y={bounds['maxy'].max():.0f}"
        )
        raise InputError(msg)
    if crs.is_projected and in_degrees:
        msg = (
            f"{name}: CRS mismatch: {crs.to_string()} is in metres but every coordinate looks "
            "like degrees (longitude/latitude); set the option crs to 'EPSG:4326'"
        )
        raise InputError(msg)


def layer_geometry(table: gpd.GeoDataFrame, kind: Kind, name: str, crs: str | CRS | None) -> Any:
    """The checked geometry of a vector layer, in SWEREF99 TM.

    Raises
    ------
    InputError
        If a geometry is missing, the layer mixes points with areas (or holds lines or
        collections beside them), the CRS is unknown or contradicts the data, or the
        coordinates do not fit the CRS or lie far from Sweden (naming a likely swap).
    """
    source_crs = resolve_crs(table.crs, crs, name)
    geometry = table.geometry.set_crs(source_crs, allow_override=True)
    bad = (geometry.isna() | geometry.is_empty).to_numpy()
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        msg = f"{name}: {row_label(kind, position, table.index[position])}: geometry is missing"
        raise InputError(msg)
    _check_one_family(geometry, kind, name)
    geometry = _valid_areas(geometry, kind, name)
    bounds = geometry.bounds
    _check_plausible(bounds, source_crs, name)
    middle_x = ((bounds["minx"] + bounds["maxx"]) / 2).to_numpy()
    middle_y = ((bounds["miny"] + bounds["maxy"]) / 2).to_numpy()
    check_extent(middle_x, middle_y, source_crs, kind, name, table.index)
    return geometry.to_crs(SWEREF99_TM).reset_index(drop=True)


def _check_one_family(geometry: gpd.GeoSeries, kind: Kind, name: str) -> None:
    """One layer, one kind of geometry: points and areas mixed is two layers in one file."""
    families = geometry.geom_type.map(_FAMILY).fillna("other").to_numpy()
    first = families[0]
    other = np.flatnonzero(families != first)
    if other.size:
        position = int(other[0])
        msg = (
            f"{name}: {row_label(kind, position, geometry.index[position])} is a "
            f"{geometry.geom_type.iloc[position]} but {row_label(kind, 0, geometry.index[0])} "
            f"is a {geometry.geom_type.iloc[0]}: a layer must hold either points or areas; "
            "split it into two files"
        )
        raise InputError(msg)


def _valid_areas(geometry: gpd.GeoSeries, kind: Kind, name: str) -> gpd.GeoSeries:
    """Repair self-intersecting or badly ringed polygons (with a warning) so areas count right."""
    invalid = ~geometry.is_valid.to_numpy()
    if not invalid.any():
        return geometry
    position = int(np.flatnonzero(invalid)[0])
    reason = shapely.is_valid_reason(geometry.iloc[position])
    warn(
        logger,
        f"{name}: {int(invalid.sum())} invalid geometr{'y' if invalid.sum() == 1 else 'ies'} "
        f"(first {row_label(kind, position, geometry.index[position])}: {reason}); "
        "repaired with make_valid; check the source",
    )
    repaired = shapely.make_valid(geometry.to_numpy(), method="structure", keep_collapsed=False)
    return gpd.GeoSeries(repaired, index=geometry.index, crs=geometry.crs)


def check_extent(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    crs: CRS,
    kind: Kind,
    name: str,
    index: pd.Index,
) -> None:
    """Refuse points that all lie far from Sweden, and warn of some that do.

    Far means outside the area of use of their CRS or outside that of SWEREF99 TM widened
    by `_MARGIN_DEGREES` (which keeps Norway, Denmark and southern Finland in). When every
    point is far but would be near with x and y swapped, the message says so.
    """
    far = _far(x, y, crs)
    if not far.any():
        return
    position = int(np.flatnonzero(far)[0])
    where = f"{row_label(kind, position, index[position])} at ({x[position]:g}, {y[position]:g})"
    if far.all():
        swapped = not _far(y, x, crs).any()
        hint = (
            "; are latitude and longitude (or x and y) swapped?"
            if swapped
            else f"; is the CRS right ({crs.to_string()})?"
        )
        msg = f"{name}: every point lies far from Sweden, first {where}{hint}"
        raise InputError(msg)
    warn(
        logger,
        f"{name}: {int(far.sum())} of {far.size} points lie far from Sweden or outside the area "
        f"of {crs.to_string()} (first {where}); they are kept",
    )


def _far(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], crs: CRS) -> Any:
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    inside = _within(lon, lat, _WORK_AREA)
    area = crs.area_of_use
    if area is not None:
        tolerance = 0.1  # degrees: the published areas are rounded
        widened = (area.west - tolerance, area.south - tolerance,
                   area.east + tolerance, area.north + tolerance)  # fmt: skip
        inside &= _within(lon, lat, widened)
    return ~inside


def _within(
    lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64], box: tuple[float, ...]
) -> npt.NDArray[np.bool_]:
    west, south, east, north = box
    with np.errstate(invalid="ignore"):
        return np.asarray((lon >= west) & (lon <= east) & (lat >= south) & (lat <= north))
