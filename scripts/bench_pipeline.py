"""`siting run` over a road network: a first run (cold caches) against a rerun (warm).

No Swedish extract installs offline, so the network is pyrosm's real `test.osm.pbf` tiled into
a county-sized grid in Dalarna (`scripts/tiled_extract.py`, about `--target-nodes` nodes). A
scenario puts `--points` demand points and `--sites` candidate sites at network nodes drawn
with a fixed seed, a 30-minute cut-off, and an MCLP and a p-median. The
cold run builds the drive network and the OD matrix; a rerun of the same scenario, or of one
that changes only its problems, reuses both from the cache (the network by the file's hash and
options, the matrix by network, points and options). The baseline in the same run is the cold
run. Prints one JSON document with medians over `--repeats` and the ratio.

    .venv/bin/python scripts/bench_pipeline.py [--target-nodes 30000] [--points 2000] [--sites 40]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import tiled_extract

import siting
from siting.roads.network import bundled_osm_extract, load_network

SCENARIO = """name = "bench"
seed = 1

[inputs]
network = "{network}"
population = {{ path = "demand.csv", id_column = "id", crs = "EPSG:4326" }}
candidates = {{ path = "sites.csv", crs = "EPSG:4326" }}
group_column = "area"

[travel]
max_minutes = 30

[[problems]]
kind = "mclp"
n_sites = 5
max_minutes = 10

[[problems]]
kind = "p-median"
n_sites = 5

[outputs]
map = false
"""


def write_inputs(folder: Path, network: Path, n_points: int, n_sites: int) -> Path:
    """Demand and sites at network nodes (seeded), and the scenario file naming them."""
    graph = load_network(network, cache_dir=folder / "points-cache")
    nodes = sorted(graph.nodes)
    rng = np.random.default_rng(1)
    chosen = rng.choice(len(nodes), size=n_points + n_sites, replace=False)
    lon = np.array([graph.nodes[nodes[i]]["x"] for i in chosen])
    lat = np.array([graph.nodes[nodes[i]]["y"] for i in chosen])
    people = rng.integers(1, 200, size=n_points)
    demand = ["id,population,lon,lat,area"] + [
        f"p{i},{people[i]},{lon[i]:.6f},{lat[i]:.6f},A" for i in range(n_points)
    ]
    sites = ["site_id,name,lon,lat"] + [
        f"s{j},Site {j},{lon[n_points + j]:.6f},{lat[n_points + j]:.6f}" for j in range(n_sites)
    ]
    (folder / "demand.csv").write_text("\n".join(demand) + "\n")
    (folder / "sites.csv").write_text("\n".join(sites) + "\n")
    scenario = folder / "bench.toml"
    scenario.write_text(SCENARIO.format(network=network))
    return scenario


def one_run(scenario: Path, out: Path) -> dict[str, Any]:
    started = time.perf_counter()
    result = siting.run_scenario(scenario, out, progress=False)
    wall = time.perf_counter() - started
    timings = result.summary["timings_s"]
    return {"wall_s": wall, "network_s": timings["network"], "od_matrix_s": timings["od_matrix"]}


def median(runs: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(run[key] for run in runs), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-nodes", type=int, default=30_000)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--sites", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    source = bundled_osm_extract("test.osm.pbf")
    tiles = tiled_extract.grid_for_target_nodes(source, target_nodes=args.target_nodes)
    network = tiled_extract.make_tiled_extract(source, tiles_x=tiles[0], tiles_y=tiles[1])
    cold, warm = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scenario = write_inputs(folder, network, args.points, args.sites)
        for repeat in range(args.repeats):
            # a fresh cache for each cold run: network and matrix are built
            os.environ["SITING_CACHE_DIR"] = str(folder / f"cache-{repeat}")
            cold.append(one_run(scenario, folder / "out"))
            warm.append(one_run(scenario, folder / "out"))
    keys = ("wall_s", "network_s", "od_matrix_s")
    report = {
        "benchmark": "siting run, cold caches vs warm (network and OD matrix reused)",
        "network": f"{network.name}: pyrosm's test.osm.pbf tiled {tiles[0]} x {tiles[1]}",
        "points": args.points,
        "sites": args.sites,
        "repeats": args.repeats,
        "machine": {"python": platform.python_version(), "load_average": os.getloadavg()},
        "cold_median": {key: median(cold, key) for key in keys},
        "warm_median": {key: median(warm, key) for key in keys},
        "warm_over_cold_wall": round(median(warm, "wall_s") / median(cold, "wall_s"), 3),
        "runs": {"cold": cold, "warm": warm},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
