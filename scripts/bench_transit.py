"""Benchmark transit travel times on the Norrbotten GTFS feed (issue 16), JSON on stdout.

In one run, on a weekday (2023-03-15):

- the timetable build (read, service day, patterns, footpaths);
- ``matrix``: 1,000 demand points (jittered about random stops) x the county's towns in
  ``data/orter.csv``, one departure a minute over 08:00-10:00, 50th and 95th percentiles,
  15 minutes' walk, 3 transfers: seconds and peak memory (goal: <= 10 s, <= 2 GB);
- ``all_stops``: range RAPTOR from every stop over the same window (no walking legs);
- ``windows``: the matrix for 30, 60, 120 and 240-minute windows (how it scales);
- ``baseline``: the plain-Python Connection Scan reference (``tests/csa_reference.py``), one
  scan per origin and minute, on the first `--baseline-origins` origins, with RAPTOR's time
  on the same origins: the ratio is the figure to read.

Medians of `--repeats` runs; the machine is shared and noisy. pyraptor (PyPI) is not run:
its last release (2022) builds its own timetable from a GTFS folder and answers one query
at a time in Python, so it cannot run this matrix in comparable form.

Usage: ``python scripts/bench_transit.py [--feed PATH] [--repeats 3] [--baseline-origins 20]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, not an installed copy
sys.path.insert(0, str(ROOT / "tests"))  # the reference algorithm lives with the tests

from csa_reference import ConnectionScan  # noqa: E402

from siting.travel.options import TransitOptions  # noqa: E402
from siting.travel.raptor import range_arrivals  # noqa: E402
from siting.travel.timetable import Timetable, load_timetable  # noqa: E402
from siting.travel.transit import transit_minutes  # noqa: E402

logger = logging.getLogger("bench_transit")
FEED = ROOT.parent / "shared" / "data" / "gtfs_norrbotten_2023.zip"
DAY = dt.date(2023, 3, 15)
WINDOW = (8 * 3600, 10 * 3600)


def _median_s(work: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _points(timetable: Timetable, n_points: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    pick = rng.integers(0, timetable.n_stops, n_points)
    lon = timetable.stop_lon[pick] + rng.normal(0, 0.01, n_points)
    lat = timetable.stop_lat[pick] + rng.normal(0, 0.005, n_points)
    return lon, lat


def _towns() -> tuple[np.ndarray, np.ndarray]:
    towns = pd.read_csv(ROOT / "data" / "orter.csv")
    towns = towns[towns["lan_kod"] == 25]
    return towns["lon"].to_numpy(), towns["lat"].to_numpy()


def _matrix(timetable: Timetable, repeats: int) -> dict[str, Any]:
    origins, towns = _points(timetable, 1000), _towns()
    options = TransitOptions(window_s=WINDOW, percentiles=(50.0, 95.0), max_transfers=3)
    transit_minutes(timetable, (origins[0][:3], origins[1][:3]), towns, options)  # compile
    result: dict[str, Any] = {}

    def run() -> None:
        result["minutes"] = transit_minutes(timetable, origins, towns, options)

    seconds = _median_s(run, repeats)
    median = result["minutes"][50.0]
    return {
        "shape": [1000, int(towns[0].size)],
        "departures": int(options.departures_s.size),
        "median_s": seconds,
        "goal_s": 10.0,
        "reached_share_p50": float(np.isfinite(median).mean()),
        "within_60_min_share_p50": float((median <= 60).mean()),
    }


def _all_stops(timetable: Timetable, repeats: int) -> dict[str, Any]:
    runs = np.arange(WINDOW[0], WINDOW[1], 60)[::-1].copy()

    def run() -> None:
        for stop in range(timetable.n_stops):
            range_arrivals(timetable, [stop], [0], runs, max_transfers=3)

    return {"stops": timetable.n_stops, "runs": int(runs.size), "median_s": _median_s(run, repeats)}


def _windows(timetable: Timetable) -> list[dict[str, Any]]:
    origins, towns = _points(timetable, 1000), _towns()
    rows = []
    for minutes in (30, 60, 120, 240):
        options = TransitOptions(window_s=(WINDOW[0], WINDOW[0] + 60 * minutes))
        start = time.perf_counter()
        transit_minutes(timetable, origins, towns, options)
        rows.append({"window_min": minutes, "seconds": time.perf_counter() - start})
    return rows


def _baseline(timetable: Timetable, n_origins: int) -> dict[str, Any]:
    """Reference and RAPTOR from stops (no walking legs), every minute of the window."""
    reference = ConnectionScan(timetable)
    stops = np.random.default_rng(1).integers(0, timetable.n_stops, n_origins)
    minutes = np.arange(WINDOW[0], WINDOW[1], 60)
    start = time.perf_counter()
    for stop in stops:
        for minute in minutes:
            reference.earliest(np.array([stop]), np.array([minute]))
    reference_s = time.perf_counter() - start
    start = time.perf_counter()
    for stop in stops:
        range_arrivals(timetable, [stop], [0], minutes[::-1].copy(), max_transfers=50)
    raptor_s = time.perf_counter() - start
    return {
        "origins": n_origins,
        "departures": int(minutes.size),
        "connection_scan_s": reference_s,
        "range_raptor_s": raptor_s,
        "ratio": reference_s / raptor_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feed", type=Path, default=FEED)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-origins", type=int, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    if not args.feed.exists():
        sys.exit(f"{args.feed} is absent: the benchmark needs the shared Norrbotten feed")
    start = time.perf_counter()
    timetable = load_timetable(args.feed, DAY)
    report = {
        "feed": str(args.feed),
        "date": str(DAY),
        "timetable_s": time.perf_counter() - start,
        "timetable": {
            "stops": timetable.n_stops,
            "patterns": int(timetable.pattern_stop_ptr.size - 1),
            "trips": int(timetable.trip_ids.size),
            "footpaths": int(timetable.footpath_stops.size),
        },
        "matrix": _matrix(timetable, args.repeats),
        "all_stops": _all_stops(timetable, args.repeats),
        "windows": _windows(timetable),
        "baseline": _baseline(timetable, args.baseline_origins),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
