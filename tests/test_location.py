"""Tests of p-median (plain, fixed sites, capacitated) and p-center against brute force."""

from __future__ import annotations

import itertools
import math

import brute_force
import numpy as np
import pytest

from siting import solve
from siting._core.errors import InfeasibleError
from siting.locate.median_center import solve_p_center, solve_p_median
from siting.travel.odmatrix import ODMatrix

SEEDS = range(8)


def _od(minutes: np.ndarray) -> ODMatrix:
    return ODMatrix.from_dense(minutes)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n_sites", [1, 2, 3, 4])
def test_p_median_equals_brute_force(seed: int, n_sites: int) -> None:
    """Least weighted minutes equals enumeration, or the cut-off makes it infeasible."""
    minutes, weights = brute_force.random_instance(seed)
    expected = brute_force.p_median(minutes, weights, n_sites)
    if math.isinf(expected):
        with pytest.raises(InfeasibleError, match="short by"):
            solve_p_median(_od(minutes), n_sites=n_sites, weights=weights)
        return
    solution = solve_p_median(_od(minutes), n_sites=n_sites, weights=weights)
    assert solution.objective == pytest.approx(expected)
    served = weights > 0
    recomputed = weights[served] @ solution.assigned_minutes[served]
    assert recomputed == pytest.approx(expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_p_median_with_a_required_site_equals_brute_force(seed: int) -> None:
    """With site 3 required, the optimum over sets holding it equals enumeration."""
    minutes, weights = brute_force.random_instance(seed)
    minutes[:, 3] = np.where(np.isinf(minutes[:, 3]), 70.0, minutes[:, 3])
    solution = solve_p_median(_od(minutes), n_sites=3, weights=weights, required_sites=[3])
    assert solution.objective == pytest.approx(
        brute_force.p_median(minutes, weights, 3, required={3})
    )
    assert 3 in solution.site_ids.tolist()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n_sites", [2, 3])
def test_p_center_equals_brute_force(seed: int, n_sites: int) -> None:
    """Least worst minutes equals enumeration, or the cut-off makes it infeasible."""
    minutes, weights = brute_force.random_instance(seed)
    expected = brute_force.p_center(minutes, weights, n_sites)
    if math.isinf(expected):
        with pytest.raises(InfeasibleError, match="short by"):
            solve_p_center(_od(minutes), n_sites=n_sites, weights=weights)
        return
    solution = solve_p_center(_od(minutes), n_sites=n_sites, weights=weights)
    assert solution.objective == pytest.approx(expected)
    assert solution.assigned_minutes[weights > 0].max() == pytest.approx(expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_capacitated_p_median_equals_brute_force(seed: int) -> None:
    """With capacities, the optimum equals the best transportation LP over all site sets."""
    minutes, weights = brute_force.random_instance(seed, n_demand=8, n_sites=5)
    minutes[np.isinf(minutes)] = 80.0
    capacities = np.full(5, 0.45 * weights.sum())
    solution = solve_p_median(_od(minutes), n_sites=3, weights=weights, capacities=capacities)
    expected = brute_force.capacitated_p_median(minutes, weights, 3, capacities)
    assert solution.objective == pytest.approx(expected, rel=1e-7)
    assert solution.parameters["capacitated"] is True


def test_capacity_moves_demand_to_the_second_nearest_site() -> None:
    """Hand-checked: site 0 holds 5 of the 8 people; the 3 in row 2 go to site 1."""
    minutes = np.array([[1.0, 9.0], [1.0, 9.0], [2.0, 4.0]])
    solution = solve_p_median(_od(minutes), n_sites=2, weights=[2, 3, 3], capacities=[5, 10])
    assert solution.objective == pytest.approx(2 * 1 + 3 * 1 + 3 * 4)
    assert solution.assignment.tolist() == [0, 0, 1]


def test_p_median_excludes_demand_outside_the_matrix() -> None:
    """A row with no stored pair is reported as unreachable and left out of the objective."""
    minutes = np.array([[3.0, 8.0], [np.inf, np.inf], [6.0, 1.0]])
    solution = solve_p_median(_od(minutes), n_sites=1, weights=[1, 5, 2])
    assert solution.unreachable.tolist() == [1]
    assert solution.objective == 10.0
    assert solution.assignment.tolist() == [1, -1, 1]


def test_excluded_demand_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Excluding unreachable demand is said in the log, with the count and the weight."""
    minutes = np.array([[3.0, 8.0], [np.inf, np.inf]])
    with caplog.at_level("WARNING", logger="siting.locate.instance"):
        solve_p_median(_od(minutes), n_sites=1, weights=[1, 5])
    assert "1 demand points (weight 5) no site reaches are excluded" in caplog.text


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("budget", [6.0, 9.0, 100.0])
def test_p_median_with_site_costs_and_budget_equals_brute_force(seed: int, budget: float) -> None:
    """A budget that binds (MIP path) or cannot (Lagrangian path) gives enumeration's optimum."""
    minutes, weights = brute_force.random_instance(seed)
    minutes[np.isinf(minutes)] = 90.0  # every pair stored: no answer fails the cut-off
    costs = np.arange(1.0, 8.0)
    values = [
        float(weights @ minutes[:, list(chosen)].min(axis=1))
        for chosen in itertools.combinations(range(7), 3)
        if costs[list(chosen)].sum() <= budget
    ]
    solution = solve_p_median(
        _od(minutes), n_sites=3, weights=weights, site_costs=costs, budget=budget
    )
    assert solution.objective == pytest.approx(min(values))
    assert costs[solution.site_index].sum() <= budget
    assert solution.status == "optimal"


def test_p_median_within_a_gap_brackets_the_optimum() -> None:
    """With mip_gap, the answer and its bound bracket the exact optimum within that gap."""
    rng = np.random.default_rng(7)
    demand, sites = rng.random((400, 2)), rng.random((40, 2))
    minutes = 90 * np.linalg.norm(demand[:, None] - sites[None], axis=2)
    weights = rng.integers(1, 30, 400).astype(np.float64)
    exact = solve_p_median(_od(minutes), n_sites=6, weights=weights)
    assert exact.gap <= 1e-9
    quick = solve(_od(minutes), problem="p-median", n_sites=6, weights=weights, mip_gap=0.05)
    assert quick.bound <= exact.objective * (1 + 1e-9)
    assert exact.objective <= quick.objective * (1 + 1e-9)
    assert quick.gap <= 0.05
    assert quick.objective == pytest.approx(float(weights @ quick.assigned_minutes))
    # a 3.4% gap is no proof: the answer must not be called optimal
    assert quick.gap > 0.01
    assert (exact.status, quick.status) == ("optimal", "within mip_gap")
    assert not quick.is_optimal
    assert quick.summary()["status"] == "within mip_gap"
