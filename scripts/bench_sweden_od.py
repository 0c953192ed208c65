"""Project the OD matrix to Sweden's size: 2 M road nodes x 100,000 origins x 2,000 sites, 90 min.

No Sweden-sized road network can be had offline, so this builds a synthetic one of that size:
pyrosm's real Kotka extract tiled into a grid of ~8,900 connected copies
(``scripts/tiled_extract.py --target-nodes 2000000 --drive-only``), loaded with
``siting.load_network``. The roads are real OSM roads, but the graph is a tiled synthetic
extract: its travel times say nothing about Swedish geography, only about the engine's speed
and memory at Sweden's graph size.

It draws 100,000 seeded origins (jittered around random nodes, as population cells off the
road) and 2,000 sites (random nodes), prepares the network once (CCH built from scratch, the
time reported as setup), frees the networkx graph, and runs ``siting.travel_times`` with a
90-minute cut-off in several parallel set-ups: 1 worker, 2 workers (CCH threads in this
process), and a Dask LocalCluster of 1 and 2 single-threaded worker processes (started once
per set-up, its start time reported apart). With ``--site-fraction`` below 1 each set-up
computes only that share of the sites (blocks are independent and each costs about the same,
so the time is linear in the sites) and the full time is extrapolated, labelled so. It
prints one JSON object with every run, medians, peak memory of the matrix stage and the
scaling over 1 worker.

Usage: ``python scripts/bench_sweden_od.py [--runs 2] [--site-fraction 1.0]``
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

SCRIPTS_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS_DIR.parent))  # import siting from this checkout
sys.path.insert(0, str(SCRIPTS_DIR))  # and the OD benchmark's helpers

import bench_od  # noqa: E402

TARGET_NODES = 2_000_000
N_ORIGINS = 100_000
N_SITES = 2_000
MAX_MINUTES = 90.0
SETUPS: dict[str, tuple[int, str | None]] = {
    "workers-1": (1, None),
    "workers-2": (2, None),
    "dask-1": (1, "local"),
    "dask-2": (2, "local"),
}


def _extract() -> tuple[Path, tuple[int, int]]:
    import pyrosm

    tiled = bench_od._tiled_extract_module()
    source = Path(pyrosm.__file__).parent / "data" / "test.osm.pbf"
    tiles = tiled.grid_for_target_nodes(source, target_nodes=TARGET_NODES)
    pbf = tiled.make_tiled_extract(source, tiles_x=tiles[0], tiles_y=tiles[1], drive_only=True)
    return Path(pbf), tiles


def _run_setup(
    network: Any,
    origins: Any,
    sites: Any,
    *,
    workers: int,
    dask: str | None,
    runs: int,
    engine: str,
) -> dict[str, Any]:
    from siting import ComputeOptions, travel_times

    times, memory, stored = [], {"peak_mb": 0.0}, 0
    client, cluster_start_s = bench_od._dask_client(dask, workers)
    for _ in range(runs):
        with bench_od._peak_rss(memory):
            started = time.perf_counter()
            od = travel_times(
                network,
                origins,
                sites,
                max_minutes=MAX_MINUTES,
                compute=ComputeOptions(workers=workers, dask=client, engine=engine, progress=False),
            )
            times.append(round(time.perf_counter() - started, 2))
        stored, chosen = od.summary.stored_pairs, od.metadata["engine"]
        del od
    if client is not None:
        client.close()
        client.cluster.close()
    return {
        "dask_cluster_start_s": cluster_start_s,
        "times_s": times,
        "median_s": statistics.median(times),
        "stored_pairs": stored,
        "engine": chosen,
        "matrix_stage_peak_rss_mb": memory["peak_mb"],
    }


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument(
        "--site-fraction",
        type=float,
        default=1.0,
        help="compute this share of the 2,000 sites and extrapolate (default: all)",
    )
    parser.add_argument("--setups", nargs="*", default=list(SETUPS), choices=list(SETUPS))
    parser.add_argument(
        "--engine",
        choices=("auto", "phast", "cch", "dijkstra"),
        default="auto",
        help="travel_times' engine (auto: probed; the 90-minute cut-off makes Dijkstra close)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the projection and print its JSON."""
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    from siting import load_network, prepare_network
    from siting.travel import routing

    bench = bench_od
    pbf, tiles = _extract()
    started = time.perf_counter()
    graph = load_network(pbf, cache_dir=bench.NETWORK_CACHE)
    load_s = time.perf_counter() - started
    load_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    points = bench._points(graph, N_ORIGINS, N_SITES)
    graph_info = {
        "synthetic": "tiled synthetic extract: pyrosm's real Kotka roads copied into a "
        f"{tiles[0]} x {tiles[1]} grid of connected tiles; not Swedish roads",
        "extract": pbf.name,
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "load_network_s": round(load_s, 1),
        "load_peak_rss_mb": round(load_peak_mb, 1),
    }
    started = time.perf_counter()
    network = prepare_network(graph)
    # the ordering is kept on disk for later runs; "cch_ordering" says if this one built it
    cch_dir = bench.CACHE_DIR / "cch"
    topology_dir = cch_dir / f"cch-{network.arrays.topology_hash[:24]}"
    ordering = "loaded from an earlier run" if topology_dir.exists() else "built in this run"
    routing.build_cch(network.arrays, cache_dir=cch_dir)
    setup_s = time.perf_counter() - started
    del graph
    rss_before_mb = bench._release_memory()
    n_sites = max(1, round(N_SITES * args.site_fraction))
    origins = (np.arange(N_ORIGINS), points["origin_lon"], points["origin_lat"])
    sites = (np.arange(n_sites), points["site_lon"][:n_sites], points["site_lat"][:n_sites])
    results = {}
    for name in args.setups:
        workers, dask = SETUPS[name]
        logger.info("running %s on %d x %d", name, N_ORIGINS, n_sites)
        results[name] = _run_setup(
            network, origins, sites, workers=workers, dask=dask, runs=args.runs, engine=args.engine
        )
        if n_sites < N_SITES:
            results[name]["extrapolated_full_s"] = round(
                results[name]["median_s"] * N_SITES / n_sites, 1
            )
    report = {
        "benchmark": "Sweden-scale OD projection (issue 3)",
        "graph": graph_info,
        "job": {
            "origins": N_ORIGINS,
            "sites": N_SITES,
            "sites_computed": n_sites,
            "max_minutes": MAX_MINUTES,
            "extrapolated": n_sites < N_SITES,
            "engine_asked": args.engine,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            # the machine is shared: other work inflates every engine's times alike
            "load_average_1_5_15_min_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "setup_s": round(setup_s, 1),
        "cch_ordering": ordering,
        "rss_before_matrix_mb": round(rss_before_mb, 1),
        "setups": results,
        "scaling_vs_1_worker": _scaling(results),
        "notes": [
            "graph: tiled synthetic extract of a real OSM extract (Kotka), Sweden-sized only",
            "times are end to end: snapping 100,000 + sites points, search, sparse assembly",
            "peak memory: RSS of the process plus its workers, sampled (an upper bound)",
            "this machine has 2 cores: more than 2 workers cannot add speed here",
        ],
    }
    print(json.dumps(report, indent=2))
    return 0


def _scaling(results: dict[str, Any]) -> dict[str, float]:
    scaling = {}
    for kind in ("workers", "dask"):
        one, two = results.get(f"{kind}-1"), results.get(f"{kind}-2")
        if one and two:
            scaling[f"{kind}_2_vs_1"] = round(one["median_s"] / two["median_s"], 2)
    return scaling


if __name__ == "__main__":
    sys.exit(main())
