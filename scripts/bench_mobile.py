"""Benchmark mobile office planning (issue 6) on a county-sized case, with baselines.

Case: Dalarna. Demand is the SCB 1 km population grid (4,004 populated cells, read from
``../shared/data``); candidate stops are the 236 service points of Dalarna (shops with parcel
service, the same file); fixed offices are the state servicekontor of Dalarna in
``data/servicekontor_sites.csv`` (a partial list), which serve people within
``--fixed-minutes``. Depots are given by ``--depots`` (servicekontor ids). Travel times come
from the straight-line model (no Swedish road network installs offline).

Measured in the same run, on the same instance and time budget:
- ``siting``: ``siting.plan_mobile`` (greedy start, PyVRP prize rounds with shared prizes, local
  search on the exact covering objective, polish);
- ``pyvrp_once``: one PyVRP prize-collecting solve with each stop's prize its full people (no
  rounds, no local search): what PyVRP alone gives when overlaps are ignored;
- ``greedy``: repeatedly insert the stop that adds most people at its cheapest feasible place.

Every answer is checked (tours within the day, from and to their depot) and scored the same
way: people newly within reach, driving minutes. Ratios are against the baselines and against
an upper bound no plan can beat (the most people as many stops as the days can hold can
reach, an MCLP solved by HiGHS, routing ignored; see `people_bound`).

Usage: ``python scripts/bench_mobile.py [--time-limit 60] [--seeds 1 2 3] [--vehicles 1]
[--days 5] [--depots vansbro borlange] [--serve-minutes 20] [--fixed-minutes 30]
[--day-minutes 480] [--stop-minutes 90]``
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, not an installed copy

import siting  # noqa: E402
from siting.mobile import moves as mobile_moves  # noqa: E402
from siting.mobile import planner as mobile  # noqa: E402
from siting.mobile import pyvrp_rounds as mobile_pyvrp  # noqa: E402
from siting.mobile import tours as mobile_tours  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
POPULATION = SHARED / "scb_befolkning_1km_2025_dalarna.csv"
SERVICE_POINTS = SHARED / "servicepunkter_2026_dalarna.csv"
OFFICES = ROOT / "data" / "servicekontor_sites.csv"


def _points(frame: pd.DataFrame, id_column: str) -> tuple[Any, Any, Any]:
    return (frame[id_column].to_numpy(), frame["lon"].to_numpy(), frame["lat"].to_numpy())


def load_case(args: argparse.Namespace) -> dict[str, Any]:
    """Demand, stops, fixed offices and depots of Dalarna, with their matrices."""
    demand = pd.read_csv(POPULATION, encoding="utf-8-sig")
    stops = pd.read_csv(SERVICE_POINTS, encoding="utf-8-sig")
    offices = pd.read_csv(OFFICES, dtype={"kommun_kod": str})
    offices = offices[offices["kommun_kod"].str.startswith("20") & (offices["status"] != "closed")]
    demand_points = _points(demand, "rutid")
    stop_points = _points(stops, "kluster_id")
    office_points = _points(offices, "site_id")
    started = time.perf_counter()
    to_stops = siting.travel_times(None, demand_points, stop_points, max_minutes=args.serve_minutes)
    to_offices = siting.travel_times(
        None, demand_points, office_points, max_minutes=args.fixed_minutes
    )
    depots = offices.set_index("site_id").loc[args.depots].reset_index()
    return {
        "demand_to_stops": to_stops,
        "weights": demand["befolkning_2025"].to_numpy(dtype=float),
        "stops": stop_points,
        "depots": _points(depots, "site_id"),
        "fixed_offices": to_offices,
        "offices": offices["site_id"].tolist(),
        "matrix_s": time.perf_counter() - started,
    }


def run_siting(case: dict[str, Any], args: argparse.Namespace, seed: int) -> mobile.MobilePlan:
    """The plan siting makes."""
    return siting.plan_mobile(
        case["demand_to_stops"],
        case["weights"],
        case["stops"],
        case["depots"],
        siting.MobileOptions(
            serve_minutes=args.serve_minutes,
            vehicles=args.vehicles,
            days_per_week=args.days,
            day_minutes=args.day_minutes,
            stop_minutes=args.stop_minutes,
            seed=seed,
            time_limit_s=args.time_limit,
        ),
        already_served=siting.FixedOffices(case["fixed_offices"], args.fixed_minutes),
    )


def tour_problem(case: dict[str, Any], args: argparse.Namespace) -> mobile_tours.TourProblem:
    """The instance for the baselines, built here from the matrices (not by plan_mobile)."""
    depot_ids, depot_lon, depot_lat = case["depots"]
    stop_ids, stop_lon, stop_lat = case["stops"]
    ids = [f"depot {d}" for d in depot_ids] + [f"stop {s}" for s in stop_ids]
    lon, lat = np.concatenate([depot_lon, stop_lon]), np.concatenate([depot_lat, stop_lat])
    travel = siting.travel_times(None, (ids, lon, lat), (ids, lon, lat)).to_dense()
    n_depots = len(depot_ids)
    round_trip = travel[:n_depots, n_depots:] + travel[n_depots:, :n_depots].T
    fits = (round_trip + args.stop_minutes).min(axis=0) <= args.day_minutes
    fixed = np.isfinite(case["fixed_offices"].to_dense()).any(axis=1)
    reach = case["demand_to_stops"].to_dense() <= args.serve_minutes
    cover = reach & ~fixed[:, None] & fits[None, :]
    return mobile_tours.TourProblem(
        travel_minutes=travel.astype(np.float64),
        n_depots=n_depots,
        tours_per_depot=np.full(n_depots, args.vehicles * args.days, dtype=np.int64),
        stop_minutes=args.stop_minutes,
        day_minutes=args.day_minutes,
        cover=sp.csr_matrix(cover.astype(np.float64)),
        row_weight=case["weights"],
    )


def greedy_insertion(problem: mobile_tours.TourProblem) -> list[mobile_tours.Tour]:
    """Insert the stop adding most people at its cheapest feasible place, until none fits."""
    return mobile_moves.fill_greedily(problem, mobile_tours.empty_tours(problem))


def pyvrp_once(
    problem: mobile_tours.TourProblem, seed: int, seconds: float
) -> list[mobile_tours.Tour]:
    """One PyVRP prize-collecting solve, each stop's prize all the people it reaches."""
    found = mobile_pyvrp.solve_prize_round(
        problem, problem.stop_people, seed=seed, seconds=seconds
    )  # overlaps counted twice
    return found if found is not None else mobile_tours.empty_tours(problem)


def people_bound(problem: mobile_tours.TourProblem) -> dict[str, Any]:
    """An upper bound: the most people K stops can reach (MCLP, HiGHS), routing ignored.

    A tour of depot d drives at least its shortest round trip r_d (straight-line times obey
    the triangle inequality), so it holds at most floor((day - r_d) / stop time) stops; K is
    that times the tours of each depot, summed.
    """
    n_depots = problem.n_depots
    travel = problem.travel_minutes
    round_trip = (travel[:n_depots, n_depots:] + travel[n_depots:, :n_depots].T).min(axis=1)
    per_tour = np.floor((problem.day_minutes - round_trip) / max(problem.stop_minutes, 1e-9))
    n_stops = int((per_tour.clip(0) * problem.tours_per_depot).sum())
    reach = problem.cover.toarray() > 0
    keep = reach.any(axis=1)
    od = siting.ODMatrix.from_dense(np.where(reach[keep], 0.0, np.inf))
    started = time.perf_counter()
    solution = siting.solve(
        od,
        problem="mclp",
        n_sites=min(n_stops, problem.n_stops),
        max_minutes=1.0,
        weights=problem.row_weight[keep],
        time_limit_s=120.0,
    )
    return {
        "max_stops": n_stops,
        "people": round(solution.bound, 1),
        "status": solution.status,
        "seconds": round(time.perf_counter() - started, 2),
    }


def check_tours(problem: mobile_tours.TourProblem, tours: list[mobile_tours.Tour]) -> None:
    """Every tour fits the day; no stop twice; no depot over its tour count."""
    visited = [s for _, stops in tours for s in stops]
    assert len(visited) == len(set(visited)), "a stop is visited twice"
    assert all(problem.fits(tour) for tour in tours), "a tour is longer than the day"
    counts = np.bincount([d for d, stops in tours if stops], minlength=problem.n_depots)
    assert (counts <= problem.tours_per_depot).all(), "too many tours at a depot"


def score(problem: mobile_tours.TourProblem, tours: list[mobile_tours.Tour]) -> dict[str, Any]:
    check_tours(problem, tours)
    people, driving = mobile_tours.score_tours(problem, tours)
    stops = sum(len(s) for _, s in tours)
    return {"people": round(people, 1), "driving_minutes": round(driving, 1), "stops": stops}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--vehicles", type=int, default=1)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--depots", nargs="+", default=["vansbro", "borlange"])
    parser.add_argument("--serve-minutes", type=float, default=20.0)
    parser.add_argument("--fixed-minutes", type=float, default=30.0)
    parser.add_argument("--day-minutes", type=float, default=480.0)
    parser.add_argument("--stop-minutes", type=float, default=90.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    case = load_case(args)
    problem = tour_problem(case, args)
    runs: dict[str, list[dict[str, Any]]] = {"siting": [], "pyvrp_once": [], "greedy": []}
    for seed in args.seeds:
        started = time.perf_counter()
        plan = run_siting(case, args, seed)
        wall = time.perf_counter() - started
        tours = [
            (list(case["depots"][0]).index(r.depot_id), _stop_positions(case, r))
            for r in plan.routes
        ]
        runs["siting"].append(
            {
                **score(problem, tours),
                "newly_served": plan.newly_served,
                "seconds": round(wall, 2),
                "seed": seed,
            }
        )
        started = time.perf_counter()
        once = pyvrp_once(problem, seed, args.time_limit)
        runs["pyvrp_once"].append(
            {**score(problem, once), "seconds": round(time.perf_counter() - started, 2)}
        )
    started = time.perf_counter()
    greedy = greedy_insertion(problem)
    runs["greedy"].append(
        {**score(problem, greedy), "seconds": round(time.perf_counter() - started, 2)}
    )
    report = _report(args, case, problem, plan, runs)
    report["upper_bound"] = people_bound(problem)
    report["ratios"]["people_siting_over_upper_bound"] = round(
        report["medians"]["siting"]["people"] / max(report["upper_bound"]["people"], 1e-9), 4
    )
    print(json.dumps(report, indent=2))


def _stop_positions(case: dict[str, Any], route: mobile.DayRoute) -> tuple[int, ...]:
    ids = list(case["stops"][0])
    return tuple(ids.index(visit.stop_id) for visit in route.visits)


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(run[key] for run in runs))


def _report(
    args: argparse.Namespace,
    case: dict[str, Any],
    problem: mobile_tours.TourProblem,
    plan: mobile.MobilePlan,
    runs: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    medians = {
        name: {key: _median(found, key) for key in ("people", "driving_minutes", "seconds")}
        for name, found in runs.items()
    }
    ratios = {
        f"people_siting_over_{name}": round(
            medians["siting"]["people"] / max(medians[name]["people"], 1e-9), 4
        )
        for name in ("pyvrp_once", "greedy")
    }
    return {
        "case": {
            "demand_cells": case["demand_to_stops"].shape[0],
            "candidate_stops": problem.n_stops,
            "people": plan.total_people,
            "served_by_fixed": plan.served_by_fixed,
            "reachable_by_stops": plan.reachable_people,
            "fixed_offices": case["offices"],
            "matrix_seconds": round(case["matrix_s"], 2),
            "model": "straight-line fallback",
        },
        "options": vars(args),
        "medians": medians,
        "ratios": ratios,
        "runs": runs,
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
        "last_plan": {k: v for k, v in plan.summary().items() if k != "routes"},
    }


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
