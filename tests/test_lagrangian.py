"""Tests of the Lagrangian p-median pass: valid bounds and fixings that keep every optimum."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from siting.locate.interchange import AssignmentPairs
from siting.locate.lagrangian import Reduction, nearest_pairs, reduce_p_median


def _geometric(seed: int, n_demand: int = 40, n_sites: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """Weighted minutes between random points in a square: geographic, so fixing bites."""
    rng = np.random.default_rng(seed)
    demand, sites = rng.random((n_demand, 2)), rng.random((n_sites, 2))
    minutes = 60 * np.linalg.norm(demand[:, None] - sites[None], axis=2)
    return minutes, rng.integers(1, 20, n_demand).astype(np.float64)


def _pairs(cost: np.ndarray) -> AssignmentPairs:
    n_rows, n_columns = cost.shape
    return AssignmentPairs(
        local_rows=np.repeat(np.arange(n_rows), n_columns),
        columns=np.tile(np.arange(n_columns), n_rows),
        cost=cost.ravel(),
        indptr=np.arange(0, n_rows * n_columns + 1, n_columns),
        n_columns=n_columns,
    )


@pytest.mark.parametrize("iterations", [5, 30, 1500])
@pytest.mark.parametrize("seed", range(8))
def test_bounds_and_fixings_keep_every_optimum(seed: int, iterations: int) -> None:
    """lower <= optimum <= upper; no optimal set opens a closed site or misses a fixed one."""
    minutes, weights = _geometric(seed)
    cost = weights[:, None] * minutes
    n_sites = 3
    totals = {
        chosen: cost[:, list(chosen)].min(axis=1).sum()
        for chosen in itertools.combinations(range(cost.shape[1]), n_sites)
    }
    optimum = min(totals.values())
    required = np.zeros(cost.shape[1], dtype=bool)
    reduction = reduce_p_median(_pairs(cost), n_sites, required, ~required, iterations=iterations)
    assert reduction is not None
    assert reduction.lower_bound <= optimum + 1e-6
    assert reduction.upper_bound >= optimum - 1e-6
    for chosen, total in totals.items():
        if total > optimum + 1e-9:
            continue
        is_open = np.isin(np.arange(cost.shape[1]), chosen)
        assert not (reduction.fixed_closed & is_open).any()
        assert not (reduction.fixed_open & ~is_open).any()
        nearest = np.array(chosen)[cost[:, list(chosen)].argmin(axis=1)]
        kept = reduction.kept_pairs.reshape(cost.shape)
        assert kept[np.arange(cost.shape[0]), nearest].all()


def test_fixing_closes_sites_on_a_geographic_instance() -> None:
    """On clustered demand a bound short of the answer still closes sites and drops pairs."""
    minutes, weights = _geometric(0, n_demand=200, n_sites=20)
    required = np.zeros(20, dtype=bool)
    cost = _pairs(weights[:, None] * minutes)
    reduction = reduce_p_median(cost, 4, required, ~required, iterations=30)
    assert reduction is not None
    assert reduction.lower_bound < reduction.upper_bound
    assert reduction.fixed_closed.sum() > 0
    assert reduction.kept_pairs.sum() < reduction.kept_pairs.size


def test_full_pass_proves_the_answer_optimal() -> None:
    """Given its iterations, the bound meets the answer: no MIP is needed."""
    minutes, weights = _geometric(0, n_demand=200, n_sites=20)
    required = np.zeros(20, dtype=bool)
    reduction = reduce_p_median(_pairs(weights[:, None] * minutes), 4, required, ~required)
    assert reduction is not None
    assert reduction.upper_bound - reduction.lower_bound <= 1e-9 * reduction.upper_bound


def _totals(cost: np.ndarray, n_sites: int) -> dict[tuple[int, ...], float]:
    return {
        chosen: float(cost[:, list(chosen)].min(axis=1).sum())
        for chosen in itertools.combinations(range(cost.shape[1]), n_sites)
    }


def _assert_keeps_optima(reduction: Reduction, totals: dict[tuple[int, ...], float]) -> None:
    optimum = min(totals.values())
    assert reduction.lower_bound <= optimum + 1e-6 <= reduction.upper_bound + 2e-6
    for chosen, total in totals.items():
        if total <= optimum + 1e-9:
            is_open = np.isin(np.arange(reduction.fixed_open.size), chosen)
            assert not (reduction.fixed_closed & is_open).any()
            assert not (reduction.fixed_open & ~is_open).any()


@pytest.mark.parametrize("keep", [1, 2, 4])
@pytest.mark.parametrize("seed", range(6))
def test_bound_from_the_nearest_pairs_only_is_still_valid(seed: int, keep: int) -> None:
    """Keeping each row's `keep` nearest sites and capping its multiplier loses no optimum."""
    minutes, weights = _geometric(seed)
    cost = weights[:, None] * minutes
    required = np.zeros(cost.shape[1], dtype=bool)
    for iterations in (10, 1500):
        reduction = reduce_p_median(
            _pairs(cost), 3, required, ~required, keep_per_row=keep, iterations=iterations
        )
        assert reduction is not None
        _assert_keeps_optima(reduction, _totals(cost, 3))


def test_nearest_pairs_keep_ties_and_cap_at_the_first_left_out() -> None:
    """A row keeps its `keep` cheapest pairs (ties too); its cap is the next cost."""
    cost = np.array([[5.0, 1.0, 3.0, 3.0, 9.0], [2.0, 2.0, 2.0, 7.0, 8.0]])
    near, cap = nearest_pairs(_pairs(cost), 2)
    assert near.columns.tolist() == [1, 2, 3, 0, 1, 2]
    assert near.indptr.tolist() == [0, 3, 6]
    assert cap.tolist() == [3.0, 2.0]  # a tie left out: the cap may sit at the kept cost


@pytest.mark.parametrize("seed", range(6))
def test_excluded_sets_are_never_the_answer_and_fixings_keep_the_rest(seed: int) -> None:
    """With the best set excluded, the answer is another set and the next best survives."""
    minutes, weights = _geometric(seed)
    cost = weights[:, None] * minutes
    totals = _totals(cost, 3)
    best = min(totals, key=totals.__getitem__)
    excluded = (np.isin(np.arange(cost.shape[1]), best),)
    required = np.zeros(cost.shape[1], dtype=bool)
    for iterations in (10, 1500):
        reduction = reduce_p_median(
            _pairs(cost), 3, required, ~required, excluded=excluded, iterations=iterations
        )
        if reduction is None:  # no answer outside the excluded set found: the MIP decides
            continue
        assert not np.array_equal(reduction.best_open, excluded[0])
        _assert_keeps_optima(reduction, {k: v for k, v in totals.items() if k != best})


@pytest.mark.parametrize("seed", range(6))
def test_fixing_below_a_given_cost_keeps_every_set_up_to_it(seed: int) -> None:
    """fix_below = the 5th best cost: every set costing at most that keeps its fixed sites
    open, its closed ones shut and its nearest pairs."""
    minutes, weights = _geometric(seed)
    cost = weights[:, None] * minutes
    totals = {
        chosen: float(cost[:, list(chosen)].min(axis=1).sum())
        for chosen in itertools.combinations(range(cost.shape[1]), 3)
    }
    limit = sorted(totals.values())[4]
    allowed = np.ones(cost.shape[1], dtype=np.bool_)
    reduction = reduce_p_median(_pairs(cost), 3, ~allowed, allowed, iterations=200, fix_below=limit)
    assert reduction is not None
    kept = reduction.kept_pairs.reshape(cost.shape)
    for chosen, total in totals.items():
        if total > limit:
            continue
        mask = np.isin(np.arange(cost.shape[1]), chosen)
        assert not (mask & reduction.fixed_closed).any()
        assert (mask | ~reduction.fixed_open).all()
        nearest = np.array(chosen)[cost[:, list(chosen)].argmin(axis=1)]
        assert kept[np.arange(cost.shape[0]), nearest].all()
    assert reduction.lower_bound <= min(totals.values()) + 1e-9
