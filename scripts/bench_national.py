"""The national run end to end: OD -> MCLP and p-median with 150 offices -> maps, timed per stage.

Issue 17, item 4. No national road network or 250 m grid of Sweden can be had offline, so the
run is on a synthetic-but-realistic national instance, generated with a fixed seed:

- roads: pyrosm's real Kotka extract tiled to about 2 million nodes, drive ways only
  (``scripts/tiled_extract.py``), saved once as a prepared network folder
  (``save_road_network``: arrays plus the CCH node order) that the run reloads memory-mapped,
  as a planner's machine would keep it; building that folder is timed apart ("prepare");
- people: about 600,000 populated 250 m cells (SCB ``rutid`` ids) over the tiled area. Where
  they live follows SCB's real 1 km grid of Dalarna stretched over the area and smoothed
  (a cell is drawn with probability by that density, without replacement); how many live in
  a cell is drawn from Dalarna's real cell counts, larger counts in denser places, scaled to
  Sweden's 10.6 million people;
- sites: about 1,300 localities (the most populated cell of a 3 km block, blocks drawn by
  their people), 117 of them offices open today.

The run itself is what a user does: ``siting run national.toml --out DIR`` on a generated
scenario (a MCLP and a p-median, each opening 150 offices with the 117 kept, within a time
limit; the optimiser's gap is reported). It runs in a child process; a thread samples the
resident memory of that process tree (psutil) and the pipeline's stages are timed by its own
``timings``, so each stage gets its wall time and its peak memory; the whole run's peak
RSS comes from ``wait4``. The map pages are checked for size and opened in headless
Chromium (when installed). Prints one JSON object.

``--scale`` shrinks everything alike (nodes, cells, sites, offices): 0.05 runs in seconds.

Usage: ``python scripts/bench_national.py [--scale 1.0] [--max-minutes 60]
[--time-limit-s 120] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

SCRIPTS_DIR = Path(__file__).resolve().parent
ROOT = SCRIPTS_DIR.parent
DALARNA = ROOT.parent / "shared" / "data" / "scb_befolkning_1km_2025_dalarna.csv"
CACHE_DIR = Path.home() / ".cache" / "siting-bench"
SEED = 17
FULL = {"nodes": 2_000_000, "cells": 600_000, "localities": 1_300, "fixed": 117, "open": 150}
SWEDEN_PEOPLE = 10_600_000
CELL_M = 250
BLOCK_M = 3_000  # one locality at most per block: towns spread as they do
SMOOTH_M = 4_000  # settlements of the stretched Dalarna pattern spread this far
GOAL_WALL_S = 600.0
GOAL_PEAK_MB = 12_000.0  # 12 GB, decimal
PAGE_BUDGET_MB = 5.0
SAMPLE_S = 0.2


def _tiled_extract_module() -> Any:
    """Import scripts/tiled_extract.py (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("tiled_extract", SCRIPTS_DIR / "tiled_extract.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


# --- the road network -------------------------------------------------------------------------


def prepare_network(scale: float, cache_dir: Path) -> dict[str, Any]:
    """The tiled extract and its saved prepared folder (built in a child process if missing)."""
    import pyrosm

    tiler = _tiled_extract_module()
    source = Path(pyrosm.__file__).parent / "data" / "test.osm.pbf"
    target = round(FULL["nodes"] * scale)
    tiles = tiler.grid_for_target_nodes(source, target_nodes=target, out_dir=cache_dir)
    pbf = Path(
        tiler.make_tiled_extract(
            source, tiles_x=tiles[0], tiles_y=tiles[1], drive_only=True, out_dir=cache_dir
        )
    )
    folder = cache_dir / "national" / (pbf.name.removesuffix(".osm.pbf") + "-network")
    record: dict[str, Any] = {"pbf": str(pbf), "tiles": list(tiles), "saved_folder": str(folder)}
    if not (folder / "manifest.json").is_file():
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", "save"]
        built = _child([*command, "--path", str(pbf), str(folder)])
        built.pop("samples")
        record["built_in_this_run"] = built
    layout = json.loads(pbf.with_name(pbf.name + ".json").read_text())["layout"]
    manifest = json.loads((folder / "manifest.json").read_text())
    record |= {"nodes": manifest["n_nodes"], "arcs": manifest["n_arcs"], "layout": layout}
    return record


def _save_worker(pbf: Path, folder: Path) -> dict[str, Any]:
    from siting.travel.prepared import load_road_network, save_road_network

    started = time.perf_counter()
    network = load_road_network(pbf, cache=False)
    arrays_s = time.perf_counter() - started
    save_road_network(network, folder)
    return {"arrays_s": round(arrays_s, 1), "total_s": round(time.perf_counter() - started, 1)}


# --- people and sites -------------------------------------------------------------------------


def area_bounds(layout: dict[str, Any]) -> tuple[float, float, float, float]:
    """The tiled area in SWEREF99 TM (inside all four corners), from the extract's layout."""
    from pyproj import Transformer

    west, south = 13.0, 60.0  # tiled_extract's DEFAULT_ORIGIN_LON_LAT
    east = west + layout["tiles_x"] * layout["pitch_lon_deg"]
    north = south + layout["tiles_y"] * layout["pitch_lat_deg"]
    to_sweref = Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True)
    xs, ys = to_sweref.transform([west, east, west, east], [south, south, north, north])
    return max(xs[0], xs[2]), max(ys[0], ys[1]), min(xs[1], xs[3]), min(ys[2], ys[3])


def density_surface(dalarna: Any, shape: tuple[int, int]) -> npt.NDArray[np.float64]:
    """Dalarna's people per 1 km cell stretched onto a `shape` grid of 250 m cells, smoothed."""
    from scipy.ndimage import gaussian_filter

    e, n = dalarna["e"].to_numpy(), dalarna["n"].to_numpy()
    rows = ((n - n.min()) / np.ptp(n) * (shape[0] - 1)).round().astype(int)
    cols = ((e - e.min()) / np.ptp(e) * (shape[1] - 1)).round().astype(int)
    surface = np.zeros(shape)
    np.add.at(surface, (rows, cols), dalarna["befolkning_2025"].to_numpy(dtype=float))
    smoothed: npt.NDArray[np.float64] = gaussian_filter(surface, SMOOTH_M / CELL_M)
    return smoothed + smoothed.max() * 1e-4  # a few people live far from any town


def make_population(
    bounds: tuple[float, float, float, float], n_cells: int, rng: np.random.Generator
) -> Any:
    """`n_cells` populated 250 m cells in `bounds`: ``rutid``, ``population``, ``density``."""
    import pandas as pd

    dalarna = pd.read_csv(DALARNA, encoding="utf-8-sig")
    west, south = (int(np.ceil(v / CELL_M)) * CELL_M for v in bounds[:2])
    shape = (int((bounds[3] - south) // CELL_M), int((bounds[2] - west) // CELL_M))
    if n_cells > shape[0] * shape[1] * 0.9:
        msg = f"{n_cells} cells do not fit the tiled area ({shape[0]} x {shape[1]})"
        raise SystemExit(msg)
    density = density_surface(dalarna, shape).ravel()
    # weighted sampling without replacement (Efraimidis and Spirakis): smallest E/w wins
    keys = rng.exponential(size=density.size) / density
    chosen = np.argpartition(keys, n_cells)[:n_cells]
    # Dalarna's real counts, larger ones where the density (with noise) is higher
    counts = np.sort(rng.choice(dalarna["befolkning_2025"].to_numpy(float), n_cells))[::-1]
    order = np.argsort(-(density[chosen] * rng.lognormal(0.0, 1.0, n_cells)))
    people = np.empty(n_cells)
    people[order] = counts
    people = np.maximum(1, np.round(people * SWEDEN_PEOPLE / FULL["cells"] / counts.mean()))
    row, col = np.divmod(chosen, shape[1])
    corner_e, corner_n = west + col * CELL_M, south + row * CELL_M
    rutid = [f"{e}{n}" for e, n in zip(corner_e.tolist(), corner_n.tolist(), strict=True)]
    return pd.DataFrame({"rutid": rutid, "population": people.astype(int)}).assign(
        e=corner_e + CELL_M / 2, n=corner_n + CELL_M / 2
    )


def make_sites(
    population: Any, n_localities: int, n_fixed: int, rng: np.random.Generator
) -> tuple[Any, Any]:
    """Localities (a block's most populated cell, blocks drawn by people) and today's offices."""
    import pandas as pd

    block = (population["e"] // BLOCK_M).astype(int) * 100_000 + population["n"] // BLOCK_M
    frame = population.assign(block=block.astype(int))
    best = frame.sort_values("population", ascending=False).drop_duplicates("block")
    weight = frame.groupby("block")["population"].sum().reindex(best["block"]).to_numpy()
    keys = rng.exponential(size=weight.size) / weight
    picked = best.iloc[np.argsort(keys)[:n_localities]].reset_index(drop=True)
    sites = pd.DataFrame(
        {
            "site_id": [f"L{i:04d}" for i in range(len(picked))],
            "name": [f"Locality {i}" for i in range(len(picked))],
            "e": picked["e"].to_numpy(),
            "n": picked["n"].to_numpy(),
        }
    )
    # today's offices in the larger places, as the state's were sited
    fixed = rng.choice(len(sites), n_fixed, replace=False, p=_shares(picked["population"]))
    is_fixed = np.zeros(len(sites), dtype=bool)
    is_fixed[fixed] = True
    return sites[is_fixed].assign(status="existing"), sites[~is_fixed].assign(status="candidate")


def _shares(values: Any) -> npt.NDArray[np.float64]:
    weights = np.asarray(values, dtype=float) ** 2
    return np.asarray(weights / weights.sum(), dtype=np.float64)


SCENARIO = """\
name = "national-synthetic"
description = "Synthetic national instance (issue 17, item 4): tiled real roads, \
Dalarna's settlement pattern stretched; not Swedish geography"
seed = {seed}

[inputs]
network = "{network}"
population = {{ path = "population.csv", cell_size_m = {cell}, crs = "EPSG:3006" }}
existing = {{ path = "existing.csv", crs = "EPSG:3006" }}
candidates = {{ path = "candidates.csv", crs = "EPSG:3006" }}

[travel]
max_minutes = {max_minutes}
workers = {workers}

[[problems]]
name = "mclp"
kind = "mclp"
n_sites = {n_open}
max_minutes = {cover_minutes}
mip_gap = {mip_gap}
time_limit_s = {time_limit_s}

[[problems]]
name = "p-median"
kind = "p-median"
n_sites = {n_open}
mip_gap = {mip_gap}
time_limit_s = {time_limit_s}

[outputs]
map = true
language = "en"
title = "National synthetic instance"
"""


def write_instance(
    folder: Path, network: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    """Population, site tables and the scenario file in `folder`; return their sizes."""
    rng = np.random.default_rng(SEED)
    sizes = {key: max(1, round(value * args.scale)) for key, value in FULL.items()}
    bounds = area_bounds(network["layout"])
    population = make_population(bounds, sizes["cells"], rng)
    existing, candidates = make_sites(population, sizes["localities"], sizes["fixed"], rng)
    population[["rutid", "population"]].to_csv(folder / "population.csv", index=False)
    existing.to_csv(folder / "existing.csv", index=False)
    candidates.to_csv(folder / "candidates.csv", index=False)
    text = SCENARIO.format(
        seed=SEED, network=network["saved_folder"], cell=CELL_M, workers=os.cpu_count() or 1,
        max_minutes=args.max_minutes, cover_minutes=args.cover_minutes, n_open=sizes["open"],
        mip_gap=args.mip_gap, time_limit_s=args.time_limit_s,
    )  # fmt: skip
    (folder / "national.toml").write_text(text, encoding="utf-8")
    return {
        "area_sweref_m": [round(v) for v in bounds],
        "cells": len(population),
        "people": int(population["population"].sum()),
        "localities": len(existing) + len(candidates),
        "offices_today": len(existing),
        "offices_to_open": sizes["open"],
    }


# --- the run, in a child process, sampled -----------------------------------------------------


def _run_worker(scenario: Path, out: Path, stages_file: Path) -> int:
    """`siting run` in this process, with each pipeline stage's start and end recorded."""
    from siting.cli.main import main as siting_main
    from siting.scenario import pipeline

    stages: list[tuple[str, float, float]] = []
    timed = pipeline._timed

    @contextmanager
    def recorded(timings: dict[str, Any], step: str) -> Iterator[None]:
        started = time.time()
        with timed(timings, step):
            yield
        stages.append((step, started, time.time()))

    def hook(name: str, label: Any) -> None:
        inner = getattr(pipeline, name)

        def timed_call(*args: Any, **kwargs: Any) -> Any:
            started = time.time()
            result = inner(*args, **kwargs)
            stages.append((label(*args), started, time.time()))
            return result

        setattr(pipeline, name, timed_call)

    # the benchmark's only hooks: names the pipeline looks up when it runs
    pipeline._timed = recorded  # type: ignore[assignment]
    hook("run_problem", lambda problem, *_: f"problem {problem.name}")
    hook("write_map", lambda path, *_: f"map {Path(path).name}")
    hook("check_scenario_inputs", lambda *_: "check_inputs")
    started = time.time()
    # a fresh matrix cache: the run computes its matrix (and saves it, as users' runs do)
    cache = out.parent / "od-cache"
    shutil.rmtree(cache, ignore_errors=True)
    code = siting_main(["run", str(scenario), "--out", str(out), "--cache-dir", str(cache)])
    stages.append(("total", started, time.time()))
    stages_file.write_text(json.dumps(stages))
    return int(code or 0)


class _Sampler(threading.Thread):
    """Resident memory (MB) and CPU seconds used of a process tree, every `SAMPLE_S` s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.done = pid, threading.Event()
        self.samples: list[tuple[float, float, float]] = []

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
            while not self.done.is_set():
                tree = [root, *root.children(recursive=True)]
                usage = [_usage(process) for process in tree]
                rss, cpu = sum(u[0] for u in usage), sum(u[1] for u in usage)
                self.samples.append((time.time(), rss / 1e6, cpu))
                self.done.wait(SAMPLE_S)
        except psutil.NoSuchProcess:
            return


def _usage(process: Any) -> tuple[int, float]:
    try:
        times = process.cpu_times()
        return int(process.memory_info().rss), float(times.user + times.system)
    except Exception:  # a child that just ended
        return 0, 0.0


def _child(command: list[str], root: Path = ROOT) -> dict[str, Any]:
    """Run `command` with `root`'s siting; its wall time, peak RSS (wait4) and the samples."""
    started = time.perf_counter()
    # the child's stdout (siting run's summary lines) goes to stderr: stdout is the JSON
    env = os.environ | {"PYTHONPATH": str(root)}
    process = subprocess.Popen(command, env=env, stdout=sys.stderr)
    sampler = _Sampler(process.pid)
    sampler.start()
    # wait4 gives this child's own rusage: its peak RSS, not the largest of all children
    _, status, usage = os.wait4(process.pid, 0)
    sampler.done.set()
    sampler.join()
    return {
        "exit_code": os.waitstatus_to_exitcode(status),
        "wall_s": round(time.perf_counter() - started, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb": round(usage.ru_maxrss * 1024 / 1e6, 1),  # ru_maxrss is in KiB
        "samples": sampler.samples,
    }


def stage_table(stages: list[list[Any]], samples: list[list[float]]) -> dict[str, Any]:
    """Each stage's wall time, the CPU seconds the tree used in it (on a shared machine the
    steadier figure) and the largest sampled RSS of the process tree during it."""
    table = {}
    for name, start, end in stages:
        inside = [(rss, cpu) for at, rss, cpu in samples if start <= at <= end]
        table[name] = {
            "wall_s": round(end - start, 1),
            "cpu_s_sampled": round(inside[-1][1] - inside[0][1], 1) if inside else None,
            "peak_rss_mb_sampled": round(max(r for r, _ in inside), 1) if inside else None,
        }
    return table


# --- the outputs ------------------------------------------------------------------------------


def check_outputs(out: Path) -> dict[str, Any]:
    """Gaps and objectives from summary.json; the map pages' sizes and whether they open."""
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    problems = {}
    for problem in summary.get("problems", []):
        keys = ("kind", "status", "objective", "bound", "gap", "build_s", "solve_s", "opened")
        record = {k: problem.get(k) for k in keys if k in problem}
        total = problem.get("metrics", {}).get("total", {})
        shares = ("share_within_30_min", "share_within_60_min", "mean_minutes", "unreached")
        problems[problem.get("name")] = record | {k: total.get(k) for k in shares}
    pages = {page.name: _open_page(page) for page in sorted(out.glob("map*.html"))}
    files = {f.name: round(f.stat().st_size / 1e6, 2) for f in sorted(out.iterdir())}
    return {
        "timings_s": summary.get("timings_s"),
        "od_pairs": summary["travel"].get("od_pairs"),
        "od_engine": summary["travel"].get("engine"),
        "problems": problems,
        "pages": pages,
        "files_mb": files,
    }


def _open_page(page: Path) -> dict[str, Any]:
    """Size, and the DOM headless Chromium builds: Leaflet's panes and image layers there."""
    record: dict[str, Any] = {"page_mb": round(page.stat().st_size / 1e6, 2)}
    record["within_size_budget"] = record["page_mb"] <= PAGE_BUDGET_MB
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return record | {"opened": "chromium not installed"}
    started = time.perf_counter()
    dom = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,900",
         "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=300, check=False,
    ).stdout  # fmt: skip
    return record | {
        "chromium_wall_s": round(time.perf_counter() - started, 2),
        "leaflet_map_built": "leaflet-map-pane" in dom,
        "image_layers": dom.count("leaflet-image-layer"),
        "svg_paths": dom.count("<path"),
    }


# --- main ------------------------------------------------------------------------------------


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="of every size (0.05: seconds)")
    parser.add_argument("--max-minutes", type=float, default=60.0, help="the OD cut-off")
    parser.add_argument("--cover-minutes", type=float, default=30.0, help="MCLP's standard")
    parser.add_argument("--mip-gap", type=float, default=0.01)
    parser.add_argument("--time-limit-s", type=float, default=120.0, help="per problem")
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR)
    parser.add_argument("--keep", type=Path, default=None, help="keep the instance and run here")
    parser.add_argument(
        "--baseline-root",
        type=Path,
        default=None,
        help="also run the same instance with the siting of this checkout (e.g. main's)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("worker_args", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _environment() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True, cwd=SCRIPTS_DIR, check=False,
    ).stdout.strip()  # fmt: skip
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "git_commit": commit,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _worker(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    if args.worker == "save":
        result = _save_worker(args.path, Path(args.worker_args[0]))
        logger.info("saved network: %s", result)
        return 0
    scenario, out, stages_file = (Path(a) for a in args.worker_args)
    return _run_worker(scenario, out, stages_file)


def main(argv: Sequence[str] | None = None) -> int:
    """Prepare the instance, run it as `siting run` (and with the baseline), print the JSON."""
    args = _parse_args(argv)
    if args.worker:
        return _worker(args)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    environment = _environment()
    started = time.perf_counter()
    network = prepare_network(args.scale, args.cache_dir)
    roots = {"this checkout": ROOT}
    if args.baseline_root is not None:
        roots["baseline"] = args.baseline_root.resolve()
    with tempfile.TemporaryDirectory(prefix="bench-national-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        instance = write_instance(folder, network, args)
        prepare_s = round(time.perf_counter() - started, 1)
        logger.info("instance: %s", instance)
        runs = {name: run_once(folder / _slug(name), folder, root) for name, root in roots.items()}
    report = {
        "benchmark": "national run end to end: siting run on a synthetic national instance "
        "(issue 17, item 4)",
        "scale": args.scale,
        "network": {k: v for k, v in network.items() if k != "layout"},
        "instance": instance,
        "options": {
            "od_max_minutes": args.max_minutes,
            "mclp_max_minutes": args.cover_minutes,
            "mip_gap": args.mip_gap,
            "time_limit_s_per_problem": args.time_limit_s,
        },
        "preparation_s_not_in_run": prepare_s,
        "runs": runs,
        "goals": _goals(runs["this checkout"]),
        "environment": environment | {"load_average_at_end": os.getloadavg()},
    }
    if "baseline" in runs:
        report["ratios_this_over_baseline"] = _ratios(runs["this checkout"], runs["baseline"])
    print(json.dumps(report, indent=2))
    return 0 if all(run["exit_code"] == 0 for run in runs.values()) else 1


def run_once(folder: Path, instance: Path, root: Path) -> dict[str, Any]:
    """`siting run` on the instance with `root`'s siting: wall, memory, stages, outputs."""
    folder.mkdir(parents=True, exist_ok=True)
    out, stages_file = folder / "run", folder / "stages.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "run"]
    command += [str(instance / "national.toml"), str(out), str(stages_file)]
    run = _child(command, root)
    samples = run.pop("samples")
    stages = json.loads(stages_file.read_text()) if stages_file.exists() else []
    return run | {
        "root": str(root),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "peak_rss_tree_mb_sampled": max((rss for _, rss, _ in samples), default=None),
        "stages": stage_table(stages, samples),
        "outputs": check_outputs(out) if run["exit_code"] == 0 else {},
    }


def _slug(name: str) -> str:
    return name.replace(" ", "-")


def _goals(run: dict[str, Any]) -> dict[str, Any]:
    peak = max(run["peak_rss_mb"], run["peak_rss_tree_mb_sampled"] or 0.0)
    return {
        "wall_s_max": GOAL_WALL_S,
        "peak_rss_mb_max": GOAL_PEAK_MB,
        "wall_met": run["exit_code"] == 0 and run["wall_s"] <= GOAL_WALL_S,
        "memory_met": peak <= GOAL_PEAK_MB,
    }


def _ratios(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """This checkout's wall time, CPU time and peak memory over the baseline's; per stage
    wall and CPU (on a loaded machine the CPU ratio is the steadier one)."""
    ratios: dict[str, Any] = {
        "run_wall": _ratio(new["wall_s"], old["wall_s"]),
        "run_cpu": _ratio(new["cpu_s"], old["cpu_s"]),
        "peak_rss": _ratio(new["peak_rss_mb"], old["peak_rss_mb"]),
    }
    for stage, record in new["stages"].items():
        before = old["stages"].get(stage, {})
        ratios[stage] = {
            "wall": _ratio(record["wall_s"], before.get("wall_s")),
            "cpu": _ratio(record["cpu_s_sampled"], before.get("cpu_s_sampled")),
        }
    return ratios


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return None if numerator is None or not denominator else round(numerator / denominator, 3)


if __name__ == "__main__":
    sys.exit(main())
