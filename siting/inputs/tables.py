"""Read a table or a vector layer as it is, and read its columns with messages naming the row.

Owns the file readers (CSV with its separator and encoding, GeoPackage/GeoJSON/Shapefile via
pyogrio, GeoParquet), the naming of rows in messages and the checked reading of number
columns and ids. Population and site loading build on it; it knows neither.
"""

from __future__ import annotations

import codecs
import io
import logging
import warnings
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from siting._core.errors import InputError, warn
from siting._core.paths import readable_file

logger = logging.getLogger(__name__)

Source = str | Path | pd.DataFrame
Kind = Literal["csv", "layer", "frame"]
VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb", ".gml", ".kml", ".parquet")
RUTID_COLUMNS = ("rutid", "ruta", "rut_id", "rutid_scb")
ID_COLUMNS = ("demand_id", "rutid", "ruta", "desokod", "regsokod", "id")


def read_layer(
    source: Source, *, layer: str | None = None, encoding: str = "utf-8"
) -> tuple[pd.DataFrame, Kind]:
    """Read a CSV table or a vector layer without interpreting it.

    CSV values are read as text (so that codes such as ``"0114"`` keep their zeros); columns
    whose every value is a plain number become numeric.

    Parameters
    ----------
    source
        Path to a CSV (comma or semicolon separated) or a vector file, or a (Geo)DataFrame.
    layer
        Layer of a multi-layer file.
    encoding
        Text encoding of a CSV (a UTF-8 byte-order mark is skipped).

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
    path = readable_file(source)
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".tsv"):
            return _numeric_where_possible(_read_csv(path, encoding)), "csv"
        if suffix == ".parquet":
            return gpd.read_parquet(path), "layer"
        if suffix in VECTOR_SUFFIXES:
            return _read_vector(path, layer), "layer"
    except InputError:
        raise
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


def _read_csv(path: Path, encoding: str) -> pd.DataFrame:
    data = path.read_bytes()
    codec = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    try:
        # decoded here, not by pandas, whose error gives neither the line nor a way out
        text = data.decode(codec)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        msg = (
            f"{path}: line {line}: byte 0x{data[error.start]:02x} is not {encoding} text; "
            'if the file came from Excel or an older system, try encoding "latin-1" '
            "(the option encoding, or --encoding latin-1)"
        )
        raise InputError(msg) from None
    header = text.partition("\n")[0]
    separator = max((";", ",", "\t"), key=header.count)
    return pd.read_csv(
        io.StringIO(text), sep=separator, dtype=str, keep_default_na=False, na_values=[""]
    )


def _numeric_where_possible(table: pd.DataFrame) -> pd.DataFrame:
    for column in table.columns:
        if _is_code(str(column)):
            continue
        values = table[column].dropna()
        if values.empty or values.str.match(r"^[+-]?0\d").any():
            continue  # codes with leading zeros stay text
        converted = pd.to_numeric(values, errors="coerce")
        # a column with "1e309" or "inf" stays text, so messages show the value as written
        if converted.notna().all() and np.isfinite(converted.to_numpy(np.float64)).all():
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
        (_limit("is below", minimum), _below(values, minimum)),
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


def _limit(words: str, bound: float | None) -> str:
    return "" if bound is None else f"{words} {bound:g}"


def _below(values: npt.NDArray[np.float64], minimum: float | None) -> npt.NDArray[np.bool_]:
    if minimum is None:
        return np.zeros(values.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.asarray(values < minimum, dtype=bool)


def read_ids(table: pd.DataFrame, column: str, kind: Kind, name: str) -> pd.Series[str]:
    """A column of ids as text (``12.0`` read as ``12``): none empty, none repeated.

    Ids that differ only in case are kept apart, with a warning: spreadsheets, file systems
    and people reading a map take them for one.
    """
    raw = table[column]
    ids = raw.astype(str).str.strip().str.replace(r"\.0+$", "", regex=True)
    empty = (raw.isna() | (ids == "")).to_numpy()
    if empty.any():
        position = int(np.flatnonzero(empty)[0])
        msg = (
            f"{name}: column {column!r} {row_label(kind, position, table.index[position])}: "
            f"the id is empty ({int(empty.sum())} such row(s)); every row needs an id"
        )
        raise InputError(msg)
    check_unique(ids, column, kind, name)
    folded = ids.str.casefold()
    twins = folded.duplicated(keep=False).to_numpy()
    if twins.any():
        first = ids[(folded == folded.iloc[int(np.flatnonzero(twins)[0])]).to_numpy()]
        shown = " and ".join(repr(i) for i in first.iloc[:2])
        warn(logger, f"{name}: column {column!r}: ids {shown} differ only in case; kept apart")
    return ids


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
