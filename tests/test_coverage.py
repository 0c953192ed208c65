"""Tests of LSCP and MCLP (with backup coverage, budgets, fixed sites) against brute force."""

from __future__ import annotations

import brute_force
import numpy as np
import pytest
import scipy.sparse as sp

from siting._core.errors import InfeasibleError, SitingWarning
from siting.locate.coverage import solve_lscp, solve_mclp
from siting.locate.instance import merge_identical_rows
from siting.travel.odmatrix import ODMatrix

SEEDS = range(8)


def _od(minutes: np.ndarray) -> ODMatrix:
    return ODMatrix.from_dense(minutes)


@pytest.mark.parametrize("seed", SEEDS)
def test_lscp_equals_brute_force(seed: int) -> None:
    """The fewest sites covering all reachable demand within T equals enumeration."""
    minutes, weights = brute_force.random_instance(seed)
    solution = solve_lscp(_od(minutes), max_minutes=25, weights=weights)
    assert solution.objective == brute_force.lscp(minutes, weights, 25)
    assert solution.n_sites == solution.objective
    assert solution.status == "optimal"
    assert solution.gap == 0


@pytest.mark.parametrize("seed", SEEDS)
def test_lscp_reports_unreachable_demand_and_covers_the_rest(seed: int) -> None:
    """Demand no site reaches within T is listed; every other demand point is covered."""
    minutes, weights = brute_force.random_instance(seed)
    solution = solve_lscp(_od(minutes), max_minutes=25, weights=weights)
    reachable = (minutes <= 25).any(axis=1)
    expected = np.flatnonzero((weights > 0) & ~reachable)
    assert solution.unreachable.tolist() == expected.tolist()
    served = (weights > 0) & reachable
    assert (solution.assigned_minutes[served] <= 25).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_lscp_with_costs_and_site_rules_equals_brute_force(seed: int) -> None:
    """Least total cost with site 0 required and site 1 forbidden equals enumeration."""
    minutes, weights = brute_force.random_instance(seed)
    costs = np.random.default_rng(seed).integers(1, 6, size=minutes.shape[1]).astype(float)
    expected = brute_force.lscp(minutes, weights, 30, costs=costs, required={0}, forbidden={1})
    kwargs = {"site_costs": costs, "required_sites": [0], "forbidden_sites": [1]}
    if expected == np.inf:
        with pytest.raises(InfeasibleError, match="only of forbidden sites"):
            solve_lscp(_od(minutes), max_minutes=30, weights=weights, **kwargs)
        return
    solution = solve_lscp(_od(minutes), max_minutes=30, weights=weights, **kwargs)
    assert solution.objective == pytest.approx(expected)
    assert 0 in solution.site_ids.tolist()
    assert 1 not in solution.site_ids.tolist()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n_sites", [1, 2, 3])
def test_mclp_equals_brute_force(seed: int, n_sites: int) -> None:
    """The most weight within T with p sites equals enumeration."""
    minutes, weights = brute_force.random_instance(seed)
    solution = solve_mclp(_od(minutes), max_minutes=20, n_sites=n_sites, weights=weights)
    assert solution.objective == pytest.approx(brute_force.mclp(minutes, weights, 20, n_sites))
    assert solution.n_sites == n_sites
    covered = weights @ (solution.assigned_minutes <= 20)
    assert covered == pytest.approx(solution.objective)


@pytest.mark.parametrize("seed", SEEDS)
def test_backup_coverage_equals_brute_force(seed: int) -> None:
    """With backup_weight 0.5, weight covered + half the weight covered twice is optimal."""
    minutes, weights = brute_force.random_instance(seed)
    solution = solve_mclp(
        _od(minutes), max_minutes=30, n_sites=3, weights=weights, backup_weight=0.5
    )
    expected = brute_force.mclp(minutes, weights, 30, 3, backup_weight=0.5)
    assert solution.objective == pytest.approx(expected)


def test_mclp_keeps_existing_offices_and_adds_the_best() -> None:
    """Hand-checked: office 0 kept, the second site goes where it covers the most weight."""
    minutes = np.array(
        [[5.0, 50.0, 50.0], [50.0, 10.0, 50.0], [50.0, 50.0, 10.0], [50.0, 50.0, 10.0]]
    )
    solution = solve_mclp(
        _od(minutes), max_minutes=15, n_sites=2, weights=[1, 5, 3, 3], required_sites=[0]
    )
    assert solution.site_ids.tolist() == [0, 2]
    assert solution.objective == 7


def test_mclp_budget_limits_the_sites() -> None:
    """Hand-checked: a budget of 4 pays for site 1 (cost 1) and site 2 (cost 3), not site 0."""
    minutes = np.array([[5.0, 50.0, 50.0], [50.0, 10.0, 50.0], [50.0, 50.0, 10.0]])
    solution = solve_mclp(
        _od(minutes), max_minutes=15, n_sites=2, weights=[9, 5, 3], site_costs=[5, 1, 3], budget=4
    )
    assert solution.site_ids.tolist() == [1, 2]
    assert solution.objective == 8


def test_same_input_same_answer() -> None:
    """Two solves of a tie-rich instance choose the same sites and assignment."""
    minutes = np.full((6, 6), 10.0)
    first = solve_mclp(_od(minutes), max_minutes=15, n_sites=2)
    second = solve_mclp(_od(minutes), max_minutes=15, n_sites=2)
    assert first.site_ids.tolist() == second.site_ids.tolist()
    assert first.assignment.tolist() == second.assignment.tolist()


def test_identical_coverage_rows_merge_with_summed_weights() -> None:
    """Rows reaching the same sites become one row whose weight is their sum."""
    matrix = sp.csr_matrix(np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1], [0, 0, 0], [0, 0, 0]]))
    merged, weights = merge_identical_rows(matrix, np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    rows = {
        tuple(row): weight for row, weight in zip(merged.toarray().tolist(), weights, strict=True)
    }
    assert rows == {(1, 0, 1): 4.0, (0, 1, 0): 2.0, (0, 0, 0): 9.0}


def test_unreachable_demand_is_a_siting_warning() -> None:
    """Demand no site reaches is excluded with a SitingWarning that counts it and its weight."""
    minutes = np.array([[10.0, 40.0], [50.0, 60.0], [20.0, 5.0]])
    weights = np.array([1.0, 7.0, 2.0])
    with pytest.warns(SitingWarning, match=r"^lscp: 1 demand points \(weight 7\) no site reaches"):
        solution = solve_lscp(_od(minutes), max_minutes=30, weights=weights)
    assert solution.unreachable.tolist() == [1]


@pytest.mark.parametrize("seed", range(6))
def test_mclp_with_required_sites_equals_enumeration(seed: int) -> None:
    """Rows today's (required) offices cover leave the model as a constant; the objective,
    bound and chosen sites still equal the enumeration of every set holding them."""
    minutes, weights = brute_force.random_instance(seed, n_demand=14, n_sites=7)
    best = max(
        float(weights @ (minutes[:, list(chosen)] <= 30).any(axis=1))
        for chosen in brute_force.subsets(7, 4, {0, 1}, set())
    )
    solution = solve_mclp(
        _od(minutes), max_minutes=30, n_sites=4, weights=weights, required_sites=[0, 1]
    )
    assert {0, 1} <= set(solution.site_ids.tolist())
    assert solution.objective == pytest.approx(best)
    assert solution.bound == pytest.approx(best)
    chosen = solution.site_ids.tolist()
    assert float(weights @ (minutes[:, chosen] <= 30).any(axis=1)) == pytest.approx(best)


def test_mclp_when_required_sites_cover_everyone() -> None:
    """Hand-checked: office 0 covers every row, so every row is a constant: all weight."""
    minutes = np.array([[5.0, 50.0], [10.0, 5.0], [15.0, 50.0]])
    solution = solve_mclp(
        _od(minutes), max_minutes=15, n_sites=2, weights=[1, 2, 4], required_sites=[0]
    )
    assert solution.objective == 7
    assert solution.gap == 0
