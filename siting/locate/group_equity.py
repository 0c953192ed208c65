"""Equity in the optimisation: the worst group's mean travel time (min-max), the p-median
under a least share within T minutes for every group, and the best worst share n offices give.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, replace
from typing import Any, Unpack

import numpy as np
import scipy.sparse as sp

from siting._core.errors import InfeasibleError, InputError, SitingError
from siting.locate.group_search import group_pairs, minmax_plan
from siting.locate.groups import Groups, GroupShare, make_groups
from siting.locate.instance import (
    BoolArray,
    FloatArray,
    Instance,
    IntArray,
    SiteRules,
    add_site_columns,
    check_max_minutes,
    check_n_sites,
    make_solution,
    merge_identical_rows,
    nearest_open,
    open_mask,
    pairs_within,
    prepare_instance,
)
from siting.locate.interchange import AssignmentPairs
from siting.locate.lagrangian import CLOSED_GAP, reduce_p_median
from siting.locate.median_center import solve_p_median
from siting.locate.minmax_bound import bound_from_floors, region_floors
from siting.locate.minmax_search import MAX_DENSE, RegionFloors, SearchResult, search_minmax
from siting.locate.mip import MipModel, MipOptions, MipResult, NoSolutionError
from siting.locate.radius import LevelColumns, distance_level_model
from siting.locate.share_benders import SortedPairs, build_master, solve_by_cuts
from siting.locate.share_reduction import plan_meeting_rule
from siting.locate.solution import Solution
from siting.travel.odmatrix import ODMatrix, row_pointers

logger = logging.getLogger(__name__)

#: seconds the search over site sets may take when no time limit is given (then HiGHS)
MINMAX_SEARCH_S = 60.0
#: blends of the groups whose p-median bounds the min-max from below, and the subgradient
#: steps of each (`_minmax_dual_bound`)
DUAL_ROUNDS = 8
DUAL_ITERATIONS = 300
#: slack on a share target, so that a share reached exactly is not lost to rounding
SHARE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class _Pairs:
    """Allowed demand-site pairs of the rows to serve, and which rows those are."""

    rows: IntArray
    sites: IntArray
    minutes: FloatArray
    active: BoolArray  # rows that must be assigned (some allowed site reaches them)


def solve_minmax_group(
    od: ODMatrix,
    *,
    n_sites: int,
    groups: Any,
    options: MipOptions | None = None,
    **rules: Unpack[SiteRules],
) -> Solution:
    """Open `n_sites` sites so that the worst-off group's mean travel time is least.

    Parameters
    ----------
    od
        Travel times; absent pairs (beyond the matrix cut-off) cannot be assigned.
    n_sites
        Number of open sites, required ones included.
    groups
        A group label per demand row (districts: each group is its rows, weighed by
        `weights`), or a pandas DataFrame of group weights, a column per group and a row per
        demand point (people 65+, people without internet, everyone).
    options, **rules
        Solver options; `weights`, `required_sites`, `forbidden_sites`, `site_costs`,
        `budget` and `exclude` as in `siting.locate.instance.SiteRules`.

    Returns
    -------
    Solution
        Objective: the largest group mean of minutes to the nearest open site; its
        parameters hold every group's mean (``group_mean_minutes``) and the worst group.
        Rows no allowed site reaches are left out (listed in ``unreachable``).

    Raises
    ------
    InputError
        Bad groups (see `siting.locate.groups.make_groups`) or site rules.
    InfeasibleError
        If `n_sites` sites cannot reach every demand point within the matrix cut-off.

    Notes
    -----
    With :math:`g_{ki}` group :math:`k`'s people at point :math:`i` and :math:`G_k =
    \\sum_i g_{ki}` over the points some site reaches:

    .. math:: \\min z \\quad \\text{s.t.} \\quad z \\ge \\frac{1}{G_k} \\sum_{ij} g_{ki}
              t_{ij} x_{ij} \\; \\forall k, \\; \\sum_j x_{ij} = 1, \\; x_{ij} \\le y_j, \\;
              \\sum_j y_j = p, \\; x \\ge 0, \\; y \\in \\{0, 1\\}

    Moving a point to a nearer open site lowers no group's mean, so some optimum assigns
    every point to its nearest open site (the closest-assignment property holds at an
    optimum without rows of its own); the answer is read that way and its objective is
    the worst mean of that assignment, never above the MIP's. Pairs farther than a
    required site are dropped, as in the p-median.

    Solved in three steps. A plan by greedy add and best swaps on the worst mean
    (`siting.locate.group_search.minmax_plan`); then, without a budget, a search over the
    site sets that cuts a node when some group's mean with every site still to try open
    is no better than the best plan, or when the regions of its sites need more sites
    than it may add (`siting.locate.minmax_search`, `siting.locate.minmax_bound`; exact
    when it ends: Dalarna's 15 municipalities, p = 5, in about 2 s); it may take half
    the time limit (`MINMAX_SEARCH_S` without one). If it does not end, HiGHS solves the
    model above written over distance levels (`_minmax_level_model`, as the p-median's
    radius formulation) from the best plan, for the time left. When HiGHS ends with no plan or
    a worse one, the best plan stands with HiGHS's bound and status ``"time limit"``.

    Examples
    --------
    >>> import numpy as np
    >>> od = ODMatrix.from_dense(np.array([[0.0, 30.0], [30.0, 0.0], [30.0, 0.0]]))
    >>> solution = solve_minmax_group(od, n_sites=1, groups=["north", "south", "south"])
    >>> solution.site_ids.tolist(), solution.objective
    ([0], 30.0)
    """
    start = time.perf_counter()
    instance = prepare_instance(od, **rules)
    count = check_n_sites(instance, n_sites)
    found = make_groups(instance, groups)
    pairs, unreachable = _usable_pairs(instance, _has_group_weight(found))
    options = options or MipOptions()
    plan = _minmax_heuristic(instance, found, pairs, count, _deadline(options, start, 0.2))
    regions = _minmax_regions(od, instance, found, pairs, count)
    searched = _minmax_search(od, instance, found, pairs, count, plan, options, start, regions)
    if searched.plan is not None:
        plan = searched.plan
    if searched.complete and plan is not None:
        build_s = time.perf_counter() - start
        value = _worst_mean(od, found, pairs, plan)
        result = MipResult(plan.astype(np.float64), value, value, 0.0, "optimal", build_s)
    else:
        n_free = count - int(instance.required.sum())
        floor = -math.inf if regions is None else bound_from_floors(regions, n_free)
        result, build_s = _minmax_by_mip(
            od, instance, found, pairs, count, plan, options, start, floor
        )
    assignment = nearest_open(od, open_mask(result.values, od.shape[1]))
    means = found.means(assignment[1], pairs.active)
    worst = int(np.nanargmax(means))
    result = _with_objective(result, float(means[worst]))
    logger.info("min-max group p=%d: %g (%s)", count, result.objective, result.status)
    parameters = {
        "n_sites": count,
        "group_mean_minutes": dict(zip(found.names, map(float, means), strict=True)),
        "worst_group": found.names[worst],
    }
    return make_solution(
        instance, "minmax-group", result, build_s=build_s, unreachable=unreachable,
        parameters=parameters, assignment=assignment,
    )  # fmt: skip


def solve_median(
    od: ODMatrix,
    *,
    n_sites: int,
    capacities: Any = None,
    single_sourcing: bool = False,
    formulation: str = "auto",
    min_group_share: GroupShare | Any = None,
    groups: Any = None,
    options: MipOptions | None = None,
    **rules: Unpack[SiteRules],
) -> Solution:
    """The p-median, under a fairness rule when one is given: ``siting.solve``'s "p-median".

    Without `min_group_share` this is `siting.locate.median_center.solve_p_median` (with
    `capacities`, `single_sourcing` and `formulation`); with it, `solve_share_median` over
    `groups`.

    Raises
    ------
    InputError
        `groups` without `min_group_share`, or the rule with capacities or a formulation.
    """
    if min_group_share is None:
        if groups is not None:
            raise InputError("groups is only used with min_group_share")
        return solve_p_median(
            od, n_sites=n_sites, capacities=capacities, single_sourcing=single_sourcing,
            formulation=formulation, options=options, **rules,
        )  # fmt: skip
    if capacities is not None or single_sourcing:
        raise InputError("min_group_share cannot be combined with capacities")
    if formulation != "auto":
        msg = f"min_group_share has its own model: formulation must be 'auto', got {formulation!r}"
        raise InputError(msg)
    return solve_share_median(
        od, n_sites=n_sites, groups=groups, min_group_share=min_group_share, options=options,
        **rules,
    )  # fmt: skip


def solve_share_median(
    od: ODMatrix,
    *,
    n_sites: int,
    groups: Any,
    min_group_share: GroupShare | Any,
    options: MipOptions | None = None,
    **rules: Unpack[SiteRules],
) -> Solution:
    """The p-median under a fairness rule: no group's share within T minutes below X.

    Parameters
    ----------
    od
        Travel times; absent pairs (beyond the matrix cut-off) cannot be assigned.
    n_sites
        Number of open sites, required ones included.
    groups
        As in `solve_minmax_group`.
    min_group_share
        A `siting.locate.groups.GroupShare` or ``{"minutes": T, "share": X}``.
    options, **rules
        Solver options and the shared rules of `siting.locate.instance.SiteRules`.

    Returns
    -------
    Solution
        Objective: sum of weight x minutes to the nearest open site (the p-median's);
        parameters hold each group's share within T (``group_shares``) and the worst.

    Raises
    ------
    InputError
        Bad groups or target (a share above 1, minutes not > 0).
    InfeasibleError
        A group that cannot reach the share even with every allowed site open (naming it
        and the most it can reach), or no choice of `n_sites` sites that meets the target
        for every group and reaches every demand point within the matrix cut-off.

    Notes
    -----
    The p-median's assignment model (`solve_p_median`) with one row per group :math:`k`,
    its people :math:`g_{ki}` and its total :math:`G_k` (every point, reached or not):

    .. math:: \\min \\sum_{ij} w_i t_{ij} x_{ij} \\quad \\text{s.t.} \\quad
              \\sum_i \\sum_{j : t_{ij} \\le T} g_{ki} x_{ij} \\ge X G_k \\; \\forall k,
              \\; \\sum_j x_{ij} = 1, \\; x_{ij} \\le y_j, \\; \\sum_j y_j = p

    A point assigned to a site within T has its nearest open site within T too, so
    reading the answer by nearest sites keeps every share, and the least weighted time is
    reached there: the objective is that of the nearest-site assignment. Points of a
    group that no site reaches count in :math:`G_k` and never within T.

    Solved by Benders cuts (`siting.locate.share_benders`): the model above written with
    one coverage column per class of points reaching the same sites within T and one cost
    per point, cut from below by the radius formulation's levels where a plan needs them.
    Without a budget, swaps from the p-median's greedy-and-swaps plan first look for a
    plan meeting the rule (`siting.locate.share_reduction`): its travel U fixes sites by
    reduced costs and HiGHS starts from it. The assignment model with its 208,000 pairs
    (Dalarna p = 10) left a 23.5 % gap at its limit; this proves the optimum in about 3 s
    of CPU. When HiGHS ends with no plan, that plan stands with the master's bound and
    status ``"time limit"``; with no plan meeting the rule from either, a `SitingError`
    says so (the rule may be beyond what the sites can give).

    Examples
    --------
    >>> import numpy as np
    >>> od = ODMatrix.from_dense(np.array([[0.0, 40.0], [40.0, 0.0], [40.0, 0.0]]))
    >>> plain = solve_share_median(od, n_sites=1, groups=["a", "b", "b"],
    ...                            min_group_share={"minutes": 30, "share": 0.0})
    >>> fair = solve_share_median(od, n_sites=2, groups=["a", "b", "b"],
    ...                           min_group_share={"minutes": 30, "share": 1.0})
    >>> plain.site_ids.tolist(), fair.site_ids.tolist(), fair.objective
    ([1], [0, 1], 0.0)
    """
    start = time.perf_counter()
    target = GroupShare.from_value(min_group_share)
    instance = prepare_instance(od, **rules)
    count = check_n_sites(instance, n_sites)
    found = make_groups(instance, groups)
    _check_share_reachable(instance, found, target)
    pairs, unreachable = _usable_pairs(instance, instance.demand | _has_group_weight(found))
    options = options or MipOptions()
    deadline = _deadline(options, start, 1.0)
    rule = (target.minutes, target.share)
    plan = plan_meeting_rule(
        instance, found, (pairs.rows, pairs.sites, pairs.minutes, pairs.active), rule, count,
        _deadline(options, start, 0.2),
    )  # fmt: skip
    active = np.flatnonzero(pairs.active)
    local = np.searchsorted(active, pairs.rows)
    sorted_pairs = SortedPairs.from_pairs(local, pairs.sites, pairs.minutes,
                                          instance.weights[active])  # fmt: skip
    master = build_master(instance, found, rule, sorted_pairs, active, count, options)
    build_s = time.perf_counter() - start
    why = (
        f"no {count} sites bring every group's share within {target.minutes:g} minutes to "
        f"{target.share:.0%} and reach every demand point within the matrix cut-off"
    )
    try:
        result = solve_by_cuts(master, sorted_pairs, plan, options, deadline)
    except NoSolutionError as error:  # no plan meeting the rule, from swaps nor HiGHS
        msg = (
            f"p-median with min_group_share: no plan found meeting the rule within the time "
            f"limit ({why.replace('no ', 'maybe none of ', 1)}; the most a worst group can "
            "get is what siting.equity_frontier's max_worst_share says)"
        )
        raise SitingError(msg) from error
    if result.status == "infeasible":
        raise InfeasibleError(why)
    assignment = nearest_open(od, open_mask(result.values, od.shape[1]))
    served = pairs.active & instance.demand
    result = _with_objective(result, float(instance.weights[served] @ assignment[1][served]))
    shares = found.shares(assignment[1] <= target.minutes)
    logger.info("p-median, group share p=%d: %g (%s)", count, result.objective, result.status)
    parameters = {
        "n_sites": count, "min_group_share": target.summary(), **_share_record(found, shares)
    }  # fmt: skip
    return make_solution(
        instance, "p-median", result, build_s=build_s, unreachable=unreachable,
        parameters=parameters, assignment=assignment,
    )  # fmt: skip


def solve_max_worst_share(
    od: ODMatrix,
    *,
    n_sites: int,
    groups: Any,
    max_minutes: float,
    options: MipOptions | None = None,
    **rules: Unpack[SiteRules],
) -> Solution:
    """Open `n_sites` sites giving the worst-off group the largest share within T minutes.

    The far end of `siting.locate.frontier.equity_frontier`: no plan with this many sites
    treats the worst group better.

    Returns
    -------
    Solution
        Objective: the least share within `max_minutes` over the groups, from 0 to 1;
        parameters hold every group's share.

    Notes
    -----
    With :math:`c_i = 1` when an open site lies within T of point :math:`i`:

    .. math:: \\max s \\quad \\text{s.t.} \\quad s \\le \\frac{1}{G_k} \\sum_i g_{ki} c_i \\;
              \\forall k, \\; c_i \\le \\sum_{j : t_{ij} \\le T} y_j, \\; c_i \\le 1, \\;
              \\sum_j y_j = p

    Examples
    --------
    >>> import numpy as np
    >>> od = ODMatrix.from_dense(np.array([[0.0, 40.0], [40.0, 0.0], [40.0, 10.0]]))
    >>> solve_max_worst_share(od, n_sites=1, groups=["a", "b", "b"], max_minutes=30).objective
    0.0
    """
    start = time.perf_counter()
    limit = check_max_minutes(max_minutes)
    instance = prepare_instance(od, **rules)
    count = check_n_sites(instance, n_sites)
    found = make_groups(instance, groups)
    model = _max_share_model(instance, found, limit, count)
    build_s = time.perf_counter() - start
    result = _solved(model, options, "no site set meets the rules")
    assignment = nearest_open(od, open_mask(result.values, od.shape[1]))
    shares = found.shares(assignment[1] <= limit)
    result = _with_objective(result, float(shares.min()), larger_is_better=True)
    logger.info("max worst share p=%d: %g (%s)", count, result.objective, result.status)
    parameters = {"n_sites": count, "max_minutes": limit, **_share_record(found, shares)}
    return make_solution(
        instance, "max-worst-share", result, build_s=build_s,
        unreachable=np.zeros(od.shape[0], dtype=np.bool_), parameters=parameters,
        assignment=assignment,
    )  # fmt: skip


def _minmax_level_model(
    instance: Instance, found: Groups, pairs: _Pairs, count: int
) -> tuple[MipModel, LevelColumns]:
    """The min-max of `solve_minmax_group`'s notes over distance levels: each row's minutes
    as in the p-median's radius formulation (`siting.locate.radius`), z last.

    The same LP bound as the assignment model's (both give each row the minutes of its
    nearest open site for integer sites), with one column and one row per distinct
    distance of a row instead of a column and a linking row per pair.
    """
    local = np.searchsorted(np.flatnonzero(pairs.active), pairs.rows)
    n_active = int(pairs.active.sum())
    priced = AssignmentPairs(
        local_rows=local, columns=pairs.sites, cost=pairs.minutes,
        indptr=row_pointers(local, n_active), n_columns=instance.od.shape[1],
    )  # fmt: skip
    model, columns = distance_level_model(instance, priced, count, np.zeros(n_active))
    z = model.add_columns([1.0])
    block, constant = columns.row_minutes(_scaled_weights(found, pairs))
    n_groups = block.shape[0]
    rows = sp.hstack(
        [sp.csr_matrix((n_groups, columns.first)), block,
         sp.csr_matrix((n_groups, z - columns.first - block.shape[1])),
         -np.ones((n_groups, 1))],
        format="csr",
    )  # fmt: skip
    model.add_rows(rows, upper=-constant)
    return model, columns


def _level_start(
    od: ODMatrix, pairs: _Pairs, columns: LevelColumns, plan: BoolArray, n_columns: int
) -> FloatArray:
    """Column values of `plan` in a model of `distance_level_model`: the sites, z = 1 at
    each level nearer than the row's nearest open site, the constant column at 1 and any
    column after it (the min-max's z) at 0, for the caller to set."""
    minutes = nearest_open(od, plan)[1][pairs.active]
    values = np.zeros(n_columns)
    values[: plan.size] = plan
    z_levels = columns.distance < minutes[columns.row]
    values[columns.first : columns.first + z_levels.size] = z_levels
    values[columns.first + z_levels.size] = 1.0
    return values


def _minmax_assignment_model(
    instance: Instance, found: Groups, pairs: _Pairs, count: int
) -> MipModel:
    """The min-max model of `solve_minmax_group`'s notes: assignment columns, then z."""
    reached = np.asarray(found.weights[:, pairs.active].sum(axis=1), dtype=np.float64).ravel()
    model, first_x = _assignment_model(instance, pairs, count, np.zeros(pairs.rows.size))
    z = model.add_columns([1.0])
    kept = np.flatnonzero(reached > 0)  # a group no site reaches has no mean to bound
    scaled = sp.diags(1.0 / reached[kept]) @ found.weights[kept][:, pairs.rows]
    block = sp.hstack(
        [sp.csr_matrix((kept.size, first_x)), scaled @ sp.diags(pairs.minutes),
         -np.ones((kept.size, 1))],
        format="csr",
    )  # fmt: skip
    assert block.shape[1] == z + 1
    model.add_rows(block, upper=0.0)
    return model


def _share_assignment_model(
    instance: Instance, found: Groups, target: GroupShare, pairs: _Pairs, count: int
) -> MipModel:
    """The p-median assignment model with one share row per group, as `solve_share_median`
    notes it: what HiGHS solved alone before the cuts, kept as the benchmark's baseline."""
    cost = instance.weights[pairs.rows] * pairs.minutes
    model, first_x = _assignment_model(instance, pairs, count, cost)
    near = np.flatnonzero(pairs.minutes <= target.minutes)
    within = found.weights[:, pairs.rows[near]].tocoo()
    block = sp.csr_matrix(
        (within.data, (within.row, first_x + near[within.col])),
        shape=(len(found.names), model.n_cols),
    )
    model.add_rows(block, lower=(target.share - SHARE_TOLERANCE) * found.totals)
    return model


def _max_share_model(instance: Instance, found: Groups, limit: float, count: int) -> MipModel:
    """Sites y, a c per class of points with group weight and the same sites within T,
    then s; as noted.

    Points that reach the same sites within T are covered together, so they share one c
    with their group weights summed (exact; as the MCLP merges its rows): Dalarna's 4,004
    cells fall into some hundreds of classes.
    """
    cover = pairs_within(instance, limit)
    points = np.flatnonzero(_has_group_weight(found) & (np.diff(cover.indptr) > 0))
    classes, class_weights = merge_identical_rows(
        sp.csr_matrix(cover[points]), found.weights[:, points].T.toarray()
    )
    n_classes = classes.shape[0]
    model = MipModel("max")
    add_site_columns(model, instance, n_sites=count)
    first_c = model.add_columns(np.zeros(n_classes), upper=1.0)
    s = model.add_columns([1.0], upper=1.0)
    link = sp.hstack(
        [-classes, sp.identity(n_classes, format="csr")], format="csr"
    )  # c - sum of its sites within T <= 0
    assert link.shape[1] == first_c + n_classes
    model.add_rows(link, upper=0.0)
    share = sp.csr_matrix(class_weights.T / found.totals[:, None])
    n_groups = len(found.names)
    block = sp.hstack(
        [sp.csr_matrix((n_groups, first_c)), -share, np.ones((n_groups, 1))], format="csr"
    )
    assert block.shape[1] == s + 1
    model.add_rows(block, upper=0.0)
    return model


def _has_group_weight(found: Groups) -> BoolArray:
    counted: BoolArray = np.asarray(found.weights.sum(axis=0), dtype=np.float64).ravel() > 0
    return counted


def _usable_pairs(instance: Instance, must_serve: BoolArray) -> tuple[_Pairs, BoolArray]:
    """Allowed pairs of the rows to serve, none farther than the row's nearest required
    site; and the rows to serve that no allowed site reaches."""
    matrix = instance.od.minutes
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    keep = instance.allowed[matrix.indices] & must_serve[rows]
    reached = np.bincount(rows[keep], minlength=matrix.shape[0]) > 0
    if instance.required.any():
        _, nearest_required = nearest_open(instance.od, instance.required)
        keep &= matrix.data <= nearest_required[rows]
    unreachable: BoolArray = must_serve & ~reached
    if not reached.any():
        raise InfeasibleError("no allowed site reaches any demand point in the OD matrix")
    pairs = _Pairs(rows[keep], matrix.indices[keep].astype(np.int64), matrix.data[keep], reached)
    return pairs, unreachable


def _assignment_model(
    instance: Instance, pairs: _Pairs, n_sites: int, cost: FloatArray
) -> tuple[MipModel, int]:
    """Sites y, then x per pair costing `cost`: each active row assigned once, x <= y."""
    model = MipModel("min")
    add_site_columns(model, instance, n_sites=n_sites)
    first_x = model.add_columns(cost, upper=1.0)
    n_pairs = pairs.rows.size
    local = (np.cumsum(pairs.active) - 1)[pairs.rows]
    columns = first_x + np.arange(n_pairs)
    assign = sp.csr_matrix(
        (np.ones(n_pairs), (local, columns)), shape=(int(pairs.active.sum()), model.n_cols)
    )
    model.add_rows(assign, lower=1.0, upper=1.0)
    link = sp.csr_matrix(
        (np.r_[np.ones(n_pairs), -np.ones(n_pairs)],
         (np.r_[np.arange(n_pairs), np.arange(n_pairs)], np.r_[columns, pairs.sites])),
        shape=(n_pairs, model.n_cols),
    )  # fmt: skip
    model.add_rows(link, upper=0.0)
    return model, first_x


def _check_share_reachable(instance: Instance, found: Groups, target: GroupShare) -> None:
    """Name a group that misses the target even with every allowed site open."""
    _, best_minutes = nearest_open(instance.od, instance.allowed)
    best = found.shares(best_minutes <= target.minutes)
    short = best < target.share - SHARE_TOLERANCE
    if short.any():
        index = int(np.argmax(short))
        msg = (
            f"min_group_share: group {found.names[index]!r} can have at most {best[index]:.1%} "
            f"of its people within {target.minutes:g} minutes even with every allowed site "
            f"open, below the share {target.share:.1%} asked for"
        )
        raise InfeasibleError(msg)


def _solved(
    model: MipModel, options: MipOptions | None, why: str, start: FloatArray | None = None
) -> MipResult:
    """HiGHS's answer; with a `start` (a plan), that plan with HiGHS's bound when HiGHS
    holds none of its own at the time limit."""
    try:
        result = model.solve(options or MipOptions(), start=start)
    except NoSolutionError as error:
        if start is None:
            raise
        logger.info("HiGHS held no plan at the time limit: the heuristic plan stands")
        return MipResult(start, math.nan, error.bound, math.inf, "time limit", math.nan)
    if result.status == "infeasible":
        raise InfeasibleError(why)
    return result


def _minmax_search(
    od: ODMatrix,
    instance: Instance,
    found: Groups,
    pairs: _Pairs,
    count: int,
    plan: BoolArray | None,
    options: MipOptions,
    start: float,
    regions: RegionFloors | None,
) -> SearchResult:
    """The search over site sets (`siting.locate.minmax_search`) for half the time limit
    (`MINMAX_SEARCH_S` without one), from `plan`'s value, cut by the `regions`' floors; not
    run under a budget or when the dense matrix it needs is too large (then: incomplete,
    no plan)."""
    free = np.flatnonzero(instance.allowed & ~instance.required)
    n_choose = count - int(instance.required.sum())
    if instance.budget is not None or regions is None:
        return SearchResult(None, math.inf, False, 0)
    incumbent = math.inf if plan is None else _worst_mean(od, found, pairs, plan) * (1 + 1e-12)
    limit = MINMAX_SEARCH_S if options.time_limit_s is None else options.time_limit_s / 2
    found_set = search_minmax(
        _dense_minutes(od, pairs), _scaled_weights(found, pairs), instance.required, free,
        n_choose, incumbent=incumbent, excluded=instance.excluded, deadline=start + limit,
        regions=regions,
    )  # fmt: skip
    logger.info(
        "min-max group: search over site sets %s after %d nodes (best %.6g)",
        "complete" if found_set.complete else "stopped", found_set.nodes, found_set.value,
    )  # fmt: skip
    return found_set


def _dense_minutes(od: ODMatrix, pairs: _Pairs) -> FloatArray:
    """Rows to serve x all sites, inf where no pair is allowed."""
    active = np.flatnonzero(pairs.active)
    minutes = np.full((active.size, od.shape[1]), np.inf)
    minutes[np.searchsorted(active, pairs.rows), pairs.sites] = pairs.minutes
    return minutes


def _minmax_regions(
    od: ODMatrix, instance: Instance, found: Groups, pairs: _Pairs, count: int
) -> RegionFloors | None:
    """`siting.locate.minmax_bound.region_floors` (None when the dense matrix is too large)."""
    if int(pairs.active.sum()) * od.shape[1] > MAX_DENSE:
        return None
    free = instance.allowed & ~instance.required
    n_free = count - int(instance.required.sum())
    regions = region_floors(
        _dense_minutes(od, pairs), _scaled_weights(found, pairs), instance.required, free, n_free
    )
    logger.info(
        "min-max group: bound %.6g from the sites %d regions need",
        bound_from_floors(regions, n_free), regions.floors.shape[0],
    )  # fmt: skip
    return regions


def _minmax_by_mip(
    od: ODMatrix,
    instance: Instance,
    found: Groups,
    pairs: _Pairs,
    count: int,
    plan: BoolArray | None,
    options: MipOptions,
    start: float,
    region_floor: float,
) -> tuple[MipResult, float]:
    """HiGHS on the level model for the time left, from `plan`; the plan stands when HiGHS
    ends with a worse one or none, with HiGHS's bound."""
    limit = options.time_limit_s
    dual = _minmax_dual_bound(
        instance, found, pairs, count, None if limit is None else start + 0.65 * limit
    )
    model, columns = _minmax_level_model(instance, found, pairs, count)
    start_values = None
    if plan is not None:
        start_values = _level_start(od, pairs, columns, plan, model.n_cols)
        start_values[-1] = _worst_mean(od, found, pairs, plan) * (1 + 1e-9)
    build_s = time.perf_counter() - start
    why = f"n_sites={count} sites cannot reach every demand point"
    result = _solved(model, _left(options, start), why, start_values)
    if start_values is not None and plan is not None:
        mip_plan = open_mask(result.values, od.shape[1])
        if _worst_mean(od, found, pairs, plan) < _worst_mean(od, found, pairs, mip_plan):
            result = replace(result, values=start_values)
    # no plan does better than every allowed site open: a bound when HiGHS has none yet
    floor = max(_worst_mean(od, found, pairs, instance.allowed), dual,
                region_floor)  # fmt: skip
    if not result.bound >= floor:
        result = replace(result, bound=floor)
    return result, build_s


def _minmax_dual_bound(
    instance: Instance, found: Groups, pairs: _Pairs, count: int, deadline: float | None
) -> float:
    r"""A lower bound on the worst group mean from p-medians over blends of the groups.

    For weights :math:`\lambda` on the groups (summing to 1), every plan has
    :math:`\max_k M_k \ge \sum_k \lambda_k M_k`, a p-median cost whose Lagrangian bound
    `siting.locate.lagrangian.reduce_p_median` gives; :math:`\lambda` moves towards the
    groups worst off in each blend's plan (multiplicative weights, Freund and Schapire
    1999, "Adaptive game playing using multiplicative weights"), for `DUAL_ROUNDS` blends.
    HiGHS's own bound, from the LP it may not finish, was 10 minutes on Dalarna p = 10
    where this gives about 15.
    """
    scaled = np.asarray(_scaled_weights(found, pairs).toarray(), dtype=np.float64)
    local = np.searchsorted(np.flatnonzero(pairs.active), pairs.rows)
    indptr = row_pointers(local, int(pairs.active.sum()))
    blend = np.full(scaled.shape[0], 1.0 / scaled.shape[0])
    best = -math.inf
    for _ in range(DUAL_ROUNDS):
        if deadline is not None and time.perf_counter() > deadline:
            break
        weights = blend @ scaled
        priced = AssignmentPairs(
            local, pairs.sites, weights[local] * pairs.minutes, indptr, instance.od.shape[1]
        )
        reduction = reduce_p_median(
            priced, count, instance.required, instance.allowed, deadline=deadline,
            iterations=DUAL_ITERATIONS,
        )  # fmt: skip
        if reduction is None:
            break
        best = max(best, reduction.lower_bound)
        nearest = np.full(indptr.size - 1, np.inf)
        at_open = reduction.best_open[pairs.sites]
        np.minimum.at(nearest, local[at_open], pairs.minutes[at_open])
        means = scaled @ nearest
        blend = blend * np.exp(2.0 * (means - means.max()) / max(float(means.max()), 1e-12))
        blend /= blend.sum()
    logger.info("min-max group: bound %.6g from p-medians over blends of the groups", best)
    return best


def _deadline(options: MipOptions, start: float, share: float) -> float | None:
    """When `share` of the time limit (counted from `start`) has passed; None without one."""
    if options.time_limit_s is None:
        return None
    return start + share * options.time_limit_s


def _left(options: MipOptions, start: float) -> MipOptions:
    """`options` with the time limit that is left since `start` (at least a millisecond)."""
    if options.time_limit_s is None:
        return options
    spent = time.perf_counter() - start
    return replace(options, time_limit_s=max(options.time_limit_s - spent, 1e-3))


def _scaled_weights(found: Groups, pairs: _Pairs) -> sp.csr_matrix:
    """Groups with people at served rows x served rows: weight over the group's served total,
    so that a group's cost over its pairs is its mean minutes."""
    served = found.weights[:, pairs.active]
    reached = np.asarray(served.sum(axis=1), dtype=np.float64).ravel()
    kept = np.flatnonzero(reached > 0)
    return sp.csr_matrix(sp.diags(1.0 / reached[kept]) @ served[kept])


def _minmax_heuristic(
    instance: Instance, found: Groups, pairs: _Pairs, count: int, deadline: float | None
) -> BoolArray | None:
    """Greedy and swaps on the worst group's mean (`siting.locate.group_search`); None when
    the plan found leaves some row to serve without an open site or is an excluded set."""
    local = np.searchsorted(np.flatnonzero(pairs.active), pairs.rows)
    priced = group_pairs(
        local, pairs.sites, pairs.minutes, _scaled_weights(found, pairs), instance.od.shape[1]
    )
    plan = minmax_plan(priced, count, instance.required, instance.allowed, deadline=deadline)
    served = np.zeros(instance.od.shape[0], dtype=np.bool_)
    served[pairs.rows[plan[pairs.sites]]] = True
    excluded = any(np.array_equal(plan, chosen) for chosen in instance.excluded)
    return plan if bool(served[pairs.active].all()) and not excluded else None


def _worst_mean(od: ODMatrix, found: Groups, pairs: _Pairs, plan: BoolArray) -> float:
    """The worst group mean of `plan` with every row at its nearest open site."""
    minutes = nearest_open(od, plan)[1]
    if not np.isfinite(minutes[pairs.active]).all():
        return math.inf
    return float(np.nanmax(found.means(minutes, pairs.active)))


def _with_objective(
    result: MipResult, objective: float, *, larger_is_better: bool = False
) -> MipResult:
    """The result with the objective of its nearest-site reading (at least as good as the
    MIP's) and the gap to the bound recomputed; a gap of float noise (the reading sums
    float32 minutes, the model float64) is 0."""
    bound = result.bound
    if not math.isfinite(bound):
        return replace(result, objective=objective)
    slack = objective - bound if larger_is_better else bound - objective
    gap = max(0.0, -slack) / max(abs(objective), 1e-12)
    return replace(result, objective=objective, gap=0.0 if gap <= CLOSED_GAP else gap)


def _share_record(found: Groups, shares: FloatArray) -> dict[str, Any]:
    worst = int(np.argmin(shares))
    return {
        "group_shares": dict(zip(found.names, map(float, shares), strict=True)),
        "worst_group": found.names[worst],
    }
