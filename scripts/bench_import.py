"""How long `import siting` and `siting --help` take, against the same at a baseline revision.

The baseline (default: the last commit before the layered redesign, when `siting/__init__.py`
imported every module eagerly) is exported with `git archive` into a temporary folder and run
from there with PYTHONPATH, so both are timed by the same interpreter in the same run, in
alternation. Each figure is the median wall time of --runs fresh processes. Also reports which
heavy libraries each `import siting` loads and the cumulative import time of `siting` from
`python -X importtime`. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "60d0ef8"  # main before the layered redesign
HEAVY = ("numpy", "scipy", "pandas", "geopandas", "shapely", "folium", "highspy", "pyvrp",
         "osmium", "dask", "networkx", "osmnx")  # fmt: skip
GOAL_HELP_S = 0.3

COMMANDS = {
    "import": "import siting",
    # the CLI's own entry point, as the `siting` script runs it
    "help_new": "import sys; from siting.cli.main import main; sys.exit(main(['--help']))",
    "help_old": "import sys; from siting.cli import main; sys.exit(main(['--help']))",
}


def _run_once(code: str, tree: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    # run in the tree: `python -c` puts the working folder before PYTHONPATH
    subprocess.run([sys.executable, "-c", code], env=env, cwd=tree, check=True, capture_output=True)
    return time.perf_counter() - start


def _heavy_loaded(tree: Path) -> list[str]:
    code = "import sys, siting; print(' '.join(sys.modules))"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tree, check=True, capture_output=True
    )
    loaded = {name.split(".")[0] for name in done.stdout.decode().split()}
    return sorted(loaded & set(HEAVY))


def _importtime_us(tree: Path) -> int:
    """Cumulative microseconds of the `siting` package in `python -X importtime`."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import siting"],
        env=env, cwd=tree, check=True, capture_output=True, text=True,
    )  # fmt: skip
    for line in done.stderr.splitlines():
        fields = [f.strip() for f in line.removeprefix("import time:").split("|")]
        if len(fields) == 3 and fields[2] == "siting":
            return int(fields[1])
    msg = "python -X importtime printed no line for siting"
    raise RuntimeError(msg)


def _export(revision: str, folder: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "siting"], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="processes per figure (5)")
    parser.add_argument("--baseline", default=BASELINE, help=f"git revision ({BASELINE})")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        old = _export(args.baseline, Path(temporary))
        trees = {"new": ROOT, "old": old}
        jobs = {
            "import_siting_s": {"new": COMMANDS["import"], "old": COMMANDS["import"]},
            "siting_help_s": {"new": COMMANDS["help_new"], "old": COMMANDS["help_old"]},
        }
        for tree in trees.values():  # warm the file cache once
            _run_once(COMMANDS["import"], tree)
        times: dict[str, dict[str, list[float]]] = {j: {"new": [], "old": []} for j in jobs}
        for _ in range(args.runs):
            for job, codes in jobs.items():
                for side in ("new", "old"):
                    times[job][side].append(_run_once(codes[side], trees[side]))
        result: dict[str, object] = {"runs": args.runs, "baseline": args.baseline}
        for job, sides in times.items():
            new, old_ = statistics.median(sides["new"]), statistics.median(sides["old"])
            result[job] = {"new": round(new, 3), "baseline": round(old_, 3),
                           "ratio_baseline_over_new": round(old_ / new, 1)}  # fmt: skip
        result["importtime_siting_us"] = {s: _importtime_us(t) for s, t in trees.items()}
        result["heavy_modules_after_import"] = {s: _heavy_loaded(t) for s, t in trees.items()}
        help_median = times["siting_help_s"]["new"]
        result["goal_help_under_0_3_s"] = statistics.median(help_median) <= GOAL_HELP_S
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
