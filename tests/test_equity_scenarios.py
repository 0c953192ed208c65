"""Equity problems in scenarios: minmax-group, p-median with min_group_share, equity-frontier,
worked by hand on the tiny line of towns; bad input exits 2 with one line."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from scenario_files import scenario_text, write_scenario

from siting.cli.main import EXIT_BAD_INPUT, main
from siting.scenario.pipeline import run_scenario

#: one step of 0.1 degree of latitude on the mean-radius sphere, in km (= minutes at 60 km/h)
STEP = 6_371.0088 * math.pi / 1800

# the base towns A 100, B 50, C 30, D 20 one step apart, in two districts, with people 65+
DEMAND_CSV = """id,population,age_65_plus,district,lon,lat,kommun_kod,name
a,100,10,south,15.0,63.0,2380,A
b,50,20,south,15.0,63.1,2380,B
c,30,15,north,15.0,63.2,2380,C
d,20,10,north,15.0,63.3,2380,D
"""

pytestmark = pytest.mark.usefixtures("private_cache")


def _scenario(folder: Path, problems: list[dict[str, str]], demand: str = DEMAND_CSV) -> Path:
    path = write_scenario(folder, scenario_text(problems=problems))
    (folder / "cells.csv").write_text(demand)
    return path


def _run(folder: Path, problems: list[dict[str, str]]) -> list[dict]:  # type: ignore[type-arg]
    path = _scenario(folder, problems)
    summary = run_scenario(path, folder / "out", progress=False).summary
    return list(summary["problems"][1:])  # after today's offices


def test_minmax_group_scenario_by_hand(tmp_path: Path) -> None:
    """One office: C makes the worst district mean least (south 5/3 steps), A the total."""
    problems = [
        {"name": '"fairest"', "kind": '"minmax-group"', "n_sites": "1",
         "existing_fixed": "false", "groups": '"district"'},
        {"name": '"least travel"', "kind": '"p-median"', "n_sites": "1",
         "existing_fixed": "false"},
    ]  # fmt: skip
    fair, median = _run(tmp_path, problems)
    # C: south (100 x 2 + 50 x 1) / 150 steps, north (30 x 0 + 20 x 1) / 50
    assert fair["open_sites"] == ["cand-c"]
    assert fair["objective"] == pytest.approx(5 / 3 * STEP, rel=1e-6)
    assert fair["parameters"]["worst_group"] == "south"
    assert (fair["status"], fair["gap"]) == ("optimal", 0.0)
    # A: 50 x 1 + 30 x 2 + 20 x 3 = 170 person-steps; its north mean is 2.4 steps
    assert median["open_sites"] == ["office-a"]


def test_share_rule_scenario_binds(tmp_path: Path) -> None:
    """90 % of people 65+ within 25 min (2 steps) with one office: only C, at 270 steps."""
    problems = [
        {"name": '"fair least travel"', "kind": '"p-median"', "n_sites": "1",
         "existing_fixed": "false", "groups": '["age_65_plus"]',
         "min_group_share": "{ minutes = 25, share = 0.9 }"},
    ]  # fmt: skip
    [fair] = _run(tmp_path, problems)
    assert fair["open_sites"] == ["cand-c"]
    # C: A 100 x 2 + B 50 x 1 + D 20 x 1 steps; A alone would cost 170 but reach 45/55 of 65+
    assert fair["objective"] == pytest.approx(270 * STEP, rel=1e-6)
    assert fair["parameters"]["group_shares"] == {"age_65_plus": 1.0}
    assert fair["parameters"]["min_group_share"] == {"minutes": 25.0, "share": 0.9}
    assert (fair["status"], fair["gap"]) == ("optimal", 0.0)


def test_frontier_scenario_by_hand(tmp_path: Path) -> None:
    """Shares 0.8, 0.9, 1.0 of 65+ within 25 min: A (170 steps, 45/55), then C (270, all)."""
    problems = [
        {"name": '"price of fairness"', "kind": '"equity-frontier"', "n_sites": "1",
         "existing_fixed": "false", "groups": '["age_65_plus"]', "max_minutes": "25",
         "shares": "[0.8, 0.9, 1.0]"},
    ]  # fmt: skip
    [curve] = _run(tmp_path, problems)
    rows = curve["curve"]
    assert [row["target_share"] for row in rows] == [0.8, 0.9, 1.0]
    assert [row["sites"] for row in rows] == [["office-a"], ["cand-c"], ["cand-c"]]
    assert rows[0]["worst_share"] == pytest.approx(45 / 55)
    assert [row["total_minutes"] / STEP for row in rows] == pytest.approx([170, 270, 270])
    assert curve["max_worst_share"] == 1.0
    assert {row["status"] for row in rows} == {"optimal"}
    assert any(path.name.endswith("curve.csv") for path in (tmp_path / "out").rglob("*.csv"))


@pytest.mark.parametrize(
    ("changes", "demand", "message"),
    [
        ({"min_group_share": "{ minutes = 25, share = 1.2 }"}, DEMAND_CSV,
         "min_group_share.share must be a share from 0 to 1 (0.8 is 80%), got 1.2"),
        ({"min_group_share": "{ minutes = 90, share = 0.8 }"}, DEMAND_CSV,
         "min_group_share.minutes 90 exceeds the matrix cut-off"),
        ({"min_group_share": "{ minutes = 25, share = 0.8 }", "groups": '"parish"'}, DEMAND_CSV,
         "has no column 'parish'"),
        ({"min_group_share": "{ minutes = 25, share = 0.8 }", "groups": '["age_65_plus"]'},
         DEMAND_CSV.replace(",10,south,15.0,63.0", ",-10,south,15.0,63.0"),
         "column 'age_65_plus' row 'a': value '-10' is below 0"),
        ({"groups": '"district"'}, DEMAND_CSV, "groups is only used with min_group_share"),
        ({"min_group_share": "{ minutes = 10, share = 0.9 }", "groups": '"district"'},
         DEMAND_CSV, "group 'south' can have at most 66.7%"),
    ],
)  # fmt: skip
def test_bad_equity_input_exits_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    changes: dict[str, str],
    demand: str,
    message: str,
) -> None:
    """Share above 100 %, T beyond the cut-off, a missing or negative group column, groups
    without a rule, a share no plan can give: siting run exits 2 with one line naming it."""
    base = {"name": '"fair"', "kind": '"p-median"', "n_sites": "1"}
    path = _scenario(tmp_path, [{**base, **changes}], demand)
    assert main(["-q", "run", str(path), "--out", str(tmp_path / "out")]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1, error
    assert message in error
