"""Benchmark OD blocks on a Dask LocalCluster against threads on the same work (issue 17, item 3).

It builds (or reuses) the ~324,000-node tiled drive graph (pyrosm's real Kotka roads tiled
39 x 38 by ``scripts/tiled_extract.py --drive-only``; not Swedish roads), saves it prepared
(``save_road_network``: memory-mapped arrays and the CCH node order) once into the benchmark
cache, reloads it from that folder, draws seeded origins (jittered around random nodes) and
sites (random nodes), and computes the same matrix (CCH, the same blocks) in these set-ups:

- ``threads`` (the baseline): ``workers`` CCH threads in this process, blocks kept in memory;
- ``threads-store``: the same, each block written to an on-disk block store as it finishes,
  the matrix assembled from the files;
- ``dask``: a LocalCluster of ``workers`` single-threaded worker processes (started once, its
  start time reported apart); each worker loads the saved network from its folder once and
  keeps it, tasks carry only block bounds, blocks come back to this process;
- ``dask-store``: the same, the workers write the blocks into the store themselves;
- ``dask-scattered``: the network object without its folder, scattered to the workers once
  per matrix (the fallback when there is no saved network).

Set-ups run round-robin, so the shared machine's load falls on all alike. Round 0 is a
warm-up (workers load the network, metrics are customised), reported as ``first_s``; the
medians are over the later rounds. Every matrix is checked bit for bit against the threads'
one. Peak memory is this process plus its children (the Dask workers), sampled; CPU seconds
are theirs too (the work done, which the machine's other load does not stretch as it does
the wall time).

Usage: ``python scripts/bench_dask_od.py [--runs 3] [--origins 100000] [--sites 500]``
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

SCRIPTS_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS_DIR.parent))  # import siting from this checkout
sys.path.insert(0, str(SCRIPTS_DIR))  # and the OD benchmark's helpers

import bench_od  # noqa: E402

SETUPS = ("threads", "threads-store", "dask", "dask-store", "dask-scattered")
SEED = 2026


def _prepared_network(target_nodes: int) -> tuple[Path, dict[str, Any]]:
    """The tiled graph's prepared folder, built and saved on the first run only."""
    import pyrosm

    from siting.travel.prepared import load_road_network, save_road_network

    tiled = bench_od._tiled_extract_module()
    source = Path(pyrosm.__file__).parent / "data" / "test.osm.pbf"
    tiles = tiled.grid_for_target_nodes(source, target_nodes=target_nodes)
    pbf = Path(
        tiled.make_tiled_extract(source, tiles_x=tiles[0], tiles_y=tiles[1], drive_only=True)
    )
    folder = bench_od.CACHE_DIR / "odblocks" / f"{pbf.name.removesuffix('.osm.pbf')}-prepared"
    info: dict[str, Any] = {"extract": pbf.name, "tiles": list(tiles), "prepared": str(folder)}
    if not (folder / "manifest.json").is_file():
        started = time.perf_counter()
        save_road_network(load_road_network(pbf, cache=False), folder)
        info["build_and_save_s"] = round(time.perf_counter() - started, 1)
    return folder, info


def _points(network: Any, n_origins: int, n_sites: int) -> tuple[Any, Any]:
    arrays = network.arrays
    rng = np.random.default_rng(SEED)
    picked = rng.choice(arrays.n_nodes, n_origins, replace=n_origins > arrays.n_nodes)
    jitter = rng.uniform(-0.001, 0.001, (2, n_origins))  # up to ~110 m: cells off the road
    sites = rng.choice(arrays.n_nodes, n_sites, replace=False)
    origins = (np.arange(n_origins), arrays.lon[picked] + jitter[0], arrays.lat[picked] + jitter[1])
    return origins, (np.arange(n_sites), arrays.lon[sites], arrays.lat[sites])


def _runner(
    setup: str, network: Any, points: tuple[Any, Any], *, client: Any, args: argparse.Namespace
) -> Callable[[Path], Any]:
    from siting.travel.odmatrix import RoadNetwork, travel_times
    from siting.travel.options import ComputeOptions

    road = RoadNetwork(network.arrays) if setup == "dask-scattered" else network
    dask = client if setup.startswith("dask") else None

    def run(scratch: Path) -> Any:
        store = scratch / "blocks" if setup.endswith("store") else None
        compute = ComputeOptions(
            engine="cch", workers=args.workers, dask=dask, store_dir=store, progress=False
        )
        return travel_times(road, *points, max_minutes=args.max_minutes, compute=compute)

    return run


def _cpu_s() -> float:
    """CPU seconds used so far by this process and its children (the Dask workers, alive
    across runs): the work done, whatever the other load on a shared machine."""
    import psutil

    total = 0.0
    for process in [psutil.Process(), *psutil.Process().children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def _identical(first: Any, second: Any) -> bool:
    return bool(
        np.array_equal(first.minutes.indptr, second.minutes.indptr)
        and np.array_equal(first.minutes.indices, second.minutes.indices)
        and np.array_equal(first.minutes.data.view(np.uint32), second.minutes.data.view(np.uint32))
    )


def _measure(runners: dict[str, Callable[[Path], Any]], runs: int) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {
        name: {"times_s": [], "identical_to_threads": True, "peak_rss_mb": 0.0} for name in runners
    }
    reference = None
    for round_index in range(runs + 1):
        for name, run in runners.items():
            memory: dict[str, float] = {}
            with (
                tempfile.TemporaryDirectory(dir=bench_od.CACHE_DIR) as scratch,
                bench_od._peak_rss(memory),
            ):
                started, cpu = time.perf_counter(), _cpu_s()
                od = run(Path(scratch))
                elapsed = round(time.perf_counter() - started, 3)
                cpu_used = round(_cpu_s() - cpu, 2)
            # each figure also to stderr at once: a long run cut short keeps what it measured
            figure = {"round": round_index, "setup": name, "s": elapsed, "cpu_s": cpu_used}
            print(json.dumps(figure), file=sys.stderr)
            result = results[name]
            if round_index == 0:
                result["first_s"] = elapsed
            else:
                result["times_s"].append(elapsed)
                result.setdefault("cpu_s", []).append(cpu_used)
            result["peak_rss_mb"] = max(result["peak_rss_mb"], memory["peak_mb"])
            reference = od if reference is None else reference
            result["identical_to_threads"] &= _identical(reference, od)
            result["stored_pairs"] = od.summary.stored_pairs
            del od
    baseline = statistics.median(results["threads"]["times_s"])
    best = min(results["threads"]["times_s"])
    for result in results.values():
        result["median_s"] = statistics.median(result["times_s"])
        result["threads_over_this"] = round(baseline / result["median_s"], 2)
        result["median_cpu_s"] = statistics.median(result["cpu_s"])
        # the fastest round: the least disturbed by other load on a shared machine
        result["min_s"] = min(result["times_s"])
        result["threads_min_over_this_min"] = round(best / result["min_s"], 2)
    return results


def _assembly_s(runner: Callable[[Path], Any]) -> dict[str, float]:
    """Time of assembling the matrix from a finished store alone (the separate step)."""
    from siting.travel.odmatrix import load_block_store

    with tempfile.TemporaryDirectory(dir=bench_od.CACHE_DIR) as scratch:
        runner(Path(scratch))
        started = time.perf_counter()
        load_block_store(Path(scratch) / "blocks")
        assemble = time.perf_counter() - started
        files = list((Path(scratch) / "blocks").glob("block-*.npz"))
        size_mb = sum(f.stat().st_size for f in files) / 2**20
    return {"assemble_s": round(assemble, 3), "blocks": len(files), "store_mb": round(size_mb, 1)}


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="measured rounds after a warm-up")
    parser.add_argument("--origins", type=int, default=100_000)
    parser.add_argument("--sites", type=int, default=500)
    parser.add_argument("--max-minutes", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--target-nodes", type=int, default=330_000)
    parser.add_argument("--setups", nargs="*", default=list(SETUPS), choices=SETUPS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its JSON."""
    args = _parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    import distributed

    from siting.travel.prepared import load_road_network

    load_at_start = [round(x, 2) for x in os.getloadavg()]
    folder, graph_info = _prepared_network(args.target_nodes)
    started = time.perf_counter()
    network = load_road_network(folder)
    graph_info.update(
        nodes=network.arrays.n_nodes,
        arcs=int(network.arrays.tail.size),
        reload_s=round(time.perf_counter() - started, 2),
        synthetic="tiled synthetic extract of real Kotka roads; not Swedish roads",
    )
    points = _points(network, args.origins, args.sites)
    started = time.perf_counter()
    cluster = distributed.LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = distributed.Client(cluster)
    cluster_start_s = round(time.perf_counter() - started, 2)
    try:
        runners = {
            name: _runner(name, network, points, client=client, args=args)
            for name in ("threads", *[s for s in args.setups if s != "threads"])
        }
        results = _measure(runners, args.runs)
        assembly = _assembly_s(runners["threads-store"]) if "threads-store" in runners else {}
    finally:
        client.close()
        cluster.close()
    report = {
        "benchmark": "OD blocks on a Dask LocalCluster vs threads (issue 17 item 3)",
        "graph": graph_info,
        "shape": [args.origins, args.sites],
        "max_minutes": args.max_minutes,
        "workers": args.workers,
        "dask_cluster_start_s": cluster_start_s,
        "results": results,
        "store_assembly": assembly,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_start": load_at_start,
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
