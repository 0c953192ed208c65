"""Tests of the swap local search: its answers are swap-optimal, checked by trying every swap."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pytest

from siting.locate.interchange import AssignmentPairs, improve_by_swaps


def _pairs(cost: np.ndarray) -> AssignmentPairs:
    """Stored pairs of a dense cost matrix; inf means no pair."""
    rows, columns = np.nonzero(np.isfinite(cost))
    return AssignmentPairs(
        local_rows=rows.astype(np.int64),
        columns=columns.astype(np.int64),
        cost=cost[rows, columns],
        indptr=np.searchsorted(rows, np.arange(cost.shape[0] + 1)).astype(np.int64),
        n_columns=cost.shape[1],
    )


def _total(cost: np.ndarray, open_sites: np.ndarray) -> float:
    return float(cost[:, open_sites].min(axis=1).sum())


def _neighbours(
    open_sites: np.ndarray, allowed: np.ndarray, required: np.ndarray
) -> Iterator[np.ndarray]:
    for closing, opening in itertools.product(
        np.flatnonzero(open_sites & ~required), np.flatnonzero(~open_sites & allowed)
    ):
        after = open_sites.copy()
        after[closing], after[opening] = False, True
        yield after


@pytest.mark.parametrize("seed", range(10))
def test_no_single_swap_improves_the_answer(seed: int) -> None:
    """From a random start, the result is no worse and no swap of it lowers the cost."""
    rng = np.random.default_rng(seed)
    cost = rng.integers(1, 100, (30, 8)).astype(np.float64) * rng.integers(1, 5, (30, 1))
    start = np.isin(np.arange(8), rng.choice(8, 3, replace=False))
    everything = np.ones(8, dtype=bool)
    nothing = np.zeros(8, dtype=bool)
    result = improve_by_swaps(_pairs(cost), start, nothing, everything)
    assert result.sum() == 3
    assert _total(cost, result) <= _total(cost, start)
    for after in _neighbours(result, everything, nothing):
        assert _total(cost, after) >= _total(cost, result) - 1e-9


def test_required_stay_forbidden_never_open() -> None:
    """A required site is never swapped out and a forbidden one never in."""
    rng = np.random.default_rng(3)
    cost = rng.integers(1, 100, (25, 7)).astype(np.float64)
    required = np.isin(np.arange(7), [0])
    allowed = ~np.isin(np.arange(7), [5, 6])
    start = np.isin(np.arange(7), [0, 1, 2])
    result = improve_by_swaps(_pairs(cost), start, required, allowed)
    assert result[0]
    assert not result[5:].any()
    assert result.sum() == 3
    for after in _neighbours(result, allowed, required):
        assert _total(cost, after) >= _total(cost, result) - 1e-9


def test_serving_every_row_comes_first() -> None:
    """A row with a single reachable site gets it, however cheap the other rows' moves."""
    cost = np.array([[1.0, 50.0, np.inf], [50.0, 1.0, np.inf], [np.inf, np.inf, 900.0]])
    cost = np.vstack([cost, np.tile([[1.0, 2.0, np.inf]], (40, 1))])
    start = np.array([True, True, False])
    nothing = np.zeros(3, dtype=bool)
    result = improve_by_swaps(_pairs(cost), start, nothing, ~nothing)
    assert result[2]


def test_an_excluded_start_moves_to_its_best_allowed_neighbour() -> None:
    """Starting on an excluded set, the search leaves it and never returns to it."""
    cost = np.array([[1.0, 9.0, 9.0, 4.0], [9.0, 1.0, 9.0, 9.0], [9.0, 9.0, 1.0, 5.0]])
    best = np.array([True, True, True, False])
    nothing = np.zeros(4, dtype=bool)
    result = improve_by_swaps(_pairs(cost), best, nothing, ~nothing, excluded=(best,))
    assert not np.array_equal(result, best)
    assert _total(cost, result) == min(
        _total(cost, after) for after in _neighbours(best, ~nothing, nothing)
    )
