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

- ``pyraptor``: the query pyraptor (PyPI, ``pip install pyraptor``) can run the same way, one
  stop and one departure, every stop's earliest arrival with at most 3 transfers, and no
  footpaths (pyraptor only changes within a station, and its GTFS reader keeps only stops
  with a parent station and services in calendar_dates, so it is given the very trips of
  siting's timetable, each stop its own station). Reported: both times and how many reached
  stops agree to the second, and how many pyraptor reaches later or earlier. It has no
  window query, so the matrix is not comparable. Where the two differ, siting's arrival is
  the one the separate Connection Scan reference finds (tests/test_transit.py); pyraptor
  groups trips into routes by their stop sequence alone, so trips that overtake share a
  route, which RAPTOR's route scan assumes never happens (siting splits such patterns).

Medians of `--repeats` runs; the machine is shared and noisy.

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
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, not an installed copy
sys.path.insert(0, str(ROOT / "tests"))  # the reference algorithm lives with the tests

from csa_reference import ConnectionScan  # noqa: E402

from siting.travel.options import TransitOptions  # noqa: E402
from siting.travel.raptor import UNREACHED, earliest_arrivals, range_arrivals  # noqa: E402
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


def _without_footpaths(timetable: Timetable) -> Timetable:
    none = np.zeros(0, dtype=np.int32)
    return replace(
        timetable,
        footpath_ptr=np.zeros(timetable.n_stops + 1, dtype=np.int64),
        footpath_stops=none,
        footpath_s=none,
    )


def _pyraptor_timetable(timetable: Timetable) -> Any:
    """siting's service day as pyraptor structures: the same trips, one station per stop."""
    from pyraptor.model import structures as pr

    stations, stops = pr.Stations(), pr.Stops()
    for index, stop_id in enumerate(timetable.stop_ids):
        station = stations.add(pr.Station(str(index), str(stop_id)))
        stop = stops.add(pr.Stop(index, str(stop_id), station, "?"))
        station.add_stop(stop)
    trips, stop_times, routes = pr.Trips(), pr.TripStopTimes(), pr.Routes()
    for pattern in range(timetable.pattern_stop_ptr.size - 1):
        pattern_stops = timetable.pattern_stops[
            timetable.pattern_stop_ptr[pattern] : timetable.pattern_stop_ptr[pattern + 1]
        ]
        for trip_index in range(
            timetable.pattern_trip_ptr[pattern], timetable.pattern_trip_ptr[pattern + 1]
        ):
            trip = pr.Trip()
            first = timetable.trip_event_ptr[trip_index]
            for position, stop_index in enumerate(pattern_stops):
                event = first + position
                stop_time = pr.TripStopTime(
                    trip,
                    position,
                    stops.get(int(stop_index)),
                    int(timetable.arrival_s[event]),
                    int(timetable.departure_s[event]),
                    0,
                )
                stop_times.add(stop_time)
                trip.add_stop_time(stop_time)
            trips.add(trip)
    for trip in trips:
        routes.add(trip)
    return pr.Timetable(stations, stops, trips, stop_times, routes, pr.Transfers())


def _pyraptor(timetable: Timetable, n_queries: int) -> dict[str, Any]:
    """One stop, one departure, no footpaths: pyraptor and siting's RAPTOR on the same trips."""
    try:
        from loguru import logger as loguru_logger
        from pyraptor.model.raptor import RaptorAlgorithm
    except ImportError:
        return {"skipped": "pyraptor is not installed (pip install pyraptor)"}
    loguru_logger.remove()  # pyraptor logs every round at INFO
    bare = _without_footpaths(timetable)
    theirs = _pyraptor_timetable(bare)
    rng = np.random.default_rng(2)
    stops = rng.integers(0, bare.n_stops, n_queries)
    departures = rng.integers(WINDOW[0], WINDOW[1], n_queries)
    earliest_arrivals(bare, [0], [WINDOW[0]], max_transfers=3)  # compile
    ours_s = theirs_s = 0.0
    reached = agree = later = 0
    for stop, departure in zip(stops, departures, strict=True):
        start = time.perf_counter()
        ours = earliest_arrivals(bare, [stop], [departure], max_transfers=3)
        ours_s += time.perf_counter() - start
        start = time.perf_counter()
        rounds = RaptorAlgorithm(theirs).run([theirs.stops.get(int(stop))], int(departure), 4)
        theirs_s += time.perf_counter() - start
        labels = rounds[4]
        pyraptor_arrival = np.array(
            [labels[theirs.stops.get(i)].earliest_arrival_time for i in range(bare.n_stops)]
        )
        found = ours != UNREACHED
        reached += int(found.sum())
        agree += int((pyraptor_arrival[found] == ours[found]).sum())
        later += int((pyraptor_arrival[found] > ours[found]).sum())
    return {
        "queries": n_queries,
        "max_transfers": 3,
        "pyraptor_s_per_query": theirs_s / n_queries,
        "siting_s_per_query": ours_s / n_queries,
        "ratio": theirs_s / ours_s,
        "reached_stops": reached,
        "same_arrival": agree,
        # the rest: pyraptor later than siting (whose arrivals equal the Connection Scan's)
        "pyraptor_later": later,
        "pyraptor_earlier": reached - agree - later,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feed", type=Path, default=FEED)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-origins", type=int, default=20)
    parser.add_argument("--pyraptor-queries", type=int, default=10)
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
        "pyraptor": _pyraptor(timetable, args.pyraptor_queries),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
