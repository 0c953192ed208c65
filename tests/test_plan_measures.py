"""Attendance and equity of every plan in summary.json, and the scenario's [travel] decay."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scenario_files import scenario_text, write_scenario

from siting import Decay, InputError
from siting.cli.main import EXIT_BAD_INPUT, main
from siting.locate.decay import DEFAULT_DECAY
from siting.scenario.config import load_scenario
from siting.scenario.pipeline import run_scenario
from siting.scenario.plan_measures import plan_measures

#: one step of 0.1 degree of latitude on the mean-radius sphere, in km (= minutes at 60 km/h)
STEP = 6_371.0088 * math.pi / 1800

pytestmark = pytest.mark.usefixtures("private_cache")


def test_plan_measures_by_hand() -> None:
    """Linear decay over 40 min; the unreached point counts at the 60-minute cut-off."""
    found = plan_measures(
        np.array([0.0, 10.0, 20.0, math.inf]),
        np.array([10.0, 10.0, 20.0, 5.0]),
        np.array(["x", "x", "y", "y"]),
        decay=Decay("linear", max_minutes=40),
        cut_off_minutes=60,
        names={"x": "Falun"},
    )
    coming = found["attendance"]
    # 10 x 1 + 10 x 0.75 + 20 x 0.5 + 5 x 0 (not reached)
    assert coming["people"] == pytest.approx(27.5)
    assert coming["share"] == pytest.approx(27.5 / 45)
    assert coming["by_group"] == [
        {"group": "x", "name": "Falun", "people": 17.5, "share": 17.5 / 20},
        {"group": "y", "name": "y", "people": 10.0, "share": 10.0 / 25},
    ]
    group_y = found["equity"]["by_group"][1]
    # y: 20 people at 20 min, 5 unreached counted at 60: mean 700/25, worst 10 % at 60
    assert group_y["mean_minutes"] == pytest.approx(28.0)
    assert group_y["worst_decile_minutes"] == pytest.approx(60.0)
    assert group_y["gini"] == pytest.approx(2 * 20 * 5 * 40 / (2 * 25**2 * 28))
    assert group_y["unreached"] == 5.0
    assert found["equity"]["total"]["people"] == 45.0


def test_every_plan_reports_attendance_and_equity(tmp_path: Path) -> None:
    """Tiny line of towns, linear decay over 60 min: attendance and Gini worked by hand."""
    decay = '{ kind = "linear", max_minutes = 60 }'
    path = write_scenario(tmp_path, scenario_text({("travel", "decay"): decay}))
    summary = run_scenario(path, tmp_path / "out", progress=False).summary
    assert summary["travel"]["decay"] == {"kind": "linear", "max_minutes": 60.0, "given": True}
    today, problem = summary["problems"]
    # people A 100, B 50, C 30, D 20, one step apart; today all go to A (0, 1, 2, 3 steps)
    expected_today = (
        100 + 50 * (1 - STEP / 60) + 30 * (1 - 2 * STEP / 60) + 20 * (1 - 3 * STEP / 60)
    )
    assert today["attendance"]["people"] == pytest.approx(expected_today, rel=1e-5)
    # A and C open: A, C at 0 steps, B and D at 1
    expected = 100 + 30 + (50 + 20) * (1 - STEP / 60)
    assert problem["attendance"]["people"] == pytest.approx(expected, rel=1e-5)
    assert problem["attendance"]["share"] == pytest.approx(expected / 200, rel=1e-5)
    # Gini over 130 people at 0 and 70 at 1 step: 2 x 130 x 70 / (2 x 200^2 x 70/200) = 0.65
    assert problem["equity"]["total"]["gini"] == pytest.approx(0.65, rel=1e-6)
    # today: pairs sum 100x50x1 + 100x30x2 + 100x20x3 + 50x30 + 50x20x2 + 30x20 = 21,100
    assert today["equity"]["total"]["gini"] == pytest.approx(21_100 / (200**2 * 0.85), rel=1e-6)
    assert today["equity"]["total"]["worst_decile_minutes"] == pytest.approx(3 * STEP, rel=1e-5)
    # the 40 % nearest (A's 100 people) travel 0 minutes: Palma is infinite, null in JSON
    assert today["equity"]["total"]["palma"] is None
    [group] = problem["equity"]["by_group"]
    assert (group["group"], group["name"]) == ("2380", "Östersund")
    assert group["gini"] == pytest.approx(0.65, rel=1e-6)


def test_curves_have_no_plan_to_measure(tmp_path: Path) -> None:
    """A trade-off curve is no single plan: no attendance or equity in its record."""
    problems = [{"name": '"curve"', "kind": '"tradeoff"', "max_n_sites": "2", "max_minutes": "30"}]
    path = write_scenario(tmp_path, scenario_text(problems=problems))
    summary = run_scenario(path, tmp_path / "out", progress=False).summary
    today, curve = summary["problems"]
    assert "attendance" in today
    assert "attendance" not in curve
    assert "equity" not in curve


def test_default_decay_when_the_scenario_names_none(tmp_path: Path) -> None:
    """Without [travel] decay the documented default is used and said to be the default."""
    travel = load_scenario(write_scenario(tmp_path)).travel
    assert travel.decay == DEFAULT_DECAY == Decay("gaussian")
    assert travel.decay_given is False


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{ kind = "exponential", beta = -0.1 }', r"\[travel\] decay\.beta must be a number > 0, "),
        ('{ kind = "gaussian", scale_minutes = 0 }', r"decay\.scale_minutes must be a number > 0"),
        ('{ kind = "step", max_minutes = 90 }', "decay.max_minutes 90 exceeds the matrix cut-off"),
        ('{ kind = "exponental" }', "did you mean 'exponential'"),
        ('{ kind = "step", beta = 1 }', "beta is not a parameter of decay kind 'step'"),
        ('"exponential"', r"\[travel\] decay must be a table"),
    ],
)
def test_bad_decay_names_file_key_and_value(tmp_path: Path, value: str, message: str) -> None:
    """A bad [travel] decay fails on load, naming the file, the key and the value."""
    path = write_scenario(tmp_path, scenario_text({("travel", "decay"): value}))
    with pytest.raises(InputError, match=message) as error:
        load_scenario(path)
    assert str(error.value).startswith(f"{path}: ")


def test_bad_decay_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """siting run with a negative beta: exit code 2 and one line naming the key."""
    value = '{ kind = "exponential", beta = -0.1 }'
    path = write_scenario(tmp_path, scenario_text({("travel", "decay"): value}))
    assert main(["-q", "run", str(path), "--out", str(tmp_path / "out")]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1, error
    assert "[travel] decay.beta must be a number > 0, got -0.1" in error
