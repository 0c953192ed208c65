"""Run one scenario end to end: inputs, travel times, problems, metrics and the output folder."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import platform
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cached_property, partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from tqdm import tqdm

from siting._core.atomic import atomic_directory
from siting._core.errors import InputError
from siting._core.names import slugify
from siting._core.outfolders import RUN_KIND, check_folder_path, check_out_dir
from siting._core.version import __version__
from siting.inputs.population import load_population
from siting.inputs.regions import KOMMUN_CODE_COLUMNS, assign_regions, kommun_names
from siting.inputs.sites import combine_sites, load_sites
from siting.report.compare_pages import (
    UNKNOWN_GROUP,
    Comparison,
    OfficePlan,
    access_metrics,
    compare_scenarios,
)
from siting.report.equity_text import PlanEquity
from siting.report.maps import MapOptions, align_travel, nearest_office, write_map
from siting.report.texts import LABELS, check_language
from siting.roads.network import build_options
from siting.scenario.checks import check_scenario_inputs
from siting.scenario.config import EXISTING, Scenario, TableInput, Travel, load_scenario
from siting.scenario.plan_access import (
    GEOPACKAGE,
    access_record,
    plan_access,
    write_access_geopackage,
)
from siting.scenario.plan_measures import plan_measures
from siting.scenario.problems import (
    ProblemContext,
    ProblemResult,
    existing_result,
    json_records,
    od_to_sites,
    run_problem,
)
from siting.travel.odmatrix import (
    ROAD_MODEL,
    ODMatrix,
    RoadNetwork,
    travel_times,
)
from siting.travel.options import ComputeOptions
from siting.travel.points import as_points
from siting.travel.prepared import MANIFEST as SAVED_MANIFEST
from siting.travel.prepared import load_road_network
from siting.travel.straightline import StraightLineModel

if TYPE_CHECKING:
    from siting.travel.timetable import Timetable

logger = logging.getLogger(__name__)

SUMMARY = "summary.json"
OUTPUT_FILES = (SUMMARY, "assignments.csv", "sites.geojson", "map.html")
#: libraries whose versions go into summary.json: they decide the numbers
DEPENDENCIES = (
    "numpy", "scipy", "pandas", "geopandas", "shapely", "pyproj", "networkx", "osmnx",
    "osmium", "highspy", "pyroutingkit", "folium",
)  # fmt: skip
#: demand column holding each point's metric group (its municipality code by default)
GROUP = "group"
#: sites.geojson has a column per problem, "role: <problem>", so no name clashes with "name"
ROLE_PREFIX = "role: "


@dataclass(frozen=True)
class RunResult:
    """What `run_scenario` wrote: the folder, its summary and the names of its files."""

    out_dir: Path
    summary: dict[str, Any]
    files: tuple[str, ...]


def run_scenario(
    scenario: Scenario | str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
) -> RunResult:
    """Run every problem of a scenario and write its results to `out_dir` as one unit.

    Writes ``summary.json`` (inputs with sha256 hashes, versions, seed, parameters, objective,
    bound, gap, sites, metrics, timings), ``assignments.csv`` (per problem and demand point:
    site and minutes), ``sites.geojson`` (every site and its role in each problem),
    ``map.html`` (the first problem; ``map-<problem>.html`` for the others) and further tables
    as CSV. The folder is built beside `out_dir` and renamed into place at the end, so a
    failed or interrupted run leaves an earlier result as it was.

    Parameters
    ----------
    scenario
        A `Scenario` or the path of a scenario file.
    out_dir
        Output folder; replaced if it holds an earlier run, refused if it holds anything else.
    cache_dir
        Where OD matrices are kept for reuse by scenarios that share network, points and
        options (default ``$SITING_CACHE_DIR/od`` or ``~/.cache/siting/od``).
    progress
        Progress bars; None shows them only on a terminal.

    Returns
    -------
    RunResult

    Raises
    ------
    InputError
        Bad scenario or input files, or bad problem parameters (naming the problem).
    InfeasibleError
        A problem without a solution under its constraints.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    final = Path(out_dir)
    check_out_dir(final, kind=RUN_KIND)
    if cache_dir is not None:
        check_folder_path(Path(cache_dir), "cache_dir (--cache-dir)")
    started = time.perf_counter()
    timings: dict[str, Any] = {}
    with _timed(timings, "inputs"):
        demand, sites = load_inputs(scenario)
    check_scenario_inputs(scenario, demand, sites)  # before the OD matrix: ids, counts, columns
    roads = TravelModel(scenario)
    od = _travel_matrix(roads, demand, sites, timings, cache_dir=cache_dir, progress=progress)
    context = ProblemContext(
        od, demand, sites, scenario.seed, legs=roads.legs, decay=scenario.travel.decay,
        times_to=partial(roads.matrix, demand),
    )  # fmt: skip
    results = _solve_all(scenario, context, timings, progress)
    if scenario.travel.compare_modes:
        with _timed(timings, "other_modes"):
            results = _by_other_modes(roads, demand, sites, results)
    with atomic_directory(final) as work:
        with _timed(timings, "accessibility"):
            access = access_tables(scenario, context, results)
        with _timed(timings, "outputs"):
            files = write_outputs(work, scenario, context, results, access=access)
        timings["total"] = round(time.perf_counter() - started, 3)
        summary = finite(build_summary(scenario, context, results, timings, access=access))
        summary["files"] = [SUMMARY, *files]
        text = json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        (work / SUMMARY).write_text(text, encoding="utf-8")
    logger.info("scenario %s: wrote %s", scenario.name, final)
    return RunResult(final, summary, (SUMMARY, *files))


@contextmanager
def _timed(timings: dict[str, Any], step: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    timings[step] = round(time.perf_counter() - started, 3)


# --- inputs ---------------------------------------------------------------------------------


def load_inputs(scenario: Scenario) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Demand (with a ``group`` column for metrics) and sites (existing first), clipped."""
    inputs = scenario.inputs
    with _named(scenario, "population"):
        demand = load_population(
            inputs.population.path, region=inputs.region, **inputs.population.options
        )
    frames = []
    for key, table in (("existing", inputs.existing), ("candidates", inputs.candidates)):
        if table is not None:
            with _named(scenario, key):
                frames.append(load_sites(table.path, region=inputs.region, **table.options))
    with _named(scenario, "candidates"):
        sites = combine_sites(*frames)
    with _named(scenario, "group_column"):
        return _with_groups(demand, inputs.group_column), sites


@contextmanager
def _named(scenario: Scenario, key: str, section: str = "inputs") -> Iterator[None]:
    """Prefix input errors with the scenario file and the key whose file caused them."""
    try:
        yield
    except InputError as error:
        msg = f"{scenario.path}: [{section}] {key}: {error}"
        raise InputError(msg) from None


def _with_groups(demand: gpd.GeoDataFrame, column: str | None) -> gpd.GeoDataFrame:
    if column is not None and column not in demand.columns:
        msg = f"the population has no column {column!r}"
        raise InputError(msg)
    column = column or next((c for c in KOMMUN_CODE_COLUMNS if c in demand.columns), None)
    if column is None:
        demand = assign_regions(demand, levels=("kommun",))
        column = "kommun_kod"
    grouped = demand.copy()
    codes = demand[column].astype("string").fillna(UNKNOWN_GROUP).replace("", UNKNOWN_GROUP)
    grouped[GROUP] = codes.to_numpy()
    return grouped


class TravelModel:
    """The scenario's road network or timetable, loaded at most once and only when something
    needs it; `matrix` computes times to any sites by the scenario's mode."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario

    @cached_property
    def network(self) -> RoadNetwork | None:
        """The prepared network, or None for the straight-line model."""
        source = self.scenario.inputs.network
        if source is None:
            return None
        options = _road_options(self.scenario.travel)
        with _named(self.scenario, "network"):
            # straight to the engine's arrays: the matrices need no networkx graph
            network = load_road_network(source, **options)
            if Path(source).is_dir():
                _check_saved_options(source, network.build_options, build_options(**options))
            return network

    @cached_property
    def timetable(self) -> Timetable:
        """The transit timetable of the scenario's date (mode = "transit" only)."""
        from siting.travel.timetable import load_timetable  # late: numba compiles on first use

        transit = self.scenario.travel.transit
        if transit is None:
            msg = f"{self.scenario.path}: [travel] mode is not transit"
            raise InputError(msg)
        with _named(self.scenario, "gtfs", "travel"):
            return load_timetable(transit.gtfs, transit.date)

    def matrix(
        self,
        demand: gpd.GeoDataFrame,
        sites: gpd.GeoDataFrame,
        *,
        cache_dir: Path | None = None,
        progress: bool | None = False,
    ) -> ODMatrix:
        """Times from every demand point to `sites` by the scenario's mode (the web service
        asks for a new office's column this way; `siting run` for the whole matrix)."""
        travel = self.scenario.travel
        if travel.transit is not None:
            return _transit_matrix(self, demand, sites)
        compute = ComputeOptions(workers=travel.workers, cache_dir=cache_dir, progress=progress)
        od = travel_times(
            self.network, demand, sites, max_minutes=travel.max_minutes,
            straight_line=travel.straight_line_of(travel.mode), snap=travel.snap_of_mode,
            compute=compute,
        )  # fmt: skip
        return _labelled(od, travel.mode)

    def legs(self, places: gpd.GeoDataFrame, max_minutes: float) -> ODMatrix | StraightLineModel:
        """Travel between sites (mobile tours): a square matrix over the roads, or the model."""
        if self.network is None:
            return self.scenario.travel.straight_line
        travel = self.scenario.travel
        return travel_times(
            self.network, places, places, max_minutes=max_minutes, snap=travel.snap,
            compute=ComputeOptions(workers=travel.workers, progress=False),
        )  # fmt: skip


def od_cache_dir() -> Path:
    """Default folder of cached OD matrices, beside the network cache."""
    from siting.download.http import cache_root  # late: at module level it closes an import cycle

    return cache_root() / "od"


def _travel_matrix(
    roads: TravelModel,
    demand: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    timings: dict[str, Any],
    *,
    cache_dir: str | os.PathLike[str] | None,
    progress: bool | None,
) -> ODMatrix:
    """The matrix from the run cache, else from the network (loaded only then); by
    timetable when the mode is transit."""
    scenario = roads.scenario
    if scenario.travel.transit is not None:
        with _timed(timings, "od_matrix"):
            return _transit_matrix(roads, demand, sites)
    folder = od_cache_dir() if cache_dir is None else Path(cache_dir)
    cached = _run_cache_file(scenario, demand, sites, folder)
    if cached is not None and cached.is_file():
        try:
            od = ODMatrix.load(cached)
        except InputError as error:  # a damaged cache file only costs the time to rebuild
            logger.warning("ignoring damaged matrix cache: %s", error)
        else:
            logger.info("OD matrix: reusing %s; the network is not loaded", cached)
            timings.update(network=0.0, od_matrix=0.0, matrix_from_run_cache=True)
            return od
    with _timed(timings, "network"):
        _ = roads.network  # loaded here, so that its time is told apart from the matrix's
    with _timed(timings, "od_matrix"):
        od = roads.matrix(demand, sites, cache_dir=folder, progress=progress)
    if cached is not None:
        od.save(cached, compress=False)
    return od


def _map_notes(result: ProblemResult, language: str, counted: str | None) -> list[str]:
    """Who is counted, then one line per other mode: the same offices' share within 30 and
    60 minutes."""
    labels = LABELS[check_language(language)]
    notes = [] if counted is None else [labels["counted"].format(who=counted)]
    for mode, metrics in result.summary.get("by_mode", {}).items():
        text = labels["same_offices_by"].format(
            mode=labels[f"mode_{mode}"],
            share_30=f"{metrics['share_within_30_min']:.0%}",
            share_60=f"{metrics['share_within_60_min']:.0%}",
        )
        notes.append(f"{text} ({metrics['model']})")
    share = result.summary.get("parameters", {}).get("market_share")
    if share is not None:  # a Huff kind: what the plan wins against the other offices
        others = len(result.summary.get("competitors", ()))
        notes.append(labels["market_share"].format(share=f"{share:.1%}", n=others))
    return notes


def _equity_note(result: ProblemResult, scenario: Scenario, demand: gpd.GeoDataFrame) -> list[str]:
    """The plan's equity and attendance (as in summary.json) as a line on its map."""
    equity = PlanEquity.from_summary(_plan_record(result, scenario, demand, {}))
    return [] if equity is None else [equity.line(check_language(scenario.outputs.language))]


def _labelled(od: ODMatrix, mode: str) -> ODMatrix:
    """The matrix with its mode in the metadata (walking and cycling named in the model)."""
    metadata = {**od.metadata, "mode": mode}
    if mode in ("walk", "bike") and od.metadata.get("model") == ROAD_MODEL:
        metadata["model"] = f"road network, {'walking' if mode == 'walk' else 'cycling'}"
    elif mode in ("walk", "bike"):
        metadata["model"] = f"straight-line {'walking' if mode == 'walk' else 'cycling'}"
    return replace(od, metadata=metadata)


def _by_other_modes(
    model: TravelModel,
    demand: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    results: Sequence[ProblemResult],
) -> list[ProblemResult]:
    """Each answer's offices measured by the other modes too (`compare_modes`): the summary's
    ``by_mode`` per problem, the same metrics as its own."""
    travel = model.scenario.travel
    measured = [dict(r.summary.get("by_mode", {})) for r in results]
    people = demand["population"].to_numpy(dtype=np.float64)
    for mode in travel.compare_modes:
        if mode == "transit" and travel.transit is not None:
            od = _transit_matrix(model, demand, sites)  # the run's timetable, loaded once
        else:
            od = _labelled(
                travel_times(
                    None, demand, sites, max_minutes=travel.max_minutes,
                    straight_line=travel.straight_line_of(mode),
                ),
                mode,
            )  # fmt: skip
        for result, record in zip(results, measured, strict=True):
            if result.travel is None or not result.open_sites:
                continue
            minutes = align_travel(demand, nearest_office(od_to_sites(od, result.open_sites)))[0]
            record[mode] = {"model": od.metadata.get("model"), **access_metrics(people, minutes)}
    return [
        replace(result, summary={**result.summary, "by_mode": record}) if record else result
        for result, record in zip(results, measured, strict=True)
    ]


def _transit_matrix(
    model: TravelModel, demand: gpd.GeoDataFrame, sites: gpd.GeoDataFrame
) -> ODMatrix:
    from siting.travel.transit import transit_times  # late: numba compiles on first use

    transit = model.scenario.travel.transit
    assert transit is not None  # the callers ask only when the mode is transit
    return transit_times(
        model.timetable, demand, sites, options=transit.options, percentile=transit.percentile,
        max_minutes=model.scenario.travel.max_minutes,
    )  # fmt: skip


def _road_options(travel: Travel) -> dict[str, Any]:
    """The scenario's options for building its road network (`load_road_network`'s)."""
    return {
        "include_tracks": travel.include_tracks,
        "ferries": travel.ferries,
        "ferry_speed_kph": travel.ferry_speed_kph,
        "ferry_wait_minutes": travel.ferry_wait_minutes,
        "speeds": travel.speeds,
        "mode": "drive" if travel.mode == "car" else travel.mode,
    }


def _network_file(source: Path) -> Path:
    """The file that identifies a network: itself, or a saved folder's manifest (which holds
    the SHA-256 of every file in the folder)."""
    return source / SAVED_MANIFEST if source.is_dir() else source


def _check_saved_options(folder: str, saved: Mapping[str, Any], asked: Mapping[str, Any]) -> None:
    """A saved network's travel times were built once: refuse one built for other options
    rather than silently ignore the scenario's [travel] speeds, ferries, tracks or mode."""
    if not saved:
        msg = f"{folder} does not record the options it was built with; save it again"
        raise InputError(msg)
    # through JSON, as the manifest holds them: tuples become lists
    asked = json.loads(json.dumps(asked))
    for key in sorted(set(saved) | set(asked)):
        if saved.get(key) != asked.get(key):
            msg = (
                f"{folder} was built with {key} = {saved.get(key)!r}, the scenario's [travel] "
                f"asks {asked.get(key)!r}; save the network with these options"
            )
            raise InputError(msg)


def _run_cache_file(
    scenario: Scenario, demand: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, folder: Path
) -> Path | None:
    """Where a matrix over a network *file* is kept, keyed by the file's sha256 and options.

    `travel_times` keys its own cache by the prepared network, so a hit there still loads the
    graph first (seconds for a county, minutes for Sweden); keyed by the file, a rerun of a
    scenario that changes only its problems skips the network altogether.
    """
    source = scenario.inputs.network
    if source is None or not (Path(source).is_file() or Path(source).is_dir()):
        return None  # straight-line matrices are cheap; place names are downloads
    travel = scenario.travel
    key = {
        "network_sha256": file_record(_network_file(Path(source)))["sha256"],
        "speeds": travel.speeds.key(),
        "options": [travel.include_tracks, travel.ferries, travel.ferry_speed_kph,
                    travel.ferry_wait_minutes, travel.snap.access_speed_kph, travel.snap.max_snap_m,
                    travel.max_minutes, travel.mode],
        "origins": as_points(demand, argument="origins").digest(),
        "sites": as_points(sites, argument="destinations").digest(),
        "siting": __version__,
    }  # fmt: skip
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
    return folder / f"run-{digest}.npz"


def _solve_all(
    scenario: Scenario, context: ProblemContext, timings: dict[str, Any], progress: bool | None
) -> list[ProblemResult]:
    today = existing_result(context)
    results = [] if today is None else [today]
    per_problem: dict[str, float] = {}
    bar = tqdm(scenario.problems, desc="problems", unit="problem", disable=_no_bar(progress))
    for problem in bar:
        bar.set_postfix_str(problem.name)
        started = time.perf_counter()
        results.append(run_problem(problem, context))
        per_problem[problem.name] = round(time.perf_counter() - started, 3)
        logger.info(
            "problem %s (%s): %.2f s", problem.name, problem.kind, per_problem[problem.name]
        )
    timings["problems"] = per_problem
    return results


def _no_bar(progress: bool | None) -> bool | None:
    return None if progress is None else not progress


# --- outputs --------------------------------------------------------------------------------


def access_tables(
    scenario: Scenario, context: ProblemContext, results: Sequence[ProblemResult]
) -> dict[str, pd.DataFrame]:
    """The accessibility indices of each plan's open offices per demand point, by the
    scenario's decay and cut-off (curves and plans with no office have none)."""
    return {
        result.name: _plan_access(scenario, context, result)
        for result in results
        if result.travel is not None and result.open_sites
    }


def _plan_access(
    scenario: Scenario, context: ProblemContext, result: ProblemResult
) -> pd.DataFrame:
    travel = scenario.travel
    return plan_access(
        context.od, context.demand, context.sites, result.open_sites,
        decay=travel.decay, catchment_minutes=travel.max_minutes,
    )  # fmt: skip


def write_outputs(
    folder: Path,
    scenario: Scenario,
    context: ProblemContext,
    results: Sequence[ProblemResult],
    *,
    access: Mapping[str, pd.DataFrame] | None = None,
) -> list[str]:
    """Write assignments, sites, maps, extra tables and the plans' accessibility GeoPackage
    (with `access`, see `access_tables`) into `folder`; return the file names."""
    model = str(context.od.metadata.get("model", ""))
    files = ["assignments.csv", "sites.geojson"]
    # UTF-8 whatever the locale: place names are Swedish, and compare reads them back as UTF-8
    assignments = _assignments(context.demand, results, model).to_csv(index=False)
    (folder / files[0]).write_text(assignments, encoding="utf-8")
    geojson = _sites_geojson(context.sites, results, scenario, model)
    (folder / files[1]).write_text(geojson, encoding="utf-8")
    access = access or {}
    if access and scenario.outputs.geopackage:
        names = _group_names(context.demand)
        write_access_geopackage(folder / GEOPACKAGE, context.demand, results, access, names)
        files.append(GEOPACKAGE)
    if scenario.outputs.map:
        files += _write_maps(folder, scenario, context, results, model, access)
    for result in results:
        for table_name, table in result.tables.items():
            name = f"{slugify(result.name)}-{table_name}.csv"
            (folder / name).write_text(table.to_csv(index=False), encoding="utf-8")
            files.append(name)
    return files


def _assignments(
    demand: gpd.GeoDataFrame, results: Sequence[ProblemResult], model: str
) -> pd.DataFrame:
    points = demand.geometry.to_crs("EPSG:4326")
    people = pd.DataFrame(
        {
            "demand_id": demand["demand_id"].astype(str).to_numpy(),
            "population": demand["population"].to_numpy(),
            "group": demand[GROUP].to_numpy(),
            "lon": points.x.round(6).to_numpy(),
            "lat": points.y.round(6).to_numpy(),
        }
    )
    tables = []
    for result in results:
        if result.travel is None:
            continue
        travel = result.travel[["demand_id", "site_id", "minutes"]].copy()
        travel["demand_id"] = travel["demand_id"].astype(str)
        table = travel.merge(people, on="demand_id", how="left", validate="one_to_one")
        table.insert(0, "problem", result.name)
        tables.append(table)
    if not tables:
        return pd.DataFrame(columns=["problem", "demand_id", "site_id", "minutes", "model"])
    frame = pd.concat(tables, ignore_index=True)
    frame["minutes"] = frame["minutes"].round(3)
    frame["model"] = model
    return frame


def _sites_geojson(
    sites: gpd.GeoDataFrame, results: Sequence[ProblemResult], scenario: Scenario, model: str
) -> str:
    columns = [c for c in ("site_id", "name", "status", "cost", "municipality") if c in sites]
    frame = sites[[*columns, "geometry"]].to_crs("EPSG:4326")
    ids = frame["site_id"].astype(str)
    for result in results:
        if not result.open_sites and not result.closed:
            continue
        role = np.where(ids.isin(result.open_sites), "open", "")
        role = np.where(ids.isin(result.opened), "new", role)
        frame[f"{ROLE_PREFIX}{result.name}"] = np.where(ids.isin(result.closed), "closed", role)
    collection = json.loads(frame.to_json(na="null"))
    # GeoJSON allows members beyond its own: the travel model travels with the file
    collection.update(scenario=scenario.name, model=model)
    return json.dumps(collection, ensure_ascii=False)


def _write_maps(
    folder: Path,
    scenario: Scenario,
    context: ProblemContext,
    results: Sequence[ProblemResult],
    model: str,
    access: Mapping[str, pd.DataFrame],
) -> list[str]:
    mapped = [(r, r.travel) for r in results if r.travel is not None]
    # the first problem gets map.html; today's offices only when no problem has a map
    mapped.sort(key=lambda pair: pair[0].name == EXISTING)
    files = []
    for position, (result, travel) in enumerate(mapped):
        name = "map.html" if position == 0 else f"map-{slugify(result.name)}.html"
        write_map(
            folder / name,
            context.demand,
            context.sites,
            travel,
            model=model,
            notes=[
                *_map_notes(result, scenario.outputs.language, scenario.inputs.counted),
                *_equity_note(result, scenario, context.demand),
            ],
            opened=result.opened,
            closed=result.closed,
            routes=result.routes,
            stops=result.stops,
            access=access[result.name]["e2sfca"].to_numpy() if result.name in access else None,
            options=MapOptions(
                language=check_language(scenario.outputs.language),
                title=f"{scenario.outputs.title or scenario.name}: {result.name}",
            ),
        )
        files.append(name)
    return files


# --- summary --------------------------------------------------------------------------------


def build_summary(
    scenario: Scenario,
    context: ProblemContext,
    results: Sequence[ProblemResult],
    timings: dict[str, Any],
    *,
    access: Mapping[str, pd.DataFrame] | None = None,
) -> dict[str, Any]:
    """The plain-data record of one run (see `run_scenario`); with `access`, each plan's
    ``accessibility`` (see `access_tables`)."""
    comparison = _compare(context.demand, results)
    names = _group_names(context.demand)
    site_names = dict(
        zip(context.sites["site_id"].astype(str), context.sites["name"].astype(str), strict=True)
    )
    return {
        "scenario": {
            "name": scenario.name,
            "description": scenario.description,
            **file_record(scenario.path),
        },
        "siting_version": __version__,
        "versions": _versions(),
        "seed": scenario.seed,
        "inputs": _inputs_record(scenario, context),
        "travel": _travel_record(scenario, context.od),
        "problems": [
            {**_problem_record(r, comparison, names, site_names),
             **_plan_record(r, scenario, context.demand, names),
             **_access_record(r, scenario, context.demand, names, access or {})}
            for r in results
        ],
        "timings_s": timings,
    }  # fmt: skip


def finite(value: Any) -> Any:
    """`value` with every NaN or infinite float replaced by None (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def file_record(path: Path) -> dict[str, Any]:
    """Path, size and sha256 of an input file."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return {"path": str(path), "bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "siting": __version__}
    for name in DEPENDENCIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def _inputs_record(scenario: Scenario, context: ProblemContext) -> dict[str, Any]:
    inputs = scenario.inputs

    def table(entry: TableInput | None) -> dict[str, Any] | None:
        return None if entry is None else {**file_record(entry.path), **entry.options}

    sites = context.sites["status"].astype(str).value_counts().sort_index()
    return {
        "population": table(inputs.population),
        "existing": table(inputs.existing),
        "candidates": table(inputs.candidates),
        "region": inputs.region,
        "demand_points": len(context.demand),
        "people": float(context.demand["population"].sum()),
        "counted": inputs.counted or "everyone",
        "sites_by_status": {str(k): int(v) for k, v in sites.items()},
    }


def _travel_record(scenario: Scenario, od: ODMatrix) -> dict[str, Any]:
    travel = scenario.travel
    source = scenario.inputs.network
    network = None
    if source is not None:
        path = Path(source)
        network = file_record(_network_file(path)) if path.exists() else {"place": source}
    metadata = od.metadata
    transit = {
        key: metadata.get(key)
        for key in ("feed", "date", "departure_window", "percentile", "max_walk_minutes",
                    "max_transfers")
    } if travel.transit is not None else None  # fmt: skip
    return {
        "model": metadata.get("model"),
        "mode": travel.mode,
        "transit": transit,
        "network": network,
        "max_minutes": travel.max_minutes,
        "speeds": travel.speeds.key() if source is not None else None,
        "ferries": travel.ferries if source is not None else None,
        "tracks": travel.include_tracks if source is not None else None,
        "access_speed_kph": travel.snap.access_speed_kph,
        "straight_line": (
            repr(travel.straight_line) if source is None and travel.transit is None else None
        ),
        "decay": {**travel.decay.summary(), "given": travel.decay_given},
        "od_pairs": od.summary.stored_pairs,
        "engine": metadata.get("engine"),
        "od_seconds": metadata.get("seconds"),
    }


def _compare(demand: gpd.GeoDataFrame, results: Sequence[ProblemResult]) -> Comparison | None:
    scenarios = [OfficePlan(r.name, r.travel) for r in results if r.travel is not None]
    if not scenarios:
        return None
    return compare_scenarios(demand, scenarios, group_column=GROUP)


def _group_names(demand: gpd.GeoDataFrame) -> dict[str, str]:
    names = kommun_names()
    return {group: names.get(group, group) for group in demand[GROUP].unique()}


def _plan_record(
    result: ProblemResult, scenario: Scenario, demand: gpd.GeoDataFrame, names: dict[str, str]
) -> dict[str, Any]:
    """``attendance`` and ``equity`` of a plan's travel times (nothing for a curve)."""
    if result.travel is None:
        return {}
    minutes = align_travel(demand, result.travel)[0]
    return plan_measures(
        minutes,
        demand["population"].to_numpy(dtype=np.float64),
        demand[GROUP].to_numpy(),
        decay=scenario.travel.decay,
        cut_off_minutes=scenario.travel.max_minutes,
        names=names,
    )


def _access_record(
    result: ProblemResult,
    scenario: Scenario,
    demand: gpd.GeoDataFrame,
    names: dict[str, str],
    access: Mapping[str, pd.DataFrame],
) -> dict[str, Any]:
    if result.name not in access:
        return {}
    record = access_record(
        access[result.name], demand["population"].to_numpy(dtype=np.float64),
        demand[GROUP].to_numpy(), names, decay=scenario.travel.decay,
        catchment_minutes=scenario.travel.max_minutes,
    )  # fmt: skip
    return {"accessibility": record}


def _problem_record(
    result: ProblemResult,
    comparison: Comparison | None,
    names: dict[str, str],
    site_names: dict[str, str],
) -> dict[str, Any]:
    record: dict[str, Any] = {"name": result.name, **result.summary}
    record.pop("sites", None)  # the same as open_sites
    record.update(open_sites=list(result.open_sites), opened=list(result.opened))
    record["closed_sites"] = list(result.closed)
    for key in ("opened", "closed_sites"):
        record[f"{key}_names"] = [site_names.get(site, site) for site in record[key]]
    if comparison is None or result.travel is None:
        return record
    metrics = comparison.metrics[comparison.metrics["scenario"] == result.name]
    by_group = metrics.drop(columns="scenario").assign(name=metrics["group"].map(names))
    record["metrics"] = {
        "total": json_records(by_group[by_group["group"] == "total"].drop(columns="name"))[0],
        "by_group": json_records(by_group[by_group["group"] != "total"]),
    }
    changes = comparison.changes
    if not changes.empty and result.name in set(changes["scenario"]):
        mine = changes[(changes["scenario"] == result.name) & (changes["group"] == "total")]
        record["changes_vs"] = json_records(mine.drop(columns=["scenario", "group"]))[0]
    return record
