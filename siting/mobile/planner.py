"""Plan mobile service offices: where a vehicle stops, on which day, along which roads."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from siting._core.errors import InfeasibleError, InputError
from siting.locate.instance import merge_identical_rows, row_weights
from siting.locate.solution import _plain
from siting.mobile import search
from siting.mobile.options import FixedOffices, MobileOptions
from siting.mobile.paths import LegDrawer
from siting.mobile.plan import DayRoute as DayRoute
from siting.mobile.plan import Leg as Leg
from siting.mobile.plan import MobilePlan as MobilePlan
from siting.mobile.plan import Visit as Visit
from siting.mobile.tours import Tour, TourProblem
from siting.travel.odmatrix import ODMatrix, travel_times
from siting.travel.points import Points, as_points
from siting.travel.straightline import StraightLineModel

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
logger = logging.getLogger(__name__)


def plan_mobile(
    demand_to_stops: ODMatrix,
    weights: Any,
    stops: Any,
    depots: Any,
    options: MobileOptions,
    *,
    travel: ODMatrix | nx.MultiDiGraph | StraightLineModel | None = None,
    already_served: npt.ArrayLike | FixedOffices | None = None,
    stop_id_column: str | None = None,
    depot_id_column: str | None = None,
) -> MobilePlan:
    """Plan weekly tours of mobile offices that bring the most people within reach.

    Parameters
    ----------
    demand_to_stops
        Travel minutes from demand points (rows) to candidate stops (columns), as from
        ``travel_times(network, demand, stops, max_minutes=options.serve_minutes)``.
    weights
        People per demand row: array-like in row order, a Series indexed by demand id, or
        None (one each).
    stops
        Candidate stops as points: a GeoDataFrame (ids from `stop_id_column`, else
        ``site_id``/``id``, else the index), a GeoSeries or ``(ids, lon, lat)``. Every id must
        be a column of `demand_to_stops`.
    depots
        Where vehicles start and end each day, as points (same forms as `stops`).
    options
        Reach, vehicles, the working week and the search (`MobileOptions`).
    travel
        Travel times between depots and stops: a drive graph (``load_network``; road paths
        are drawn on it), a square `ODMatrix` whose ids include every depot and stop, a
        `StraightLineModel`, or None for the default straight-line model.
    already_served
        People a fixed office already serves: a boolean per demand row, or `FixedOffices`
        (demand to fixed offices and their reach).
    stop_id_column, depot_id_column
        Id columns of GeoDataFrame inputs.

    Returns
    -------
    MobilePlan
        Tours per vehicle and day with times, paths and people; the people served.

    Raises
    ------
    InputError
        On an unknown or repeated id, a stop with no road to or from any depot, a day shorter
        than every round trip, no vehicles, or an option out of range.
    InfeasibleError
        With `cover_all`, when the plan found leaves people within reach unserved.

    Notes
    -----
    With :math:`w_i` people at demand point :math:`i`, :math:`N_j` the points within
    `serve_minutes` of stop :math:`j` and not served by a fixed office, and tours :math:`R`
    (one per vehicle and day, each from and to its depot, driving plus stops within
    `day_minutes`, each stop visited at most once a week), maximise the people served
    :math:`\\sum_i w_i [\\exists j \\in R: i \\in N_j]`, then minimise the driving time.
    See `siting.mobile.search` for how.

    Examples
    --------
    Villages a and b lie 10 and 20 minutes along a road from the depot; 30 people live near
    a, 50 near b. A 60-minute day with 15 minutes at each stop fits b or a, not both:

    >>> import numpy as np
    >>> import siting
    >>> ids, along = ["depot", "a", "b"], np.array([0.0, 10.0, 20.0])
    >>> travel = siting.ODMatrix.from_dense(
    ...     abs(along[:, None] - along), origin_ids=ids, destination_ids=ids
    ... )
    >>> near = [[5.0, 15.0], [15.0, 5.0]]  # people near a, near b -> stops a, b
    >>> to_stops = siting.ODMatrix.from_dense(near, destination_ids=["a", "b"])
    >>> day = siting.MobileOptions(
    ...     serve_minutes=10, days_per_week=1, day_minutes=60, stop_minutes=15
    ... )
    >>> plan = siting.plan_mobile(
    ...     to_stops, [30, 50], (["a", "b"], [15.1, 15.2], [60, 60]), (["depot"], [15.0], [60]),
    ...     day, travel=travel,
    ... )
    >>> [visit.stop_id for visit in plan.routes[0].visits], plan.newly_served
    (['b'], 50.0)
    """
    inputs = _read_inputs(
        demand_to_stops,
        weights,
        stops,
        depots,
        travel=travel,
        options=options,
        fixed=_fixed_served(demand_to_stops, already_served),
        id_columns=(stop_id_column, depot_id_column),
    )
    found = search.search_tours(
        inputs.problem,
        seed=options.seed,
        time_limit_s=options.time_limit_s,
        max_iterations=options.max_iterations,
    )
    if options.cover_all and found.people < inputs.reachable - 1e-9 * max(inputs.reachable, 1.0):
        msg = (
            f"cover_all: the plan found serves {found.people:g} of the {inputs.reachable:g} "
            f"people within reach of a stop; add vehicles or days, or lengthen day_minutes"
        )
        raise InfeasibleError(msg)
    routes = _day_routes(inputs, found.tours, options.days_per_week, travel)
    routes = _attribute_people(routes, demand_to_stops, inputs)
    parameters = {
        **options.summary(),
        "vehicles": inputs.vehicles.tolist(),
        "model": _model_name(travel),
    }
    return _make_plan(inputs, routes, found, seed=options.seed, parameters=parameters)


@dataclass(frozen=True, eq=False)
class _Inputs:
    """Validated inputs: rows, stops, depots, the tour problem and who is reachable."""

    weight: FloatArray
    fixed: BoolArray
    stops: Points
    depots: Points
    columns: npt.NDArray[np.int64]
    vehicles: npt.NDArray[np.int64]
    locations: Points
    covered: sp.csr_matrix
    problem: TourProblem
    reachable: float


def _read_inputs(
    demand_to_stops: ODMatrix,
    weights: Any,
    stops: Any,
    depots: Any,
    *,
    travel: ODMatrix | nx.MultiDiGraph | StraightLineModel | None,
    options: MobileOptions,
    fixed: BoolArray,
    id_columns: tuple[str | None, str | None],
) -> _Inputs:
    weight = row_weights(demand_to_stops, weights)
    stop_points = as_points(stops, argument="stops", id_column=id_columns[0])
    depot_points = as_points(depots, argument="depots", id_column=id_columns[1])
    _check_unique_ids(stop_points, "stops")
    _check_unique_ids(depot_points, "depots")
    columns = _stop_columns(demand_to_stops, stop_points, options.serve_minutes)
    counts = _vehicle_counts(options.vehicles, depot_points.size)
    locations = _locations(depot_points, stop_points)
    minutes = _travel_minutes(travel, depot_points, stop_points, locations, options)
    cut_off = travel.metadata.get("max_minutes") if isinstance(travel, ODMatrix) else None
    feasible = _feasible_stops(minutes, depot_points, stop_points, options, cut_off=cut_off)
    covered = _cover(demand_to_stops, columns, options.serve_minutes, ~fixed, feasible)
    tours = counts * options.days_per_week
    return _Inputs(
        weight=weight,
        fixed=fixed,
        stops=stop_points,
        depots=depot_points,
        columns=columns,
        vehicles=counts,
        locations=locations,
        covered=covered,
        problem=_tour_problem(minutes, tours, options, covered, weight),
        reachable=float(weight[covered.getnnz(axis=1) > 0].sum()),
    )


def _make_plan(
    inputs: _Inputs,
    routes: list[DayRoute],
    found: search.SearchResult,
    *,
    seed: int,
    parameters: Mapping[str, Any],
) -> MobilePlan:
    newly = float(sum(visit.people for route in routes for visit in route.visits))
    logger.info(
        "Mobile plan: %d tours, %d stops, %.0f people newly served of %.0f within reach",
        len(routes),
        sum(len(route.visits) for route in routes),
        newly,
        inputs.reachable,
    )
    return MobilePlan(
        routes=tuple(routes),
        total_people=float(inputs.weight.sum()),
        served_by_fixed=float(inputs.weight[inputs.fixed].sum()),
        newly_served=newly,
        reachable_people=inputs.reachable,
        status=found.status,
        seed=seed,
        runtime_s=found.runtime_s,
        rounds=found.rounds,
        parameters=parameters,
    )


def _fixed_served(od: ODMatrix, already_served: npt.ArrayLike | FixedOffices | None) -> BoolArray:
    if already_served is None:
        return np.zeros(od.shape[0], dtype=np.bool_)
    if isinstance(already_served, FixedOffices):
        return _served_by(already_served, od)
    mask = np.asarray(already_served)
    if mask.dtype != np.bool_ or mask.shape != (od.shape[0],):
        msg = (
            f"already_served must be {od.shape[0]} booleans (one per demand row), got "
            f"dtype {mask.dtype} and shape {mask.shape}"
        )
        raise InputError(msg)
    return mask


def _served_by(fixed: FixedOffices, od: ODMatrix) -> BoolArray:
    """Demand rows of `od` within reach of a fixed office."""
    _check_cut_off(fixed.travel, fixed.within_minutes, "already_served.travel", "within_minutes")
    rows = pd.Index(fixed.travel.origin_ids).get_indexer(od.origin_ids)
    if (rows < 0).any():
        missing = _plain(od.origin_ids[rows < 0][0])
        msg = f"already_served.travel: demand id {missing!r} is not one of its rows"
        raise InputError(msg)
    served: BoolArray = fixed.travel.within(fixed.within_minutes).minutes.getnnz(axis=1)[rows] > 0
    return served


def _check_cut_off(od: ODMatrix, limit: float, argument: str, option: str) -> None:
    cut_off = od.metadata.get("max_minutes")
    if cut_off is not None and cut_off < limit:
        msg = (
            f"{argument} is cut off at {cut_off:g} min, below {option}={limit:g}: pairs in "
            f"between are missing; compute it with max_minutes >= {limit:g}"
        )
        raise InputError(msg)


def _check_unique_ids(points: Points, argument: str) -> None:
    """Visits, routes and people are told apart by id: a repeated id would mix two places."""
    repeated = pd.Index(points.ids).duplicated()
    if repeated.any():
        msg = f"{argument}: id {_plain(points.ids[repeated][0])!r} repeats; ids must be unique"
        raise InputError(msg)


def _stop_columns(od: ODMatrix, stops: Points, serve_minutes: float) -> npt.NDArray[np.int64]:
    """Column of each stop in the demand matrix."""
    _check_cut_off(od, serve_minutes, "demand_to_stops", "serve_minutes")
    columns = pd.Index(od.destination_ids).get_indexer(stops.ids)
    if (columns < 0).any():
        msg = f"stops: id {_plain(stops.ids[columns < 0][0])!r} is not a column of demand_to_stops"
        raise InputError(msg)
    return np.asarray(columns, dtype=np.int64)


def _vehicle_counts(vehicles: int | tuple[int, ...], n_depots: int) -> npt.NDArray[np.int64]:
    values = [vehicles] * n_depots if isinstance(vehicles, int) else list(vehicles)
    if len(values) != n_depots:
        msg = f"vehicles: {len(values)} numbers for {n_depots} depots"
        raise InputError(msg)
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            msg = f"vehicles must be whole numbers >= 0, got {value!r}"
            raise InputError(msg)
    if sum(values) == 0:
        msg = f"vehicles: no vehicle at any depot (got {vehicles!r})"
        raise InputError(msg)
    return np.array(values, dtype=np.int64)


def _locations(depots: Points, stops: Points) -> Points:
    """Depots then stops, numbered 0..n-1 (a depot may share a stop's id and place)."""
    return Points(
        ids=np.arange(depots.size + stops.size),
        lon=np.concatenate([depots.lon, stops.lon]),
        lat=np.concatenate([depots.lat, stops.lat]),
    )


def _is_graph(travel: Any) -> bool:
    return isinstance(travel, nx.MultiDiGraph)


def _model_name(travel: Any) -> str:
    if _is_graph(travel):
        return "road network"
    if isinstance(travel, ODMatrix):
        return str(travel.metadata.get("model", "user matrix"))
    return "straight-line fallback"


def _travel_minutes(
    travel: ODMatrix | nx.MultiDiGraph | StraightLineModel | None,
    depots: Points,
    stops: Points,
    locations: Points,
    options: MobileOptions,
) -> FloatArray:
    """Square matrix of minutes between locations (depots first), inf where none is known."""
    if isinstance(travel, ODMatrix):
        _check_travel_cut_off(travel, options)
        ids = np.concatenate([depots.ids.astype(object), stops.ids.astype(object)])
        rows = _positions(travel.origin_ids, ids, "travel rows", depots.size)
        cols = _positions(travel.destination_ids, ids, "travel columns", depots.size)
        return travel.to_dense()[np.ix_(rows, cols)].astype(np.float64)
    points = (locations.ids, locations.lon, locations.lat)
    if _is_graph(travel):
        od = travel_times(travel, points, points)
    elif travel is None or isinstance(travel, StraightLineModel):
        od = travel_times(None, points, points, straight_line=travel)
    else:
        msg = (
            "travel must be a drive graph (networkx MultiDiGraph), a square ODMatrix, a "
            f"StraightLineModel or None, got {type(travel).__name__}"
        )
        raise InputError(msg)
    return od.to_dense().astype(np.float64)


def _check_travel_cut_off(travel: ODMatrix, options: MobileOptions) -> None:
    """A cut-off is harmless only if no leg of a tour can be longer than it."""
    cut_off = travel.metadata.get("max_minutes")
    longest_leg = options.day_minutes - options.stop_minutes
    if cut_off is not None and cut_off < longest_leg:
        msg = (
            f"travel is cut off at {cut_off:g} min, below the longest possible leg "
            f"(day_minutes - stop_minutes = {longest_leg:g}); compute it with "
            f"max_minutes >= {longest_leg:g} or none"
        )
        raise InputError(msg)


def _positions(
    known: npt.NDArray[Any], wanted: npt.NDArray[Any], where: str, n_depots: int
) -> npt.NDArray[np.int64]:
    positions = pd.Index(known).get_indexer(wanted)
    if (positions < 0).any():
        first = int(np.argmax(positions < 0))
        kind = "depot" if first < n_depots else "stop"
        msg = f"travel: {kind} id {_plain(wanted[first])!r} is not among the {where} of the matrix"
        raise InputError(msg)
    return np.asarray(positions, dtype=np.int64)


def _feasible_stops(
    minutes: FloatArray,
    depots: Points,
    stops: Points,
    options: MobileOptions,
    *,
    cut_off: float | None,
) -> BoolArray:
    """Stops some depot can visit and return from within a day; errors when none can.

    A stop with no time to or from any depot is an error, unless the matrix was cut off:
    then it is merely beyond a day's reach.
    """
    day_minutes, stop_minutes = options.day_minutes, options.stop_minutes
    n_depots = depots.size
    out = minutes[:n_depots, n_depots:]
    back = minutes[n_depots:, :n_depots].T
    round_trip = out + back + stop_minutes
    connected = np.isfinite(round_trip).any(axis=0)
    if cut_off is None and not connected.all():
        stop = stops.ids[int(np.argmin(connected))]
        msg = (
            f"stops: stop {_plain(stop)!r} has no road connection to or from any depot "
            f"({int((~connected).sum())} such stop(s)); remove it or use a connected network"
        )
        raise InputError(msg)
    shortest = round_trip.min(axis=0)
    feasible: BoolArray = np.asarray(shortest <= day_minutes + 1e-9)
    if not np.isfinite(shortest).any():
        msg = f"no stop has a known travel time to and from a depot (cut off at {cut_off:g} min)"
        raise InputError(msg)
    if not feasible.any():
        stop = int(np.argmin(shortest))
        depot = int(np.argmin(round_trip[:, stop]))
        msg = (
            f"day_minutes={day_minutes:g} is shorter than any round trip: the shortest, depot "
            f"{_plain(depots.ids[depot])!r} to stop {_plain(stops.ids[stop])!r} and back, takes "
            f"{shortest[stop]:.1f} min including {stop_minutes:g} min at the stop"
        )
        raise InputError(msg)
    if not feasible.all():
        logger.info(
            "Mobile plan: %d of %d stops are too far for a round trip within %g min",
            int((~feasible).sum()),
            feasible.size,
            day_minutes,
        )
    return feasible


def _cover(
    od: ODMatrix,
    columns: npt.NDArray[np.int64],
    serve_minutes: float,
    rows: BoolArray,
    stops: BoolArray,
) -> sp.csr_matrix:
    """Boolean (demand rows, stops): the stop is within `serve_minutes` of the row.

    Only `rows` (not served by a fixed office) and `stops` (within a day's round trip) count.
    """
    within = od.minutes[:, columns].tocsr()
    within.data = (within.data <= serve_minutes).astype(np.float32)
    kept = sp.diags(rows.astype(np.float32)) @ within @ sp.diags(stops.astype(np.float32))
    return sp.csr_matrix(kept > 0)


def _tour_problem(
    minutes: FloatArray,
    tours_per_depot: npt.NDArray[np.int64],
    options: MobileOptions,
    covered: sp.csr_matrix,
    weight: FloatArray,
) -> TourProblem:
    rows = (covered.getnnz(axis=1) > 0) & (weight > 0)
    # people in the same valley reach the same stops: one row per distinct set of stops
    merged, merged_weight = merge_identical_rows(covered[rows].astype(np.float64), weight[rows])
    logger.info(
        "Mobile plan: %d demand rows within reach, %d distinct", rows.sum(), merged.shape[0]
    )
    return TourProblem(
        travel_minutes=minutes,
        n_depots=int(tours_per_depot.size),
        tours_per_depot=tours_per_depot,
        stop_minutes=options.stop_minutes,
        day_minutes=options.day_minutes,
        cover=merged,
        row_weight=merged_weight,
    )


def _day_routes(
    inputs: _Inputs,
    tours: Sequence[Tour],
    days_per_week: int,
    travel: ODMatrix | nx.MultiDiGraph | StraightLineModel | None,
) -> list[DayRoute]:
    """Give each depot's tours to its vehicles day by day, with times and paths."""
    locations = inputs.locations
    places = _Places(
        ids=np.concatenate([inputs.depots.ids.astype(object), inputs.stops.ids.astype(object)]),
        lon=locations.lon,
        lat=locations.lat,
        drawer=LegDrawer(locations.lon, locations.lat, travel if _is_graph(travel) else None),
    )
    routes = []
    for depot in range(inputs.problem.n_depots):
        vehicles = int(inputs.vehicles[depot])
        mine = [stops for start, stops in tours if start == depot and stops]
        for index, stops in enumerate(mine):
            vehicle, day = index % vehicles + 1, index // vehicles + 1
            if day > days_per_week:  # pragma: no cover - the search keeps to the tour counts
                msg = f"depot {_plain(places.ids[depot])!r} has more tours than vehicle days"
                raise RuntimeError(msg)
            routes.append(_day_route(inputs.problem, (depot, stops), vehicle, day, places))
    return sorted(routes, key=lambda route: (route.day, str(route.depot_id), route.vehicle))


@dataclass(frozen=True, eq=False)
class _Places:
    """Ids and coordinates of the locations (depots then stops), and how to draw legs."""

    ids: npt.NDArray[Any]
    lon: FloatArray
    lat: FloatArray
    drawer: LegDrawer


def _day_route(
    problem: TourProblem,
    tour: Tour,
    vehicle: int,
    day: int,
    places: _Places,
) -> DayRoute:
    depot, stops = tour
    legs: list[Leg] = []
    visits: list[Visit] = []
    clock = 0.0
    for start, end in itertools.pairwise(problem.path(tour).tolist()):
        minutes = float(problem.travel_minutes[start, end])
        drawn = places.drawer.path(start, end)
        legs.append(
            Leg(
                places.ids[start], places.ids[end], minutes, drawn.kind, drawn.nodes, drawn.geometry
            )
        )
        clock += minutes
        if len(visits) < len(stops):
            stop_id, lon, lat = places.ids[end], places.lon[end], places.lat[end]
            visits.append(Visit(stop_id, clock, clock + problem.stop_minutes, 0.0, lon, lat))
            clock += problem.stop_minutes
    return DayRoute(
        depot_id=places.ids[depot],
        vehicle=vehicle,
        day=day,
        visits=tuple(visits),
        legs=tuple(legs),
        driving_minutes=problem.driving_minutes(tour),
        end_minutes=clock,
    )


def _attribute_people(
    routes: list[DayRoute], demand_to_stops: ODMatrix, inputs: _Inputs
) -> list[DayRoute]:
    """Count each newly served person once, at the nearest visited stop (ties: first stop)."""
    position = {stop: i for i, stop in enumerate(inputs.stops.ids.tolist())}
    visited = np.array([position[v.stop_id] for r in routes for v in r.visits], dtype=np.int64)
    if visited.size == 0:
        return routes
    reach = inputs.covered[:, visited].toarray()
    minutes = demand_to_stops.minutes[:, inputs.columns[visited]].toarray().astype(np.float64)
    nearest = np.argmin(np.where(reach, minutes, np.inf), axis=1)
    served = reach.any(axis=1)
    people = np.bincount(nearest[served], weights=inputs.weight[served], minlength=visited.size)
    counter = iter(people.tolist())
    return [
        replace(
            route,
            visits=tuple(replace(visit, people=next(counter)) for visit in route.visits),
        )
        for route in routes
    ]
