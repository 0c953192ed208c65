"""What-if editing: close an office, open a candidate or any point, and see at once who
gains and who loses.

A project's demand, sites, travel-time matrix and travel model (the prepared road network,
the timetable or the straight-line model) are loaded once and kept in memory; an edit is then
a minimum over the open offices' columns, and a new point one one-to-many query.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from shapely.geometry import Point

from siting._core.errors import InputError
from siting.inputs.regions import kommun_names
from siting.report.compare_pages import (
    MINUTES_DECIMALS,
    Comparison,
    OfficePlan,
    access_metrics,
    change_metrics,
    compare_scenarios,
)
from siting.scenario.config import Scenario, load_scenario
from siting.scenario.pipeline import GROUP, TravelModel, load_inputs
from siting.scenario.problems import ProblemContext

logger = logging.getLogger(__name__)

#: new points one plan may place (each costs one query of the travel model)
MAX_POINTS = 20
#: projects kept in memory at once; the least recently used is dropped first
MAX_LOADED = 4
#: Sweden with a margin: a point outside is a slip, not a place
LON_RANGE, LAT_RANGE = (2.0, 33.0), (53.0, 72.0)


@dataclass(frozen=True)
class NewPoint:
    """An office at a place that is no site of the project."""

    name: str
    lon: float
    lat: float


@dataclass(frozen=True)
class Edits:
    """What a plan changes against today: offices closed, candidates and points opened."""

    closed: tuple[str, ...] = ()
    opened: tuple[str, ...] = ()
    points: tuple[NewPoint, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> Edits:
        """Edits from a request body; InputError naming the field and value otherwise."""
        if not isinstance(data, dict):
            msg = f"edits must be an object, got {type(data).__name__}"
            raise InputError(msg)
        unknown = set(data) - {"closed", "opened", "points"}
        if unknown:
            msg = f"edits: unknown field {sorted(unknown)[0]!r}"
            raise InputError(msg)
        return cls(
            closed=_ids(data.get("closed", []), "closed"),
            opened=_ids(data.get("opened", []), "opened"),
            points=_points(data.get("points", [])),
        )

    def to_json(self) -> dict[str, Any]:
        """The form `from_json` reads and plans store."""
        return {
            "closed": list(self.closed),
            "opened": list(self.opened),
            "points": [{"name": p.name, "lon": p.lon, "lat": p.lat} for p in self.points],
        }


def _ids(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        msg = f"edits.{name} must be a list of site ids, got {value!r}"
        raise InputError(msg)
    return tuple(dict.fromkeys(str(v) for v in value))


def _points(value: Any) -> tuple[NewPoint, ...]:
    if not isinstance(value, list) or len(value) > MAX_POINTS:
        msg = f"edits.points must be a list of at most {MAX_POINTS} points"
        raise InputError(msg)
    points = []
    for index, item in enumerate(value):
        where = f"edits.points[{index}]"
        if not isinstance(item, dict):
            msg = f"{where} must be an object with lon and lat, got {item!r}"
            raise InputError(msg)
        lon, lat = (
            _coordinate(item.get("lon"), f"{where}.lon"),
            _coordinate(item.get("lat"), f"{where}.lat"),
        )
        if not (LON_RANGE[0] <= lon <= LON_RANGE[1] and LAT_RANGE[0] <= lat <= LAT_RANGE[1]):
            msg = f"{where}: ({lon}, {lat}) lies outside Sweden"
            raise InputError(msg)
        name = str(item.get("name") or f"Ny plats {index + 1}")[:100]
        points.append(NewPoint(name, lon, lat))
    return tuple(points)


def _coordinate(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        msg = f"{where} must be a number, got {value!r}"
        raise InputError(msg)
    return float(value)


@dataclass
class WhatIf:
    """One project loaded for editing: evaluate any set of offices against today's."""

    scenario: Scenario
    demand: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    by_site: sp.csc_matrix
    model: TravelModel
    today: tuple[str, ...]
    group_names: dict[str, str]
    _point_cache: OrderedDict[tuple[float, float], npt.NDArray[np.float64]] = field(
        default_factory=OrderedDict
    )

    @classmethod
    def load(cls, scenario_path: str | Path) -> WhatIf:
        """Load the scenario's inputs and compute its matrix (once per project)."""
        scenario = load_scenario(scenario_path)
        demand, sites = load_inputs(scenario)
        model = TravelModel(scenario)
        started = time.perf_counter()
        od = model.matrix(demand, sites)
        logger.info("what-if %s: %d x %d in %.2f s", scenario.name, *od.shape,
                    time.perf_counter() - started)  # fmt: skip
        context = ProblemContext(od, demand, sites, scenario.seed)
        return cls(
            scenario=scenario,
            demand=demand,
            sites=sites,
            by_site=od.minutes.tocsc(),
            model=model,
            today=tuple(context.existing_ids),
            group_names=_group_names(demand),
        )

    @property
    def population(self) -> npt.NDArray[np.float64]:
        """The people each demand point counts."""
        people: npt.NDArray[np.float64] = self.demand["population"].to_numpy(dtype=np.float64)
        return people

    @cached_property
    def _site_ids(self) -> tuple[str, ...]:
        return tuple(str(s) for s in self.sites["site_id"])

    def site_ids(self) -> list[str]:
        """Every site id, in matrix column order."""
        return list(self._site_ids)

    def minutes(self, edits: Edits) -> tuple[npt.NDArray[np.float64], list[str]]:
        """Each demand point's minutes to its nearest open office (inf: none) and that
        office's id ("" where none)."""
        self.check(edits)
        closed = set(edits.closed)
        open_ids = {s for s in self.today if s not in closed} | set(edits.opened)
        columns = [i for i, s in enumerate(self._site_ids) if s in open_ids]
        best = np.full(len(self.demand), np.inf)
        office = np.full(len(self.demand), -1, dtype=np.int64)
        for column in columns:
            _take_nearer(best, office, self._column(column), column)
        labels = [*self._site_ids, *(p.name for p in edits.points)]
        for index, point in enumerate(edits.points):
            _take_nearer(best, office, self.point_minutes(point), len(self.sites) + index)
        # at the precision of assignments.csv, so the figures equal those of `siting run`
        return np.round(best, MINUTES_DECIMALS), [labels[i] if i >= 0 else "" for i in office]

    @cached_property
    def today_minutes(self) -> npt.NDArray[np.float64]:
        """Each demand point's minutes to its nearest office open today (computed once)."""
        return self.minutes(Edits())[0]

    def check(self, edits: Edits) -> None:
        """InputError for an id that is no site of the project, or no open office to close."""
        known = set(self._site_ids)
        for name, ids in (("closed", edits.closed), ("opened", edits.opened)):
            for site in ids:
                if site not in known:
                    msg = f"edits.{name}: no site {site!r} in this project"
                    raise InputError(msg)
        for site in edits.closed:
            if site not in self.today:
                msg = f"edits.closed: {site!r} is not open today"
                raise InputError(msg)

    def _column(self, column: int) -> npt.NDArray[np.float64]:
        times = np.full(len(self.demand), np.inf)
        start, end = self.by_site.indptr[column], self.by_site.indptr[column + 1]
        times[self.by_site.indices[start:end]] = self.by_site.data[start:end]
        return times

    def point_minutes(self, point: NewPoint) -> npt.NDArray[np.float64]:
        """Minutes from every demand point to a new point: one query of the travel model."""
        key = (round(point.lon, 6), round(point.lat, 6))
        cached = self._point_cache.get(key)
        if cached is not None:
            # requests share the cache: another may have dropped the key since the get
            with contextlib.suppress(KeyError):
                self._point_cache.move_to_end(key)
            return cached
        site = gpd.GeoDataFrame(
            {"site_id": ["new"]}, geometry=[Point(point.lon, point.lat)], crs="EPSG:4326"
        )
        od = self.model.matrix(self.demand, site)
        times = np.full(len(self.demand), np.inf)
        coo = od.minutes.tocoo()
        times[coo.row] = coo.data
        self._point_cache[key] = times
        while len(self._point_cache) > 4 * MAX_POINTS:
            self._point_cache.popitem(last=False)
        return times

    def compare(self, plans: list[tuple[str, Edits]]) -> Comparison:
        """Today and each named plan side by side, by municipality: `siting compare`'s
        figures (people within 15/30/45/60 min, mean, p95, who gains and loses)."""
        scenarios = [OfficePlan("today", self.travel_table(Edits()))]
        scenarios += [
            OfficePlan(name, self.travel_table(edits), opened=edits.opened, closed=edits.closed)
            for name, edits in plans
        ]
        return compare_scenarios(self.demand, scenarios, group_column=GROUP)

    def travel_table(self, edits: Edits) -> pd.DataFrame:
        """``demand_id``, ``site_id`` and ``minutes`` of each demand point under `edits`."""
        minutes, offices = self.minutes(edits)
        return pd.DataFrame(
            {"demand_id": self.demand["demand_id"].to_numpy(), "site_id": offices,
             "minutes": minutes}
        )  # fmt: skip

    def evaluate(self, edits: Edits) -> dict[str, Any]:
        """People within 15/30/45/60 min, mean and p95, by group, and gains and losses
        against today; per demand point the minutes (for redrawing the map)."""
        after, offices = self.minutes(edits)
        before = self.today_minutes
        people = self.population
        groups = self.demand[GROUP].to_numpy()
        by_group = []
        for code in sorted(set(groups)):
            chosen = groups == code
            by_group.append(
                {"group": code, "name": self.group_names.get(code, code),
                 "today": _plain(access_metrics(people[chosen], before[chosen])),
                 "plan": _plain(access_metrics(people[chosen], after[chosen])),
                 "change": _plain(change_metrics(people[chosen], before[chosen], after[chosen]))}
            )  # fmt: skip
        also = {}
        for column in self.also_counted():
            weight = self.demand[column].to_numpy(dtype=np.float64)
            also[column] = {
                "today": _plain(access_metrics(weight, before)),
                "plan": _plain(access_metrics(weight, after)),
                "change": _plain(change_metrics(weight, before, after)),
            }
        return {
            "counted": self.scenario.inputs.counted or "people",
            "also": also,
            "model": self.model_name,
            "today": _plain(access_metrics(people, before)),
            "plan": _plain(access_metrics(people, after)),
            "change": _plain(change_metrics(people, before, after)),
            "by_group": by_group,
            "minutes": [None if not math.isfinite(m) else round(float(m), 1) for m in after],
            "office": offices,
        }

    def also_counted(self) -> list[str]:
        """Other demand columns the scenario's problems weigh by (such as people 65+): the
        page shows their figures too."""
        columns = []
        for problem in self.scenario.problems:
            column = getattr(problem.parameters, "weights", None)
            if (
                isinstance(column, str) and column != "population" and column not in columns
                and column in self.demand.columns
                and pd.api.types.is_numeric_dtype(self.demand[column])
            ):  # fmt: skip
                columns.append(column)
        return columns

    @property
    def model_name(self) -> str:
        """How travel times are made (road network, straight-line estimate, timetable)."""
        travel = self.scenario.travel
        if travel.transit is not None:
            return "public transport (GTFS timetable)"
        if self.scenario.inputs.network is None:
            return f"straight-line estimate ({travel.mode})"
        return f"road network ({travel.mode})"


def _take_nearer(
    best: npt.NDArray[np.float64],
    office: npt.NDArray[np.int64],
    times: npt.NDArray[np.float64],
    label: int,
) -> None:
    nearer = times < best
    best[nearer] = times[nearer]
    office[nearer] = label


def _group_names(demand: gpd.GeoDataFrame) -> dict[str, str]:
    try:
        names = kommun_names()
    except Exception:  # boundaries not installed: the codes themselves label the groups
        return {}
    return {str(code): names.get(str(code), str(code)) for code in set(demand[GROUP])}


def _plain(metrics: dict[str, float]) -> dict[str, float | None]:
    """JSON-safe: NaN and inf become null."""
    return {k: (v if math.isfinite(v) else None) for k, v in metrics.items()}


class WhatIfCache:
    """Loaded projects by scenario path, least recently used dropped past `MAX_LOADED`.

    Loading is done under a per-project lock so that two first requests load once.
    """

    def __init__(self) -> None:
        self._loaded: OrderedDict[str, WhatIf] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def get(self, scenario_path: str) -> WhatIf:
        """The loaded project, loading it on first use."""
        with self._lock:
            if scenario_path in self._loaded:
                self._loaded.move_to_end(scenario_path)
                return self._loaded[scenario_path]
            lock = self._loading.setdefault(scenario_path, threading.Lock())
        with lock:
            with self._lock:
                if scenario_path in self._loaded:
                    return self._loaded[scenario_path]
            loaded = WhatIf.load(scenario_path)
            with self._lock:
                self._loaded[scenario_path] = loaded
                while len(self._loaded) > MAX_LOADED:
                    self._loaded.popitem(last=False)
            return loaded
