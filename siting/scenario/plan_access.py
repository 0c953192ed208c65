"""Accessibility indices of each plan's offices (gravity, 2SFCA, E2SFCA) per demand point and
per group: for summary.json, the run's GeoPackage and the map's accessibility layer."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from siting._core.names import slugify
from siting.locate.accessibility import accessibility_table
from siting.locate.decay import Decay
from siting.report.maps import align_travel
from siting.scenario.problems import ProblemResult, od_to_sites
from siting.travel.odmatrix import ODMatrix

logger = logging.getLogger(__name__)

#: the indices, in the order the outputs list them
INDICES = ("gravity", "2sfca", "e2sfca")
#: the run's GeoPackage: a layer of cells and one of groups per plan
GEOPACKAGE = "accessibility.gpkg"


def plan_access(
    od: ODMatrix,
    demand: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    open_sites: Sequence[str],
    *,
    decay: Decay,
    catchment_minutes: float,
) -> pd.DataFrame:
    """The three indices per demand row (demand order) to the plan's open offices.

    Offices count by their ``capacity`` when every open office has one, else 1 each
    (``attrs["capacity"]`` says which); 2SFCA's catchment is `catchment_minutes`, gravity
    and E2SFCA use `decay` (see `siting.locate.accessibility.accessibility_table`).
    """
    to_plan = od_to_sites(od, open_sites)
    by_id = sites.set_index(sites["site_id"].astype(str))
    capacity = by_id["capacity"].reindex(to_plan.destination_ids.astype(str)).to_numpy(float)
    given = bool(capacity.size) and bool(np.isfinite(capacity).all())
    people = demand.set_index(demand["demand_id"].astype(str))["population"]
    table = accessibility_table(
        to_plan, people.reindex(to_plan.origin_ids.astype(str)).to_numpy(dtype=np.float64),
        decay=decay, catchment_minutes=catchment_minutes, capacity=capacity if given else None,
    )  # fmt: skip
    table["demand_id"] = table["demand_id"].astype(str)
    aligned = table.set_index("demand_id").reindex(demand["demand_id"].astype(str))
    aligned = aligned.fillna(0.0).reset_index()  # a row the matrix lacks reaches nothing
    aligned.attrs["capacity"] = "capacity column" if given else "1 per office"
    return aligned


def access_record(
    table: pd.DataFrame, people: npt.NDArray[np.float64], groups: npt.NDArray[Any],
    names: Mapping[str, str], *, decay: Decay, catchment_minutes: float,
) -> dict[str, Any]:  # fmt: skip
    """``accessibility`` of one plan for ``summary.json``: population-weighted mean of each
    index, in all and per group, with what the indices were computed from."""
    by_group = _group_means(table, people, groups)
    return {
        "decay": decay.summary(),
        "catchment_minutes": catchment_minutes,
        "capacity": table.attrs.get("capacity", "1 per office"),
        "total": _means(table, people),
        "by_group": [
            {"group": group, "name": names.get(group, group), **row}
            for group, row in by_group.items()
        ],
    }


def write_access_geopackage(
    path: Path,
    demand: gpd.GeoDataFrame,
    results: Sequence[ProblemResult],
    tables: Mapping[str, pd.DataFrame],
    names: Mapping[str, str],
) -> Path:
    """Per plan a layer of demand cells (polygons when the grid has them, else points) with
    travel time, office and the three indices, and a layer per group (merged shapes) with
    population-weighted means. Layers are named by the plan's slug (``...-by-group``)."""
    import pyogrio  # late: GDAL is heavy, and only runs with a plan load it

    shapes = _shapes(demand)
    for result in results:
        if result.name not in tables or result.travel is None:
            continue
        minutes, site = align_travel(demand, result.travel)
        cells = gpd.GeoDataFrame(
            {"demand_id": demand["demand_id"].astype(str).to_numpy(),
             "group": demand["group"].astype(str).to_numpy(),
             "population": demand["population"].to_numpy(dtype=np.float64),
             "site_id": pd.array(site, dtype="string"),
             "minutes": np.where(np.isfinite(minutes), minutes, np.nan),
             **{index: tables[result.name][index].to_numpy() for index in INDICES}},
            geometry=shapes, crs=demand.crs,
        )  # fmt: skip
        layer = slugify(result.name)
        pyogrio.write_dataframe(cells, path, layer=layer, driver="GPKG")
        pyogrio.write_dataframe(_groups_layer(cells, names), path, layer=f"{layer}-by-group",
                                driver="GPKG")  # fmt: skip
    logger.info("accessibility: %s (%d plans)", path, len(tables))
    return path


def _shapes(demand: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Cell polygons of a grid (all given), else the demand points."""
    if "cell" in demand.columns and demand["cell"].notna().all():
        return gpd.GeoSeries(demand["cell"].to_numpy(), crs=demand.crs)
    return gpd.GeoSeries(demand.geometry.to_numpy(), crs=demand.crs)


def _groups_layer(cells: gpd.GeoDataFrame, names: Mapping[str, str]) -> gpd.GeoDataFrame:
    """One row per group: its shapes merged, its people and mean of each index."""
    people = cells["population"].to_numpy(dtype=np.float64)
    means = pd.DataFrame.from_dict(
        _group_means(cells, people, cells["group"].to_numpy()), orient="index"
    )
    # grid cells tile the plane without overlap: their coverage union is exact and 25 times
    # faster than a general union on 100,000 cells (scripts/bench_access_outputs.py)
    polygons = bool(cells.geom_type.isin(("Polygon", "MultiPolygon")).all())
    merged = cells[["group", "geometry"]].dissolve(
        by="group", method="coverage" if polygons else "unary"
    )
    frame = merged.join(means).reset_index()
    frame.insert(1, "name", frame["group"].map(lambda group: names.get(group, group)))
    frame.insert(2, "population", frame["group"].map(cells.groupby("group")["population"].sum()))
    return frame


def _means(table: pd.DataFrame, people: npt.NDArray[np.float64]) -> dict[str, float]:
    total = float(people.sum())
    return {
        index: float(people @ table[index].to_numpy(dtype=np.float64)) / total
        if total > 0 else float("nan")
        for index in INDICES
    }  # fmt: skip


def _group_means(
    table: pd.DataFrame, people: npt.NDArray[np.float64], groups: npt.NDArray[Any]
) -> dict[str, dict[str, float]]:
    labels = np.asarray(groups).astype(str)
    return {
        group: _means(table[labels == group], people[labels == group])
        for group in sorted(set(labels))
    }
