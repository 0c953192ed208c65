"""The min-max over groups by depth-first search over site sets, pruned by a bound per group.

HiGHS's LP bound for the worst group's mean is weak: on Dalarna's 15 municipalities (4,004
cells x 73 towns, p = 5) the LP gives about 10 minutes, the Lagrangian dual about 26, and
the optimum is 38.7; HiGHS found no plan in 30 s. Sets of sites are few enough to search
instead, and most are cut early: a group's mean with the sites chosen so far and *every*
site still to be tried open is a lower bound for every set below that node, so a node
whose bound for some group reaches the best plan so far is dropped. Trying remote sites
first makes the bound bite: once the search has passed a region's sites without choosing
one, every node below leaves that region's group too far. Dalarna p = 5: 6,835 nodes,
about 2 s, exact.

Notes
-----
Branch and bound over subsets in lexicographic order (Land and Doig 1960, "An automatic
method of solving discrete programming problems", Econometrica 28(3)), with the bound
:math:`\\max_k \\frac{1}{G_k} \\sum_i g_{ki} \\min(t_i(S), \\min_{j \\in R} t_{ij})` for a
node with chosen sites :math:`S` and sites still to try :math:`R`. The last site of a set
is chosen for all candidates at once (one sparse product), as in
`siting.locate.enumeration`. A search stopped by its deadline returns the best plan it
found, without a proof.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from siting.locate.instance import BoolArray, FloatArray, IntArray

#: most entries of the dense rows x free sites matrix the search holds (400 MB of float64)
MAX_DENSE = 50_000_000


@dataclass(frozen=True)
class SearchResult:
    """What the search proved.

    Attributes
    ----------
    plan
        Open sites (mask over all columns) of the best set found below the incumbent, or
        None when no set beats it.
    value
        The worst group mean of `plan` (the incumbent's value when `plan` is None).
    complete
        True when every set was searched or cut: `value` is then the optimum.
    nodes
        Nodes visited.
    """

    plan: BoolArray | None
    value: float
    complete: bool
    nodes: int


def search_minmax(
    minutes: FloatArray,
    weights: sp.csr_matrix,
    fixed_open: BoolArray,
    free: IntArray,
    n_choose: int,
    *,
    incumbent: float = math.inf,
    excluded: tuple[BoolArray, ...] = (),
    deadline: float | None = None,
) -> SearchResult:
    """The set of `fixed_open` plus `n_choose` of the `free` columns with the least worst
    group mean, if below `incumbent`.

    `minutes` is dense, rows x all columns (inf for absent pairs); `weights` is groups x
    rows, each row of it summing to 1 over the rows (a group's cost is then its mean). A
    set equal to an `excluded` mask is never returned.
    """
    order = free[np.argsort(-_remoteness(minutes[:, free]), kind="stable")]
    search = _Search(minutes[:, order], sp.csr_matrix(weights), incumbent, deadline)
    search.sets = (fixed_open, order, excluded)
    completed = search.run(minutes[:, fixed_open].min(axis=1, initial=np.inf), n_choose)
    plan = None
    if search.best_set is not None:
        plan = fixed_open.copy()
        plan[order[list(search.best_set)]] = True
    return SearchResult(plan, search.best, completed, search.nodes)


def _remoteness(minutes: FloatArray) -> FloatArray:
    """Mean minutes from each column to the rows (absent pairs as the largest stored)."""
    finite = np.isfinite(minutes)
    largest = float(minutes[finite].max()) if finite.any() else 1.0
    remote: FloatArray = np.where(finite, minutes, 2 * largest).mean(axis=0)
    return remote


class _Search:
    """Depth-first over sets of the (reordered) columns, each node's row minima passed down."""

    def __init__(
        self, minutes: FloatArray, weights: sp.csr_matrix, best: float, deadline: float | None
    ) -> None:
        self.minutes, self.weights, self.best, self.deadline = minutes, weights, best, deadline
        n_rows, n_columns = minutes.shape
        # suffix[:, c]: each row's least minutes over columns c and after (inf past the end)
        self.suffix = np.full((n_rows, n_columns + 1), np.inf)
        self.suffix[:, :n_columns] = np.minimum.accumulate(minutes[:, ::-1], axis=1)[:, ::-1]
        self.best_set: tuple[int, ...] | None = None
        self.nodes = 0
        # to read a set back as a mask: the fixed sites, the column order, the excluded sets
        self.sets: tuple[BoolArray, IntArray, tuple[BoolArray, ...]] = (
            np.zeros(0, dtype=np.bool_), np.zeros(0, dtype=np.int64), ()
        )  # fmt: skip

    def run(self, base: FloatArray, n_choose: int) -> bool:
        """Search every set; False when the deadline stopped it."""
        if n_choose == 0:
            self._offer(base[:, None], (), None)
            return True
        try:
            self._walk(base, 0, n_choose, ())
        except TimeoutError:
            return False
        return True

    def _worst(self, minima: FloatArray) -> FloatArray:
        """Worst group mean of each column of `minima` (rows x candidates)."""
        with np.errstate(invalid="ignore"):
            worst: FloatArray = np.asarray(self.weights @ minima).max(axis=0)
        return np.where(np.isnan(worst), np.inf, worst)

    def _walk(self, nearest: FloatArray, first: int, left: int, prefix: tuple[int, ...]) -> None:
        self.nodes += 1
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise TimeoutError
        n_columns = self.minutes.shape[1]
        if left == 1:
            self._offer(np.minimum(nearest[:, None], self.minutes[:, first:]), prefix, first)
            return
        last = n_columns - left + 1
        if last <= first:
            return
        reached = np.minimum(nearest[:, None], self.minutes[:, first:last])
        # each child's bound: its sites plus every column after it open
        bounds = self._worst(np.minimum(reached, self.suffix[:, first + 1 : last + 1]))
        # children in order of their bound: good sets early, so that the best cuts more
        for offset in np.argsort(bounds, kind="stable"):
            if bounds[offset] >= self.best:  # the best improved since the bounds were taken
                continue
            column = first + int(offset)
            self._walk(reached[:, offset], column + 1, left - 1, (*prefix, column))

    def _offer(self, minima: FloatArray, prefix: tuple[int, ...], first: int | None) -> None:
        """Take the best of the sets `prefix` + one column from `first` on (columns of
        `minima`), unless excluded (then the next best)."""
        worst = self._worst(minima)
        fixed_open, order, excluded = self.sets
        for index in np.argsort(worst, kind="stable"):
            if not worst[index] < self.best:
                return
            chosen = prefix if first is None else (*prefix, first + int(index))
            if excluded:
                candidate = fixed_open.copy()
                candidate[order[list(chosen)]] = True
                if any(np.array_equal(candidate, mask) for mask in excluded):
                    continue
            self.best, self.best_set = float(worst[index]), chosen
            return
