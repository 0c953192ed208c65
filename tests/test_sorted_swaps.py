"""The compiled greedy and swaps over row-sorted pairs against the numpy versions they replace."""

from __future__ import annotations

import numpy as np
import pytest

from siting.locate import sorted_pairs
from siting.locate.interchange import AssignmentPairs, improve_by_swaps, swap_savings
from siting.locate.lagrangian import _greedy
from siting.locate.sorted_pairs import sort_pairs
from siting.locate.sorted_swaps import greedy_sites, improve_sites, swap_savings_sorted


def _pairs(rng: np.random.Generator, n_rows: int, n_columns: int) -> AssignmentPairs:
    """Random costs with about a third of the pairs absent (a cut-off) and some ties."""
    cost = rng.integers(1, 40, (n_rows, n_columns)).astype(np.float64) * rng.random((n_rows, 1))
    cost[rng.random(cost.shape) < 0.35] = np.inf
    rows, columns = np.nonzero(np.isfinite(cost))
    return AssignmentPairs(
        local_rows=rows.astype(np.int64),
        columns=columns.astype(np.int64),
        cost=cost[rows, columns],
        indptr=np.searchsorted(rows, np.arange(n_rows + 1)).astype(np.int64),
        n_columns=n_columns,
    )


@pytest.mark.parametrize("seed", range(10))
def test_sorted_rows_hold_the_same_pairs_in_cost_order(seed: int) -> None:
    """Each row keeps its pairs, in increasing cost, ties in column order (as a lexsort)."""
    pairs = _pairs(np.random.default_rng(seed), 40, 12)
    ordered = sort_pairs(pairs)
    order = np.lexsort((pairs.columns, pairs.cost, pairs.local_rows))
    np.testing.assert_array_equal(ordered.columns, pairs.columns[order])
    np.testing.assert_array_equal(ordered.cost, pairs.cost[order])


@pytest.mark.parametrize("seed", range(10))
def test_swap_savings_equal_numpys(seed: int) -> None:
    """Every swap's saving and the current cost (unserved rows at the penalty) equal numpy's."""
    rng = np.random.default_rng(seed)
    pairs = _pairs(rng, 60, 15)
    open_sites = np.isin(np.arange(15), rng.choice(15, 1 + seed % 4, replace=False))
    saving, open_index, total = swap_savings_sorted(sort_pairs(pairs), open_sites)
    expected, expected_index, expected_total = swap_savings(pairs, open_sites)
    np.testing.assert_array_equal(open_index, expected_index)
    np.testing.assert_allclose(saving, expected, rtol=1e-12, atol=1e-9)
    assert total == pytest.approx(expected_total, rel=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_greedy_and_swaps_equal_numpys(seed: int) -> None:
    """Greedy add from required sites, then swaps that keep them: the same sets as numpy's."""
    rng = np.random.default_rng(100 + seed)
    pairs = _pairs(rng, 80, 20)
    required = np.isin(np.arange(20), rng.choice(20, seed % 2, replace=False))
    allowed = ~np.isin(np.arange(20), rng.choice(20, 3, replace=False)) | required
    ordered = sort_pairs(pairs)
    greedy = greedy_sites(ordered, 4, required, allowed)
    np.testing.assert_array_equal(greedy, _greedy(pairs, 4, required, allowed))
    improved = improve_sites(ordered, greedy, required, allowed)
    np.testing.assert_array_equal(improved, improve_by_swaps(pairs, greedy, required, allowed))
    assert improved.sum() == 4
    assert (improved <= allowed).all()
    assert (improved >= required).all()


def test_no_swap_starts_after_the_deadline() -> None:
    """A deadline already past returns the start unchanged."""
    pairs = sort_pairs(_pairs(np.random.default_rng(7), 30, 10))
    start = np.arange(10) < 3
    everything, nothing = np.ones(10, dtype=np.bool_), np.zeros(10, dtype=np.bool_)
    result = improve_sites(pairs, start, nothing, everything, deadline=0.0)
    np.testing.assert_array_equal(result, start)


@pytest.mark.parametrize("seed", range(5))
def test_rows_split_over_threads_give_the_same_savings(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every pass split into blocks of rows (as at scale), greedy, savings and swaps
    still equal numpy's."""
    monkeypatch.setattr(sorted_pairs, "PARALLEL_PAIRS", 0)
    rng = np.random.default_rng(200 + seed)
    pairs = _pairs(rng, 70, 16)
    everything, nothing = np.ones(16, dtype=np.bool_), np.zeros(16, dtype=np.bool_)
    ordered = sort_pairs(pairs)
    greedy = greedy_sites(ordered, 3, nothing, everything)
    np.testing.assert_array_equal(greedy, _greedy(pairs, 3, nothing, everything))
    saving, _, total = swap_savings_sorted(ordered, greedy)
    expected, _, expected_total = swap_savings(pairs, greedy)
    np.testing.assert_allclose(saving, expected, rtol=1e-12, atol=1e-9)
    assert total == pytest.approx(expected_total, rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_pairs_grouped_by_site_are_the_same_pairs(seed: int) -> None:
    """by_site holds each site's pairs (row, cost), rows in increasing order."""
    pairs = _pairs(np.random.default_rng(300 + seed), 50, 9)
    pointer, rows, cost = sort_pairs(pairs).by_site
    for site in range(9):
        mine = pairs.columns == site
        span = slice(pointer[site], pointer[site + 1])
        np.testing.assert_array_equal(rows[span], pairs.local_rows[mine])
        np.testing.assert_array_equal(cost[span], pairs.cost[mine])
