"""Tests of the Lagrangian p-median pass: valid bounds and fixings that keep every optimum."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from siting.lagrangian import AssignmentPairs, reduce_p_median


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


@pytest.mark.parametrize("seed", range(8))
def test_bounds_and_fixings_keep_every_optimum(seed: int) -> None:
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
    reduction = reduce_p_median(_pairs(cost), n_sites, required, ~required)
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
    """On clustered demand the pass closes some sites, so the MIP that follows is smaller."""
    minutes, weights = _geometric(0, n_demand=200, n_sites=20)
    required = np.zeros(20, dtype=bool)
    reduction = reduce_p_median(_pairs(weights[:, None] * minutes), 4, required, ~required)
    assert reduction.fixed_closed.sum() > 0
    assert reduction.kept_pairs.sum() < reduction.kept_pairs.size
