"""Improve a p-median answer by swapping one open site for a closed one while that pays.

Teitz and Bart's (1968) interchange, with every swap's saving computed in one pass over the
demand-site pairs as in Resende and Werneck (2007), "A fast swap-based local search procedure
for location problems": per row the nearest and second-nearest open site give what opening a
site gains, what closing one loses, and a p x m correction table for rows that lose their
nearest site. Written here with numpy because no maintained Python package offers it for
sparse (cut-off) matrices; spopt and PuLP solve the MIP only.

Notes
-----
Teitz and Bart (1968), "Heuristic methods for estimating the generalized vertex median of a
weighted graph" (Operations Research 16): move to a neighbouring set of open sites (one
closed, one opened) while that lowers the cost. Evaluating every swap from the nearest and
second-nearest open site of each row goes back to Whitaker (1983, INFOR 21); the p x m
``extra`` table that makes all p x m swaps one pass is Resende and Werneck's (2007, Annals
of Operations Research 150). For a swap that closes i and opens j:
``saving = gain[j] - loss[i] + extra[i, j]``.

How this differs from Resende and Werneck:

- gain, loss and extra are rebuilt from all pairs after each swap, not updated for the
  rows the swap affected only (their main speed-up); a swap costs one pass over the pairs;
- ``extra`` is dense (p x m), which stays small for the p and m of siting questions;
- each step takes the best swap (best improvement), not the first one found;
- a row with no open site among its stored pairs costs `unserved_penalty`, so on a cut-off
  matrix swaps first serve every row, then shorten trips.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class AssignmentPairs:
    """Pairs of active demand rows (row-major, ``indptr`` per row) and sites, with costs."""

    local_rows: IntArray
    columns: IntArray
    cost: FloatArray
    indptr: IntArray
    n_columns: int

    @property
    def n_rows(self) -> int:
        """Number of demand rows."""
        return int(self.indptr.size - 1)

    def row_min(self, values: FloatArray) -> FloatArray:
        """Per row, the least of `values` (one per pair); rows need at least one pair."""
        mins: FloatArray = np.minimum.reduceat(values, self.indptr[:-1])
        return mins

    def unserved_penalty(self) -> float:
        """A cost per unserved row above any answer that serves every row."""
        return float(np.abs(self.cost).sum()) + 1.0

    def cost_of(self, open_sites: BoolArray) -> float:
        """Total cost with every row at its cheapest open site (inf if a row has none)."""
        return float(self.row_min(np.where(open_sites[self.columns], self.cost, np.inf)).sum())


def improve_by_swaps(
    pairs: AssignmentPairs,
    open_sites: BoolArray,
    required: BoolArray,
    allowed: BoolArray,
    *,
    excluded: tuple[BoolArray, ...] = (),
    max_swaps: int = 10_000,
    deadline: float | None = None,
) -> BoolArray:
    """Apply the best swap until none lowers the cost; required sites stay, only allowed open.

    A row without an open site among its pairs costs more than any answer that serves every
    row, so serving all comes first; the caller prices the result on the full pairs. No
    swap leads to an `excluded` set, and a start that is one moves to its best neighbour.
    No swap starts after `deadline` (a `time.perf_counter` value): each is a pass over all
    pairs, 4 s at 60 million.
    """
    current = open_sites.copy()
    penalty = pairs.unserved_penalty()
    for _ in range(max_swaps):
        if deadline is not None and time.perf_counter() > deadline:
            break
        nearest, first, second = _two_nearest(pairs, current, penalty)
        saving, open_index = _swap_savings(pairs, current, (nearest, first, second))
        saving[required[open_index], :] = -np.inf  # required sites stay open
        saving[:, current | ~allowed] = -np.inf  # only closed, allowed sites may open
        swap = _best_allowed_swap(saving, open_index, current, excluded)
        if swap is None:
            break
        closing, opening, gain = swap
        stuck = any(np.array_equal(current, chosen) for chosen in excluded)
        if gain <= 1e-9 * max(float(nearest.sum()), 1.0) and not stuck:
            break
        current[closing], current[opening] = False, True
    return current


def swap_savings(
    pairs: AssignmentPairs, open_sites: BoolArray
) -> tuple[FloatArray, IntArray, float]:
    """What every swap of an open site for a closed one saves, for searches of other models.

    Returns the savings (open sites x all columns: row k closes ``open_index[k]``, column j
    opens j; only closed columns are meaningful), ``open_index`` and the current cost, in
    which a row with no open site among its pairs costs `AssignmentPairs.unserved_penalty`
    (so do the savings). Exact for the cost of each row at its cheapest open site.
    """
    penalty = pairs.unserved_penalty()
    nearest, first, second = _two_nearest(pairs, open_sites, penalty)
    saving, open_index = _swap_savings(pairs, open_sites, (nearest, first, second))
    return saving, open_index, float(nearest.sum())


def _best_allowed_swap(
    saving: FloatArray,
    open_index: IntArray,
    current: BoolArray,
    excluded: tuple[BoolArray, ...],
) -> tuple[int, int, float] | None:
    """The (close, open, saving) of the best swap whose result is not an excluded set."""
    for _ in range(len(excluded) + 1):
        best = int(np.argmax(saving))
        if not np.isfinite(saving.flat[best]):
            return None
        slot, opening = divmod(best, saving.shape[1])
        closing = int(open_index[slot])
        after = current.copy()
        after[closing], after[opening] = False, True
        if not any(np.array_equal(after, chosen) for chosen in excluded):
            return closing, opening, float(saving.flat[best])
        saving.flat[best] = -np.inf
    return None


def _two_nearest(
    pairs: AssignmentPairs, open_sites: BoolArray, penalty: float
) -> tuple[FloatArray, IntArray, FloatArray]:
    """Per row: cost to the nearest open site, its column (-1: none), cost to the second."""
    masked = np.where(open_sites[pairs.columns], pairs.cost, np.inf)
    nearest = pairs.row_min(masked)
    at_nearest = np.flatnonzero((masked == nearest[pairs.local_rows]) & np.isfinite(masked))
    rows, first_hit = np.unique(pairs.local_rows[at_nearest], return_index=True)
    first = np.full(pairs.n_rows, -1, dtype=np.int64)
    first[rows] = pairs.columns[at_nearest[first_hit]]
    # mask only the first nearest pair: with a tie, the second nearest costs as much
    masked[at_nearest[first_hit]] = np.inf
    second = pairs.row_min(masked)
    nearest = np.minimum(nearest, penalty)
    return nearest, first, np.minimum(second, penalty)


def _swap_savings(
    pairs: AssignmentPairs,
    open_sites: BoolArray,
    nearest_first_second: tuple[FloatArray, IntArray, FloatArray],
) -> tuple[FloatArray, IntArray]:
    """Saving of every (close open_index[k], open column) swap: gain - loss + extra.

    ``gain[j]``: what opening j saves rows that move to it; ``loss[i]``: what closing i costs
    its rows if they fall back to their second site; ``extra[i, j]``: the correction for
    those rows when j serves them better than their second (Resende and Werneck 2007).
    """
    nearest, first, second = nearest_first_second
    rows, columns, cost = pairs.local_rows, pairs.columns, pairs.cost
    n_columns = pairs.n_columns
    gain = np.bincount(columns, weights=np.maximum(nearest[rows] - cost, 0.0), minlength=n_columns)
    served = first >= 0
    loss = np.bincount(
        first[served], weights=(second - nearest)[served], minlength=n_columns
    ).astype(np.float64)
    open_index = np.flatnonzero(open_sites)
    slot = np.full(n_columns, -1, dtype=np.int64)
    slot[open_index] = np.arange(open_index.size)
    # rows that lose their nearest site but have `column` closer than their second
    near = (first[rows] >= 0) & (cost < second[rows])
    extra = np.bincount(
        slot[first[rows[near]]] * n_columns + columns[near],
        weights=second[rows[near]] - np.maximum(cost[near], nearest[rows[near]]),
        minlength=open_index.size * n_columns,
    ).reshape(open_index.size, n_columns)
    saving: FloatArray = gain[None, :] - loss[open_index][:, None] + extra
    return saving, open_index
