"""Each plan's equity and attendance on the pages people read: the run's maps, the cards and
the comparison of `siting compare`, checked against the measures worked out independently."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bs4 import BeautifulSoup
from scenario_files import scenario_text, write_scenario

from siting.report.equity_text import PlanEquity
from siting.scenario.compare_runs import compare_runs
from siting.scenario.pipeline import run_scenario

#: one step of 0.1 degree of latitude on the mean-radius sphere, in km (= minutes at 60 km/h)
STEP = 6_371.0088 * math.pi / 1800
PEOPLE = np.array([100.0, 50.0, 30.0, 20.0])

pytestmark = pytest.mark.usefixtures("private_cache")


def _gini(minutes: np.ndarray, people: np.ndarray) -> float:  # type: ignore[type-arg]
    """Weighted Gini as the mean absolute difference over twice the mean (every pair)."""
    pairs = np.abs(minutes[:, None] - minutes[None, :]) * people[:, None] * people[None, :]
    return float(pairs.sum() / (2 * people.sum() ** 2 * (people @ minutes / people.sum())))


def _run(folder: Path, language: str = "en") -> dict[str, Any]:
    problem = {"name": '"two offices"', "kind": '"p-median"', "n_sites": "2"}
    changes = {("travel", "decay"): '{ kind = "linear", max_minutes = 60 }',
               ("outputs", "map"): "true", ("outputs", "language"): f'"{language}"'}  # fmt: skip
    path = write_scenario(folder, scenario_text(changes, problems=[problem]))
    return run_scenario(path, folder / "out", progress=False).summary


def test_today_by_hand() -> None:
    """One office at A: Gini by pairs, worst tenth is D (3 steps), attendance by the decay."""
    minutes = np.array([0.0, 1.0, 2.0, 3.0]) * STEP
    record = {
        "equity": {"total": {"gini": _gini(minutes, PEOPLE), "palma": None, "theil": 0.5,
                             "worst_decile_minutes": 3 * STEP}},
        "attendance": {"people": float(PEOPLE @ (1 - minutes / 60)), "share": 0.842},
    }  # fmt: skip
    equity = PlanEquity.from_summary(record)
    assert equity is not None
    assert equity.line("en") == (
        f"Gini {_gini(minutes, PEOPLE):.3f} · Palma – · Theil 0.500 · "
        f"Worst-off tenth (mean) {3 * STEP:.1f} min · Expected visitors "
        f"{PEOPLE @ (1 - minutes / 60):.0f} (84.2 %)"
    )
    assert PlanEquity.from_summary({"kind": "tradeoff"}) is None


def test_run_summary_and_map_agree_with_the_hand_figures(tmp_path: Path) -> None:
    """The run's figures for today are those by hand, and its map's panel shows them."""
    summary = _run(tmp_path)
    today = summary["problems"][0]
    minutes = np.array([0.0, 1.0, 2.0, 3.0]) * STEP
    total = today["equity"]["total"]
    assert total["gini"] == pytest.approx(_gini(minutes, PEOPLE), rel=1e-6)
    assert total["worst_decile_minutes"] == pytest.approx(3 * STEP, rel=1e-6)
    assert today["attendance"]["people"] == pytest.approx(PEOPLE @ (1 - minutes / 60), rel=1e-6)
    line = PlanEquity.from_summary(today).line("en")  # type: ignore[union-attr]
    page = (tmp_path / "out" / "map-existing.html").read_text(encoding="utf-8")
    assert json.dumps(line)[1:-1] in page  # the legend's HTML is a JSON string in the page


def test_compare_pages_show_equity_beside_coverage(tmp_path: Path) -> None:
    """compare.html has a table of both plans' measures; each card lists its own."""
    summary = _run(tmp_path, language="sv")
    site = compare_runs([tmp_path / "out"], tmp_path / "site", language="sv")
    folder = site.index.parent
    soup = BeautifulSoup((folder / "compare.html").read_text(encoding="utf-8"), "html.parser")
    table = next(t for t in soup.find_all("table")
                 if "Rättvisa" in t.caption.get_text())  # fmt: skip
    header = [th.get_text() for th in table.thead.find_all("th")]
    assert header == ["Scenario", "Gini", "Palma", "Theil", "Sämsta tiondelen (medel)",
                      "Väntade besökare"]  # fmt: skip
    rows = table.tbody.find_all("tr")
    assert [row.th.get_text() for row in rows] == ["tiny: existing", "tiny: two offices"]
    for row, record in zip(rows, summary["problems"], strict=True):
        expected = PlanEquity.from_summary(record).cells("sv")  # type: ignore[union-attr]
        assert [td.get_text() for td in row.find_all("td")] == [v for _, v in expected]
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert index.count("<dt>Gini</dt>") == 2
