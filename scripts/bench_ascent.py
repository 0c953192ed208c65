"""Compare Lagrangian multiplier ascents of the p-median branch and bound at scale, issue 19.

On `bench_pmedian.py --scale`'s generator (Dalarna-like points stretched 3 times, 150-minute
cut-off; default 20,000 points x 1,000 sites, p = 10), in one run: the answer of greedy plus
swaps; the root bound each ascent reaches (main's plain subgradient steps from the
incumbent's costs, and the variants given: deflected directions, other starts) with its
seconds; optionally (``--lp``) the LP bound of the radius model by HiGHS, which no
multipliers can beat (the Lagrangian dual of this relaxation equals the assignment LP,
which the radius LP bounds from above), and (``--branch``) the whole branch and bound per
ascent within a time limit to a 1% gap.

Usage: ``python scripts/bench_ascent.py [--demand 20000] [--sites 1000] [--p 10] [--lp]
[--branch] [--time-limit-s 120] [--variants plain:incumbent deflect0.3:incumbent ...]``.
A variant is ``<direction>:<start>[:noprice]``: direction ``plain`` or ``deflect<alpha>``;
start ``incumbent`` (each row's cost in the greedy-and-swaps answer) or ``kth<k>`` (each
row's cost to its k-th nearest site); ``noprice``: the root does not price its relaxed
answers (main's ascent is ``plain:incumbent:noprice``). The machine is shared: read ratios
in one run.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, not an installed copy

import bench_solve  # noqa: E402

import siting  # noqa: E402
from siting.locate import branching  # noqa: E402
from siting.locate.instance import prepare_instance  # noqa: E402
from siting.locate.interchange import AssignmentPairs  # noqa: E402
from siting.locate.radius import distance_level_model  # noqa: E402
from siting.locate.sorted_pairs import SortedPairs, sort_pairs  # noqa: E402
from siting.locate.sorted_swaps import greedy_sites, improve_sites  # noqa: E402


def _pairs(od: siting.ODMatrix) -> AssignmentPairs:
    minutes = od.minutes.tocsr()
    indptr = minutes.indptr.astype(np.int64)
    return AssignmentPairs(
        local_rows=np.repeat(np.arange(od.shape[0]), np.diff(indptr)),
        columns=minutes.indices.astype(np.int64),
        cost=minutes.data.astype(np.float64),
        indptr=indptr,
        n_columns=od.shape[1],
    )


def _start(pairs: SortedPairs, answer: np.ndarray, start: str) -> np.ndarray:
    if start == "incumbent":
        return branching._incumbent_costs(pairs, answer)
    # each row's cost to its k-th nearest site (its farthest when it has fewer)
    k = int(start.removeprefix("kth"))
    return pairs.cost[np.minimum(pairs.indptr[:-1] + k - 1, pairs.indptr[1:] - 1)]


def _configure(variant: str) -> str:
    """Set the module's ascent settings for `variant`; its start."""
    direction, start, *rest = variant.split(":")
    branching.ROOT_DEFLECTION = 1.0 if direction == "plain" else float(direction[7:])
    branching.PRICE_EVERY = 0 if rest == ["noprice"] else 10
    return start


def _root(
    pairs: SortedPairs,
    p: int,
    incumbent: tuple[float, np.ndarray],
    variant: str,
    budgets: tuple[list[int], float],
) -> dict[str, Any]:
    """The root ascent alone (no fixing, no branching): its gap after each step count,
    each run from the start within the seconds given."""
    start = _configure(variant)
    cost, answer = incumbent
    trace = {}
    for steps in budgets[0]:
        branching.ROOT_STEPS = steps
        tree = branching._Tree(pairs, p, cost, answer.copy(), 0.0, False, None)
        tree.deadline = time.perf_counter() + budgets[1]
        state = np.zeros(pairs.n_columns, dtype=np.int8)
        began = time.perf_counter()
        relaxed = branching._bound(tree, state, _start(pairs, answer, start), steps, -math.inf)
        trace[steps] = {
            "gap": round((tree.upper - relaxed.value) / tree.upper, 5),
            "answer": round(tree.upper, 1),
            "seconds": round(time.perf_counter() - began, 2),
        }
    branching.ROOT_STEPS = 1500
    return {"variant": variant, "root_gap_after_steps": trace}


def _branch(
    pairs: SortedPairs, p: int, incumbent: tuple[float, np.ndarray], variant: str, limit: float
) -> dict[str, Any]:
    start = _configure(variant)
    cost, answer = incumbent
    began = time.perf_counter()
    none = np.zeros(pairs.n_columns, dtype=np.bool_)
    result = branching.solve_by_branching(
        pairs,
        p,
        (none, none.copy()),
        (cost, answer),
        multipliers=_start(pairs, answer, start),
        mip_gap=0.01,
        deadline=began + limit,
    )
    return {
        "variant": variant,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "status": result.status,
        "seconds": time.perf_counter() - began,
    }


def _lp_bound(od: siting.ODMatrix, pairs: AssignmentPairs, p: int, limit: float) -> dict[str, Any]:
    """The radius model's LP relaxation (HiGHS, dual simplex): the best any
    multipliers of the Lagrangian could give is at most this."""
    from siting.locate.mip import MipOptions

    instance = prepare_instance(od)
    model, _ = distance_level_model(instance, pairs, p, np.ones(od.shape[0]))
    model._integer = [np.zeros_like(block) for block in model._integer]  # the LP
    # interior point took over 5 minutes at 4,000 x 200 (each site column is dense)
    highs = model.to_highs(MipOptions(time_limit_s=limit))
    highs.setOptionValue("solver", "simplex")
    began = time.perf_counter()
    highs.run()
    return {
        "lp_bound": float(highs.getInfo().objective_function_value),
        "status": highs.modelStatusToString(highs.getModelStatus()),
        "seconds": time.perf_counter() - began,
    }


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demand", type=int, default=20_000)
    parser.add_argument("--sites", type=int, default=1_000)
    parser.add_argument("--p", type=int, default=10)
    parser.add_argument("--root-s", type=float, default=60.0, help="time for a root ascent")
    parser.add_argument("--steps", type=int, nargs="*", default=[100, 300, 1500])
    parser.add_argument("--time-limit-s", type=float, default=120.0)
    parser.add_argument("--lp", action="store_true")
    parser.add_argument("--branch", action="store_true")
    parser.add_argument("--variants", nargs="+", default=["plain:incumbent"])
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    logging.getLogger("siting.locate.branching").setLevel(logging.DEBUG)
    began = time.perf_counter()
    od = bench_solve._scale_instance(args.demand, args.sites, max_minutes=150.0, stretch=3.0)
    plain = _pairs(od)
    pairs = sort_pairs(plain)
    required = np.zeros(od.shape[1], dtype=np.bool_)
    answer = greedy_sites(pairs, args.p, required, ~required)
    answer = improve_sites(pairs, answer, required, ~required)
    cost = float(pairs.nearest_cost(answer).sum())
    report: dict[str, Any] = {
        "shape": list(od.shape),
        "pairs": int(pairs.cost.size),
        "p": args.p,
        "incumbent": cost,
        "setup_s": time.perf_counter() - began,
        "roots": [
            _root(pairs, args.p, (cost, answer), v, (args.steps, args.root_s))
            for v in args.variants
        ],
    }
    if args.branch:
        report["branch"] = [
            _branch(pairs, args.p, (cost, answer), v, args.time_limit_s) for v in args.variants
        ]
    if args.lp:
        report["lp"] = _lp_bound(od, plain, args.p, args.time_limit_s)
        report["lp"]["gap_to_incumbent"] = (cost - report["lp"]["lp_bound"]) / cost
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
