"""Tests of mobile office plans: tours, times, people served, brute force, roads, bad input."""

from __future__ import annotations

import itertools
import json
import math

import networkx as nx
import numpy as np
import numpy.typing as npt
import pytest

from siting import (
    FixedOffices,
    InfeasibleError,
    InputError,
    MobileOptions,
    ODMatrix,
    load_network,
    plan_mobile,
    write_map,
)
from siting.mobile.planner import MobilePlan
from siting.scenario.demo import bundled_osm_extract

Dense = npt.NDArray[np.float64]

# five stops on a line east of the depot, one minute of longitude apart (coordinates only
# draw the map; times come from the matrices below)
STOP_IDS = ["a", "b", "c", "d", "e"]
STOPS = (STOP_IDS, [15.0 + 0.1 * i for i in range(1, 6)], [60.0] * 5)
DEPOT = (["home"], [15.0], [60.0])
TEN = MobileOptions(serve_minutes=10.0)


def _line_travel() -> ODMatrix:
    """Depot 'home' at 0 and stops a..e at 10, 20, ..., 50 minutes along one road."""
    ids = ["home", *STOP_IDS]
    position = np.array([0, 10, 20, 30, 40, 50], dtype=np.float64)
    minutes = np.abs(position[:, None] - position[None, :])
    return ODMatrix.from_dense(minutes, origin_ids=ids, destination_ids=ids)


def _demand_near_stops(people: list[float]) -> tuple[ODMatrix, Dense]:
    """One demand point 5 min from each stop (and 15 min from its neighbours)."""
    position = np.arange(1, 6) * 10.0
    minutes = np.abs(position[:, None] - position[None, :]) + 5.0
    od = ODMatrix.from_dense(
        minutes, origin_ids=[f"p{i}" for i in range(5)], destination_ids=STOP_IDS
    )
    return od, np.array(people, dtype=np.float64)


def _plan(**options: object) -> MobilePlan:
    od, weights = _demand_near_stops([10, 20, 30, 40, 50])
    settings: dict[str, object] = {
        "serve_minutes": 10.0,
        "travel": _line_travel(),
        "vehicles": 1,
        "days_per_week": 1,
        "day_minutes": 100.0,
        "stop_minutes": 10.0,
        "seed": 3,
        "time_limit_s": 5.0,
    }
    settings.update(options)
    travel = settings.pop("travel")
    served = settings.pop("already_served", None)
    chosen = MobileOptions(**settings)  # type: ignore[arg-type]
    return plan_mobile(od, weights, STOPS, DEPOT, chosen, travel=travel, already_served=served)  # type: ignore[arg-type]


def test_line_by_hand() -> None:
    """A 100-minute day on the line: out to d (40), stop at c and d, back (80 + 20 = 100)."""
    plan = _plan()
    (route,) = plan.routes
    assert [visit.stop_id for visit in route.visits] == ["c", "d"]
    assert route.driving_minutes == 80.0
    assert [(v.arrival_minutes, v.departure_minutes) for v in route.visits] == [
        (30.0, 40.0),
        (50.0, 60.0),
    ]
    assert route.end_minutes == 100.0
    assert plan.newly_served == 70.0
    assert plan.reachable_people == 100.0  # e is 50 min out: 100 min driving + 10 at e
    assert plan.status == "local optimum"
    assert [leg.from_id for leg in route.legs] == ["home", "c", "d"]
    assert [leg.to_id for leg in route.legs] == ["c", "d", "home"]


def test_two_days_reach_more_and_stay_within_each_day() -> None:
    """Two days reach a..d: {c, d} (80 min driving) and {a, b} (40), not {a, d} + {b, c}."""
    plan = _plan(days_per_week=2)
    assert plan.newly_served == 100.0
    assert plan.driving_minutes == 120.0
    visited = sorted(sorted(v.stop_id for v in r.visits) for r in plan.routes)
    assert visited == [["a", "b"], ["c", "d"]]
    assert sorted(route.day for route in plan.routes) == [1, 2]
    assert all(route.end_minutes <= 100.0 for route in plan.routes)


def _brute_force(
    travel: Dense,
    n_depots: int,
    tours: list[int],
    reach: Dense,
    weight: Dense,
    stop: float,
    day: float,
) -> tuple[float, float]:
    """Best (people, -driving) over every assignment of stops to tours and every order."""
    n_stops = reach.shape[1]
    slots = [depot for depot, count in enumerate(tours) for _ in range(count)]
    best = (0.0, 0.0)
    for assignment in itertools.product(range(len(slots) + 1), repeat=n_stops):
        driving = 0.0
        for slot, depot in enumerate(slots):
            members = [s for s in range(n_stops) if assignment[s] == slot + 1]
            shortest = _shortest_tour(travel, n_depots, depot, members)
            if shortest + stop * len(members) > day + 1e-9:
                break
            driving += shortest
        else:
            chosen = [s for s in range(n_stops) if assignment[s] > 0]
            people = float(weight[reach[:, chosen].any(axis=1)].sum())
            best = max(best, (people, -driving))
    return best[0], -best[1]


def _shortest_tour(travel: Dense, n_depots: int, depot: int, members: list[int]) -> float:
    best = math.inf if members else 0.0
    for order in itertools.permutations(members):
        path = [depot, *(n_depots + s for s in order), depot]
        best = min(best, sum(travel[a, b] for a, b in itertools.pairwise(path)))
    return best


def _random_case(seed: int, n_depots: int) -> dict[str, object]:
    """Integer minutes between locations as shortest paths of a random road graph; random reach.

    Times are asymmetric but obey the triangle inequality, as road travel times do.
    """
    rng = np.random.default_rng(seed)
    n_stops, n_demand = 5, 9
    xy = rng.uniform(0, 40, size=(n_depots + n_stops, 2))
    roads = np.ceil(np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2))
    roads += rng.integers(0, 4, size=roads.shape)  # asymmetric
    np.fill_diagonal(roads, 0)
    travel = nx.floyd_warshall_numpy(nx.from_numpy_array(roads, create_using=nx.DiGraph))
    minutes = rng.integers(1, 40, size=(n_demand, n_stops)).astype(np.float64)
    weight = rng.integers(1, 20, size=n_demand).astype(np.float64)
    return {"travel": travel, "minutes": minutes, "weight": weight}


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("n_depots", "tours"), [(1, 1), (1, 2), (2, 1), (1, 3)])
def test_tiny_plans_equal_brute_force(seed: int, n_depots: int, tours: int) -> None:
    """Most people, then least driving, equal enumeration of stop subsets, tours and orders."""
    case = _random_case(seed, n_depots)
    travel, minutes, weight = case["travel"], case["minutes"], case["weight"]
    assert isinstance(travel, np.ndarray)
    assert isinstance(minutes, np.ndarray)
    assert isinstance(weight, np.ndarray)
    serve, stop, day = 15.0, 10.0, 90.0
    depot_ids = [f"depot{d}" for d in range(n_depots)]
    ids = depot_ids + STOP_IDS
    plan = plan_mobile(
        ODMatrix.from_dense(minutes, destination_ids=STOP_IDS),
        weight,
        STOPS,
        (depot_ids, [15.0] * n_depots, [60.0] * n_depots),
        MobileOptions(
            serve_minutes=serve,
            vehicles=tours,
            days_per_week=1,
            day_minutes=day,
            stop_minutes=stop,
            seed=seed,
            time_limit_s=5.0,
        ),
        travel=ODMatrix.from_dense(travel, origin_ids=ids, destination_ids=ids),
    )
    reach = minutes <= serve
    feasible = (travel[:n_depots, n_depots:] + travel[n_depots:, :n_depots].T).min(axis=0)
    reach &= (feasible + stop <= day)[None, :]
    people, driving = _brute_force(travel, n_depots, [tours] * n_depots, reach, weight, stop, day)
    assert plan.newly_served == people
    assert plan.driving_minutes == pytest.approx(driving)
    _check_routes(plan, travel, ids, stop, day)


def _check_routes(plan: MobilePlan, travel: Dense, ids: list[str], stop: float, day: float) -> None:
    """Each route leaves and returns to its depot; times recomputed from the matrix fit."""
    where = {location: i for i, location in enumerate(ids)}
    for route in plan.routes:
        path = [route.depot_id, *(v.stop_id for v in route.visits), route.depot_id]
        assert [leg.from_id for leg in route.legs] == path[:-1]
        assert [leg.to_id for leg in route.legs] == path[1:]
        driving = sum(travel[where[a], where[b]] for a, b in itertools.pairwise(path))
        assert route.driving_minutes == pytest.approx(driving)
        assert driving + stop * len(route.visits) <= day + 1e-9
        assert route.end_minutes == pytest.approx(driving + stop * len(route.visits))
        clock = 0.0
        for leg, visit in zip(route.legs, route.visits, strict=False):
            clock += travel[where[leg.from_id], where[leg.to_id]]
            assert visit.arrival_minutes == pytest.approx(clock)
            clock += stop
            assert visit.departure_minutes == pytest.approx(clock)


def test_served_people_recomputed_from_the_matrix() -> None:
    """Newly served = people within serve_minutes of a visited stop and of no fixed office."""
    case = _random_case(11, 1)
    minutes, weight = case["minutes"], case["weight"]
    assert isinstance(minutes, np.ndarray)
    assert isinstance(weight, np.ndarray)
    fixed_minutes = np.full((minutes.shape[0], 1), 50.0)
    fixed_minutes[:3, 0] = 12.0  # the first three points have a fixed office within 20 min
    ids = ["depot0", *STOP_IDS]
    plan = plan_mobile(
        ODMatrix.from_dense(minutes, destination_ids=STOP_IDS),
        weight,
        STOPS,
        (["depot0"], [15.0], [60.0]),
        MobileOptions(
            serve_minutes=15.0,
            vehicles=2,
            days_per_week=2,
            day_minutes=90.0,
            stop_minutes=10.0,
            time_limit_s=5.0,
        ),
        travel=ODMatrix.from_dense(case["travel"], origin_ids=ids, destination_ids=ids),
        already_served=FixedOffices(ODMatrix.from_dense(fixed_minutes), 20.0),
    )
    visited = [STOP_IDS.index(v.stop_id) for r in plan.routes for v in r.visits]
    served = (minutes[:, visited] <= 15.0).any(axis=1)
    served[:3] = False
    assert plan.newly_served == pytest.approx(weight[served].sum())
    assert plan.served_by_fixed == pytest.approx(weight[:3].sum())
    assert plan.served_total == pytest.approx(weight[:3].sum() + weight[served].sum())
    people = [v.people for r in plan.routes for v in r.visits]
    assert sum(people) == pytest.approx(plan.newly_served)  # each person counted once
    slots = [(r.depot_id, r.vehicle, r.day) for r in plan.routes]
    assert len(set(slots)) == len(slots)  # one tour per vehicle and day
    assert all(1 <= vehicle <= 2 and 1 <= day <= 2 for _, vehicle, day in slots)


def test_fixed_offices_equal_a_served_mask() -> None:
    """Fixed offices within their reach serve the same people as the equivalent mask.

    a and c are served already; of b, d, e the day fits d and b (80 min driving + 20 at the
    stops): 60 people.
    """
    fixed = ODMatrix.from_dense(
        np.array([[5.0], [25.0], [5.0], [40.0], [60.0]]), origin_ids=[f"p{i}" for i in range(5)]
    )
    by_matrix = _plan(already_served=FixedOffices(fixed, 20.0))
    by_mask = _plan(already_served=np.array([True, False, True, False, False]))
    assert by_matrix.summary()["routes"] == by_mask.summary()["routes"]
    assert by_matrix.served_by_fixed == by_mask.served_by_fixed == 40.0
    assert by_matrix.newly_served == 60.0
    assert sorted(v.stop_id for v in by_matrix.routes[0].visits) == ["b", "d"]


def test_same_seed_same_plan() -> None:
    """Two runs with one seed give the same plan."""
    first, second = _plan(days_per_week=2, seed=7), _plan(days_per_week=2, seed=7)
    assert first.summary()["routes"] == second.summary()["routes"]


def test_cover_all_serves_everyone_within_reach_or_says_it_cannot() -> None:
    """Five days reach all five points; one day cannot, which is an InfeasibleError."""
    plan = _plan(days_per_week=5, cover_all=True)
    assert plan.newly_served == plan.reachable_people == 100.0
    with pytest.raises(InfeasibleError, match="serves 70 of the 100"):
        _plan(days_per_week=1, cover_all=True)


def test_summary_and_frames_for_maps() -> None:
    """summary() is JSON; the frames carry names, days and geometry write_map draws."""
    plan = _plan(days_per_week=2)
    json.dumps(plan.summary())
    routes, stops = plan.routes_frame(), plan.stops_frame()
    assert len(routes) == 2
    assert len(stops) == 4
    assert set(stops["route"]) == set(routes["name"])
    assert stops["days"].str.contains("day").all()
    assert (routes["path"] == "straight segment (no road path)").all()
    assert routes.crs.to_epsg() == 4326
    assert plan.visits_table()["people"].sum() == plan.newly_served


def test_bad_input_is_named() -> None:
    """Unknown ids, short days, no vehicles, short cut-offs are InputErrors naming the value."""
    od, weights = _demand_near_stops([1] * 5)
    line = _line_travel()
    with pytest.raises(InputError, match="vehicles: no vehicle"):
        _plan(vehicles=0)
    with pytest.raises(
        InputError, match=r"vehicles must be a whole number or one per depot, got 2\.5"
    ):
        _plan(vehicles=2.5)
    shortest = "day_minutes=25 is shorter than any round trip: the shortest, depot 'home' to stop"
    with pytest.raises(InputError, match=shortest + " 'a' and back, takes 30.0 min"):
        _plan(day_minutes=25.0)
    with pytest.raises(InputError, match="days_per_week"):
        _plan(days_per_week=8)
    with pytest.raises(InputError, match="days_per_week must be an integer from 1 to 7, got True"):
        _plan(days_per_week=True)
    with pytest.raises(InputError, match="'zz' is not a column of demand_to_stops"):
        plan_mobile(od, weights, (["zz"], [15.0], [60.0]), DEPOT, TEN, travel=line)
    with pytest.raises(InputError, match="depot id 'away' is not among"):
        plan_mobile(od, weights, STOPS, (["away"], [15.0], [60.0]), TEN, travel=line)
    with pytest.raises(InputError, match="weights: 3 values for 5"):
        plan_mobile(od, np.ones(3), STOPS, DEPOT, TEN, travel=line)
    with pytest.raises(InputError, match="cut off at 8 min"):
        plan_mobile(od.within(8.0), weights, STOPS, DEPOT, TEN, travel=line)
    with pytest.raises(InputError, match="within_minutes must be a number > 0, got 0"):
        FixedOffices(od, 0)
    with pytest.raises(InputError, match=r"already_served\.travel is cut off at 8 min"):
        _plan(already_served=FixedOffices(od.within(8.0), 20.0))
    with pytest.raises(InputError, match="already_served must be 5 booleans"):
        _plan(already_served=np.zeros(4, dtype=bool))
    with pytest.raises(InputError, match="serve_minutes must be a number > 0, got inf"):
        _plan(serve_minutes=math.inf)
    with pytest.raises(InputError, match="seed must be an integer"):
        _plan(seed=-1)
    with pytest.raises(InputError, match="stops: id 'a' repeats"):
        plan_mobile(od, weights, (["a", "a"], [15.1, 25.0], [60.0, 60.0]), DEPOT, TEN)
    with pytest.raises(InputError, match=r"travel must be a drive graph .* got DiGraph"):
        plan_mobile(od, weights, STOPS, DEPOT, TEN, travel=nx.DiGraph())
    with pytest.raises(InputError, match="depots: no points given"):
        plan_mobile(od, weights, STOPS, ([], [], []), TEN, travel=line)


def test_stop_without_road_to_depot_is_named() -> None:
    """A stop the depot cannot reach (no pair in the travel matrix) is an InputError."""
    dense = _line_travel().to_dense().astype(np.float64)
    dense[0, 5] = np.inf  # no way from home to e
    ids = ["home", *STOP_IDS]
    od, weights = _demand_near_stops([1] * 5)
    travel = ODMatrix.from_dense(dense, origin_ids=ids, destination_ids=ids)
    with pytest.raises(InputError, match="stop 'e' has no road connection"):
        plan_mobile(od, weights, STOPS, DEPOT, TEN, travel=travel)


def test_cut_off_travel_matrix_leaves_far_stops_out() -> None:
    """Pairs beyond a travel cut-off mean too far for a day, not an error; a short cut-off is."""
    ids = ["home", *STOP_IDS]
    along = np.array([0, 10, 20, 30, 40, 95], dtype=np.float64)  # e is 95 min out
    line = ODMatrix.from_dense(
        np.abs(along[:, None] - along[None, :]), origin_ids=ids, destination_ids=ids
    )
    plan = _plan(travel=line.within(90.0))  # no time to or from e at all
    assert plan.newly_served == 70.0
    assert plan.reachable_people == 100.0
    with pytest.raises(InputError, match="travel is cut off at 40 min, below the longest"):
        _plan(travel=line.within(40.0))


@pytest.fixture(scope="module")
def kotka() -> nx.MultiDiGraph:
    """The drive network of pyrosm's bundled test extract (Kotka, Finland)."""
    return load_network(bundled_osm_extract("test.osm.pbf"), cache=False)


def test_road_plan_follows_networkx_shortest_paths(kotka: nx.MultiDiGraph) -> None:
    """Legs follow networkx's fastest paths, and their time is the matrix time."""
    nodes = sorted(kotka.nodes)
    rng = np.random.default_rng(0)
    chosen = rng.choice(nodes, size=9, replace=False)
    lon = np.array([kotka.nodes[n]["x"] for n in chosen])
    lat = np.array([kotka.nodes[n]["y"] for n in chosen])
    stop_ids = [f"s{i}" for i in range(8)]
    stops = (stop_ids, lon[1:], lat[1:])
    # demand at the stops themselves: each stop serves its own 10 people
    od = ODMatrix.from_dense(
        np.where(np.eye(8) > 0, 0.0, np.inf), origin_ids=stop_ids, destination_ids=stop_ids
    )
    plan = plan_mobile(
        od,
        np.full(8, 10.0),
        stops,
        (["depot"], lon[:1], lat[:1]),
        MobileOptions(
            serve_minutes=1.0, day_minutes=60.0, stop_minutes=2.0, days_per_week=1, time_limit_s=5.0
        ),
        travel=kotka,
    )
    assert plan.routes
    node_of = {
        "depot": int(chosen[0]),
        **{s: int(n) for s, n in zip(stop_ids, chosen[1:], strict=True)},
    }
    for route in plan.routes:
        for leg in route.legs:
            assert leg.kind == "road"
            expected = nx.shortest_path(
                kotka, node_of[leg.from_id], node_of[leg.to_id], weight="travel_time"
            )
            path_s = nx.path_weight(kotka, expected, weight="travel_time")
            assert nx.path_weight(kotka, list(leg.nodes), weight="travel_time") == pytest.approx(
                path_s
            )
            assert leg.minutes == pytest.approx(path_s / 60.0, abs=0.01)
            assert leg.geometry.coords[0] == pytest.approx(
                (kotka.nodes[leg.nodes[0]]["x"], kotka.nodes[leg.nodes[0]]["y"])
            )
    assert plan.parameters["model"] == "road network"
    assert (plan.routes_frame()["path"] == "road").all()


def test_map_draws_the_plan(tmp_path: object) -> None:
    """write_map takes the routes and stops frames of a plan."""
    from pathlib import Path

    import geopandas as gpd
    import shapely

    plan = _plan(days_per_week=2)
    out = Path(str(tmp_path)) / "map.html"
    demand = gpd.GeoDataFrame(
        {"demand_id": ["p0"], "population": [1.0]},
        geometry=[shapely.Point(15.1, 60.0)],
        crs="EPSG:4326",
    )
    sites = gpd.GeoDataFrame(
        {"site_id": ["home"], "name": ["home"], "status": ["existing"]},
        geometry=[shapely.Point(15.0, 60.0)],
        crs="EPSG:4326",
    )
    write_map(
        out,
        demand,
        sites,
        ODMatrix.from_dense([[5.0]], origin_ids=["p0"], destination_ids=["home"]),
        routes=plan.routes_frame(),
        stops=plan.stops_frame(),
    )
    html = out.read_text()
    assert "home vehicle 1 day 1" in html
