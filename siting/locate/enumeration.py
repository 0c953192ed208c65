"""The p-median by trying every choice of the sites left open, when few choices are left.

"Where do three new offices go in this county?" leaves, after the Lagrangian pass has fixed
what it can, some tens of thousands of site sets. HiGHS took 13 s to prove the best of them
on Dalarna (4,004 cells x 73 towns, p = 3: 62,196 sets) because the LP bound is weak with so
few sites; numpy prices every set in well under a second, and the answer is exact by
construction. Used only when the work (`enumeration_work`) is below `MAX_WORK`, about a second
here, before the Lagrangian pass (which on that instance ran 1,500 steps, 5.8 s, without
closing its gap) and again after its fixing.
"""

from __future__ import annotations

import math
import time

import numpy as np
import numpy.typing as npt

from siting.locate.instance import BoolArray, FloatArray
from siting.locate.mip import MipResult

#: Most element operations (sets x demand rows, plus `_STEP_WORK` per step of the search)
#: spent enumerating: about a second here.
MAX_WORK = 1_000_000_000
#: One Python step of the search (a prefix of a set) costs about what numpy does in 50 µs:
#: Dalarna p = 10 after the fixing took 4.7 s by enumeration (167,960 steps) and 2.2 s by HiGHS.
_STEP_WORK = 50_000


def enumeration_work(n_rows: int, n_free: int, n_choose: int) -> float:
    """Element operations `best_site_set` would spend (inf when there is nothing to choose)."""
    if n_choose < 0 or n_choose > n_free:
        return math.inf
    sets = float(math.comb(n_free, n_choose))
    steps = float(math.comb(n_free, n_choose - 1)) if n_choose > 0 else 1.0
    return sets * n_rows + steps * _STEP_WORK


def best_site_set(
    free_cost: FloatArray,
    base: FloatArray,
    fixed_open: BoolArray,
    free: BoolArray,
    n_choose: int,
    excluded: tuple[BoolArray, ...] = (),
) -> MipResult:
    """The open set of least total cost: `fixed_open` plus `n_choose` of the `free` columns.

    `free_cost` is dense, rows x free columns (in order), weighted minutes with inf for
    absent pairs; `base` per row the cost of its nearest fixed-open site (inf if none). A set
    that leaves a row at inf is not an answer; ties go to the first set in lexicographic
    order. Status "infeasible" when no set serves every row.
    """
    started = time.perf_counter()
    search = _Search(free_cost, fixed_open, np.flatnonzero(free), excluded)
    if n_choose == 0:
        search.offer(base[:, None], (), None)
    else:
        search.walk(base, 0, n_choose, ())
    seconds = time.perf_counter() - started
    if search.best_set is None:
        return MipResult(np.empty(0), math.nan, math.nan, math.nan, "infeasible", seconds)
    value = search.best_value
    return MipResult(search.best_set.astype(np.float64), value, value, 0.0, "optimal", seconds)


class _Search:
    """Depth-first over sets in lexicographic order, each level's row minima kept for the
    next: the last site of a set is one vectorised pass over all the columns after it, so
    the work is about one pass over the rows per set, not one per site of the set."""

    def __init__(
        self,
        free_cost: FloatArray,
        fixed_open: BoolArray,
        columns: npt.NDArray[np.int64],
        excluded: tuple[BoolArray, ...],
    ) -> None:
        self.free_cost, self.fixed_open, self.columns = free_cost, fixed_open, columns
        self.excluded = excluded
        self.best_value = math.inf
        self.best_set: BoolArray | None = None

    def walk(self, nearest: FloatArray, first: int, left: int, prefix: tuple[int, ...]) -> None:
        n_free = self.free_cost.shape[1]
        if left == 1:
            last = np.minimum(nearest[:, None], self.free_cost[:, first:])
            self.offer(last, prefix, first)
            return
        for column in range(first, n_free - left + 1):
            reached = np.minimum(nearest, self.free_cost[:, column])
            self.walk(reached, column + 1, left - 1, (*prefix, column))

    def offer(self, minima: FloatArray, prefix: tuple[int, ...], first: int | None) -> None:
        """Take the cheapest of the sets `prefix` + one column from `first` on (columns of
        `minima`; `first` None: `prefix` alone), unless excluded (then the next cheapest)."""
        totals = minima.sum(axis=0)
        for index in np.argsort(totals, kind="stable"):
            if not totals[index] < self.best_value:
                return
            candidate = self.fixed_open.copy()
            picked = [*prefix] if first is None else [*prefix, first + int(index)]
            candidate[self.columns[picked]] = True
            if not any((candidate == mask).all() for mask in self.excluded):
                self.best_value, self.best_set = float(totals[index]), candidate
                return
