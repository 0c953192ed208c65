"""Read population grids and areas as demand points (SCB grid ids, vector layers, CSV, rasters)."""

from __future__ import annotations

import logging
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj import CRS, Transformer

from siting._core.errors import InputError, warn
from siting.inputs.regions import Region, clip_to_region, find_region

logger = logging.getLogger(__name__)

SWEREF99_TM = "EPSG:3006"
Source = str | Path | pd.DataFrame
Kind = Literal["csv", "layer", "frame"]
VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb", ".gml", ".kml", ".parquet")
RASTER_SUFFIXES = (".tif", ".tiff", ".vrt")
RUTID_COLUMNS = ("rutid", "ruta", "rut_id", "rutid_scb")
ID_COLUMNS = ("demand_id", "rutid", "ruta", "desokod", "regsokod", "id")
# SCB names for the head count: "befolkning_2025" (WFS), "beftotalt" / "pop" (GeoPackage)
_POPULATION_NAME = re.compile(r"^(population|pop|befolkning|beftotalt|totalt|total)(_?\d{4})?$")
# coordinate column pairs and the CRS they imply when none is given (None: must be given)
COORDINATE_COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("e", "n", SWEREF99_TM),
    ("easting", "northing", SWEREF99_TM),
    ("lon", "lat", "EPSG:4326"),
    ("longitude", "latitude", "EPSG:4326"),
    ("x", "y", None),
)
SCB_CELL_SIZES_M = (1000, 500, 250, 100)
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
    x_column: str | None = None,
    y_column: str | None = None,
    crs: str | CRS | None = None,
    layer: str | None = None,
    region: str | Region | None = None,
    cell_size_m: float | None = None,
    band: int = 1,
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
    x_column, y_column
        Coordinate columns of a table without geometry or grid ids; found among ``e``/``n``,
        ``lon``/``lat`` and ``x``/``y`` when None.
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
        table, kind = read_layer(source, layer=layer)
        frame = _demand_from_table(
            table,
            kind,
            name,
            population_column=population_column,
            id_column=id_column,
            xy_columns=(x_column, y_column),
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


def read_layer(source: Source, *, layer: str | None = None) -> tuple[pd.DataFrame, Kind]:
    """Read a CSV table or a vector layer without interpreting it.

    CSV values are read as text (so that codes such as ``"0114"`` keep their zeros); columns
    whose every value is a plain number become numeric.

    Parameters
    ----------
    source
        Path to a CSV (comma or semicolon separated) or a vector file, or a (Geo)DataFrame.
    layer
        Layer of a multi-layer file.

    Returns
    -------
    tuple
        The table (a GeoDataFrame for vector data) and its kind: ``"csv"``, ``"layer"`` or
        ``"frame"``, which tells how rows are named in messages.

    Raises
    ------
    InputError
        If the file does not exist, has an unknown suffix or cannot be read.
    """
    if isinstance(source, pd.DataFrame):
        return source.copy(), "frame"
    path = Path(source)
    if not path.exists():
        msg = f"{path}: no such file"
        raise InputError(msg)
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".tsv"):
            return _numeric_where_possible(_read_csv(path)), "csv"
        if suffix == ".parquet":
            return gpd.read_parquet(path), "layer"
        if suffix in VECTOR_SUFFIXES:
            return _read_vector(path, layer), "layer"
    except (OSError, ValueError, pd.errors.ParserError, DataSourceError, DataLayerError) as error:
        # GDAL's errors for a cut-off or damaged vector file are pyogrio's own, not OSError
        msg = f"{path}: cannot read: {error}"
        raise InputError(msg) from error
    msg = f"{path}: unknown file type {suffix!r}; expected .csv, {', '.join(VECTOR_SUFFIXES)}"
    raise InputError(msg)


def _read_vector(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    # GDAL's and pyogrio's warnings name neither the file nor what to do: say both here
    if layer is None:
        layers = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
        if len(layers) > 1:
            warn(logger, f"{path}: read layer {layers[0]!r} of {layers}; set the option layer")
        layer = layers[0] if layers else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = gpd.read_file(path, layer=layer)
    for warning in caught:
        text = str(warning.message)
        # a property that is not JSON text is kept as text, and the column check names it
        if not text.startswith("Could not parse column"):
            warn(logger, f"{path}: {text}")
    return table


def _read_csv(path: Path) -> pd.DataFrame:
    with path.open(encoding="utf-8-sig") as handle:
        header = handle.readline()
    separator = max((";", ",", "\t"), key=header.count)
    return pd.read_csv(
        path, sep=separator, dtype=str, encoding="utf-8-sig", keep_default_na=False, na_values=[""]
    )


def _numeric_where_possible(table: pd.DataFrame) -> pd.DataFrame:
    for column in table.columns:
        if _is_code(str(column)):
            continue
        values = table[column].dropna()
        if values.empty or values.str.match(r"^[+-]?0\d").any():
            continue  # codes with leading zeros stay text
        converted = pd.to_numeric(values, errors="coerce")
        if converted.notna().all():
            table[column] = pd.to_numeric(table[column])
    return table


def _is_code(column: str) -> bool:
    lower = column.casefold()
    return lower in RUTID_COLUMNS + ID_COLUMNS or lower.endswith(("kod", "_id", "code"))


def row_label(kind: Kind, position: int, index: Any = None) -> str:
    """Name a row the way its source shows it: CSV line, layer feature or frame index."""
    if kind == "csv":
        return f"line {position + 2}"
    if kind == "layer":
        return f"feature {position + 1}"
    return f"row {index!r}"


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
    points, cells = _demand_geometry(
        table, kind, name, xy_columns=xy_columns, crs=crs, cell_size_m=cell_size_m
    )
    ids = _demand_ids(table, id_column, kind, name)
    attributes = pd.DataFrame(table.drop(columns=[column]))
    if isinstance(table, gpd.GeoDataFrame):
        attributes = pd.DataFrame(attributes.drop(columns=[table.geometry.name]))
    attributes = attributes.drop(columns=["demand_id", "cell"], errors="ignore")
    attributes = attributes.reset_index(drop=True)
    attributes.insert(0, "demand_id", ids)
    attributes.insert(1, "population", population)
    attributes["cell"] = gpd.GeoSeries(cells.to_numpy(), crs=SWEREF99_TM)
    return gpd.GeoDataFrame(attributes, geometry=points, crs=SWEREF99_TM)


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


def numeric_column(
    table: pd.DataFrame,
    column: str,
    kind: Kind,
    name: str,
    *,
    minimum: float | None = None,
    required: bool = True,
) -> npt.NDArray[np.float64]:
    """Read a column as finite floats, naming the first bad row if there is one.

    Parameters
    ----------
    table
        The table.
    column
        The column to read.
    kind
        How the table's rows are named (see `read_layer`).
    name
        Name of the source for messages.
    minimum
        Smallest allowed value, if any.
    required
        When False, empty cells become NaN instead of an error.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    InputError
        On text, a missing value (when required), infinity or a value below `minimum`.
    """
    raw = table[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    missing = pd.isna(raw).to_numpy()
    problems = (
        ("is not a number", np.isnan(values) & ~missing),
        ("is missing", missing if required else np.zeros_like(missing)),
        ("is not finite", np.isinf(values)),
        (f"is below {minimum:g}" if minimum is not None else "", _below(values, minimum)),
    )
    for reason, bad in problems:
        if bad.any():
            position = int(np.flatnonzero(bad)[0])
            where = row_label(kind, position, table.index[position])
            shown = "" if missing[position] else f" {_text(raw.iloc[position])!r}"
            msg = (
                f"{name}: column {column!r} {where}: value{shown} {reason}"
                f" ({int(bad.sum())} such row(s))"
            )
            raise InputError(msg)
    return values


def _text(value: Any) -> str:
    return str(value.item() if isinstance(value, np.generic) else value)


def _below(values: npt.NDArray[np.float64], minimum: float | None) -> npt.NDArray[np.bool_]:
    if minimum is None:
        return np.zeros(values.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.asarray(values < minimum, dtype=bool)


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
    ids = table[column].astype(str).str.strip().str.replace(r"\.0+$", "", regex=True)
    check_unique(ids, column, kind, name)
    return ids.tolist()


def check_unique(ids: pd.Series[str], column: str, kind: Kind, name: str) -> None:
    """Raise an InputError naming the first repeated id and both rows that hold it."""
    repeated = ids.duplicated(keep=False).to_numpy()
    if repeated.any():
        first = int(np.flatnonzero(repeated)[0])
        value = ids.iloc[first]
        rows = np.flatnonzero((ids == value).to_numpy())
        where = " and ".join(
            row_label(kind, int(r), table_index)
            for r, table_index in zip(rows[:2], ids.index[rows[:2]], strict=True)
        )
        msg = f"{name}: column {column!r}: id {value!r} repeats ({where})"
        raise InputError(msg)


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


def resolve_crs(stated: Any, given: str | CRS | None, name: str) -> CRS:
    """Choose the CRS of a source: the one it states, else the one given; never a clash.

    Raises
    ------
    InputError
        If neither states a CRS, or both do and they differ.
    """
    if stated is None and given is None:
        msg = f"{name}: no CRS is stated; set the option crs (for example 'EPSG:3006')"
        raise InputError(msg)
    if stated is None:
        return CRS.from_user_input(given)
    stated_crs = CRS.from_user_input(stated)
    if given is not None and not stated_crs.equals(
        CRS.from_user_input(given), ignore_axis_order=True
    ):
        msg = (
            f"{name}: CRS mismatch: the data is in {stated_crs.to_string()} "
            f"but crs={CRS.from_user_input(given).to_string()} was given"
        )
        raise InputError(msg)
    return stated_crs


def _geometry_from_layer(
    table: gpd.GeoDataFrame, kind: Kind, name: str, crs: str | CRS | None
) -> tuple[gpd.GeoSeries, gpd.GeoSeries]:
    source_crs = resolve_crs(table.crs, crs, name)
    geometry = table.geometry.set_crs(source_crs, allow_override=True)
    bad = (geometry.isna() | geometry.is_empty).to_numpy()
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        msg = f"{name}: {row_label(kind, position, table.index[position])}: geometry is missing"
        raise InputError(msg)
    _check_plausible(geometry.bounds, source_crs, name)
    geometry = geometry.to_crs(SWEREF99_TM).reset_index(drop=True)
    is_area = geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    centroid = geometry.centroid
    # a concave area's centroid can fall outside it (a bay, a lake): use a point inside instead
    outside = is_area & ~centroid.within(geometry).to_numpy()
    points = centroid.where(~outside, geometry.representative_point())
    cells = geometry.where(is_area, None)
    return gpd.GeoSeries(points, crs=SWEREF99_TM), gpd.GeoSeries(cells, crs=SWEREF99_TM)


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
    if not path.exists():
        msg = f"{path}: no such file"
        raise InputError(msg)
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
