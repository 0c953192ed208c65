"""Benchmark location optimisation: siting (HiGHS) against PySAL spopt (PuLP + CBC), issue 5.

Both solve the same instances in the same run: the SCB 1 km population grid of Dalarna
(4,004 populated cells, weights = population 2025, read from ``../shared/data``) x the
candidate towns of Dalarna in ``data/orter.csv`` (73 GeoNames localities of Dalarnas län),
with travel times from the straight-line model (no Swedish road network is available
offline; ``--graphml`` takes a drive graph instead). spopt gets the same dense matrix; for the
LSCP both get only the demand some town reaches within T (siting reports the rest as
unreachable, spopt would call the whole model infeasible).

Problems: MCLP p=10 T=30, LSCP T=30 and T=120, p-median p=10, p-center p=10.
Measured per problem: model build (spopt: ``from_cost_matrix``; siting: validation and
sparse assembly) and solve seconds, objectives (they must agree), medians over ``--runs`` for
siting and ``--baseline-runs`` for spopt, and the ratio spopt / siting of build + solve.

The machine is shared and noisy (2 cores): read the ratios, not the absolute seconds.

``--scale 100000 2000`` adds the issue's scale target, siting alone: synthetic demand points
jittered inside the populated cells (by population) and sites (by its square root). MCLP p=50
T=30 and LSCP T=30 on the county packed with all the sites (times cut off at 45 minutes);
p-median p=100 to a 1% proven gap at national density: Dalarna's pattern stretched 4x about
its centre (about Sweden's area, so 2,000 sites are as dense as 2,000 towns nationally), times
cut off at 90 minutes and a point with no site that near keeping its nearest one.

Usage: ``python scripts/bench_solve.py [--runs 3] [--baseline-runs 1] [--skip-spopt]
[--problems mclp-p10-t30 lscp-t30 ...] [--scale N_DEMAND N_SITES] [--scale-problems ...]``
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, not an installed copy

import siting  # noqa: E402

logger = logging.getLogger("bench_solve")
POPULATION = ROOT.parent / "shared" / "data" / "scb_befolkning_1km_2025_dalarna.csv"
TOWNS = ROOT / "data" / "orter.csv"
REGION = "Dalarnas län"

#: name -> (problem, parameters); the figures of issue 5 for spopt 0.8 + CBC on 4,004 x 112
PROBLEMS: dict[str, tuple[str, dict[str, Any]]] = {
    "mclp-p10-t30": ("mclp", {"n_sites": 10, "max_minutes": 30.0}),
    "lscp-t30": ("lscp", {"max_minutes": 30.0}),
    "lscp-t120": ("lscp", {"max_minutes": 120.0}),
    "p-center-p10": ("p-center", {"n_sites": 10}),
    "p-median-p10": ("p-median", {"n_sites": 10}),
}


#: the issue's scale target: MCLP and LSCP on a county packed with candidates (45 min),
#: p-median at national density (Dalarna's pattern stretched 4x to Sweden's area, 90 min)
SCALE_PROBLEMS: dict[str, tuple[dict[str, float], str, dict[str, Any]]] = {
    "mclp-p50-t30": ({"max_minutes": 45.0}, "mclp", {"n_sites": 50, "max_minutes": 30.0}),
    "lscp-t30": ({"max_minutes": 45.0}, "lscp", {"max_minutes": 30.0}),
    "p-median-p100": (
        {"max_minutes": 90.0, "stretch": 4.0},
        "p-median",
        {"n_sites": 100, "mip_gap": 0.01},
    ),
}


def _instance(graphml: Path | None) -> tuple[siting.ODMatrix, np.ndarray]:
    population = siting.load_population(POPULATION, population_column="befolkning_2025")
    towns = siting.load_sites(
        TOWNS, id_column="geonameid", default_status="candidate", region=REGION
    )
    network = siting.load_network(graphml) if graphml else None
    od = siting.travel_times(network, population, towns)
    weights = population.set_index("demand_id").loc[od.origin_ids, "population"].to_numpy()
    return od, weights.astype(np.float64)


def _scale_points(
    n_demand: int, n_sites: int, stretch: float, seed: int = 0
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Synthetic points jittered inside Dalarna's populated cells (demand by population,
    sites by its square root), the coordinates stretched `stretch` times about the centre."""
    population = siting.load_population(POPULATION, population_column="befolkning_2025")
    rng = np.random.default_rng(seed)
    east, north = population.geometry.x.to_numpy(), population.geometry.y.to_numpy()
    east = east.mean() + stretch * (east - east.mean())
    north = north.mean() + stretch * (north - north.mean())
    people = population.population.to_numpy(dtype=np.float64)
    cells = rng.choice(people.size, size=n_demand, p=people / people.sum())
    jitter = rng.uniform(-500 * stretch, 500 * stretch, (2, n_demand))
    demand = (np.arange(n_demand), east[cells] + jitter[0], north[cells] + jitter[1])
    spread = np.sqrt(people) / np.sqrt(people).sum()
    chosen = rng.choice(people.size, size=n_sites, replace=False, p=spread)
    sites = (np.arange(n_sites), east[chosen], north[chosen])
    return demand, sites


def _scale_instance(
    n_demand: int, n_sites: int, *, max_minutes: float, stretch: float = 1.0
) -> siting.ODMatrix:
    """Straight-line times cut off at `max_minutes`; a point with no site that near keeps
    its nearest one, so every point has a site."""
    demand, sites = _scale_points(n_demand, n_sites, stretch)
    od = siting.travel_times(None, demand, sites, crs="EPSG:3006", max_minutes=max_minutes)
    lonely = np.flatnonzero(np.diff(od.minutes.indptr) == 0)
    if lonely.size == 0:
        return od
    far = siting.travel_times(None, tuple(a[lonely] for a in demand), sites, crs="EPSG:3006")
    nearest = far.nearest()
    extra = sp.csr_matrix((nearest.minutes[:, 0], (lonely, nearest.index[:, 0])), shape=od.shape)
    return siting.ODMatrix(od.minutes + extra, od.origin_ids, od.destination_ids, od.metadata)


def _bench_scale(
    n_demand: int, n_sites: int, names: Sequence[str], time_limit_s: float
) -> dict[str, Any]:
    """siting alone (a dense matrix of this size is beyond spopt): MCLP, LSCP, p-median."""
    report: dict[str, Any] = {}
    built: tuple[dict[str, float], siting.ODMatrix, dict[str, Any]] | None = None
    for name in names:
        od_options, problem, parameters = SCALE_PROBLEMS[name]
        if built is None or built[0] != od_options:
            built = None  # one matrix in memory at a time
            start = time.perf_counter()
            od = _scale_instance(n_demand, n_sites, **od_options)
            instance = {
                "shape": list(od.shape),
                "stored_pairs": int(od.minutes.nnz),
                "od_s": time.perf_counter() - start,
                **od_options,
            }
            built = (od_options, od, instance)
        _, od, instance = built
        options = {**parameters, "time_limit_s": time_limit_s}
        run = _run_siting(od, np.ones(od.shape[0]), problem, options)
        run["gap"] = abs(run["objective"] - run["bound"]) / max(abs(run["objective"]), 1e-12)
        logger.info("scale %s: %s %s", name, instance, run)
        report[name] = {"instance": instance, "parameters": options, **run}
    return report


def _run_siting(
    od: siting.ODMatrix, weights: np.ndarray, problem: str, parameters: dict[str, Any]
) -> dict[str, Any]:
    start = time.perf_counter()
    solution = siting.solve(od, problem=problem, weights=weights, **parameters)
    total = time.perf_counter() - start
    return {
        "objective": solution.objective,
        "bound": solution.bound,
        "status": solution.status,
        "n_sites": solution.n_sites,
        "unreachable": int(solution.unreachable.size),
        "build_s": solution.build_s,
        "solve_s": solution.solve_s,
        "total_s": total,
    }


def _spopt_model(
    dense: np.ndarray, weights: np.ndarray, problem: str, parameters: dict[str, Any]
) -> Any:
    from spopt import locate

    if problem == "lscp":
        return locate.LSCP.from_cost_matrix(dense, service_radius=parameters["max_minutes"])
    if problem == "mclp":
        return locate.MCLP.from_cost_matrix(
            dense,
            weights,
            service_radius=parameters["max_minutes"],
            p_facilities=parameters["n_sites"],
        )
    if problem == "p-median":
        return locate.PMedian.from_cost_matrix(dense, weights, p_facilities=parameters["n_sites"])
    return locate.PCenter.from_cost_matrix(dense, p_facilities=parameters["n_sites"])


def _run_spopt(
    od: siting.ODMatrix, weights: np.ndarray, problem: str, parameters: dict[str, Any]
) -> dict[str, Any]:
    import pulp

    dense = od.to_dense().astype(np.float64)
    keep = np.isfinite(dense).any(axis=1) & (weights > 0)
    if problem == "lscp":  # the demand siting covers; the rest it reports as unreachable
        keep &= (dense <= parameters["max_minutes"]).any(axis=1)
    dense, weights = dense[keep], weights[keep]
    dense[~np.isfinite(dense)] = 1e6  # spopt needs a full matrix; absent pairs never chosen
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PuLP 3.x deprecation notices from spopt 0.7
        start = time.perf_counter()
        model = _spopt_model(dense, weights, problem, parameters)
        built = time.perf_counter()
        model.solve(pulp.PULP_CBC_CMD(msg=False))
        solved = time.perf_counter()
    return {
        "objective": float(pulp.value(model.problem.objective)),
        "status": pulp.LpStatus[model.problem.status],
        "build_s": built - start,
        "solve_s": solved - built,
        "total_s": solved - start,
    }


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(run[key] for run in runs))


def _bench_problem(
    name: str, od: siting.ODMatrix, weights: np.ndarray, args: argparse.Namespace
) -> dict[str, Any]:
    problem, parameters = PROBLEMS[name]
    ours = [_run_siting(od, weights, problem, parameters) for _ in range(args.runs)]
    logger.info("%s siting: %s", name, ours[-1])
    entry: dict[str, Any] = {
        "problem": problem,
        "parameters": parameters,
        "siting": {key: _median(ours, key) for key in ("build_s", "solve_s", "total_s")},
        "siting_objective": ours[0]["objective"],
        "siting_status": ours[0]["status"],
        "siting_runs": ours,
    }
    if args.skip_spopt:
        return entry
    theirs = [_run_spopt(od, weights, problem, parameters) for _ in range(args.baseline_runs)]
    logger.info("%s spopt: %s", name, theirs[-1])
    spopt = {key: _median(theirs, key) for key in ("build_s", "solve_s", "total_s")}
    entry["spopt"] = spopt
    entry["spopt_objective"] = theirs[0]["objective"]
    entry["spopt_runs"] = theirs
    entry["same_objective"] = bool(
        np.isclose(theirs[0]["objective"], ours[0]["objective"], rtol=1e-6)
    )
    entry["ratio_spopt_over_siting"] = spopt["total_s"] / entry["siting"]["total_s"]
    return entry


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("highspy", "spopt", "pulp", "numpy", "scipy"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="siting runs per problem")
    parser.add_argument("--baseline-runs", type=int, default=1, help="spopt runs per problem")
    parser.add_argument("--skip-spopt", action="store_true")
    parser.add_argument("--problems", nargs="*", choices=list(PROBLEMS), default=list(PROBLEMS))
    parser.add_argument("--graphml", type=Path, help="drive graph instead of straight lines")
    parser.add_argument(
        "--scale",
        nargs=2,
        type=int,
        metavar=("N_DEMAND", "N_SITES"),
        help="also solve a synthetic instance of this size with siting alone",
    )
    parser.add_argument(
        "--scale-problems", nargs="*", choices=list(SCALE_PROBLEMS), default=list(SCALE_PROBLEMS)
    )
    parser.add_argument("--time-limit-s", type=float, default=600.0, help="per scale solve")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print one JSON object."""
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    start = time.perf_counter()
    od, weights = _instance(args.graphml)
    instance = {
        "demand_points": od.shape[0],
        "candidate_sites": od.shape[1],
        "stored_pairs": int(od.minutes.nnz),
        "travel_time_model": od.metadata.get("model"),
        "population": float(weights.sum()),
        "od_s": time.perf_counter() - start,
    }
    logger.info("instance: %s", instance)
    results = {name: _bench_problem(name, od, weights, args) for name in args.problems}
    if args.scale:
        results["scale"] = _bench_scale(*args.scale, args.scale_problems, args.time_limit_s)
    report = {
        "benchmark": "bench_solve",
        "instance": instance,
        "runs": {"siting": args.runs, "spopt": 0 if args.skip_spopt else args.baseline_runs},
        "versions": _versions(),
        "machine": {"cpus": os.cpu_count(), "note": "shared machine; noisy"},
        "results": results,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
