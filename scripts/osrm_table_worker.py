"""Time OSRM's table service through osrm-bindings: the OSRM baseline of ``bench_od.py``.

osrm-bindings has wheels for CPython 3.12 only, so ``bench_od.py`` runs this file with a
separate Python 3.12 environment (osrm-bindings and numpy, nothing of siting). It reads the
points ``bench_od.py`` wrote, asks OSRM for the durations from every origin to every site with
the sources cut into chunks (one table of 100,000 x 500 took 9 GB in the issue's anchor run),
and prints one JSON object: per shape the seconds of each run, split into OSRM's own table
calls and the conversion of its answer to a numpy array, and its peak memory.

Usage: ``python3.12 osrm_table_worker.py DATA.osrm POINTS.npz --runs 3 [--chunk 1000]``
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from typing import Any

import numpy as np
import osrm  # type: ignore[import-not-found]


def _engine(path: str, algorithm: str) -> Any:
    return osrm.OSRM(
        storage_config=path,
        algorithm=algorithm,
        use_shared_memory=False,
        max_locations_distance_table=1_000_000,
    )


def _table(engine: Any, sources: list[Any], sites: list[Any]) -> tuple[Any, float]:
    params = osrm.TableParameters(
        coordinates=sources + sites,
        sources=list(range(len(sources))),
        destinations=list(range(len(sources), len(sources) + len(sites))),
        annotations=["duration"],
        generate_hints=False,
    )
    params.skip_waypoints = True
    started = time.perf_counter()
    answer = engine.Table(params)
    return answer, time.perf_counter() - started


def _durations(answer: Any) -> np.ndarray:
    # the bindings hand back OSRM's JSON tree; None marks an unreachable pair
    return np.array(
        [[np.nan if v is None else v for v in row] for row in answer["durations"]],
        dtype=np.float64,
    )


def _run_case(engine: Any, case: dict[str, np.ndarray], chunk: int) -> dict[str, Any]:
    sites = list(zip(case["site_lon"].tolist(), case["site_lat"].tolist(), strict=True))
    origins = list(zip(case["origin_lon"].tolist(), case["origin_lat"].tolist(), strict=True))
    table_s = convert_s = 0.0
    reachable = 0
    minutes_sum = 0.0
    for start in range(0, len(origins), chunk):
        answer, seconds = _table(engine, origins[start : start + chunk], sites)
        table_s += seconds
        started = time.perf_counter()
        durations = _durations(answer)
        convert_s += time.perf_counter() - started
        finite = np.isfinite(durations)
        reachable += int(finite.sum())
        minutes_sum += float(durations[finite].sum() / 60.0)
    return {
        "table_s": round(table_s, 3),
        "convert_s": round(convert_s, 3),
        "reachable_pairs": reachable,
        "mean_minutes": round(minutes_sum / max(reachable, 1), 3),
    }


def main() -> int:
    """Run the timed tables and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="the .osrm base path (prepared with osrm-extract/contract)")
    parser.add_argument("points", help="points .npz written by bench_od.py")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=1000, help="origins per table request")
    parser.add_argument("--algorithm", choices=("CH", "MLD"), default="CH")
    args = parser.parse_args()
    started = time.perf_counter()
    engine = _engine(args.data, args.algorithm)
    load_s = time.perf_counter() - started
    with np.load(args.points) as archive:
        prefixes = sorted({name.split(":", 1)[0] for name in archive.files})
        cases = [
            {n.split(":", 1)[1]: archive[n] for n in archive.files if n.startswith(p + ":")}
            for p in prefixes
        ]
    results = {}
    for case in sorted(cases, key=lambda c: c["origin_lon"].size):
        key = f"{case['origin_lon'].size}x{case['site_lon'].size}"
        runs = [_run_case(engine, case, args.chunk) for _ in range(args.runs)]
        results[key] = {
            "table_s": [run["table_s"] for run in runs],
            "convert_s": [run["convert_s"] for run in runs],
            "reachable_pairs": runs[0]["reachable_pairs"],
            "mean_minutes": runs[0]["mean_minutes"],
        }
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "load_s": round(load_s, 2),
                "chunk_origins": args.chunk,
                "algorithm": args.algorithm,
                "cases": results,
                "peak_rss_mb": round(peak_mb, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
