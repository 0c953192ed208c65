"""Benchmark p-median on Beasley's OR-Library instances against their published optima.

Solves every ``pmedN.txt`` or ``pmedN.txt.gz`` in ``--data`` (default: the five 100-vertex
instances stored in ``tests/data/orlib``; put pmed6-pmed40 from OR-Library in a folder to run
them) with ``siting.solve(problem="p-median")`` and reports per instance: vertices, p, the
published optimum, objective, proven bound, gap, whether the optimum was reached and proven,
the Lagrangian/model time and the HiGHS time. The baseline is the published optimum itself.

The machine is shared and noisy (2 cores): read the times as orders of magnitude.

Usage: ``python scripts/bench_pmed.py [--data DIR] [--time-limit-s 300] [--runs 1]``
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, not an installed copy
sys.path.insert(0, str(ROOT / "tests"))  # the OR-Library reader lives with the tests

from orlib import PUBLISHED_OPTIMA, read_pmed  # noqa: E402

import siting  # noqa: E402

logger = logging.getLogger("bench_pmed")


def _instance_files(folder: Path) -> list[Path]:
    """pmedN files in numeric order."""
    files = [p for p in folder.iterdir() if re.fullmatch(r"pmed\d+\.txt(\.gz)?", p.name)]
    return sorted(files, key=lambda p: int(re.findall(r"\d+", p.name)[0]))


def _solve_once(path: Path, time_limit_s: float) -> dict[str, Any]:
    start = time.perf_counter()
    instance = read_pmed(path)
    read_s = time.perf_counter() - start
    solution = siting.solve(
        instance.distances,
        problem="p-median",
        n_sites=instance.n_sites,
        time_limit_s=time_limit_s,
    )
    return {
        "vertices": instance.distances.shape[0],
        "p": instance.n_sites,
        "objective": solution.objective,
        "bound": solution.bound,
        "gap": solution.gap,
        "status": solution.status,
        "read_s": read_s,
        "build_s": solution.build_s,
        "solve_s": solution.solve_s,
        "total_s": time.perf_counter() - start,
    }


def _bench(path: Path, runs: int, time_limit_s: float) -> dict[str, Any]:
    name = path.name.split(".")[0]
    results = [_solve_once(path, time_limit_s) for _ in range(runs)]
    first = results[0]
    optimum = PUBLISHED_OPTIMA.get(name)
    entry: dict[str, Any] = {
        **first,
        "published_optimum": optimum,
        "reached": optimum is not None and abs(first["objective"] - optimum) < 1e-6,
        "proven": first["status"] == "optimal" and first["gap"] <= 1e-9,
        "median_total_s": statistics.median(r["total_s"] for r in results),
    }
    logger.info("%s: %s", name, entry)
    return entry


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "tests" / "data" / "orlib")
    parser.add_argument("--time-limit-s", type=float, default=300.0, help="per instance")
    parser.add_argument("--runs", type=int, default=1, help="runs per instance")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Solve the instances and print one JSON object."""
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    files = _instance_files(args.data)
    if not files:
        print(f"bench_pmed: no pmedN.txt[.gz] files in {args.data}", file=sys.stderr)
        return 2
    results = {p.name.split(".")[0]: _bench(p, args.runs, args.time_limit_s) for p in files}
    report = {
        "benchmark": "bench_pmed",
        "data": str(args.data),
        "runs": args.runs,
        "time_limit_s": args.time_limit_s,
        "reached": sum(r["reached"] for r in results.values()),
        "proven": sum(r["proven"] for r in results.values()),
        "instances": len(results),
        "results": results,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
