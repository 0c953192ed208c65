"""`siting.run_demo` over other example scenarios: its summary of each run and problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario_files import scenario_text, write_scenario

import siting.scenario.demo

# every test here writes through the cache: give each its own
pytestmark = pytest.mark.usefixtures("private_cache")


def test_demo_summary_of_a_problem_without_metrics(tmp_path: Path) -> None:
    """A trade-off curve (no one set of offices, so no metrics) is listed with null shares."""
    curve = {"name": '"curve"', "kind": '"tradeoff"', "max_n_sites": "2", "max_minutes": "30"}
    text = scenario_text({("outputs", "map"): "true"}, problems=[curve])
    for name in siting.scenario.demo.DEMO_SCENARIOS.values():
        write_scenario(tmp_path / "data" / "scenarios", text, name=name)
    summary = siting.scenario.demo.run_demo(tmp_path / "demo", data_dir=tmp_path / "data")
    today, listed = summary["sverige"]["problems"]
    # office A reaches A, B (11.1 min) and C (22.2) within 30 min: 180 of 200 people
    assert (today["name"], today["share_within_30_min"]) == ("existing", pytest.approx(0.9))
    assert (listed["name"], listed["kind"]) == ("curve", "tradeoff")
    assert listed["share_within_30_min"] is None
    assert listed["mean_minutes"] is None
