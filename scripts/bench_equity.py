"""Benchmark attendance, min-max over groups and the equity frontier (issue 18), each against
brute force or the plain MIP of the same model in the same run.

Instances: the SCB 1 km grid of Dalarna (4,004 populated cells, ``../shared/data``) x the
county's towns in ``data/orter.csv`` (73 in the file; the issue says 112, an older count),
straight-line times (``siting.travel_times(None, ...)``). Attendance weighs cells by their
population and uses the default decay (the Gaussian of `siting.locate.decay`); min-max, the
share rule and the frontier take the municipalities (``kommunkod``, 15 groups) weighed by
people 65+. ``--scale`` adds attendance on 100,000 synthetic points x 2,000 sites
(bench_solve.py's points in Dalarna, times cut off at 45 minutes), p = 50, to a 1% gap.

Per case: seconds (median over ``--runs``), objective, bound, gap and status of
``siting.solve`` (or ``siting.equity_frontier``), and the baseline, run ``--baseline-runs``
times: every site set by numpy where there are few (attendance p = 3: 62,196 sets), else
the plain MIP HiGHS solved before the heuristics of issue 18 (attendance: one column per
decay level; min-max and share rule: one column per pair), under the same time limit. A
baseline that ends with no plan says so (``"no solution"``).

The machine is shared and noisy (2 cores): read ratios, not single times.

Usage: ``python scripts/bench_equity.py [--runs 3] [--baseline-runs 1] [--time-limit-s 60]
[--cases attendance minmax share frontier capacities] [--skip-baseline] [--scale]``

``--cases capacities`` (not in the default set) runs the capacitated p-median and MCLP of
issue 18 item 6 on the same instance: p = 10, every town holding 1.2 x the population over p
(``--capacity-slack``), split and single-sourced, against HiGHS alone on the same assignment
model.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, not an installed copy
sys.path.insert(0, str(ROOT / "scripts"))

import bench_solve  # noqa: E402  (the Dalarna instance and the synthetic points)

import siting  # noqa: E402
from siting._core.errors import SitingError  # noqa: E402
from siting.locate import attendance as attendance_module  # noqa: E402
from siting.locate import group_equity  # noqa: E402
from siting.locate.capacitated import add_assignment, check_capacities  # noqa: E402
from siting.locate.decay import DEFAULT_DECAY  # noqa: E402
from siting.locate.groups import make_groups  # noqa: E402
from siting.locate.instance import add_site_columns, prepare_instance  # noqa: E402
from siting.locate.mip import MipModel, MipOptions  # noqa: E402

logger = logging.getLogger("bench_equity")
#: the goal of issue 18 for the Dalarna instances
GOAL_S = 10.0
#: the frontier's time and its share rule's: T minutes for people 65+ per municipality
SHARE_MINUTES = 30.0


def _dalarna() -> tuple[siting.ODMatrix, dict[str, np.ndarray]]:
    """The OD matrix and, aligned to its rows, population, people 65+ and municipality."""
    population = siting.load_population(bench_solve.POPULATION, population_column="befolkning_2025")
    towns = siting.load_sites(
        bench_solve.TOWNS,
        id_column="geonameid",
        default_status="candidate",
        region=bench_solve.REGION,
    )
    od = siting.travel_times(None, population, towns)
    table = population.set_index("demand_id").loc[od.origin_ids]
    columns = {
        "population": table["population"].to_numpy(dtype=np.float64),
        "age_65_plus": table["befolkning_65_plus_2025"].to_numpy(dtype=np.float64),
        "municipality": table["kommunkod"].astype(str).to_numpy(),
    }
    return od, columns


def _timed(run: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def _solved(run: Callable[[], siting.Solution]) -> dict[str, Any]:
    """`run` timed and recorded; a solve that ends with no plan at all is recorded so."""
    start, cpu = time.perf_counter(), time.process_time()
    try:
        solution = run()
    except SitingError as error:
        return {
            "seconds": time.perf_counter() - start,
            "status": "no solution",
            "error": str(error),
        }
    # CPU seconds too: on a shared machine at load 10+ wall time is mostly waiting
    return {**_record(time.perf_counter() - start, solution), "cpu_s": time.process_time() - cpu}


def _record(seconds: float, solution: siting.Solution) -> dict[str, Any]:
    return {
        "seconds": seconds,
        "objective": solution.objective,
        "bound": solution.bound,
        "gap": solution.gap,
        "status": solution.status,
        "sites": solution.n_sites,
    }


def _median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The first run's answer with the median seconds (and CPU seconds) of all runs."""
    median = {"seconds": statistics.median(run["seconds"] for run in runs)}
    if all("cpu_s" in run for run in runs):
        median["cpu_s"] = statistics.median(run["cpu_s"] for run in runs)
    return {**runs[0], **median, "runs": runs}


def _plain_mip(model: MipModel, limit: float) -> dict[str, Any]:
    """HiGHS alone on `model` (the baseline): a stop with no plan is reported, not raised."""
    start = time.perf_counter()
    try:
        result = model.solve(MipOptions(time_limit_s=limit))
    except SitingError as error:
        return {
            "seconds": time.perf_counter() - start,
            "status": "no solution",
            "error": str(error),
        }
    return {
        "seconds": time.perf_counter() - start,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "status": result.status,
    }


def _attendance_brute_force(od: siting.ODMatrix, weights: np.ndarray, p: int) -> dict[str, Any]:
    """Every set of p sites priced by numpy: the most people coming (exact)."""
    start = time.perf_counter()
    coming = weights[:, None] * DEFAULT_DECAY.weight(od.to_dense().astype(np.float64))
    coming = np.nan_to_num(coming)  # absent pairs bring nobody
    best = -np.inf
    for prefix in itertools.combinations(range(od.shape[1]), p - 1):
        base = coming[:, list(prefix)].max(axis=1)
        last = np.maximum(base[:, None], coming[:, prefix[-1] + 1 :]).sum(axis=0)
        if last.size:
            best = max(best, float(last.max()))
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "objective": best,
        "bound": best,
        "gap": 0.0,
        "status": "optimal",
        "method": "brute force",
    }


def _attendance_plain(od: siting.ODMatrix, weights: np.ndarray, p: int, limit: float) -> dict:  # type: ignore[type-arg]
    """The level model of `siting.locate.attendance` handed to HiGHS alone."""
    instance = prepare_instance(od, weights=weights)
    levels, _ = attendance_module._levels(instance, DEFAULT_DECAY)
    model = attendance_module._build_model(instance, levels, p)
    return {**_plain_mip(model, limit), "method": "plain level MIP"}


def _minmax_plain(
    od: siting.ODMatrix, weights: np.ndarray, labels: np.ndarray, p: int, limit: float
) -> dict[str, Any]:
    """The min-max assignment model (a column per pair) handed to HiGHS alone."""
    instance = prepare_instance(od, weights=weights)
    found = make_groups(instance, labels)
    pairs, _ = group_equity._usable_pairs(instance, group_equity._has_group_weight(found))
    model = group_equity._minmax_assignment_model(instance, found, pairs, p)
    return {**_plain_mip(model, limit), "method": "plain assignment MIP"}


def _share_plain(
    od: siting.ODMatrix, weights: np.ndarray, labels: np.ndarray, p: int, share: float, limit: float
) -> dict[str, Any]:
    """The share-rule assignment model handed to HiGHS alone."""
    instance = prepare_instance(od, weights=weights)
    found = make_groups(instance, labels)
    rule = siting.GroupShare(SHARE_MINUTES, share)
    must_serve = instance.demand | group_equity._has_group_weight(found)
    pairs, _ = group_equity._usable_pairs(instance, must_serve)
    model = group_equity._share_assignment_model(instance, found, rule, pairs, p)
    return {**_plain_mip(model, limit), "method": "plain assignment MIP"}


def _case(
    name: str,
    method: Callable[[], Any],
    baseline: Callable[[], dict[str, Any]] | None,
    args: argparse.Namespace,
) -> dict[str, Any]:
    runs = [_solved(method) for _ in range(args.runs)]
    row: dict[str, Any] = {"case": name, "siting": _median_of(runs)}
    if baseline is not None and not args.skip_baseline:
        row["baseline"] = _median_of([baseline() for _ in range(args.baseline_runs)])
        theirs = row["baseline"]
        if theirs["status"] == runs[0]["status"] == "optimal":
            row["same_objective"] = bool(
                np.isclose(theirs["objective"], runs[0]["objective"], rtol=1e-6)
            )
    logger.info("%s", json.dumps(row, default=str)[:600])
    return row


def _attendance_cases(
    od: siting.ODMatrix, data: dict[str, np.ndarray], args: argparse.Namespace
) -> list[dict[str, Any]]:
    weights, limit = data["population"], args.time_limit_s
    rows = []
    for p in (3, 5, 10):

        def method(p: int = p) -> siting.Solution:
            return siting.solve(
                od, problem="attendance", n_sites=p, weights=weights, time_limit_s=limit
            )

        def baseline(p: int = p) -> dict[str, Any]:
            if p == 3:
                return _attendance_brute_force(od, weights, p)
            return _attendance_plain(od, weights, p, limit)

        rows.append(_case(f"dalarna-attendance-p{p}", method, baseline, args))
    return rows


def _minmax_cases(
    od: siting.ODMatrix, data: dict[str, np.ndarray], args: argparse.Namespace
) -> list[dict[str, Any]]:
    weights, labels, limit = data["age_65_plus"], data["municipality"], args.time_limit_s
    rows = []
    for p in (5, 10):

        def method(p: int = p) -> siting.Solution:
            return siting.solve(
                od,
                problem="minmax-group",
                n_sites=p,
                groups=labels,
                weights=weights,
                time_limit_s=limit,
            )

        def baseline(p: int = p) -> dict[str, Any]:
            return _minmax_plain(od, weights, labels, p, limit)

        rows.append(_case(f"dalarna-minmax-p{p}", method, baseline, args))
    return rows


def _share_cases(
    od: siting.ODMatrix, data: dict[str, np.ndarray], args: argparse.Namespace
) -> list[dict[str, Any]]:
    """p-median with a binding share rule: 80% of the 65+ of every municipality within 30
    min (the best worst share 10 towns can give is 83.9%; the plain p-median gives less)."""
    weights, labels, limit = data["age_65_plus"], data["municipality"], args.time_limit_s
    rows = []
    for p, share in ((10, 0.8),):
        rule = {"minutes": SHARE_MINUTES, "share": share}

        def method(p: int = p, rule: dict[str, float] = rule) -> siting.Solution:
            return siting.solve(
                od,
                problem="p-median",
                n_sites=p,
                groups=labels,
                min_group_share=rule,
                weights=weights,
                time_limit_s=limit,
            )

        def baseline(p: int = p, share: float = share) -> dict[str, Any]:
            return _share_plain(od, weights, labels, p, share, limit)

        rows.append(_case(f"dalarna-share-p{p}-{share:g}", method, baseline, args))
    return rows


def _capacity_cases(
    od: siting.ODMatrix, data: dict[str, np.ndarray], args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Capacitated p-median and MCLP (T = 30 min), p = 10, each town holding
    `--capacity-slack` x the population over p, split and single-sourced; the baseline is
    HiGHS alone on the same assignment model (no merged rows, no start, no plain bound),
    the capacitated p-median as it was solved before."""
    weights, limit, p = data["population"], args.time_limit_s, 10
    capacities = np.full(od.shape[1], round(args.capacity_slack * weights.sum() / p))
    rows = []
    for kind, extra in (("p-median", {}), ("mclp", {"max_minutes": 30.0})):
        for single in (False, True):

            def method(
                kind: str = kind, extra: dict[str, float] = extra, single: bool = single
            ) -> Any:
                return siting.solve(
                    od, problem=kind, n_sites=p, weights=weights, capacities=capacities,
                    single_sourcing=single, time_limit_s=limit, **extra,
                )  # fmt: skip

            def baseline(
                kind: str = kind, extra: dict[str, float] = extra, single: bool = single
            ) -> Any:
                model = _capacitated_model(od, weights, capacities, kind, extra, single, p)
                return {**_plain_mip(model, limit), "method": "HiGHS alone, assignment MIP"}

            name = f"capacitated-dalarna-{kind}-p{p}-{'single' if single else 'split'}"
            rows.append(_case(name, method, baseline, args))
    return rows


def _capacitated_model(
    od: siting.ODMatrix,
    weights: np.ndarray,
    capacities: np.ndarray,
    kind: str,
    extra: dict[str, float],
    single: bool,
    p: int,
) -> MipModel:
    """The assignment MIP of `siting.locate.capacitated` over every stored pair (p-median)
    or every pair within T (MCLP), one row per cell."""
    instance = prepare_instance(od, weights=weights)
    found = check_capacities(instance, capacities, single)
    matrix = od.minutes
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    keep = (weights[rows] > 0) & (matrix.data <= extra.get("max_minutes", np.inf))
    rows, columns = rows[keep].astype(np.int64), matrix.indices[keep].astype(np.int64)
    model = MipModel("min" if kind == "p-median" else "max")
    add_site_columns(model, instance, n_sites=p)
    cost = weights[rows] * (matrix.data[keep] if kind == "p-median" else 1.0)
    add_assignment(model, instance, (rows, columns), found, cost=cost, whole=kind == "p-median")
    return model


def _frontier_case(
    od: siting.ODMatrix, data: dict[str, np.ndarray], args: argparse.Namespace
) -> list[dict[str, Any]]:
    """The default five-point frontier, p = 10, 65+ per municipality within 30 minutes."""
    weights, labels = data["age_65_plus"], data["municipality"]
    runs = []
    for _ in range(args.runs):
        cpu = time.process_time()
        seconds, curve = _timed(
            lambda: siting.equity_frontier(
                od,
                n_sites=10,
                groups=labels,
                max_minutes=SHARE_MINUTES,
                weights=weights,
                time_limit_s=args.time_limit_s,
            )
        )
        runs.append(
            {
                "seconds": seconds,
                "cpu_s": time.process_time() - cpu,
                "statuses": curve["status"].tolist(),
                "gaps": [float(g) for g in curve["gap"]],
                "targets": [float(t) for t in curve.index],
                "total_minutes": [float(v) for v in curve["total_minutes"]],
                # seconds of each point's own solve (0: a lower point's plan answered it)
                "point_seconds": [float(v) for v in curve["solve_s"]],
                "max_worst_share": curve.attrs["max_worst_share"],
            }
        )
    row = {"case": "dalarna-frontier-p10", "siting": _median_of(runs)}
    logger.info("%s", json.dumps(row, default=str)[:600])
    return [row]


def _scale_case(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Attendance, 100,000 x 2,000, p = 50, Gaussian decay, 1% gap, 300 s."""
    start = time.perf_counter()
    od = bench_solve._scale_instance(100_000, 2_000, max_minutes=45.0)
    od_s = time.perf_counter() - start
    seconds, solution = _timed(
        lambda: siting.solve(
            od, problem="attendance", n_sites=50, mip_gap=0.01, time_limit_s=args.scale_limit_s
        )
    )
    row = {
        "case": "scale-attendance-100k-2k-p50",
        "instance": {"shape": list(od.shape), "stored_pairs": int(od.minutes.nnz), "od_s": od_s},
        "siting": _record(seconds, solution),
    }
    logger.info("%s", json.dumps(row, default=str))
    return [row]


def _statuses(run: dict[str, Any]) -> list[str]:
    """The statuses of a case: each frontier point's, or the one solve's."""
    return list(run["statuses"]) if "statuses" in run else [run["status"]]


def _seconds(run: dict[str, Any]) -> float:
    """The seconds the goal is judged on: a solve's, or the frontier's slowest point."""
    return float(max(run["point_seconds"])) if "point_seconds" in run else float(run["seconds"])


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    dalarna = [row for row in rows if row["case"].startswith("dalarna")]
    return {
        f"dalarna_optimal_within_{GOAL_S:g}_s": sum(
            all(s == "optimal" for s in _statuses(row["siting"]))
            and _seconds(row["siting"]) <= GOAL_S
            for row in dalarna
        ),
        "dalarna_cases": len(dalarna),
        "slowest_dalarna_s": max((_seconds(row["siting"]) for row in dalarna), default=None),
        "all_objectives_equal": all(row.get("same_objective", True) for row in rows),
    }


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="siting runs per case")
    parser.add_argument("--baseline-runs", type=int, default=1)
    parser.add_argument("--time-limit-s", type=float, default=60.0, help="per solve")
    parser.add_argument("--scale-limit-s", type=float, default=300.0)
    parser.add_argument(
        "--cases",
        nargs="*",
        default=["attendance", "minmax", "share", "frontier"],
        choices=["attendance", "minmax", "share", "frontier", "capacities"],
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--capacity-slack", type=float, default=1.2, help="capacities: each town's x demand / p"
    )
    parser.add_argument("--scale", action="store_true", help="add 100,000 x 2,000 attendance")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print one JSON object."""
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("siting").setLevel(logging.WARNING)
    od, data = _dalarna()
    makers = {
        "attendance": _attendance_cases,
        "minmax": _minmax_cases,
        "share": _share_cases,
        "frontier": _frontier_case,
        "capacities": _capacity_cases,
    }
    rows = [row for case in args.cases for row in makers[case](od, data, args)]
    if args.scale:
        rows += _scale_case(args)
    report = {
        "benchmark": "bench_equity",
        "instance": {
            "shape": list(od.shape),
            "stored_pairs": int(od.minutes.nnz),
            "groups": int(np.unique(data["municipality"]).size),
        },
        "time_limit_s": args.time_limit_s,
        "runs": {"siting": args.runs, "baseline": 0 if args.skip_baseline else args.baseline_runs},
        "machine": {"cpus": os.cpu_count(), "note": "shared machine; noisy"},
        "summary": _summary(rows),
        "cases": rows,
    }
    print(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
