"""Tests of closure impact (hand-checked) and optimal closures (against brute force)."""

from __future__ import annotations

import itertools

import brute_force
import numpy as np
import pytest

from siting import InputError, ODMatrix
from siting.locate.closure import closure_impact, solve_closures

# rows: demand a1, a2 (group a), b1, b2 (group b); columns: offices 0, 1, 2
MINUTES = np.array(
    [[5.0, 20.0, 40.0], [30.0, 8.0, 25.0], [50.0, 45.0, 10.0], [np.inf, 30.0, np.inf]]
)


def test_closure_impact_by_hand() -> None:
    """Closing office 1: a2 moves 8 -> 25 min, b2 has no office left; by group and total."""
    impact = closure_impact(
        ODMatrix.from_dense(MINUTES),
        open_sites=[0, 1, 2],
        closed_sites=[1],
        weights=[1, 2, 3, 4],
        max_minutes=20,
        groups=["a", "a", "b", "b"],
    )
    assert impact.table.added_minutes.tolist() == [0, 17, 0, 0]
    assert impact.table.loses_coverage.tolist() == [False, True, False, False]
    assert impact.table.loses_access.tolist() == [False, False, False, True]
    assert impact.by_group.loc["a", "added_person_minutes"] == 34
    assert impact.by_group.loc["a", "weight_losing_coverage"] == 2
    assert impact.by_group.loc["b", "weight_losing_access"] == 4
    assert impact.totals["weight_affected"] == 6
    assert impact.totals["added_minutes_per_affected"] == 17
    assert impact.closed_sites == (1,)


def test_closing_a_site_that_is_not_open_is_an_input_error() -> None:
    """Closed sites must be among the open ones."""
    with pytest.raises(InputError, match="not among the open sites"):
        closure_impact(ODMatrix.from_dense(MINUTES), open_sites=[0, 1], closed_sites=[2])


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n_close", [1, 2])
def test_optimal_closures_equal_brute_force(seed: int, n_close: int) -> None:
    """Closing k of 5 open offices adds the fewest person-minutes over all k-subsets."""
    minutes, weights = brute_force.random_instance(seed)
    minutes[:, 0] = 59.0  # office 0 reaches everyone, so every closure set stays feasible
    open_sites = [0, 1, 2, 4, 6]
    best = min(
        float(weights @ minutes[:, [s for s in open_sites if s not in closed]].min(axis=1))
        for closed in itertools.combinations(open_sites, n_close)
    )
    solution = solve_closures(
        ODMatrix.from_dense(minutes), open_sites=open_sites, n_close=n_close, weights=weights
    )
    assert solution.objective == pytest.approx(best)
    assert len(solution.parameters["closed_sites"]) == n_close
    assert set(solution.site_ids.tolist()) <= set(open_sites)


@pytest.mark.parametrize("seed", range(6))
def test_closures_keeping_coverage_equal_brute_force(seed: int) -> None:
    """With max_minutes, closing 2 of 5 keeps the most weight within T over all choices."""
    minutes, weights = brute_force.random_instance(seed)
    open_sites = [0, 1, 2, 4, 6]
    best = max(
        float(weights @ (minutes[:, [s for s in open_sites if s not in closed]] <= 25).any(1))
        for closed in itertools.combinations(open_sites, 2)
    )
    solution = solve_closures(
        ODMatrix.from_dense(minutes),
        open_sites=open_sites,
        n_close=2,
        weights=weights,
        max_minutes=25,
        keep_sites=[],
    )
    assert solution.objective == pytest.approx(best)


def test_closing_all_open_sites_is_an_input_error() -> None:
    """n_close must leave at least one office open."""
    with pytest.raises(InputError, match="n_close=3 must be below the 3 open sites"):
        solve_closures(ODMatrix.from_dense(MINUTES), open_sites=[0, 1, 2], n_close=3)
