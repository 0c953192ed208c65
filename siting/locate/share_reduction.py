"""A plan that meets a group share rule, and the p-median fixing it licenses, before HiGHS.

The p-median under a binding rule "no group's share within T below X" gave HiGHS the whole
assignment model (Dalarna, 4,004 cells x 73 towns, p = 10: 200,000 pairs), and it found no
plan in 30 s. Two things shrink it without losing the optimum:

- a plan that meets the rule, from the plain p-median's by swaps that first close the
  shortfall of the rule and then shorten travel (`siting.locate.group_search.share_plan`);
  its travel U bounds the optimum from above, and HiGHS starts from it;
- the rule only removes plans, so every plan meeting it is a p-median plan costing at most
  U: the Lagrangian penalty tests of the p-median (`siting.locate.lagrangian`, run with
  ``fix_below=U``) close the sites and drop the pairs that no plan costing at most U uses.
  Its bound is a bound of the rule's optimum too.

Notes
-----
Fixing by Lagrangian penalties for a restriction of the relaxed problem is the argument of
Beasley (1993), "Lagrangean heuristics for location problems" (EJOR 65): a variable whose
forcing lifts the relaxation above a known answer's cost is fixed in every answer at most
as costly, here U, the cost of a plan meeting the rule.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from siting.locate.group_search import share_plan
from siting.locate.groups import Groups
from siting.locate.instance import BoolArray, FloatArray, Instance, IntArray
from siting.locate.interchange import AssignmentPairs
from siting.locate.lagrangian import reduce_p_median
from siting.travel.odmatrix import row_pointers

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShareReduction:
    """A plan meeting the rule and what the p-median bound fixes for plans no dearer.

    Attributes
    ----------
    plan
        Open sites of a plan meeting the rule and serving every row.
    cost
        Its weighted minutes, U.
    lower_bound
        The p-median's Lagrangian bound: no plan, meeting the rule or not, costs less.
    fixed_open, fixed_closed
        Sites open (closed) in every plan costing at most U.
    kept_pairs
        Per pair, False where no plan costing at most U serves that row from that site.
    """

    plan: BoolArray
    cost: float
    lower_bound: float
    fixed_open: BoolArray
    fixed_closed: BoolArray
    kept_pairs: BoolArray


def reduce_share_median(
    instance: Instance,
    found: Groups,
    pairs: tuple[IntArray, IntArray, FloatArray, BoolArray],
    rule: tuple[float, float],
    count: int,
    start_plan: BoolArray,
    deadline: float | None,
) -> ShareReduction | None:
    """A plan meeting the rule from `start_plan`, then the fixing for plans no dearer.

    `pairs` are the rows (sorted), sites, minutes and the mask of rows to serve, as the
    share model takes them; `rule` is (T minutes, least share X). None when the swaps
    find no plan meeting the rule (HiGHS then gets the whole model).
    """
    rows, sites, minutes, active = pairs
    local = np.searchsorted(np.flatnonzero(active), rows)
    indptr = row_pointers(local, int(active.sum()))
    n_columns = instance.od.shape[1]
    median = AssignmentPairs(local, sites, instance.weights[rows] * minutes, indptr, n_columns)
    plan = _plan_meeting_rule(instance, found, (local, sites, minutes, active), rule, count,
                              (median, start_plan, deadline))  # fmt: skip
    if plan is None:
        return None
    cost = median.cost_of(plan)
    reduction = reduce_p_median(
        median, count, instance.required, instance.allowed, excluded=instance.excluded,
        deadline=deadline, fix_below=cost,
    )  # fmt: skip
    if reduction is None:  # pragma: no cover - the plan above serves every row
        return None
    logger.info(
        "share rule: plan %.6g, p-median bound %.6g; %d pairs of %d kept",
        cost, reduction.lower_bound, int(reduction.kept_pairs.sum()), rows.size,
    )  # fmt: skip
    return ShareReduction(
        plan, cost, min(reduction.lower_bound, cost), reduction.fixed_open,
        reduction.fixed_closed, reduction.kept_pairs,
    )  # fmt: skip


def _plan_meeting_rule(
    instance: Instance,
    found: Groups,
    pairs: tuple[IntArray, IntArray, FloatArray, BoolArray],
    rule: tuple[float, float],
    count: int,
    search: tuple[AssignmentPairs, BoolArray, float | None],
) -> BoolArray | None:
    """Swaps from the start plan (`share_plan`); the plan if it meets the rule, serves every
    row and is not an excluded set, else None."""
    local, sites, minutes, active = pairs
    limit, share = rule
    median, start_plan, deadline = search
    beyond = (minutes > limit).astype(np.float64)
    weights = found.weights[:, active]
    n_columns = instance.od.shape[1]
    groups = [
        AssignmentPairs(local, sites, np.asarray(weights[k].toarray()).ravel()[local] * beyond,
                        median.indptr, n_columns)
        for k in range(weights.shape[0])
    ]  # fmt: skip
    # people of a group beyond T may be at most (1 - X) G_k, less those no site brings near
    allowed_beyond = (1.0 - share) * found.totals - _never_near(found, active)
    slack = 1e-9 * found.totals
    started = time.perf_counter()
    plan = share_plan(median, groups, allowed_beyond + slack, start_plan, instance.required,
                      instance.allowed, deadline=deadline)  # fmt: skip
    logger.info("share rule: swaps %.2f s", time.perf_counter() - started)
    if not np.isfinite(median.cost_of(plan)):
        return None
    over = np.array([group.cost_of(plan) for group in groups]) > allowed_beyond + slack
    excluded = any(np.array_equal(plan, chosen) for chosen in instance.excluded)
    return None if over.any() or excluded else plan


def _never_near(found: Groups, active: BoolArray) -> FloatArray:
    """Per group, its people at rows outside `active` (never served, never within T)."""
    outside: FloatArray = np.asarray(
        found.weights[:, ~active].sum(axis=1), dtype=np.float64
    ).ravel()
    return outside
