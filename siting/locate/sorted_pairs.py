"""Sort demand-site pairs by cost within each row, for kernels that stop reading a row early.

A row's pairs in increasing cost let a kernel stop at the row's first pair dearer than a
level (its multiplier, its second open site), so a pass reads about ``n m / p`` pairs, not
``n m``: what makes the Lagrangian steps and the swaps of `siting.locate.branching` and
`siting.locate.sorted_swaps` affordable at 100,000 x 2,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numba
import numpy as np
from numba import prange

from siting._core.jit import compiled, compiled_parallel
from siting.locate.instance import BoolArray, FloatArray, IntArray
from siting.locate.interchange import AssignmentPairs

#: Pairs from which a pass is split over the cores (`parts_for`): below, the threads' start
#: costs more than they save (a step of the small trees takes microseconds).
PARALLEL_PAIRS = 1_000_000


def parts_for(n_pairs: int) -> int:
    """How many blocks of rows a compiled pass over `n_pairs` pairs runs in parallel."""
    return 1 if n_pairs < PARALLEL_PAIRS else int(numba.get_num_threads())


@dataclass(frozen=True)
class SortedPairs:
    """Each row's pairs in increasing cost (row-major, `indptr` per row; ties keep their
    column order)."""

    indptr: IntArray
    columns: IntArray
    cost: FloatArray
    n_columns: int

    @property
    def n_rows(self) -> int:
        """Number of demand rows."""
        return int(self.indptr.size - 1)

    @cached_property
    def by_site(self) -> tuple[IntArray, IntArray, FloatArray]:
        """The same pairs grouped by site: a pointer per site, then each pair's row and cost
        (a subgradient reads only the p chosen sites' pairs this way)."""
        counts = np.bincount(self.columns, minlength=self.n_columns)
        pointer = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        rows = np.empty(self.columns.size, dtype=np.int64)
        cost = np.empty(self.columns.size)
        _group_by_site(self.indptr, self.columns, self.cost, pointer.copy(), rows, cost)
        return pointer, rows, cost

    def nearest_cost(self, open_sites: BoolArray, unserved: float = np.inf) -> FloatArray:
        """Per row, the cost to its nearest open site (`unserved` when it has none)."""
        nearest = np.empty(self.n_rows)
        _nearest_open(self.indptr, self.columns, self.cost, open_sites, unserved, nearest)
        return nearest


def sort_pairs(pairs: AssignmentPairs) -> SortedPairs:
    """The pairs with each row sorted by cost (stable)."""
    columns = np.empty_like(pairs.columns)
    cost = np.empty_like(pairs.cost)
    arrays = (pairs.indptr, pairs.columns, pairs.cost, columns, cost)
    parts = parts_for(pairs.cost.size)
    if parts == 1:
        _sort_rows(0, pairs.n_rows, *arrays)
    else:
        _sort_parts(*arrays, parts)
    return SortedPairs(pairs.indptr, columns, cost, pairs.n_columns)


# row by row each sort is short and stays in cache, and the rows spread over the cores
@compiled
def _sort_rows(
    first_row: int,
    last_row: int,
    indptr: IntArray,
    columns: IntArray,
    cost: FloatArray,
    out_columns: IntArray,
    out_cost: FloatArray,
) -> None:
    for row in range(first_row, last_row):
        first, last = indptr[row], indptr[row + 1]
        order = np.argsort(cost[first:last], kind="mergesort")
        for k in range(last - first):
            out_columns[first + k] = columns[first + order[k]]
            out_cost[first + k] = cost[first + order[k]]


@compiled_parallel
def _sort_parts(
    indptr: IntArray,
    columns: IntArray,
    cost: FloatArray,
    out_columns: IntArray,
    out_cost: FloatArray,
    n_parts: int,
) -> None:
    n_rows = indptr.size - 1
    for part in prange(n_parts):
        first, last = part * n_rows // n_parts, (part + 1) * n_rows // n_parts
        _sort_rows(first, last, indptr, columns, cost, out_columns, out_cost)


@compiled
def _nearest_open(
    indptr: IntArray,
    columns: IntArray,
    cost: FloatArray,
    open_sites: BoolArray,
    penalty: float,
    nearest: FloatArray,
) -> None:
    """Per row, the cost to its nearest open site (`penalty` when it has none)."""
    for row in range(indptr.size - 1):
        nearest[row] = penalty
        for k in range(indptr[row], indptr[row + 1]):
            if open_sites[columns[k]]:
                nearest[row] = min(cost[k], penalty)
                break


@compiled
def _group_by_site(
    indptr: IntArray,
    columns: IntArray,
    cost: FloatArray,
    next_slot: IntArray,
    out_rows: IntArray,
    out_cost: FloatArray,
) -> None:
    """A counting sort of the pairs by site (`next_slot` starts at each site's pointer)."""
    for row in range(indptr.size - 1):
        for k in range(indptr[row], indptr[row + 1]):
            slot = next_slot[columns[k]]
            out_rows[slot], out_cost[slot] = row, cost[k]
            next_slot[columns[k]] = slot + 1
