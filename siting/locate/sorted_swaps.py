"""Greedy add and best-improvement swaps for the p-median over row-sorted pairs, compiled.

The same moves as `siting.locate.lagrangian`'s greedy and `siting.locate.interchange`'s
swaps (Kuehn and Hamburger 1963; Teitz and Bart 1968 with the savings of Whitaker 1983 and
Resende and Werneck 2007), written again because numpy's passes read every pair: a swap
cost 4 s at 60 million pairs. With each row sorted by cost (`siting.locate.sorted_pairs`),
a greedy step reads a row only up to its nearest open site and a swap's savings only up to
its second nearest, about ``n m / p`` pairs.
"""

from __future__ import annotations

import time

import numpy as np
from numba import prange

from siting._core.jit import compiled, compiled_parallel
from siting.locate.instance import BoolArray, FloatArray, IntArray
from siting.locate.interchange import _best_allowed_swap
from siting.locate.sorted_pairs import SortedPairs, parts_for


def greedy_sites(
    pairs: SortedPairs, n_sites: int, required: BoolArray, allowed: BoolArray
) -> BoolArray:
    """Add the allowed site that saves most until `n_sites` are open, from the required
    ones; a row with no open site costs more than any answer serving every row, so sites
    that serve new rows win first (as `siting.locate.lagrangian`'s greedy)."""
    chosen = required.copy()
    penalty = _penalty(pairs)
    current = pairs.nearest_cost(chosen, penalty)
    gain = np.empty(pairs.n_columns)
    parts = parts_for(pairs.cost.size)
    while chosen.sum() < n_sites:
        gain[:] = 0.0
        if parts == 1:
            _gain_rows(0, pairs.n_rows, pairs.indptr, pairs.columns, pairs.cost, current, gain)
        else:
            _gains_parts(pairs.indptr, pairs.columns, pairs.cost, current, parts, gain)
        gain[chosen | ~allowed] = -1.0
        site = int(np.argmax(gain))
        chosen[site] = True
        _lower_to(pairs.indptr, pairs.columns, pairs.cost, site, current)
    return chosen


def improve_sites(
    pairs: SortedPairs,
    open_sites: BoolArray,
    required: BoolArray,
    allowed: BoolArray,
    *,
    max_swaps: int = 10_000,
    deadline: float | None = None,
) -> BoolArray:
    """Apply the best swap (close an open site, open a closed allowed one) until none lowers
    the cost; required sites stay. As `siting.locate.interchange.improve_by_swaps` without
    excluded sets; no swap starts after `deadline` (a `time.perf_counter` value)."""
    current = open_sites.copy()
    for _ in range(max_swaps):
        if deadline is not None and time.perf_counter() > deadline:
            break
        saving, open_index, total = swap_savings_sorted(pairs, current)
        saving[required[open_index], :] = -np.inf
        saving[:, current | ~allowed] = -np.inf
        swap = _best_allowed_swap(saving, open_index, current, ())
        if swap is None or swap[2] <= 1e-9 * max(total, 1.0):
            break
        current[swap[0]], current[swap[1]] = False, True
    return current


def swap_savings_sorted(
    pairs: SortedPairs, open_sites: BoolArray
) -> tuple[FloatArray, IntArray, float]:
    """What every swap saves (open sites x all columns), ``open_index`` and the current cost,
    as `siting.locate.interchange.swap_savings` returns them."""
    open_index = np.flatnonzero(open_sites)
    slot = np.full(pairs.n_columns, -1, dtype=np.int64)
    slot[open_index] = np.arange(open_index.size)
    gain = np.zeros(pairs.n_columns)
    loss = np.zeros(pairs.n_columns)
    extra = np.zeros((open_index.size, pairs.n_columns))
    arrays = (pairs.indptr, pairs.columns, pairs.cost)
    parts = parts_for(pairs.cost.size)
    if parts == 1:
        total = _savings_rows(0, pairs.n_rows, *arrays, slot, _penalty(pairs), gain, loss, extra)
    else:
        total = _savings_parts(*arrays, slot, _penalty(pairs), parts, gain, loss, extra)
    saving: FloatArray = gain[None, :] - loss[open_index][:, None] + extra
    return saving, open_index, total


def _penalty(pairs: SortedPairs) -> float:
    """A cost per unserved row above any answer that serves every row."""
    return float(np.abs(pairs.cost).sum()) + 1.0


@compiled
def _gain_rows(
    first: int,
    last: int,
    indptr: IntArray,
    columns: IntArray,
    cost: FloatArray,
    current: FloatArray,
    gain: FloatArray,
) -> None:
    """Adds to `gain`, per site, what opening it saves rows first..last-1:
    max(0, current - cost) summed."""
    for row in range(first, last):
        for k in range(indptr[row], indptr[row + 1]):
            if cost[k] >= current[row]:
                break
            gain[columns[k]] += current[row] - cost[k]


# parallel apart from the row kernels: in a function compiled parallel numba runs even
# array assignments on threads, and waking them at each call slowed small instances 2-5x
@compiled_parallel
def _gains_parts(
    indptr: IntArray,
    columns: IntArray,
    cost: FloatArray,
    current: FloatArray,
    n_parts: int,
    gain: FloatArray,
) -> None:
    """`_gain_rows` over all rows in `n_parts` blocks, one per core; adds to `gain`."""
    n_rows = indptr.size - 1
    partial = np.zeros((n_parts, gain.size))
    for part in prange(n_parts):
        first, last = part * n_rows // n_parts, (part + 1) * n_rows // n_parts
        _gain_rows(first, last, indptr, columns, cost, current, partial[part])
    for part in range(n_parts):
        gain += partial[part]


@compiled
def _lower_to(
    indptr: IntArray, columns: IntArray, cost: FloatArray, site: int, current: FloatArray
) -> None:
    """Each row's cost now that `site` is open too."""
    for row in range(indptr.size - 1):
        for k in range(indptr[row], indptr[row + 1]):
            if cost[k] >= current[row]:
                break
            if columns[k] == site:
                current[row] = cost[k]
                break


@compiled_parallel
def _savings_parts(
    indptr: IntArray,
    columns: IntArray,
    cost: FloatArray,
    slot: IntArray,
    penalty: float,
    n_parts: int,
    gain: FloatArray,
    loss: FloatArray,
    extra: FloatArray,
) -> float:
    """`_savings_rows` over all rows in `n_parts` blocks, one per core; adds to gain, loss
    and extra and returns the total cost (penalty per unserved row)."""
    n_rows = indptr.size - 1
    gains = np.zeros((n_parts, gain.size))
    losses = np.zeros((n_parts, loss.size))
    extras = np.zeros((n_parts, extra.shape[0], extra.shape[1]))
    totals = np.zeros(n_parts)
    for part in prange(n_parts):
        first, last = part * n_rows // n_parts, (part + 1) * n_rows // n_parts
        sums = (gains[part], losses[part], extras[part])
        totals[part] = _savings_rows(first, last, indptr, columns, cost, slot, penalty, *sums)
    for part in range(n_parts):
        gain += gains[part]
        loss += losses[part]
        extra += extras[part]
    return float(totals.sum())


@compiled
def _savings_rows(
    first_row: int,
    last_row: int,
    indptr: IntArray,
    columns: IntArray,
    cost: FloatArray,
    slot: IntArray,
    penalty: float,
    gain: FloatArray,
    loss: FloatArray,
    extra: FloatArray,
) -> float:
    """`_savings` over rows first_row..last_row-1, each read up to its second open site."""
    total = 0.0
    for row in range(first_row, last_row):
        first, last = indptr[row], indptr[row + 1]
        nearest, second, at, k = penalty, penalty, -1, first
        while k < last:  # the nearest open site
            if slot[columns[k]] >= 0:
                nearest, at = min(cost[k], penalty), columns[k]
                break
            k += 1
        k += 1
        while k < last:  # the second nearest
            if slot[columns[k]] >= 0:
                second = min(cost[k], penalty)
                break
            k += 1
        total += nearest
        for k in range(first, last):
            if cost[k] >= second:
                break
            gain[columns[k]] += max(nearest - cost[k], 0.0)
            if at >= 0:
                extra[slot[at], columns[k]] += second - max(cost[k], nearest)
        if at >= 0:
            loss[at] += second - nearest
    return total
