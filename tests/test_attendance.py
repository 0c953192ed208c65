"""Tests of maximise attendance against brute force (every site set of small instances)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from pathlib import Path

import brute_force
import numpy as np
import pytest
from scenario_files import scenario_text, write_scenario

from siting import Decay, solve
from siting._core.errors import InfeasibleError, InputError, SitingWarning
from siting.locate.attendance import solve_attendance
from siting.locate.mip import MipOptions
from siting.scenario.config import load_scenario
from siting.scenario.pipeline import run_scenario
from siting.travel.odmatrix import ODMatrix

SEEDS = range(8)


def _exponential(minutes: np.ndarray) -> np.ndarray:
    """exp(-0.05 t), 0 where no site is reached: written apart from `Decay`."""
    return np.where(np.isfinite(minutes), np.exp(-0.05 * np.nan_to_num(minutes, posinf=0)), 0.0)


def _linear_40(minutes: np.ndarray) -> np.ndarray:
    """1 - t / 40 down to 0 at 40 minutes."""
    return np.clip(1 - minutes / 40, 0.0, None)


def _value(
    minutes: np.ndarray, weights: np.ndarray, weight_of: Callable[[np.ndarray], np.ndarray],
    sites: Iterable[int],
) -> float:  # fmt: skip
    """People coming when these sites are open."""
    return float(weights @ weight_of(minutes[:, list(sites)].min(axis=1)))


@pytest.mark.parametrize("seed", SEEDS)
def test_attendance_equals_brute_force(seed: int) -> None:
    """Exponential decay, p = 3: the optimum and its sites' attendance equal enumeration."""
    minutes, weights = brute_force.random_instance(seed)
    expected, _ = brute_force.attendance(minutes, weights, _exponential, 3)
    solution = solve_attendance(
        ODMatrix.from_dense(minutes), n_sites=3, decay=Decay("exponential", beta=0.05),
        weights=weights,
    )  # fmt: skip
    assert solution.objective == pytest.approx(expected, rel=1e-9)
    assert _value(minutes, weights, _exponential, solution.site_index) == pytest.approx(expected)
    assert (solution.status, solution.n_sites) == ("optimal", 3)
    assert solution.bound == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
def test_attendance_with_site_rules_equals_brute_force(seed: int) -> None:
    """Linear decay over 40 min, site 0 required and site 1 forbidden, p = 2: as enumeration."""
    minutes, weights = brute_force.random_instance(seed)
    expected, _ = brute_force.attendance(
        minutes, weights, _linear_40, 2, required={0}, forbidden={1}
    )
    solution = solve(
        ODMatrix.from_dense(minutes), problem="attendance", n_sites=2,
        decay=Decay("linear", max_minutes=40), weights=weights,
        required_sites=[0], forbidden_sites=[1],
    )  # fmt: skip
    assert solution.objective == pytest.approx(expected, rel=1e-9)
    assert 0 in solution.site_ids.tolist()
    assert 1 not in solution.site_ids.tolist()
    assert _value(minutes, weights, _linear_40, solution.site_index) == pytest.approx(expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_attendance_under_a_budget_equals_brute_force(seed: int) -> None:
    """Any number of sites costing at most 6: the optimum equals enumeration over all sizes."""
    minutes, weights = brute_force.random_instance(seed)
    costs = np.random.default_rng(seed).integers(1, 5, size=minutes.shape[1]).astype(float)
    expected, _ = brute_force.attendance(
        minutes, weights, _exponential, None, costs=costs, budget=6.0
    )
    solution = solve_attendance(
        ODMatrix.from_dense(minutes), decay=Decay("exponential", beta=0.05), weights=weights,
        site_costs=costs, budget=6.0,
    )  # fmt: skip
    assert solution.objective == pytest.approx(expected, rel=1e-9)
    assert costs[solution.site_index].sum() <= 6.0


@pytest.mark.parametrize("seed", SEEDS)
def test_step_decay_is_the_mclp(seed: int) -> None:
    """With a 25-minute step the attendance optimum is the MCLP optimum (brute force)."""
    minutes, weights = brute_force.random_instance(seed)
    solution = solve_attendance(
        ODMatrix.from_dense(minutes), n_sites=2, decay=Decay("step", max_minutes=25),
        weights=weights,
    )  # fmt: skip
    assert solution.objective == pytest.approx(brute_force.mclp(minutes, weights, 25, 2))


def _clustered(seed: int, n_demand: int = 60, n_sites: int = 26) -> tuple[np.ndarray, np.ndarray]:
    """Points and sites on a 100 x 100 km plane, minutes at 60 km/h: too many sets of 5 for
    siting to enumerate before its Lagrangian pass."""
    rng = np.random.default_rng(seed)
    demand, sites = rng.uniform(0, 100, (n_demand, 2)), rng.uniform(0, 100, (n_sites, 2))
    minutes = np.linalg.norm(demand[:, None, :] - sites[None, :, :], axis=2)
    return minutes, rng.integers(1, 50, size=n_demand).astype(np.float64)


def _best_of_every_set(coming: np.ndarray, n_sites: int) -> float:
    """The most people coming over every set of `n_sites` columns of `coming` (numpy)."""
    best = -math.inf
    for prefix in itertools.combinations(range(coming.shape[1]), n_sites - 1):
        base = coming[:, list(prefix)].max(axis=1)
        rest = np.maximum(base[:, None], coming[:, prefix[-1] + 1 :]).sum(axis=0)
        best = max(best, float(rest.max(initial=-math.inf)))
    return best


@pytest.mark.parametrize("seed", range(3))
def test_attendance_past_enumeration_equals_brute_force(seed: int) -> None:
    """60 points x 26 sites, p = 5, Gaussian: solved as a p-median (Lagrangian pass and
    fixing first), the optimum equals every set priced by numpy and is proven."""
    minutes, weights = _clustered(seed)
    od = ODMatrix.from_dense(minutes)
    decay = Decay("gaussian", scale_minutes=15)
    stored = od.to_dense().astype(np.float64)  # the float32 minutes siting solves over
    expected = _best_of_every_set(weights[:, None] * decay.weight(stored), 5)
    solution = solve_attendance(od, n_sites=5, decay=decay, weights=weights)
    assert solution.parameters["solved_by"] in ("radius", "lagrangian", "enumeration")
    assert solution.objective == pytest.approx(expected, rel=1e-9)
    assert (solution.status, solution.gap) == ("optimal", 0.0)


@pytest.mark.parametrize("seed", range(3))
def test_attendance_within_a_gap_keeps_its_promise(seed: int) -> None:
    """mip_gap 5 %: the answer is within 5 % of the optimum of every set, and its reported
    gap is at most 5 % and true of it."""
    minutes, weights = _clustered(seed)
    od = ODMatrix.from_dense(minutes)
    decay = Decay("gaussian", scale_minutes=15)
    best = _best_of_every_set(weights[:, None] * decay.weight(od.to_dense().astype(float)), 5)
    solution = solve_attendance(
        od, n_sites=5, decay=decay, weights=weights, options=MipOptions(mip_gap=0.05)
    )
    assert solution.gap <= 0.05
    assert solution.objective >= best / 1.05 - 1e-9
    assert solution.bound >= best - 1e-6 * best


def test_attendance_keeps_excluded_sets_out() -> None:
    """The best set excluded, the answer is the second best of the enumeration."""
    minutes, weights = brute_force.random_instance(3)
    best, chosen = brute_force.attendance(minutes, weights, _exponential, 2)
    od = ODMatrix.from_dense(minutes)
    values = sorted(
        (_value(minutes, weights, _exponential, pair), pair)
        for pair in itertools.combinations(range(minutes.shape[1]), 2)
    )
    second = values[-2][0]
    solution = solve_attendance(
        od, n_sites=2, decay=Decay("exponential", beta=0.05), weights=weights, exclude=[chosen]
    )
    assert set(solution.site_index.tolist()) != set(chosen)
    assert solution.objective == pytest.approx(second, rel=1e-9)
    assert second < best


def test_attendance_out_of_time_returns_a_plan_with_its_bound() -> None:
    """No time at all for the MIP: a plan comes back with a finite bound above it, never
    "no solution" (the p-median's branch and bound may even prove it at its root)."""
    minutes, weights = _clustered(0, n_demand=300, n_sites=60)
    solution = solve_attendance(
        ODMatrix.from_dense(minutes), n_sites=8, decay=Decay("gaussian", scale_minutes=15),
        weights=weights, options=MipOptions(time_limit_s=1e-6),
    )  # fmt: skip
    assert solution.n_sites == 8
    assert solution.status in ("time limit", "optimal")
    assert math.isfinite(solution.bound)
    assert solution.bound >= solution.objective > 0
    assert solution.gap == pytest.approx((solution.bound - solution.objective) / solution.objective)


def test_attendance_by_hand_goes_to_the_nearest_site() -> None:
    """Linear over 40 min: site 1 brings 10 x 0.5 + 30 + 20 x 0.75 = 50, site 0 only 42.5."""
    minutes = np.array([[0.0, 20.0], [20.0, 0.0], [10.0, 10.0]])
    solution = solve_attendance(
        ODMatrix.from_dense(minutes), n_sites=1, decay=Decay("linear", max_minutes=40),
        weights=[10, 30, 20],
    )  # fmt: skip
    assert solution.site_ids.tolist() == [1]
    assert solution.objective == pytest.approx(50.0)
    both = solve_attendance(
        ODMatrix.from_dense(minutes), n_sites=2, decay=Decay("linear", max_minutes=40),
        weights=[10, 30, 20],
    )  # fmt: skip
    # each point at its nearest: 10 + 30 + 20 x 0.75
    assert both.objective == pytest.approx(55.0)
    assert both.assignment.tolist()[:2] == [0, 1]
    assert both.parameters["decay"] == {"kind": "linear", "max_minutes": 40.0}


def test_attendance_lists_points_no_site_reaches() -> None:
    """A point beyond the decay's cut-off from every site is listed; site 0 reaches the others."""
    minutes = np.array([[5.0, 50.0], [50.0, 45.0], [30.0, 5.0]])
    with pytest.warns(SitingWarning, match=r"^attendance: 1 demand points \(weight 1\)"):
        solution = solve_attendance(
            ODMatrix.from_dense(minutes), n_sites=1, decay=Decay("step", max_minutes=40)
        )
    assert solution.unreachable.tolist() == [1]
    assert (solution.site_ids.tolist(), solution.objective) == ([0], 2.0)


def test_attendance_bad_input() -> None:
    """A decay that is not a Decay, or no site in reach of anyone, is refused with one line."""
    od = ODMatrix.from_dense(np.array([[50.0, 60.0]]))
    with pytest.raises(InputError, match=r"decay must be a siting\.Decay"):
        solve_attendance(od, n_sites=1, decay="gaussian")  # type: ignore[arg-type]
    with pytest.raises(InfeasibleError, match="no site reaches any demand"):
        solve_attendance(od, n_sites=1, decay=Decay("linear", max_minutes=30))
    with pytest.raises(InputError, match="n_sites or budget"):
        solve_attendance(od, decay=Decay("gaussian"))


#: one step of 0.1 degree of latitude on the mean-radius sphere, in km (= minutes at 60 km/h)
STEP = 6_371.0088 * math.pi / 1800


@pytest.mark.usefixtures("private_cache")
def test_scenario_kind_attendance_keeps_todays_office(tmp_path: Path) -> None:
    """n_new = 1 beside office A, linear over 60 min: C brings 130 + 70 x (1 - step/60)."""
    decay = '{ kind = "linear", max_minutes = 60 }'
    problems = [
        {"name": '"most come"', "kind": '"attendance"', "n_new": "1"},
        {"name": '"one office"', "kind": '"attendance"', "n_sites": "1",
         "existing_fixed": "false"},
    ]  # fmt: skip
    text = scenario_text({("travel", "decay"): decay}, problems=problems)
    path = write_scenario(tmp_path, text)
    _, added, alone = run_scenario(path, tmp_path / "out", progress=False).summary["problems"]
    assert added["open_sites"] == ["office-a", "cand-c"]
    assert added["objective"] == pytest.approx(130 + 70 * (1 - STEP / 60), rel=1e-6)
    assert (added["status"], added["gap"]) == ("optimal", 0.0)
    # A alone: 100 + 50 (1 - s/60) + 30 (1 - 2s/60) + 20 (1 - 3s/60) beats C alone (about 150)
    assert alone["open_sites"] == ["office-a"]
    assert alone["objective"] == pytest.approx(200 - (50 + 60 + 60) * STEP / 60, rel=1e-6)
    assert added["attendance"]["people"] == pytest.approx(added["objective"], rel=1e-9)


def test_scenario_attendance_needs_a_count_or_budget(tmp_path: Path) -> None:
    """kind attendance with neither n_sites, n_new nor budget is refused naming the key."""
    problems = [{"name": '"most come"', "kind": '"attendance"'}]
    path = write_scenario(tmp_path, scenario_text(problems=problems))
    with pytest.raises(
        InputError, match=r"n_sites, n_new or budget is required for kind 'attendance'"
    ):
        load_scenario(path)
