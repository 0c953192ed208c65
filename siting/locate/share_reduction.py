"""A plan that meets a group share rule: swaps from a p-median plan that first close the
rule's shortfall, then shorten travel (`siting.locate.group_search.share_plan`).

The p-median under "no group's share within T below X" is solved by cuts
(`siting.locate.share_benders`); a plan in hand is its first upper bound, HiGHS starts
from it, and it is the answer when the time runs out. On Dalarna (4,004 cells x 73 towns,
p = 10, 80 % of every municipality's 65+ within 30 min) the swaps' plan was the optimum.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from siting.locate.group_search import share_plan
from siting.locate.groups import Groups
from siting.locate.instance import BoolArray, FloatArray, Instance, IntArray
from siting.locate.interchange import AssignmentPairs
from siting.locate.sorted_pairs import sort_pairs
from siting.locate.sorted_swaps import greedy_sites, improve_sites
from siting.travel.odmatrix import row_pointers

logger = logging.getLogger(__name__)


def plan_meeting_rule(
    instance: Instance,
    found: Groups,
    pairs: tuple[IntArray, IntArray, FloatArray, BoolArray],
    rule: tuple[float, float],
    count: int,
    deadline: float | None,
) -> BoolArray | None:
    """A plan meeting the rule, by swaps from the p-median's greedy-and-swaps plan.

    `pairs` are the rows (sorted), sites, minutes and the mask of rows to serve, as the
    share model takes them; `rule` is (T minutes, least share X). None when the swaps
    find no plan meeting the rule, or under a budget (the swaps do not keep to it).
    """
    if instance.budget is not None:
        return None
    rows, sites, minutes, active = pairs
    local = np.searchsorted(np.flatnonzero(active), rows)
    indptr = row_pointers(local, int(active.sum()))
    n_columns = instance.od.shape[1]
    median = AssignmentPairs(local, sites, instance.weights[rows] * minutes, indptr, n_columns)
    ordered = sort_pairs(median)
    greedy = greedy_sites(ordered, count, instance.required, instance.allowed)
    start_plan = improve_sites(
        ordered, greedy, instance.required, instance.allowed, deadline=deadline
    )
    return _plan_meeting_rule(instance, found, (local, sites, minutes, active), rule, count,
                              (median, start_plan, deadline))  # fmt: skip


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
