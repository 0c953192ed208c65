"""Benchmark OD travel-time matrices: siting against scipy, networkx and pandana (issue 3).

One run builds (or reuses) a county-sized drive graph by tiling a real OSM extract
(``scripts/tiled_extract.py``; no Swedish extract is available offline), draws seeded origins
(jittered around random nodes) and sites (random nodes), and measures every engine on the same
graph and points, each in its own subprocess so that its peak memory is its own:

- ``siting``: ``siting.travel_times`` end to end (snapping included) with 2 worker processes,
  and with 1; setup is flattening the graph plus building and customising the CCH;
- ``scipy``: ``scipy.sparse.csgraph.dijkstra`` from every site on the reversed graph (with
  ``limit=`` for the cut-off), the times of the origins' nodes gathered per site chunk;
- ``networkx``: one Dijkstra per site on a few sites, extrapolated (labelled so);
- ``pandana``: its contraction hierarchy's pairwise ``shortest_path_lengths`` on a sample of
  pairs, extrapolated to the shape (labelled so).

Shapes: 2,000 x 200 and 100,000 x 500, without and with a 60-minute cut-off. It prints one JSON
object with medians, every run, peak memory and the ratios baseline / siting.

Usage: ``python scripts/bench_od.py [--runs 3] [--target-nodes 330000] [--skip ENGINE ...]``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import pickle
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

SCRIPTS_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS_DIR.parent))  # import siting from this checkout
SHAPES = ((2_000, 200), (100_000, 500))
CUTOFFS: tuple[float | None, ...] = (None, 60.0)
ENGINES = ("siting", "siting-1-worker", "scipy", "networkx", "pandana")
NETWORKX_SITES = 3
PANDANA_PAIRS = 400_000
SEED = 2026


def _tiled_extract_module() -> Any:
    spec = importlib.util.spec_from_file_location("tiled_extract", SCRIPTS_DIR / "tiled_extract.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def _build_graph(pbf: Path, out: Path) -> dict[str, Any]:
    """Build the drive graph with travel times and pickle it; prefer siting's own loader."""
    started = time.perf_counter()
    try:
        from siting.network import load_network  # type: ignore[attr-defined]

        graph = load_network(pbf)
        loader = "siting.network.load_network"
    except ImportError:
        import osmnx as ox
        import pyrosm

        osm = pyrosm.OSM(str(pbf))
        nodes, edges = osm.get_network("driving", nodes=True)
        graph = osm.to_graph(nodes, edges, graph_type="networkx", osmnx_compatible=True)
        graph = ox.add_edge_travel_times(ox.add_edge_speeds(graph))
        loader = "pyrosm get_network('driving') + osmnx speeds (siting.load_network not ready)"
    with tempfile.NamedTemporaryFile(dir=out.parent, delete=False) as handle:
        pickle.dump(graph, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(handle.name, out)
    return {
        "loader": loader,
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "build_s": round(time.perf_counter() - started, 1),
    }


def _points(graph: Any, n_origins: int, n_sites: int) -> dict[str, npt.NDArray[Any]]:
    rng = np.random.default_rng(SEED + n_origins)
    ids = np.fromiter(graph.nodes, dtype=np.int64)
    lon = np.array([graph.nodes[n]["x"] for n in ids])
    lat = np.array([graph.nodes[n]["y"] for n in ids])
    picked = rng.choice(ids.size, n_origins, replace=n_origins > ids.size)
    jitter = rng.uniform(-0.001, 0.001, (2, n_origins))  # up to ~110 m: cells off the road
    sites = rng.choice(ids.size, n_sites, replace=False)
    return {
        "origin_lon": lon[picked] + jitter[0],
        "origin_lat": lat[picked] + jitter[1],
        "site_lon": lon[sites],
        "site_lat": lat[sites],
    }


def _rss_mb() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_rss_mb": round(own, 1), "peak_rss_worker_mb": round(children, 1)}


def _timed(function: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(round(time.perf_counter() - started, 3))
    return times


def _measure_siting(graph: Any, shapes: list[dict[str, Any]], runs: int, workers: int) -> Any:
    from siting import odmatrix, routing

    started = time.perf_counter()
    network = odmatrix.prepare_network(graph)
    routing.build_cch(network.arrays)
    setup_s = time.perf_counter() - started
    results = {}
    for case in shapes:
        origins = (np.arange(case["origin_lon"].size), case["origin_lon"], case["origin_lat"])
        sites = (np.arange(case["site_lon"].size), case["site_lon"], case["site_lat"])
        for cutoff in CUTOFFS:
            outputs: list[Any] = []

            def run(
                origins: Any = origins, sites: Any = sites, cutoff: Any = cutoff, out: Any = outputs
            ) -> None:
                od = odmatrix.travel_times(
                    network, origins, sites, max_minutes=cutoff, workers=workers, progress=False
                )
                out[:] = [od.summary.stored_pairs, od.metadata["engine"]]

            times = _timed(run, runs)
            results[_key(case, cutoff)] = {
                "times_s": times,
                "stored_pairs": outputs[0],
                "engine": outputs[1],
            }
    return {"setup_s": round(setup_s, 2), "cases": results}


def _key(case: dict[str, Any], cutoff: float | None) -> str:
    shape = f"{case['origin_lon'].size}x{case['site_lon'].size}"
    return shape + ("" if cutoff is None else f"@{cutoff:g}min")


def _snapped_nodes(graph: Any, case: dict[str, Any]) -> tuple[npt.NDArray[Any], ...]:
    from siting.network import snap_points

    origins = snap_points(graph, case["origin_lon"], case["origin_lat"]).node
    sites = snap_points(graph, case["site_lon"], case["site_lat"]).node
    return origins, sites


def _measure_scipy(graph: Any, shapes: list[dict[str, Any]], runs: int) -> Any:
    from scipy.sparse import csgraph

    from siting import routing

    started = time.perf_counter()
    arrays = routing.array_graph(graph)
    backward = arrays.backward_csr
    setup_s = time.perf_counter() - started
    results = {}
    for case in shapes:
        origin_nodes, site_nodes = _snapped_nodes(graph, case)
        origins, sites = arrays.positions(origin_nodes), arrays.positions(site_nodes)
        for cutoff in CUTOFFS:
            limit = np.inf if cutoff is None else cutoff * 60.0

            def run(origins: Any = origins, sites: Any = sites, limit: float = limit) -> None:
                for start in range(0, sites.size, 20):  # 20 rows of a dense n_nodes block
                    times = csgraph.dijkstra(
                        backward, indices=sites[start : start + 20], limit=limit
                    )
                    np.take(times, origins, axis=1)  # gather, as a matrix would

            results[_key(case, cutoff)] = {"times_s": _timed(run, max(1, runs - 1))}
    return {"setup_s": round(setup_s, 2), "cases": results}


def _measure_networkx(graph: Any, shapes: list[dict[str, Any]], runs: int) -> Any:
    import networkx as nx

    reverse = graph.reverse(copy=False)
    results = {}
    for case in shapes:
        origin_nodes, site_nodes = _snapped_nodes(graph, case)
        sample = site_nodes[:NETWORKX_SITES]
        for cutoff in CUTOFFS:
            limit = None if cutoff is None else cutoff * 60.0

            def run(sample: Any = sample, limit: Any = limit, origins: Any = origin_nodes) -> None:
                for site in sample:
                    times = nx.single_source_dijkstra_path_length(
                        reverse, int(site), cutoff=limit, weight="travel_time"
                    )
                    [times.get(int(o)) for o in origins]

            measured = _timed(run, 1)
            scale = site_nodes.size / sample.size
            results[_key(case, cutoff)] = {
                "times_s": [round(t * scale, 1) for t in measured],
                "extrapolated_from_sites": int(sample.size),
            }
    return {"setup_s": 0.0, "cases": results}


def _measure_pandana(graph: Any, shapes: list[dict[str, Any]], runs: int) -> Any:
    import pandana
    import pandas as pd

    from siting import routing

    arrays = routing.array_graph(graph)
    started = time.perf_counter()
    nodes = pd.DataFrame({"x": arrays.lon, "y": arrays.lat}, index=arrays.node_id)
    edges = pd.DataFrame(
        {
            "from": arrays.node_id[arrays.tail],
            "to": arrays.node_id[arrays.head],
            "travel_time": arrays.travel_time_s,
        }
    )
    network = pandana.Network(
        nodes["x"], nodes["y"], edges["from"], edges["to"], edges[["travel_time"]], twoway=False
    )
    setup_s = time.perf_counter() - started
    results = {}
    rng = np.random.default_rng(SEED)
    for case in shapes:
        origin_nodes, site_nodes = _snapped_nodes(graph, case)
        n_pairs = origin_nodes.size * site_nodes.size
        sample = min(n_pairs, PANDANA_PAIRS)
        pair = (
            rng.choice(n_pairs, sample, replace=False) if sample < n_pairs else np.arange(n_pairs)
        )
        sources = origin_nodes[pair // site_nodes.size]
        targets = site_nodes[pair % site_nodes.size]

        def run(sources: Any = sources, targets: Any = targets) -> None:
            network.shortest_path_lengths(sources, targets, imp_name="travel_time")

        measured = _timed(run, 1)
        for cutoff in CUTOFFS:  # pandana's pairwise query has no cut-off: same work
            results[_key(case, cutoff)] = {
                "times_s": [round(t * n_pairs / sample, 2) for t in measured],
                "extrapolated_from_pairs": int(sample),
            }
    return {"setup_s": round(setup_s, 2), "cases": results}


def _measure(engine: str, graph_path: Path, points_path: Path, runs: int) -> dict[str, Any]:
    with graph_path.open("rb") as handle:
        graph = pickle.load(handle)  # our own file from this run
    with np.load(points_path) as archive:
        shapes = [
            {name.split(":", 1)[1]: archive[name] for name in archive.files if name.startswith(p)}
            for p in sorted({name.split(":", 1)[0] for name in archive.files})
        ]
    shapes.sort(key=lambda case: case["origin_lon"].size)
    measures: dict[str, Callable[[], Any]] = {
        "siting": lambda: _measure_siting(graph, shapes, runs, workers=2),
        "siting-1-worker": lambda: _measure_siting(graph, shapes, max(1, runs - 2), workers=1),
        "scipy": lambda: _measure_scipy(graph, shapes, runs),
        "networkx": lambda: _measure_networkx(graph, shapes, runs),
        "pandana": lambda: _measure_pandana(graph, shapes, runs),
    }
    result = measures[engine]()
    result.update(_rss_mb())
    return dict(result)


def _run_engine(engine: str, graph_path: Path, points_path: Path, runs: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--measure", engine, "--graph", str(graph_path)]
    command += ["--points", str(points_path), "--runs", str(runs)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:] or ["failed"]}
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _summarise(results: dict[str, Any]) -> dict[str, Any]:
    siting = results.get("siting", {}).get("cases", {})
    medians: dict[str, dict[str, float]] = {}
    ratios: dict[str, dict[str, float]] = {}
    for engine, result in results.items():
        for case, value in result.get("cases", {}).items():
            median = statistics.median(value["times_s"])
            medians.setdefault(case, {})[engine] = median
            if engine != "siting" and case in siting:
                own = statistics.median(siting[case]["times_s"])
                ratios.setdefault(case, {})[f"{engine}/siting"] = round(median / own, 2)
    return {"median_s": medians, "ratios": ratios}


def _goals(results: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    siting = results.get("siting", {})
    big = [case for case in summary["median_s"] if case.startswith("100000x500")]
    return {
        "100000x500_at_most_10_s": all(
            summary["median_s"][c].get("siting", 1e9) <= 10 for c in big
        ),
        "peak_under_2_gb": max(siting.get("peak_rss_mb", 1e9), siting.get("peak_rss_worker_mb", 0))
        < 2000,
        "setup_at_most_15_s": siting.get("setup_s", 1e9) <= 15,
        "faster_than_scipy_everywhere": all(
            ratio > 1
            for case in summary["ratios"].values()
            for k, ratio in case.items()
            if k.startswith("scipy")
        ),
    }


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--target-nodes", type=int, default=330_000)
    parser.add_argument("--skip", nargs="*", default=[], choices=ENGINES)
    parser.add_argument("--measure", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--graph", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--points", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its JSON."""
    args = _parse_args(argv)
    if args.measure:
        print(json.dumps(_measure(args.measure, args.graph, args.points, args.runs)))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    tiled = _tiled_extract_module()
    import pyrosm

    source = Path(pyrosm.__file__).parent / "data" / "test.osm.pbf"
    tiles = tiled.grid_for_target_nodes(source, target_nodes=args.target_nodes)
    pbf = tiled.make_tiled_extract(source, tiles_x=tiles[0], tiles_y=tiles[1])
    graph_path = pbf.with_name(pbf.name + ".graph.pkl")
    graph_info: dict[str, Any] = {"tiles": list(tiles), "extract": pbf.name}
    if not graph_path.exists():
        graph_info.update(_build_graph(pbf, graph_path))
    with graph_path.open("rb") as handle:
        graph = pickle.load(handle)  # our own file
    graph_info.update(nodes=graph.number_of_nodes(), edges=graph.number_of_edges())
    with tempfile.TemporaryDirectory() as scratch:
        points_path = Path(scratch) / "points.npz"
        arrays = {}
        for index, (n_origins, n_sites) in enumerate(SHAPES):
            for name, values in _points(graph, n_origins, n_sites).items():
                arrays[f"{index}:{name}"] = values
        np.savez(points_path, **arrays)
        del graph
        results = {
            engine: _run_engine(engine, graph_path, points_path, args.runs)
            for engine in ENGINES
            if engine not in args.skip
        }
    summary = _summarise(results)
    report = {
        "benchmark": "OD travel-time matrix (issue 3)",
        "graph": graph_info,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "notes": [
            "graph: real OSM extract (pyrosm test.osm.pbf, Kotka) tiled; not Swedish roads",
            "networkx and pandana times are extrapolated from samples (see each case)",
            "siting times are end to end: snapping, search, sparse assembly",
        ],
        "engines": results,
        **summary,
        "goals": _goals(results, summary),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
