"""Compare the outputs of `siting run`: every run's problems as one site of maps and tables."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._core.atomic import atomic_directory
from siting._core.errors import InputError
from siting._core.outfolders import SITE_KIND, check_out_dir
from siting.inputs.regions import kommun_names
from siting.report.compare_pages import OfficePlan, compare_scenarios
from siting.report.equity_text import PlanEquity
from siting.report.maps import MapOptions
from siting.report.publish import PublishedSite, publish_site
from siting.report.texts import check_language
from siting.scenario.pipeline import GROUP
from siting.scenario.run_folder import SITE_COLUMNS, Run, read_run

logger = logging.getLogger(__name__)


def run_scenarios(run: Run, *, label: str) -> list[OfficePlan]:
    """Every problem of a run that has a travel table, as a comparison scenario."""
    roles = {str(p["name"]): p for p in run.summary.get("problems", [])}
    scenarios = []
    for problem, table in run.assignments.groupby("problem", sort=False):
        record = roles.get(str(problem), {})
        scenarios.append(
            OfficePlan(
                name=f"{label}: {problem}",
                travel=table[["demand_id", "site_id", "minutes"]].reset_index(drop=True),
                opened=tuple(str(s) for s in record.get("opened", [])),
                closed=tuple(str(s) for s in record.get("closed_sites", [])),
                description=str(record.get("kind", "")),
                # a run's offices are its own: another run may give the same id to another
                sites=run.sites[[*SITE_COLUMNS, "geometry"]],
                equity=PlanEquity.from_summary(record),
            )
        )
    return scenarios


#: what a demand point is in every run: the same people in the same place and municipality
_POINT_FIELDS = ("population", GROUP, "lon", "lat")


def _demand(runs: Sequence[Run]) -> gpd.GeoDataFrame:
    """The demand points, which every run must have alike (ids, people, group, position)."""
    first = _points(runs[0])
    for run in runs[1:]:
        points = _points(run)
        if set(points.index) != set(first.index):
            msg = (
                f"{run.folder}: its demand points differ from those of {runs[0].folder}; "
                "only runs over the same population can be compared"
            )
            raise InputError(msg)
        _check_same_points(runs[0], first, run, points.loc[first.index])
    return gpd.GeoDataFrame(
        first[["population", GROUP]].reset_index(),
        geometry=gpd.points_from_xy(first["lon"], first["lat"]),
        crs="EPSG:4326",
    )


def _points(run: Run) -> pd.DataFrame:
    """One row per demand point of a run, indexed by its id."""
    table = run.assignments.drop_duplicates("demand_id").set_index("demand_id")
    return table[list(_POINT_FIELDS)]


def _check_same_points(base: Run, first: pd.DataFrame, run: Run, points: pd.DataFrame) -> None:
    """Refuse a run whose demand point has other people, municipality or position.

    Each run's travel times hold only with its own population: taking the first run's for
    all would measure the second scenario with people it never had.
    """
    # positions are stored to 6 decimals (about 0.1 m): closer than that is the same place
    moved = ~np.isclose(first[["lon", "lat"]], points[["lon", "lat"]], rtol=0, atol=2e-6)
    differ = {
        "population": ~np.isclose(first["population"], points["population"], rtol=1e-9),
        "group": (first[GROUP] != points[GROUP]).to_numpy(),
        "position (lon, lat)": moved.any(axis=1),
    }
    for field, mask in differ.items():
        if mask.any():
            point = first.index[np.flatnonzero(mask)[0]]
            mine, theirs = (_point_value(table, point, field) for table in (first, points))
            msg = (
                f"{run.folder}: demand point {point!r} has {field} {theirs}, but {mine} in "
                f"{base.folder}; only runs over the same population can be compared"
            )
            raise InputError(msg)


def _point_value(table: pd.DataFrame, point: str, field: str) -> str:
    row = table.loc[point].to_dict()
    if field == "group":
        return repr(str(row[GROUP]))
    if field == "population":
        return f"{float(row['population']):g}"
    return f"({float(row['lon']):g}, {float(row['lat']):g})"


def _labels(runs: Sequence[Run]) -> list[str]:
    """Scenario names, or folder names where two runs share a scenario name."""
    names = [run.name for run in runs]
    if len(set(names)) == len(names):
        return names
    return [run.folder.resolve().name for run in runs]


def compare_runs(
    folders: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    language: str = "sv",
    self_contained: bool = False,
) -> PublishedSite:
    """Publish a comparison of run folders: maps, ``compare.html`` and CSV tables.

    Every problem of every run becomes one scenario of the comparison; the first (today's
    offices of the first run, when it had any) is the baseline the others are measured
    against. Writes the site of `siting.report.publish.publish_site` plus ``comparison.csv``
    (metrics per scenario and municipality) and ``changes.csv`` (gains and losses), all
    into `out_dir` at once.

    Raises
    ------
    InputError
        A folder that is not a run, runs over different demand points, or fewer than one run.
    """
    if not folders:
        raise InputError("compare: give one or more run folders")
    final = Path(out_dir)
    check_out_dir(final, kind=SITE_KIND)
    resolved = [Path(folder).resolve() for folder in folders]
    if len(set(resolved)) != len(resolved):
        msg = f"compare: a run folder is given twice: {[str(f) for f in folders]}"
        raise InputError(msg)
    runs = [read_run(folder) for folder in folders]
    demand = _demand(runs)
    scenarios = [s for run, label in zip(runs, _labels(runs), strict=True)
                 for s in run_scenarios(run, label=label)]  # fmt: skip
    models = sorted({str(run.summary.get("travel", {}).get("model")) for run in runs})
    with atomic_directory(final) as work:
        site = publish_site(
            work,
            demand,
            runs[0].sites,  # unused: every scenario carries its own run's sites
            scenarios,
            model=" / ".join(models),
            group_column=GROUP,
            self_contained=self_contained,
            group_names=kommun_names(),
            options=MapOptions(language=check_language(language)),
        )
        comparison = compare_scenarios(demand, scenarios, group_column=GROUP)
        # an unreached 95th percentile is empty, as it is null in summary.json
        metrics = comparison.metrics.replace(float("inf"), float("nan"))
        (work / "comparison.csv").write_text(metrics.to_csv(index=False), encoding="utf-8")
        changes = comparison.changes.to_csv(index=False)
        (work / "changes.csv").write_text(changes, encoding="utf-8")
    logger.info("compared %d scenarios of %d runs in %s", len(scenarios), len(runs), final)
    return site.moved(work, final)
