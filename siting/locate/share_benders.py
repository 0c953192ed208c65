"""Solve the p-median under a group share rule by Benders cuts over a small master model.

The assignment model of the rule (a column and a linking row per pair: Dalarna's 4,004
cells x 73 towns gave 208,000 of each) was too large for HiGHS: a 23.5 % gap at 30 s, not
done after 300 s. Here HiGHS sees the sites, one coverage column per class of points that
reach the same sites within T (Dalarna: 643 classes), the share rows over those, and one
cost column per demand row, bounded from below by cuts added only where a plan needs them:
two to three per row end the LP (7 rounds), and the MIP closes from there.

Notes
-----
A row's minutes to its nearest open site are at least, for any of its distances :math:`D`,

.. math:: \\theta_i \\ge D - \\sum_j (D - t_{ij})^+ y_j

(the radius formulation's levels, Elloumi 2010; García, Labbé and Marín 2011, written as
Benders optimality cuts of the p-median as in Duran-Mena, Fernández and Ljubić and in
Fischetti, Ljubić and Sinnl 2017, "Redesigning Benders decomposition for large-scale
facility location", Management Science 63(7)). For a point :math:`y` the deepest cut takes
:math:`D` as the least distance where the row's open sites, nearest first, sum to 1; at an
integer plan it is tight. The master is

.. math:: \\min \\sum_i w_i \\theta_i \\quad \\text{s.t.} \\quad \\text{the cuts}, \\;
          c_l \\le \\sum_{j \\in J_l} y_j, \\; \\sum_l g_{kl} c_l \\ge X G_k, \\;
          \\sum_j y_j = p, \\; y \\in \\{0, 1\\}, \\; 0 \\le c \\le 1

with :math:`J_l` the sites within T of class :math:`l`. Rounds of cuts at the LP's answer
come first (Kelley's cutting planes on the LP; the master stays an LP), then the MIP from
the best plan in hand; a plan the MIP returns whose true cost is above its master value
adds its cuts and the MIP runs again. Every master bound is a bound of the rule's optimum,
so the answer comes back with it; a plan's cost is read by nearest open site, which also
gives each class the most coverage that plan can, so every master plan meets the rule.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from siting.locate.groups import Groups
from siting.locate.instance import (
    BoolArray,
    FloatArray,
    Instance,
    IntArray,
    add_site_columns,
    merge_identical_rows,
)
from siting.locate.mip import (
    MipModel,
    MipOptions,
    MipResult,
    NoSolutionError,
    run_highs,
    set_start,
)
from siting.locate.solution import PROVEN_GAP

logger = logging.getLogger(__name__)

#: rounds of cuts on the LP before the MIP (Dalarna p = 10 needs 7)
LP_ROUNDS = 100
#: a cut is added when it lifts a row's cost by more than this (relative)
CUT_TOLERANCE = 1e-7
#: After the LP rounds the work left is the proof from a good plan: HiGHS's sub-MIP
#: heuristics only look for plans (as in `siting.locate.radius`), and its presolve of the
#: thousands of cut rows cost more than it saved (Dalarna p = 10, 80 %: MIP 4.5 s CPU with
#: presolve, 2.6 s without).
SETTINGS: dict[str, bool | float | str] = {
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "presolve": "off",
}


@dataclass(frozen=True)
class SortedPairs:
    """The pairs of the rows to serve, each row's in increasing minutes (row-major)."""

    rows: IntArray  # local row of each pair
    sites: IntArray
    minutes: FloatArray
    indptr: IntArray  # per local row
    weights: FloatArray  # per local row: its weight in the objective

    @classmethod
    def from_pairs(
        cls, rows: IntArray, sites: IntArray, minutes: FloatArray, weights: FloatArray
    ) -> SortedPairs:
        """`rows` numbered 0.. (local); `weights` one per local row. Minutes become float64:
        a cut of float32 levels missed an integer plan by 2e-6 and HiGHS called it
        infeasible."""
        order = np.lexsort((sites, minutes, rows))
        indptr = np.searchsorted(rows[order], np.arange(weights.size + 1)).astype(np.int64)
        minutes64 = np.asarray(minutes[order], dtype=np.float64)
        return cls(rows[order], sites[order], minutes64, indptr, weights)

    def nearest(self, plan: BoolArray) -> FloatArray:
        """Per row, minutes to its nearest site open in `plan` (inf when none)."""
        minutes = np.where(plan[self.sites], self.minutes, np.inf)
        nearest: FloatArray = np.minimum.reduceat(minutes, self.indptr[:-1])
        return nearest

    def deepest_cuts(self, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Per row, the level D of its deepest cut at `y` and the cut's value there."""
        open_share = y[self.sites]
        cumulative = np.cumsum(open_share)
        before = np.r_[0.0, cumulative][self.indptr[:-1]]
        reached = cumulative - before[self.rows] >= 1.0 - 1e-9
        # first pair of each row where the open share reaches 1, else the row's farthest
        last = self.indptr[1:] - 1
        index = np.where(reached, np.arange(self.rows.size), np.iinfo(np.int64).max)
        first = np.minimum(np.minimum.reduceat(index, self.indptr[:-1]), last)
        level = self.minutes[first]
        saved = np.maximum(level[self.rows] - self.minutes, 0.0) * open_share
        value = level - np.bincount(self.rows, weights=saved, minlength=level.size)
        return level, value

    def cut_rows(self, chosen: IntArray, level: FloatArray, n_columns: int) -> sp.csr_matrix:
        """Rows ``sum_j (D - t_ij)^+ y_j`` of the cuts of rows `chosen` at levels `level`
        (one per row), over `n_columns` model columns (sites first)."""
        take = np.zeros(level.size, dtype=np.bool_)
        take[chosen] = True
        lift = level[self.rows] - self.minutes
        keep = take[self.rows] & (lift > 0)
        position = np.full(level.size, -1, dtype=np.int64)
        position[chosen] = np.arange(chosen.size)
        return sp.csr_matrix(
            (lift[keep], (position[self.rows[keep]], self.sites[keep])),
            shape=(chosen.size, n_columns),
        )


@dataclass
class _Master:
    """The master model in HiGHS and where its columns are."""

    highs: highspy.Highs
    n_sites: int  # site columns come first
    first_class: int
    first_cost: int
    classes: sp.csr_matrix  # classes x sites: sites within T
    cuts: int = 0

    def add_cuts(self, pairs: SortedPairs, y: FloatArray, cost: FloatArray | None) -> int:
        """Add the deepest cut of every row it lifts above `cost` (None: every row's)."""
        level, value = pairs.deepest_cuts(y)
        if cost is None:
            chosen = np.arange(level.size)
        else:
            chosen = np.flatnonzero(value > cost + CUT_TOLERANCE * np.maximum(np.abs(value), 1.0))
        if chosen.size == 0:
            return 0
        sites = pairs.cut_rows(chosen, level, self.first_cost + level.size)
        rows = sp.csr_matrix(sites + sp.csr_matrix(
            (np.ones(chosen.size), (np.arange(chosen.size), self.first_cost + chosen)),
            shape=sites.shape,
        ))  # fmt: skip
        self.highs.addRows(
            chosen.size, level[chosen], np.full(chosen.size, highspy.kHighsInf), rows.nnz,
            rows.indptr[:-1].astype(np.int32), rows.indices.astype(np.int32), rows.data,
        )  # fmt: skip
        self.cuts += chosen.size
        return int(chosen.size)

    def values(self) -> tuple[FloatArray, FloatArray]:
        """The site values and the row costs of HiGHS's last answer."""
        values = np.asarray(self.highs.getSolution().col_value, dtype=np.float64)
        return values[: self.n_sites], values[self.first_cost :]

    def set_integer(self, integer: bool) -> None:
        """Make the site columns binary (the MIP) or continuous (the LP)."""
        index = np.arange(self.n_sites, dtype=np.int32)
        kind = np.full(self.n_sites, 1 if integer else 0, dtype=np.uint8)
        self.highs.changeColsIntegrality(self.n_sites, index, kind)

    def start(self, plan: BoolArray, minutes: FloatArray) -> None:
        """Give HiGHS `plan` (its classes covered, each row at its nearest open site)."""
        covered = np.minimum(self.classes @ plan.astype(np.float64), 1.0)
        set_start(self.highs, np.concatenate([plan.astype(np.float64), covered, minutes]))


def build_master(
    instance: Instance,
    found: Groups,
    rule: tuple[float, float],
    pairs: SortedPairs,
    active: IntArray,
    count: int,
    options: MipOptions,
) -> _Master:
    """The master of the module notes without cuts; `active` are the model rows (local row
    r is demand row ``active[r]``), `rule` is (T minutes, least share X)."""
    limit, share = rule
    n_sites = instance.od.shape[1]
    within = pairs.minutes <= limit
    reach = sp.csr_matrix(
        (np.ones(int(within.sum())), (pairs.rows[within], pairs.sites[within])),
        shape=(active.size, n_sites),
    )
    has_class = np.diff(reach.indptr) > 0
    classes, class_weights = merge_identical_rows(
        reach[has_class], found.weights[:, active[has_class]].T.toarray()
    )
    model = MipModel("min")
    add_site_columns(model, instance, n_sites=count)
    first_class = model.add_columns(np.zeros(classes.shape[0]), upper=1.0)
    first_cost = model.add_columns(pairs.weights)
    link = sp.hstack([-classes, sp.identity(classes.shape[0])], format="csr")
    model.add_rows(link, upper=0.0)  # a class is covered only by a site within T
    shares = sp.csr_matrix(class_weights.T)
    model.add_rows(
        sp.hstack([sp.csr_matrix((shares.shape[0], first_class)), shares], format="csr"),
        lower=(share - 1e-9) * found.totals,
    )
    model.add_rows(_service_rows(instance, pairs, count), lower=1.0)
    highs = model.to_highs(options, settings=SETTINGS)
    return _Master(highs, n_sites, first_class, first_cost, classes)


def _service_rows(instance: Instance, pairs: SortedPairs, count: int) -> sp.csr_matrix:
    """Some site of theirs open, for the rows an answer could leave unserved (one row per
    distinct set of sites): the cuts price a row only when it is served."""
    shape = (pairs.indptr.size - 1, instance.od.shape[1])
    reach = sp.csr_matrix((np.ones(pairs.rows.size), (pairs.rows, pairs.sites)), shape=shape)
    merged, _ = merge_identical_rows(reach, np.zeros(shape[0]))
    has_required = merged @ instance.required.astype(np.float64) > 0
    outside = instance.allowed.sum() - merged @ instance.allowed.astype(np.float64)
    risky = np.flatnonzero(~has_required & (outside >= count))
    return sp.csr_matrix(merged[risky])


def solve_by_cuts(
    master: _Master,
    pairs: SortedPairs,
    plan: BoolArray | None,
    options: MipOptions,
    deadline: float | None,
) -> MipResult:
    """The LP rounds, then the MIP rounds, from `plan` (a plan meeting the rule, or None).

    Values of the result: the open sites. Raises `siting.locate.mip.NoSolutionError` when
    the time ran out with no plan at all.
    """
    started = time.perf_counter()
    upper = math.inf if plan is None else float(pairs.weights @ pairs.nearest(plan))
    master.set_integer(False)
    if plan is not None:  # the plan's own cuts first: tight where the answer likely is
        master.add_cuts(pairs, plan.astype(np.float64), None)
    lower = _lp_rounds(master, pairs, deadline)
    logger.info("share rule by cuts: LP bound %.6g after %d cuts", lower, master.cuts)
    if plan is not None and not _closed(lower, upper, options.mip_gap):
        lower = _fix_by_reduced_costs(master, pairs, (lower, upper), deadline)
    master.set_integer(True)
    if plan is not None and _closed(lower, upper, options.mip_gap):
        bound = min(lower, upper)
        return MipResult(plan.astype(np.float64), upper, bound, _gap(upper, bound), "optimal",
                         time.perf_counter() - started)  # fmt: skip
    return _mip_rounds(master, pairs, plan, (lower, upper), options, deadline, started)


def _lp_rounds(master: _Master, pairs: SortedPairs, deadline: float | None) -> float:
    """Cut the LP's answer until no row's cost rises (or time runs out); its bound."""
    bound = -math.inf
    if master.cuts == 0:
        master.add_cuts(pairs, np.ones(master.n_sites), None)  # each row's nearest distance
    for _ in range(LP_ROUNDS):
        _time_left(master.highs, deadline)
        master.highs.run()
        status = master.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            return math.inf  # no plan at all: the MIP says so
        if status != highspy.HighsModelStatus.kOptimal:
            break
        bound = float(master.highs.getInfo().objective_function_value)
        y, cost = master.values()
        if _past(deadline) or master.add_cuts(pairs, y, cost) == 0:
            break
    return bound


def _fix_by_reduced_costs(
    master: _Master, pairs: SortedPairs, bounds: tuple[float, float], deadline: float | None
) -> float:
    """Close (open) every site whose opening (closing) lifts the LP above the plan in hand,
    cut the LP again, and repeat while that fixes sites; the last LP bound.

    Only plans cheaper than the one in hand are cut off, so the bound is one of the rule's
    optimum once taken no higher than that plan. HiGHS does the same at its root, but
    restarts from a fresh LP after each round: Dalarna p = 10 spent 8 of 12 s there.
    """
    lower, upper = bounds
    while not _past(deadline) and lower < upper:
        y = np.asarray(master.highs.getSolution().col_value[: master.n_sites])
        reduced = np.asarray(master.highs.getSolution().col_dual[: master.n_sites])
        info = master.highs.getLp()
        low = np.asarray(info.col_lower_[: master.n_sites])
        high = np.asarray(info.col_upper_[: master.n_sites])
        margin = upper + 1e-9 * max(abs(upper), 1.0)
        close = (low < high) & (y <= 1e-9) & (lower + reduced > margin)
        open_ = (low < high) & (y >= 1 - 1e-9) & (lower - reduced > margin)
        if not (close.any() or open_.any()):
            break
        high[close], low[open_] = 0.0, 1.0
        index = np.flatnonzero(close | open_).astype(np.int32)
        master.highs.changeColsBounds(index.size, index, low[index], high[index])
        logger.info("share rule by cuts: %d sites closed, %d open by reduced costs",
                    int(close.sum()), int(open_.sum()))  # fmt: skip
        lower = _lp_rounds(master, pairs, deadline)
    return lower


def _mip_rounds(
    master: _Master,
    pairs: SortedPairs,
    plan: BoolArray | None,
    bounds: tuple[float, float],
    options: MipOptions,
    deadline: float | None,
    started: float,
) -> MipResult:
    """Solve the master MIP; while its plan costs more than the master says, cut it and
    solve again. The best plan stands with the master's bound."""
    lower, upper = bounds
    status = "time limit"
    while not _past(deadline):
        if plan is not None:
            master.start(plan, pairs.nearest(plan))
        _time_left(master.highs, deadline)
        result = run_highs(master.highs, is_mip=True)  # NoSolutionError without a plan
        if result.status == "infeasible":
            return result
        logger.info("share rule by cuts: MIP %s, bound %.8g", result.status, result.bound)
        lower = max(lower, result.bound)
        found = result.values[: master.n_sites] > 0.5
        cost = float(pairs.weights @ pairs.nearest(found))
        if cost < upper:
            plan, upper = found, cost
        if _closed(lower, upper, options.mip_gap):
            status = "optimal"
            break
        # the master's plan costs more than it says: cut its rows there and solve again
        costs = result.values[master.first_cost :]
        added = master.add_cuts(pairs, found.astype(np.float64), costs)
        if result.status != "optimal" or added == 0:
            break
    if plan is None:  # the time ran out before HiGHS held a plan
        raise NoSolutionError("no plan meeting the share rule within the time limit", bound=lower)
    lower = min(lower, upper)  # sites fixed for plans cheaper than `plan`: it is the floor
    solve_s = time.perf_counter() - started
    return MipResult(plan.astype(np.float64), upper, lower, _gap(upper, lower), status, solve_s)


def _closed(lower: float, upper: float, mip_gap: float) -> bool:
    """Bound and plan within the gap asked for, or within `PROVEN_GAP` (what an "optimal"
    answer means here: HiGHS's tolerances on the cut rows left 1.5e-9 on Dalarna)."""
    return bool(lower >= upper - max(mip_gap, PROVEN_GAP) * max(abs(upper), 1.0))


def _gap(upper: float, lower: float) -> float:
    """The relative gap; 0 within float noise (HiGHS, its tolerances met, reports 0 too)."""
    if upper - lower <= 1e-9 * max(abs(upper), 1.0):
        return 0.0
    return max(0.0, upper - lower) / max(abs(upper), 1e-12)


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.perf_counter() > deadline


def _time_left(highs: highspy.Highs, deadline: float | None) -> None:
    if deadline is not None:
        highs.setOptionValue("time_limit", max(deadline - time.perf_counter(), 1e-3))
