"""Read population grids and areas as demand points (SCB grid ids, vector layers, CSV, rasters)."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from siting._core.errors import InputError
from siting._core.paths import readable_file
from siting.inputs.coordinates import (
    SWEREF99_TM,
    layer_geometry,
    points_from_columns,
    resolve_crs,
)
from siting.inputs.regions import Region, clip_to_region, find_region
from siting.inputs.tables import (
    ID_COLUMNS,
    RUTID_COLUMNS,
    Kind,
    Source,
    numeric_column,
    read_ids,
    read_layer,
    row_label,
)

logger = logging.getLogger(__name__)

RASTER_SUFFIXES = (".tif", ".tiff", ".vrt")
# SCB names for the head count: "befolkning_2025" (WFS), "beftotalt" / "pop" (GeoPackage)
_POPULATION_NAME = re.compile(r"^(population|pop|befolkning|beftotalt|totalt|total)(_?\d{4})?$")
SCB_CELL_SIZES_M = (1000, 500, 250, 100)
#: more people than live on Earth (8.2 billion in 2025): a value or a total above it is a
#: wrong column or a unit slip, and near 1e308 it would overflow the solvers' sums
MAX_PEOPLE = 1e10
# northings of SWEREF99 TM over Sweden and its neighbours; a decoded rutid outside is garbage
_NORTHING_RANGE_M = (6_000_000, 7_900_000)
_INSPIRE_ID = re.compile(r"^CRS(\d+)RES(\d+)mN(\d+)E(\d+)$")


@dataclass(frozen=True)
class GridCells:
    """Square grid cells decoded from their ids.

    Attributes
    ----------
    corner_e_m, corner_n_m
        Lower-left corner of each cell in `crs`.
    cell_size_m
        Side of the cells.
    crs
        CRS of the corners (EPSG:3006 for SCB ids, EPSG:3035 for INSPIRE ids).
    """

    corner_e_m: npt.NDArray[np.float64]
    corner_n_m: npt.NDArray[np.float64]
    cell_size_m: float
    crs: str

    @property
    def centre_e_m(self) -> npt.NDArray[np.float64]:
        """Easting of each cell centre."""
        return self.corner_e_m + self.cell_size_m / 2

    @property
    def centre_n_m(self) -> npt.NDArray[np.float64]:
        """Northing of each cell centre."""
        return self.corner_n_m + self.cell_size_m / 2

    def polygons(self) -> npt.NDArray[np.object_]:
        """Cell squares as shapely polygons in `crs`."""
        return np.asarray(
            shapely.box(
                self.corner_e_m,
                self.corner_n_m,
                self.corner_e_m + self.cell_size_m,
                self.corner_n_m + self.cell_size_m,
            ),
            dtype=object,
        )


def decode_rutid(
    ids: npt.ArrayLike, *, cell_size_m: float | None = None, source: str = "<rutid>"
) -> GridCells:
    """Decode SCB grid cell ids (``rutid``) to cells in SWEREF99 TM.

    Parameters
    ----------
    ids
        SCB ids of 13 digits, easting (6) then northing (7) of the lower-left corner in metres
        (``"3520006860000"`` is the 1 km cell with corner (352000, 6860000)); files that put
        the northing first are recognised. INSPIRE ids such as ``"CRS3006RES250mN6860250E352250"``
        are read too.
    cell_size_m
        Side of the cells. When None it is read from INSPIRE ids, or for SCB ids taken as the
        largest of 1000, 500, 250 and 100 m that divides every corner coordinate.
    source
        Name of the data for messages.

    Returns
    -------
    GridCells

    Raises
    ------
    InputError
        If an id is malformed, its corner is off the grid or outside Swedish northings, or
        the ids mix formats.
    """
    text = pd.Series(np.asarray(ids, dtype=object).ravel()).astype(str).str.strip()
    text = text.str.replace(r"\.0+$", "", regex=True)
    if len(text) and text.str.startswith("CRS").all():
        return _decode_inspire(text, cell_size_m=cell_size_m, source=source)
    bad = ~text.str.fullmatch(r"\d{13}")
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        msg = (
            f"{source}: column 'rutid' row {position + 1}: {text.iloc[position]!r} is not an SCB "
            "grid id (13 digits: easting then northing of the lower-left corner)"
        )
        raise InputError(msg)
    east, north = _split_digits(text, source)
    size = _cell_size(east, north, cell_size_m, source)
    return GridCells(east.astype(np.float64), north.astype(np.float64), float(size), SWEREF99_TM)


def _split_digits(
    text: pd.Series[str], source: str
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    east = _digits(text.str[:6])
    north = _digits(text.str[6:])
    low, high = _NORTHING_RANGE_M
    if ((north >= low) & (north <= high)).all():
        return east, north
    # some exports write the northing first (7 digits, then 6)
    swapped_north = _digits(text.str[:7])
    if ((swapped_north >= low) & (swapped_north <= high)).all():
        logger.info("%s: grid ids hold the northing first", source)
        return _digits(text.str[7:]), swapped_north
    position = int(np.flatnonzero((north < low) | (north > high))[0])
    msg = (
        f"{source}: column 'rutid' row {position + 1}: {text.iloc[position]!r} decodes to "
        f"northing {north[position]} m, outside Sweden ({low}-{high} m in SWEREF99 TM)"
    )
    raise InputError(msg)


def _digits(text: pd.Series[str]) -> npt.NDArray[np.int64]:
    return np.asarray(text.astype(np.int64), dtype=np.int64)


def _cell_size(
    east: npt.NDArray[np.int64], north: npt.NDArray[np.int64], given: float | None, source: str
) -> float:
    if given is not None:
        if not given > 0:
            msg = f"cell_size_m must be > 0, got {given}"
            raise InputError(msg)
        off = (east % given != 0) | (north % given != 0)
        if off.any():
            position = int(np.flatnonzero(off)[0])
            msg = (
                f"{source}: row {position + 1}: corner ({east[position]}, {north[position]}) "
                f"is not on a {given:g} m grid"
            )
            raise InputError(msg)
        return float(given)
    divisor = math.gcd(int(np.gcd.reduce(east)), int(np.gcd.reduce(north))) if east.size else 1000
    for size in SCB_CELL_SIZES_M:
        if divisor % size == 0:
            logger.info("%s: grid cells are %d m (inferred from the ids)", source, size)
            return float(size)
    msg = f"{source}: grid ids are on no SCB grid (corners share divisor {divisor} m)"
    raise InputError(msg)


def _decode_inspire(text: pd.Series[str], *, cell_size_m: float | None, source: str) -> GridCells:
    parts = text.str.extract(_INSPIRE_ID)
    bad = parts[0].isna()
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        msg = f"{source}: row {position + 1}: {text.iloc[position]!r} is not an INSPIRE grid id"
        raise InputError(msg)
    if parts[0].nunique() != 1 or parts[1].nunique() != 1:
        msg = f"{source}: grid ids mix CRSs or cell sizes: {', '.join(text.iloc[:3])}"
        raise InputError(msg)
    size = float(parts[1].iloc[0]) if cell_size_m is None else float(cell_size_m)
    return GridCells(
        np.asarray(parts[3].astype(np.float64), dtype=np.float64),
        np.asarray(parts[2].astype(np.float64), dtype=np.float64),
        size,
        f"EPSG:{parts[0].iloc[0]}",
    )


def load_population(
    source: Source,
    *,
    population_column: str | None = None,
    id_column: str | None = None,
    xy_columns: tuple[str, str] | None = None,
    crs: str | CRS | None = None,
    layer: str | None = None,
    region: str | Region | None = None,
    cell_size_m: float | None = None,
    band: int = 1,
    encoding: str = "utf-8",
) -> gpd.GeoDataFrame:
    """Load a population grid or layer as demand points in SWEREF99 TM.

    Reads SCB "Statistik på rutor" grids (1 km, 250 m) as CSV, GeoPackage or GeoJSON, where
    ``rutid`` gives the cell; any point or polygon layer with a population column (DeSO
    areas); CSV with coordinate columns; and raster grids (GHS-POP, WorldPop GeoTIFF) when
    rasterio is installed (``pip install siting[raster]``).

    Parameters
    ----------
    source
        Path to a file, or a (Geo)DataFrame.
    population_column
        Column of head counts; found by name (``population``, ``befolkning_2025``,
        ``beftotalt``, ...) when None.
    id_column
        Column that names each demand point; ``rutid``, ``desokod`` or ``id`` when None, else
        the row number.
    xy_columns
        Coordinate columns (x, y) of a table without geometry or grid ids; found among
        ``e``/``n``, ``lon``/``lat`` and ``x``/``y`` when None.
    crs
        CRS of the coordinates when the source does not state one; if it does and they
        differ, that is an error.
    layer
        Layer of a GeoPackage.
    region
        Keep only this municipality, county or FA region (see `siting.inputs.regions.find_region`).
    cell_size_m
        Side of the grid cells, when ``rutid`` alone cannot tell.
    band
        Band of a raster.
    encoding
        Text encoding of a CSV (``"latin-1"`` for files saved by older Excel).

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:3006: ``demand_id`` (str), ``population`` (float), point ``geometry`` (the
        cell centre or area centroid, used for routing), polygon ``cell`` (None for point
        data) and every other column of the source.

    Raises
    ------
    InputError
        If a column is missing, a population is not a number or negative, a coordinate is
        missing, the CRS is unknown or contradicts the file, ids repeat, or the region
        matches nothing or holds no demand.

    Examples
    --------
    Two 1 km SCB cells, named by ``rutid`` (the south-west corner), become points at their
    centres:

    >>> import pandas as pd
    >>> cells = pd.DataFrame({"rutid": ["3500006680000", "3510006680000"], "beftotalt": [120, 35]})
    >>> demand = load_population(cells)
    >>> demand["population"].tolist(), demand.crs.to_epsg()
    ([120.0, 35.0], 3006)
    >>> demand.geometry.iloc[0].coords[0]
    (350500.0, 6680500.0)
    """
    name = _source_name(source)
    region_found = None if region is None else find_region(region)
    if isinstance(source, str | Path) and Path(source).suffix.lower() in RASTER_SUFFIXES:
        frame = _read_raster(Path(source), band=band, crs=crs, region=region_found)
    else:
        table, kind = read_layer(source, layer=layer, encoding=encoding)
        frame = _demand_from_table(
            table,
            kind,
            name,
            population_column=population_column,
            id_column=id_column,
            xy_columns=xy_columns or (None, None),
            crs=crs,
            cell_size_m=cell_size_m,
        )
    _log_total("Loaded", name, frame)
    if region_found is not None:
        frame = clip_to_region(frame, region_found, id_column="demand_id", source=name).kept
        _log_total(f"Clipped to {region_found}:", name, frame)
    return frame


def _source_name(source: Source) -> str:
    return str(source) if isinstance(source, str | Path) else f"<{type(source).__name__}>"


def _log_total(stage: str, name: str, frame: pd.DataFrame) -> None:
    logger.info(
        "%s %s: %d demand points, %.0f people", stage, name, len(frame), frame["population"].sum()
    )


def _demand_from_table(
    table: pd.DataFrame,
    kind: Kind,
    name: str,
    *,
    population_column: str | None,
    id_column: str | None,
    xy_columns: tuple[str | None, str | None],
    crs: str | CRS | None,
    cell_size_m: float | None,
) -> gpd.GeoDataFrame:
    if table.empty:
        msg = f"{name}: no rows"
        raise InputError(msg)
    column = _find_population_column(table, population_column, name)
    population = numeric_column(table, column, kind, name, minimum=0.0)
    check_people(population, column, name, lambda i: row_label(kind, i, table.index[i]))
    points, cells = _demand_geometry(
        table, kind, name, xy_columns=xy_columns, crs=crs, cell_size_m=cell_size_m
    )
    ids = _demand_ids(table, id_column, kind, name)
    attributes = pd.DataFrame(table.drop(columns=[column]))
    if isinstance(table, gpd.GeoDataFrame):
        attributes = pd.DataFrame(attributes.drop(columns=[table.geometry.name]))
    # a table's own "population" gives way to the column chosen to count (people 65+, say)
    attributes = attributes.drop(columns=["demand_id", "cell", "population"], errors="ignore")
    attributes = attributes.reset_index(drop=True)
    attributes.insert(0, "demand_id", ids)
    attributes.insert(1, "population", population)
    attributes["cell"] = gpd.GeoSeries(cells.to_numpy(), crs=SWEREF99_TM)
    return gpd.GeoDataFrame(attributes, geometry=points, crs=SWEREF99_TM)


def check_people(
    values: npt.NDArray[np.float64], column: str, name: str, where: Callable[[int], str]
) -> None:
    """Refuse a count of people (finite, >= 0) that is, or sums to, more than live on Earth.

    `where` names a row by its position for the message.
    """
    large = np.flatnonzero(values > MAX_PEOPLE)
    total = float(values.sum()) if not large.size else math.inf
    if total <= MAX_PEOPLE:
        return
    what = (
        f"sums to {total:.3g},"
        if not large.size
        else f"{where(int(large[0]))}: value {values[large[0]]:.3g} is"
    )
    msg = (
        f"{name}: column {column!r} {what} more people than live on Earth (the limit is "
        f"{MAX_PEOPLE:g}); is it the right column, counted in people?"
    )
    raise InputError(msg)


def _find_population_column(table: pd.DataFrame, given: str | None, name: str) -> str:
    if given is not None:
        if given not in table.columns:
            msg = (
                f"{name}: population column {given!r} is missing; "
                f"columns are {', '.join(map(str, table.columns))}"
            )
            raise InputError(msg)
        return given
    found = [str(c) for c in table.columns if _POPULATION_NAME.match(str(c).casefold())]
    if len(found) == 1:
        return found[0]
    if not found:
        msg = (
            f"{name}: no population column (such as 'population' or 'befolkning_2025'); "
            f"columns are {', '.join(map(str, table.columns))}; name it with the option "
            "population_column"
        )
    else:
        msg = (
            f"{name}: several population columns {found}; choose with the option population_column"
        )
    raise InputError(msg)


def _demand_ids(table: pd.DataFrame, given: str | None, kind: Kind, name: str) -> list[str]:
    lower = {str(c).casefold(): str(c) for c in table.columns}
    column = given
    if given is not None and given not in table.columns:
        msg = f"{name}: id column {given!r} is missing"
        raise InputError(msg)
    if column is None:
        column = next((lower[c] for c in ID_COLUMNS if c in lower), None)
    if column is None:
        return [f"d{i}" for i in range(len(table))]
    return read_ids(table, column, kind, name).tolist()


def _demand_geometry(
    table: pd.DataFrame,
    kind: Kind,
    name: str,
    *,
    xy_columns: tuple[str | None, str | None],
    crs: str | CRS | None,
    cell_size_m: float | None,
) -> tuple[gpd.GeoSeries, gpd.GeoSeries]:
    lower = {str(c).casefold(): str(c) for c in table.columns}
    rutid = next((lower[c] for c in RUTID_COLUMNS if c in lower), None)
    has_geometry = isinstance(table, gpd.GeoDataFrame) and table.geometry.name in table
    polygons = has_geometry and bool(
        table.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).any()
    )
    if rutid is not None and not polygons:
        return _cells_from_rutid(table[rutid], name, cell_size_m)
    if has_geometry:
        assert isinstance(table, gpd.GeoDataFrame)
        return _geometry_from_layer(table, kind, name, crs)
    points = points_from_columns(table, kind, name, xy_columns=xy_columns, crs=crs)
    return points, gpd.GeoSeries([None] * len(table), crs=SWEREF99_TM)


def _cells_from_rutid(
    ids: pd.Series[Any], name: str, cell_size_m: float | None
) -> tuple[gpd.GeoSeries, gpd.GeoSeries]:
    cells = decode_rutid(ids.to_numpy(), cell_size_m=cell_size_m, source=name)
    centres = gpd.GeoSeries(gpd.points_from_xy(cells.centre_e_m, cells.centre_n_m), crs=cells.crs)
    squares = gpd.GeoSeries(cells.polygons(), crs=cells.crs)
    return centres.to_crs(SWEREF99_TM), squares.to_crs(SWEREF99_TM)


def _geometry_from_layer(
    table: gpd.GeoDataFrame, kind: Kind, name: str, crs: str | CRS | None
) -> tuple[gpd.GeoSeries, gpd.GeoSeries]:
    geometry = layer_geometry(table, kind, name, crs)
    is_area = geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    centroid = geometry.centroid
    # a concave area's centroid can fall outside it (a bay, a lake): use a point inside instead
    outside = is_area & ~centroid.within(geometry).to_numpy()
    points = centroid.where(~outside, geometry.representative_point())
    cells = geometry.where(is_area, None)
    return gpd.GeoSeries(points, crs=SWEREF99_TM), gpd.GeoSeries(cells, crs=SWEREF99_TM)


def aggregate_population(
    population: gpd.GeoDataFrame,
    *,
    cell_size_m: float,
    sum_columns: tuple[str, ...] = (),
) -> gpd.GeoDataFrame:
    """Sum demand points into coarser square cells of SWEREF99 TM (250 m to 1 km, say).

    Parameters
    ----------
    population
        Output of `load_population`.
    cell_size_m
        Side of the new cells.
    sum_columns
        Other count columns to sum (people 65+, for example); other attributes are dropped
        because summing them would be wrong (shares, densities).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per non-empty cell, with SCB-style ``demand_id`` (13-digit rutid of the
        corner), ``population``, the summed columns, centre ``geometry`` and ``cell``.

    Raises
    ------
    InputError
        If `cell_size_m` is not positive or a column in `sum_columns` is missing.
    """
    if not cell_size_m > 0:
        msg = f"cell_size_m must be > 0, got {cell_size_m}"
        raise InputError(msg)
    missing = [c for c in sum_columns if c not in population.columns]
    if missing:
        msg = f"sum_columns not in the population data: {missing}"
        raise InputError(msg)
    points = population.geometry.to_crs(SWEREF99_TM)
    corner_e = np.floor(points.x.to_numpy() / cell_size_m) * cell_size_m
    corner_n = np.floor(points.y.to_numpy() / cell_size_m) * cell_size_m
    grouped = (
        pd.DataFrame(population[["population", *sum_columns]])
        .assign(corner_e=corner_e, corner_n=corner_n)
        .groupby(["corner_e", "corner_n"], as_index=False, sort=True)
        .sum()
    )
    cells = GridCells(
        grouped["corner_e"].to_numpy(np.float64),
        grouped["corner_n"].to_numpy(np.float64),
        float(cell_size_m),
        SWEREF99_TM,
    )
    ids = [
        f"{int(e):06d}{int(n):07d}" for e, n in zip(cells.corner_e_m, cells.corner_n_m, strict=True)
    ]
    out = gpd.GeoDataFrame(
        {"demand_id": ids, "population": grouped["population"].to_numpy(np.float64)}
        | {c: grouped[c].to_numpy() for c in sum_columns},
        geometry=gpd.points_from_xy(cells.centre_e_m, cells.centre_n_m),
        crs=SWEREF99_TM,
    )
    out["cell"] = gpd.GeoSeries(cells.polygons(), crs=SWEREF99_TM)
    logger.info(
        "Aggregated %d demand points (%.0f people) into %d cells of %g m (%.0f people)",
        len(population),
        population["population"].sum(),
        len(out),
        cell_size_m,
        out["population"].sum(),
    )
    return out


def _read_raster(
    path: Path, *, band: int, crs: str | CRS | None, region: Region | None
) -> gpd.GeoDataFrame:
    try:
        import rasterio  # type: ignore[import-untyped, unused-ignore]
    except ImportError as error:
        msg = f"{path}: reading raster population grids needs rasterio; install siting[raster]"
        raise InputError(msg) from error
    readable_file(path)
    with rasterio.open(path) as dataset:
        stated = None if dataset.crs is None else dataset.crs.to_wkt()
        source_crs = resolve_crs(stated, crs, str(path))
        if not 1 <= band <= dataset.count:
            msg = f"{path}: band {band} does not exist (the raster has {dataset.count})"
            raise InputError(msg)
        window = _raster_window(dataset, source_crs, region)
        values = dataset.read(band, window=window, masked=True)
        transform = tuple(dataset.transform)[:6]
    return _cells_from_raster(values, transform, window, source_crs, str(path))


def _raster_window(dataset: Any, source_crs: CRS, region: Region | None) -> Any:
    import rasterio.windows  # type: ignore[import-untyped, unused-ignore]

    full = rasterio.windows.Window(0, 0, dataset.width, dataset.height)
    if region is None:
        return full
    # read only the region's bounding box: national rasters hold hundreds of millions of cells
    left, bottom, right, top = shapely.bounds(region.geometry)
    xs, ys = Transformer.from_crs(SWEREF99_TM, source_crs, always_xy=True).transform(
        [left, left, right, right], [bottom, top, bottom, top]
    )
    a, b, c, d, e, f = (float(v) for v in tuple(dataset.transform)[:6])
    # pixel positions of the box corners: invert the affine map (done by hand because
    # affine's `*` operator warns of its deprecation)
    inverse = np.linalg.inv(np.array([[a, b], [d, e]]))
    cols, rows = inverse @ np.vstack([np.asarray(xs) - c, np.asarray(ys) - f])
    col_off = max(int(np.floor(cols.min())), 0)
    row_off = max(int(np.floor(rows.min())), 0)
    col_end = min(int(np.ceil(cols.max())), dataset.width)
    row_end = min(int(np.ceil(rows.max())), dataset.height)
    return rasterio.windows.Window(
        col_off, row_off, max(col_end - col_off, 0), max(row_end - row_off, 0)
    )


def _cells_from_raster(
    values: np.ma.MaskedArray[Any, Any], transform: Any, window: Any, crs: CRS, name: str
) -> gpd.GeoDataFrame:
    data = np.ma.filled(values.astype(np.float64), np.nan)
    row_off, col_off = int(window.row_off), int(window.col_off)
    negative = np.argwhere(data < 0)
    if negative.size:
        row, col = negative[0]
        msg = (
            f"{name}: pixel row {row + row_off}, column {col + col_off}: "
            f"population {data[row, col]:g} is negative and not the raster's nodata value"
        )
        raise InputError(msg)
    local_rows, local_cols = np.nonzero(data > 0)
    people = data[local_rows, local_cols]
    rows, cols = local_rows + row_off, local_cols + col_off
    logger.info(
        "%s: %d populated pixels, %d empty or nodata", name, rows.size, data.size - rows.size
    )
    corners = [
        _apply(transform, cols + dc, rows + dr) for dc, dr in ((0, 0), (1, 0), (1, 1), (0, 1))
    ]
    rings = np.stack([np.column_stack(c) for c in corners], axis=1)
    cells = gpd.GeoSeries(shapely.polygons(rings), crs=crs).to_crs(SWEREF99_TM)
    centre_x, centre_y = _apply(transform, cols + 0.5, rows + 0.5)
    centres = gpd.GeoSeries(gpd.points_from_xy(centre_x, centre_y), crs=crs).to_crs(SWEREF99_TM)
    ids = [f"r{r}c{c}" for r, c in zip(rows, cols, strict=True)]
    frame = gpd.GeoDataFrame(
        {"demand_id": ids, "population": people}, geometry=centres, crs=SWEREF99_TM
    )
    frame["cell"] = cells
    return frame


def _apply(
    transform: Any, cols: npt.NDArray[Any], rows: npt.NDArray[Any]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Map pixel (column, row) positions to coordinates with an affine geotransform."""
    a, b, c, d, e, f = (float(v) for v in tuple(transform)[:6])
    return a * cols + b * rows + c, d * cols + e * rows + f
