"""Read OD matrix origins and destinations into ids with WGS84 coordinates."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer

from siting._core.errors import InputError

FloatArray = npt.NDArray[np.float64]
DEFAULT_ID_COLUMNS = ("demand_id", "site_id", "id")


@dataclass(frozen=True, eq=False)
class Points:
    """Ids with longitude and latitude (EPSG:4326)."""

    ids: npt.NDArray[Any]
    lon: FloatArray
    lat: FloatArray

    @property
    def size(self) -> int:
        """Number of points."""
        return int(self.lon.size)

    def digest(self) -> str:
        """Hash of ids and coordinates, for matrix caches."""
        hasher = hashlib.sha256()
        hasher.update(repr(self.ids.tolist()).encode())
        hasher.update(np.round(self.lon, 7).tobytes())
        hasher.update(np.round(self.lat, 7).tobytes())
        return hasher.hexdigest()


def as_points(
    points: Any, *, argument: str, id_column: str | None = None, crs: Any = "EPSG:4326"
) -> Points:
    """Read points given as a GeoDataFrame, GeoSeries or ``(ids, x, y)`` arrays.

    Parameters
    ----------
    points
        GeoDataFrame (ids from `id_column`, else ``demand_id``/``site_id``/``id``, else the
        index), GeoSeries (ids from the index) or a tuple ``(ids, x, y)`` in `crs`.
    argument
        Name of the argument, for error messages.
    id_column
        Column holding the ids of a GeoDataFrame.
    crs
        CRS of plain ``(ids, x, y)`` arrays.

    Raises
    ------
    InputError
        If there are no points, a point has no coordinates, or ids repeat or are missing.
    """
    if isinstance(points, gpd.GeoDataFrame):
        ids = _frame_ids(points, argument, id_column)
        lon, lat = _geo_coordinates(points.geometry, argument)
    elif isinstance(points, gpd.GeoSeries):
        ids = np.asarray(points.index)
        lon, lat = _geo_coordinates(points, argument)
    elif isinstance(points, tuple | list) and len(points) == 3:
        ids, lon, lat = _array_points(points, argument, crs)
    else:
        msg = f"{argument}: expected a GeoDataFrame, GeoSeries or (ids, x, y), got {type(points)}"
        raise InputError(msg)
    if lon.size == 0:
        msg = f"{argument}: no points given"
        raise InputError(msg)
    return Points(ids=ids, lon=lon, lat=lat)


def _frame_ids(frame: gpd.GeoDataFrame, argument: str, id_column: str | None) -> Any:
    if id_column is not None and id_column not in frame.columns:
        msg = f"{argument}: id column {id_column!r} not found; columns are {list(frame.columns)}"
        raise InputError(msg)
    column = id_column or next((c for c in DEFAULT_ID_COLUMNS if c in frame.columns), None)
    ids = frame[column] if column is not None else frame.index.to_series()
    if ids.isna().any():
        msg = f"{argument}: {column or 'index'} has missing ids"
        raise InputError(msg)
    return ids.to_numpy()


def _geo_coordinates(geometry: gpd.GeoSeries, argument: str) -> tuple[FloatArray, FloatArray]:
    if geometry.crs is None:
        msg = f"{argument}: the geometry has no CRS; set one (for example EPSG:3006)"
        raise InputError(msg)
    missing = geometry.isna() | geometry.is_empty
    if missing.any():
        position = int(np.flatnonzero(missing.to_numpy())[0])
        msg = f"{argument}: {int(missing.sum())} point(s) have no coordinates, first at row "
        raise InputError(msg + f"{position} (id {geometry.index[position]!r})")
    kinds = set(geometry.geom_type)
    if kinds != {"Point"}:
        msg = f"{argument}: geometries must be points, got {sorted(kinds)}"
        raise InputError(msg)
    wgs84 = geometry.to_crs("EPSG:4326")
    return wgs84.x.to_numpy(dtype=np.float64), wgs84.y.to_numpy(dtype=np.float64)


def _array_points(
    points: tuple[Any, ...] | list[Any], argument: str, crs: Any
) -> tuple[npt.NDArray[Any], FloatArray, FloatArray]:
    ids = np.asarray(points[0])
    try:
        x = np.asarray(points[1], dtype=np.float64).ravel()
        y = np.asarray(points[2], dtype=np.float64).ravel()
    except (TypeError, ValueError) as error:
        msg = f"{argument}: coordinates must be numbers ({error})"
        raise InputError(msg) from error
    if not (ids.shape == x.shape == y.shape):
        msg = f"{argument}: ids, x and y differ in length: {ids.size}, {x.size}, {y.size}"
        raise InputError(msg)
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        msg = f"{argument}: {int(bad.sum())} point(s) have no coordinates, first id "
        raise InputError(msg + f"{ids[position]!r} (x={x[position]}, y={y[position]})")
    if CRS.from_user_input(crs) != CRS.from_epsg(4326):
        x, y = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    return ids, np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
