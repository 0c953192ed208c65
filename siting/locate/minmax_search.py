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

That bound opens every site still to try, however few may still be chosen; at p = 10 it
left too many nodes. Floors by the count cut more: sites are split into regions (groups that
lean on each other's sites together, `siting.locate.minmax_bound.region_floors`), each
with the least worst mean of its groups per count of its sites, so a node whose regions
need more sites than it may still add is cut; columns are searched region by region, so
that passing a region closes it; where the regions' needs take every site left, only
their columns count as open. (A floor from what each site saves alone, the greedy's
submodular bound, cut 1 % of the nodes at Dalarna p = 5 for 25 % more time: not kept.)

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


@dataclass(frozen=True)
class RegionFloors:
    """Floors on the worst group mean by how many sites of each region a set holds.

    Attributes
    ----------
    region
        Per column, its region (-1 for none); regions are disjoint.
    floors
        Regions x (0..n_choose): ``floors[c, u]`` is at most the worst group mean of any
        set with u sites of region c (`siting.locate.minmax_bound.region_floors`).
    """

    region: IntArray
    floors: FloatArray

    def needed(self, best: float) -> IntArray:
        """Per region, the fewest of its sites a set below `best` holds (a large number
        when none will do)."""
        below = self.floors < best
        counts: IntArray = np.where(
            below.any(axis=1), np.argmax(below, axis=1), self.floors.shape[1] + 1
        )
        return counts


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
    regions: RegionFloors | None = None,
) -> SearchResult:
    """The set of `fixed_open` plus `n_choose` of the `free` columns with the least worst
    group mean, if below `incumbent`.

    `minutes` is dense, rows x all columns (inf for absent pairs); `weights` is groups x
    rows, each row of it summing to 1 over the rows (a group's cost is then its mean). A
    set equal to an `excluded` mask is never returned. With `regions` (over the free
    columns' regions, fixed ones counted), a node is also cut when its regions need more
    sites than it may still add.
    """
    order = _order(minutes, free, regions)
    search = _Search(minutes[:, order], sp.csr_matrix(weights), incumbent, deadline)
    search.sets = (fixed_open, order, excluded)
    if regions is not None:
        search.use_regions(regions, order, fixed_open)
    completed = search.run(minutes[:, fixed_open].min(axis=1, initial=np.inf), n_choose)
    plan = None
    if search.best_set is not None:
        plan = fixed_open.copy()
        plan[order[list(search.best_set)]] = True
    return SearchResult(plan, search.best, completed, search.nodes)


def _order(minutes: FloatArray, free: IntArray, regions: RegionFloors | None) -> IntArray:
    """Remote columns first; with regions, region by region (the most remote region
    first), so that a node past a region's columns has closed the rest of that region."""
    remote = _remoteness(minutes[:, free])
    if regions is None:
        return free[np.argsort(-remote, kind="stable")]
    label = regions.region[free]
    label = np.where(label >= 0, label, label.max(initial=0) + 1)
    region_remote = np.bincount(label, weights=remote) / np.maximum(np.bincount(label), 1)
    ordered: IntArray = free[np.lexsort((-remote, -region_remote[label]))]
    return ordered


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
        # region counts (`use_regions`): per column its region, per region its columns
        # from each column on, the sites the fixed ones give it, and the floors
        self.region = np.zeros(n_columns, dtype=np.int64)
        self.available = np.zeros((1, n_columns + 1), dtype=np.int64)
        self.fixed_count = np.zeros(1, dtype=np.int64)
        self.floors: RegionFloors | None = None
        self.region_suffix = np.zeros((1, 1, 1))
        # to read a set back as a mask: the fixed sites, the column order, the excluded sets
        self.sets: tuple[BoolArray, IntArray, tuple[BoolArray, ...]] = (
            np.zeros(0, dtype=np.bool_), np.zeros(0, dtype=np.int64), ()
        )  # fmt: skip

    def use_regions(self, regions: RegionFloors, order: IntArray, fixed_open: BoolArray) -> None:
        """Count sites per region along the search (columns in `order`)."""
        n_regions = regions.floors.shape[0]
        # columns of no region go to an extra one that needs nothing
        self.region = np.where(regions.region[order] >= 0, regions.region[order], n_regions)
        member = self.region[None, :] == np.arange(n_regions + 1)[:, None]
        self.available = np.zeros((n_regions + 1, order.size + 1), dtype=np.int64)
        self.available[:, :-1] = np.cumsum(member[:, ::-1], axis=1)[:, ::-1]
        # region_suffix[r, :, c]: each row's least minutes over region r's columns from c on
        self.region_suffix = np.full((n_regions + 1, *self.suffix.shape), np.inf)
        for region in range(n_regions + 1):
            own = np.where(member[region][None, :], self.minutes, np.inf)
            self.region_suffix[region, :, :-1] = np.minimum.accumulate(own[:, ::-1], axis=1)[
                :, ::-1
            ]
        fixed = regions.region[fixed_open & (regions.region >= 0)]
        self.fixed_count = np.bincount(fixed, minlength=n_regions + 1)
        self.floors = regions

    def run(self, base: FloatArray, n_choose: int) -> bool:
        """Search every set; False when the deadline stopped it."""
        if n_choose == 0:
            self._offer(base[:, None], (), None)
            return True
        try:
            self._walk(base, 0, n_choose, (), self.fixed_count)
        except TimeoutError:
            return False
        return True

    def _count_bounds(
        self, reached: FloatArray, cut_at: FloatArray, span: tuple[int, int, int], held: IntArray
    ) -> FloatArray:
        """Per child column in [first, last): inf where its regions' needs do not fit the
        `left` - 1 sites after it (each region needs its count less what it holds, from its
        columns after the child); where they fill them exactly, no other region gets a
        site, so the child's bound opens only the needy regions' columns (for children
        whose bound so far, `cut_at`, is below the best); else -inf."""
        first, last, left = span
        n_children = last - first
        bounds = np.full(n_children, -np.inf)
        if self.floors is None:
            return bounds
        needed = np.append(self.floors.needed(self.best), 0)
        children = self.region[first:last]
        # short[r, child]: sites region r still needs once the child is chosen
        short = (needed - held)[:, None] - (children[None, :] == np.arange(needed.size)[:, None])
        short = np.maximum(short, 0)
        fits = (short <= self.available[:, first + 1 : last + 1]).all(axis=0)
        slack = left - 1 - short.sum(axis=0)
        bounds[~fits | (slack < 0)] = np.inf
        for offset in np.flatnonzero(fits & (slack == 0) & (cut_at < self.best)):
            needy = np.flatnonzero(short[:, offset] > 0)
            after = self.region_suffix[needy, :, first + offset + 1].min(axis=0)
            bounds[offset] = self._worst(np.minimum(reached[:, offset], after)[:, None])[0]
        return bounds

    def _worst(self, minima: FloatArray) -> FloatArray:
        """Worst group mean of each column of `minima` (rows x candidates)."""
        with np.errstate(invalid="ignore"):
            worst: FloatArray = np.asarray(self.weights @ minima).max(axis=0)
        return np.where(np.isnan(worst), np.inf, worst)

    def _walk(
        self, nearest: FloatArray, first: int, left: int, prefix: tuple[int, ...], held: IntArray
    ) -> None:
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
        bounds = np.maximum(bounds, self._count_bounds(reached, bounds, (first, last, left), held))
        # children in order of their bound: good sets early, so that the best cuts more
        for offset in np.argsort(bounds, kind="stable"):
            if bounds[offset] >= self.best:  # the best improved since the bounds were taken
                continue
            column = first + int(offset)
            counts = held.copy()
            counts[self.region[column]] += 1
            self._walk(reached[:, offset], column + 1, left - 1, (*prefix, column), counts)

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
