"""Location problems: least total travel time (p-median, capacitated) and least worst (p-center)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, NoReturn, Unpack

import numpy as np
import scipy.sparse as sp

from siting._core.errors import InfeasibleError, InputError, SitingError, warn
from siting.locate.capacitated import (
    Capacities,
    add_assignment,
    check_capacities,
    check_whole_demand_fits,
    greedy_start,
    highs_settings,
    largest_shares,
    shares,
    site_loads,
)
from siting.locate.cover_reduction import disjoint_rows, reduce_cover
from siting.locate.enumeration import MAX_WORK, best_site_set, enumeration_work
from siting.locate.instance import (
    BoolArray,
    FloatArray,
    Instance,
    IntArray,
    SiteRules,
    add_site_columns,
    check_n_sites,
    check_some_reachable,
    make_solution,
    prepare_instance,
    unreachable_rows,
)
from siting.locate.interchange import AssignmentPairs
from siting.locate.lagrangian import CLOSED_GAP, Reduction, reduce_p_median
from siting.locate.mip import MipModel, MipOptions, MipResult, NoSolutionError
from siting.locate.radius import solve_radius
from siting.locate.solution import Solution
from siting.travel.odmatrix import ODMatrix, row_pointers

logger = logging.getLogger(__name__)

#: Most demand-site pairs handed to HiGHS after the Lagrangian pass: its assignment model takes
#: about 1 KB a pair (27.6 million pairs did not fit in 24 GB), so beyond this the Lagrangian
#: answer is returned with its gap and status "size limit".
MAX_MIP_PAIRS = 5_000_000
#: Most sites left to choose (beyond required ones) for which "auto" runs the Lagrangian branch
#: and bound rather than the radius MIP (`scripts/bench_pmedian.py`, README).
BRANCHING_MAX_CHOOSE = 30
#: Most pairs for which "auto" runs it: the tree holds its pairs sorted by row and grouped by
#: site besides the matrix (86 million pairs, 100,000 x 2,000: 9.5 GB peak; README).
BRANCHING_MAX_PAIRS = 100_000_000


@dataclass(frozen=True)
class _Pairs:
    """Demand-site pairs that may be used, row-major: rows, columns, minutes, row pointer."""

    rows: IntArray
    columns: IntArray
    minutes: FloatArray
    indptr: IntArray
    active: BoolArray


def solve_p_median(
    od: ODMatrix,
    *,
    n_sites: int,
    capacities: Any = None,
    single_sourcing: bool = False,
    formulation: str = "auto",
    options: MipOptions | None = None,
    **rules: Unpack[SiteRules],
) -> Solution:
    """Open `n_sites` sites minimising the demand-weighted total travel time.

    Parameters
    ----------
    od
        Travel times; absent pairs (beyond the matrix cut-off) cannot be assigned.
    n_sites
        Number of open sites, required ones included.
    capacities
        Per site, the most weight it may serve (capacitated p-median; demand may split).
    single_sourcing
        With `capacities`: each demand point is served whole by one site (x binary).
    formulation
        What proves the optimum: ``"branch"`` (Lagrangian branch and bound on sites,
        `siting.locate.branching`, instead of the pass and a MIP; not with capacities,
        excluded sets or a binding budget), or the MIP HiGHS solves after the Lagrangian
        pass: ``"radius"`` (a column per demand point and distinct distance,
        `siting.locate.radius`), ``"assignment"`` (a column per pair, the only one with
        capacities); or ``"auto"``: every set of the free sites when they are few
        (`siting.locate.enumeration`), else branch when at most `BRANCHING_MAX_CHOOSE`
        sites are left to choose, else the pass and radius; assignment with capacities.
    options, **rules
        Solver options; demand `weights`, `required_sites`, `forbidden_sites`, `site_costs`,
        `budget` and `exclude` as in `siting.locate.instance.SiteRules`.

    Returns
    -------
    Solution
        Objective: sum of weight x minutes. Demand no site reaches in the matrix is
        excluded and listed in ``unreachable``. With capacities, `assignment` is the site
        serving the largest share of each point, and `site_loads` the weight each serves.

    Raises
    ------
    InputError
        Under single sourcing, a demand point heavier than every site it reaches (named).
    InfeasibleError
        If `n_sites` sites cannot reach all demand within the matrix cut-off (the message
        says how many are needed), or capacities cannot hold the demand.

    Notes
    -----
    ReVelle and Swain (1970), with :math:`x_{ij}` only for stored pairs:

    .. math:: \\min \\sum_{ij} w_i t_{ij} x_{ij} \\quad \\text{s.t.} \\quad
              \\sum_j x_{ij} = 1, \\; x_{ij} \\le y_j, \\; \\sum_j y_j = p, \\;
              \\sum_i w_i x_{ij} \\le Q_j y_j \\text{ (capacitated)}

    and :math:`x_{ij} \\in \\{0, 1\\}` under single sourcing (a generalised assignment
    per site set), else :math:`x_{ij} \\in [0, 1]`.

    Pairs farther than a required site are dropped: the nearest open site is never
    farther than a required one, so the optimum is unchanged.

    Without capacities, a Lagrangian pass (`siting.locate.lagrangian`) comes first: greedy plus
    swaps give an answer, subgradient steps a proven bound. When they are within `mip_gap`
    (options) HiGHS is not called; otherwise the sites and pairs the bound rules out are
    fixed and HiGHS solves the rest. Excluded sets are kept out of the answer and stay as
    rows in the MIP; the bound ignores them, which keeps it valid. A budget that no choice of
    `n_sites` sites can exceed is redundant and goes the same way. A budget that binds, or
    capacities, go straight to HiGHS: the relaxed problem would no longer be solved by
    sorting sites (a knapsack for the budget) and the bound without capacities is weak.

    The relaxation is Beasley's (1993), "Lagrangean heuristics for location problems"
    (EJOR 65), with Lagrangian penalty tests for the fixing; `siting.locate.lagrangian` says
    where the code departs from it. With few sites to choose the same relaxation bounds
    the nodes of a branch and bound on sites (Christofides and Beasley 1982,
    `siting.locate.branching`), which replaces the pass and the MIP: there the LP bound
    lies some tenths of a percent below the optimum and HiGHS branched for minutes.
    """
    start = time.perf_counter()
    instance = prepare_instance(od, **rules)
    count = check_n_sites(instance, n_sites)
    caps = check_capacities(instance, capacities, single_sourcing)
    chosen = _formulation(formulation, caps)
    unreachable = unreachable_rows(instance, None)
    check_some_reachable(instance, unreachable, "in the OD matrix")
    pairs = _usable_pairs(instance, unreachable, prune=caps is None)
    if caps is not None:
        check_whole_demand_fits(instance, caps, pairs.rows, pairs.columns, "in the OD matrix")
    result, build_s, used = _solve_median(
        instance, pairs, count, caps, options or MipOptions(), start, chosen
    )
    logger.info("p-median p=%d: %g (%s)", count, result.objective, result.status)
    parameters = {"n_sites": count, "capacitated": caps is not None, "formulation": used}
    if caps is None:
        return make_solution(
            instance, "p-median", result, build_s=build_s, unreachable=unreachable,
            parameters=parameters,
        )  # fmt: skip
    return _capacitated_solution(
        instance, "p-median", result, pairs, caps, build_s=build_s, unreachable=unreachable,
        parameters={**parameters, "single_sourcing": caps.single_sourcing},
    )  # fmt: skip


def _capacitated_solution(
    instance: Instance,
    problem: str,
    result: MipResult,
    pairs: _Pairs,
    capacities: Capacities,
    **details: Any,
) -> Solution:
    """The answer of an assignment model over `pairs` (x after the site columns): each
    point to the site serving most of it, with each site's load and capacity."""
    share = shares(result, instance.od.shape[1], pairs.rows.size)
    assignment = largest_shares(
        instance.od.shape[0], pairs.rows, pairs.columns, pairs.minutes, share
    )
    loads = site_loads(instance, pairs.rows, pairs.columns, share)
    return make_solution(
        instance, problem, result, assignment=assignment, loads=(loads, capacities.values),
        **details,
    )  # fmt: skip


def _solve_median(
    instance: Instance,
    pairs: _Pairs,
    n_sites: int,
    capacities: Capacities | None,
    options: MipOptions,
    start: float,
    formulation: str,
) -> tuple[MipResult, float, str]:
    """Lagrangian pass first (uncapacitated, budget not binding); HiGHS on what it leaves.

    Returns the result, the build time and what solved it (`formulation`, or "lagrangian").
    """
    reduction = None
    plain = capacities is None and not _budget_binds(instance, n_sites)
    enumerated = (
        _by_enumeration(instance, pairs, n_sites) if plain and formulation == "auto" else None
    )
    if enumerated is not None:
        return enumerated, time.perf_counter() - start, "enumeration"
    if formulation == "branch" or (
        formulation == "auto" and plain and _branching_pays(instance, pairs, n_sites)
    ):
        build_s = time.perf_counter() - start
        return _by_branching(instance, pairs, n_sites, options, start), build_s, "branch"
    if plain:
        started = time.perf_counter()
        reduction = _reduce(instance, pairs, n_sites, options, start)
        if reduction is None:
            _check_without_answer(instance, pairs, n_sites, options)
    if reduction is not None:
        seconds = time.perf_counter() - started
        status = _lagrangian_status(reduction, options, start)
        if status is not None:
            return _lagrangian_result(reduction, seconds, status), started - start, "lagrangian"
        # the MIP over the sites and pairs the bound left open; exact, since every answer
        # costing at most the Lagrangian answer survives the fixing
        fixed = replace(instance, required=reduction.fixed_open, forbidden=reduction.fixed_closed)
        instance, pairs = fixed, _subset(pairs, reduction.kept_pairs)
    build_s = time.perf_counter() - start
    step = replace(options, time_limit_s=_remaining(options, start))
    enumerated = None
    if formulation == "auto" and reduction is not None:
        enumerated = _by_enumeration(instance, pairs, n_sites)
    try:
        if enumerated is not None:
            formulation, result = "enumeration", enumerated
        elif formulation in ("radius", "auto"):
            formulation = "radius"
            result = _by_radius(instance, pairs, n_sites, step)
        else:
            result = _by_assignment(instance, pairs, n_sites, capacities, step)
    except NoSolutionError as error:
        if reduction is None:
            raise
        # HiGHS held no plan when time ran out: the Lagrangian answer stands, with the better
        # bound (HiGHS's is valid too: the fixing keeps every answer up to the Lagrangian one)
        if math.isfinite(error.bound) and error.bound > reduction.lower_bound:
            reduction = replace(reduction, lower_bound=min(error.bound, reduction.upper_bound))
        seconds = time.perf_counter() - started
        return _lagrangian_result(reduction, seconds, "time limit"), build_s, "lagrangian"
    # both bound the same optimum; the Lagrangian one is higher when HiGHS stops early
    if reduction is not None and reduction.lower_bound > result.bound:
        gap = (result.objective - reduction.lower_bound) / abs(result.objective)
        result = replace(result, bound=reduction.lower_bound, gap=gap)
    return result, build_s, formulation


def solve_median_pairs(
    instance: Instance,
    rows: IntArray,
    columns: IntArray,
    minutes: FloatArray,
    n_sites: int,
    options: MipOptions,
    start: float,
) -> tuple[MipResult, float, str]:
    """The uncapacitated p-median of `solve_p_median` over pairs the caller prices.

    For models that are p-medians under edited costs (Hillsman 1984): the pair costs are
    ``instance.weights[rows] * minutes`` in float64. `rows` must be sorted, and every demand
    row of `instance` with a pair is served; `start` is the caller's `time.perf_counter()`
    at which `options.time_limit_s` began. Returns the result, the seconds before the last
    solve and what solved it (``"enumeration"``, ``"lagrangian"`` or ``"radius"``).
    """
    active = np.zeros(instance.od.shape[0], dtype=np.bool_)
    active[rows] = True
    local = np.searchsorted(np.flatnonzero(active), rows)
    pairs = _Pairs(rows, columns, minutes, row_pointers(local, int(active.sum())), active)
    return _solve_median(instance, pairs, n_sites, None, options, start, "auto")


#: p-median formulations a caller may ask for ("auto": the rule in `_solve_median`)
FORMULATIONS = ("auto", "assignment", "radius", "branch")


def _formulation(asked: str, capacities: Capacities | None) -> str:
    """The formulation asked for, checked; "assignment" whenever capacities need its x."""
    if asked not in FORMULATIONS:
        msg = f"formulation must be one of {', '.join(FORMULATIONS)}, got {asked!r}"
        raise InputError(msg)
    if capacities is not None:
        if asked in ("radius", "branch"):
            msg = f"formulation {asked!r} has no capacities; use 'assignment'"
            raise InputError(msg)
        return "assignment"
    return asked


def _by_enumeration(instance: Instance, pairs: _Pairs, n_sites: int) -> MipResult | None:
    """Every set of the sites left free (`siting.locate.enumeration`), or None when there
    are too many to try."""
    free = instance.allowed & ~instance.required
    n_choose = n_sites - int(instance.required.sum())
    if enumeration_work(pairs.indptr.size - 1, int(free.sum()), n_choose) > MAX_WORK:
        return None
    priced = _assignment_pairs(instance, pairs)
    local, cost = priced.local_rows, priced.cost
    base = np.full(priced.n_rows, np.inf)
    at_open = instance.required[pairs.columns]
    np.minimum.at(base, local[at_open], cost[at_open])
    position = np.cumsum(free) - 1
    at_free = free[pairs.columns]
    free_cost = np.full((priced.n_rows, int(free.sum())), np.inf)
    free_cost[local[at_free], position[pairs.columns[at_free]]] = cost[at_free]
    result = best_site_set(free_cost, base, instance.required, free, n_choose, instance.excluded)
    if result.status == "infeasible":
        _raise_too_few_sites(instance, pairs, n_sites, None, "p-median")
    return result


def _branching_pays(instance: Instance, pairs: _Pairs, n_sites: int) -> bool:
    """Whether "auto" runs the Lagrangian branch and bound: few sites to choose (measured,
    `BRANCHING_MAX_CHOOSE`), no excluded sets, and pairs few enough to sort and hold twice."""
    if instance.excluded or pairs.rows.size > BRANCHING_MAX_PAIRS:
        return False
    return n_sites - int(instance.required.sum()) <= BRANCHING_MAX_CHOOSE


def _by_branching(
    instance: Instance, pairs: _Pairs, n_sites: int, options: MipOptions, start: float
) -> MipResult:
    """Lagrangian branch and bound (`siting.locate.branching`) from the greedy-and-swaps
    answer; it takes no excluded sets, no binding budget (nor capacities)."""
    if instance.excluded or _budget_binds(instance, n_sites):
        msg = "formulation 'branch' takes no excluded site sets nor a binding budget; use 'radius'"
        raise InputError(msg)
    # late: these import numba
    from siting.locate.branching import solve_by_branching
    from siting.locate.sorted_pairs import sort_pairs
    from siting.locate.sorted_swaps import greedy_sites, improve_sites

    deadline = None if options.time_limit_s is None else start + options.time_limit_s
    priced = sort_pairs(_assignment_pairs(instance, pairs))
    answer = greedy_sites(priced, n_sites, instance.required, instance.allowed)
    answer = improve_sites(priced, answer, instance.required, instance.allowed, deadline=deadline)
    cost = float(priced.nearest_cost(answer).sum())
    if not np.isfinite(cost):
        _check_without_answer(instance, pairs, n_sites, options)
    result = solve_by_branching(
        priced,
        n_sites,
        (instance.required, ~instance.allowed),
        (cost, answer),
        mip_gap=options.mip_gap,
        deadline=deadline,
    )
    if not np.isfinite(result.objective):
        _raise_too_few_sites(instance, pairs, n_sites, options, "p-median")
    return result


def _by_radius(instance: Instance, pairs: _Pairs, n_sites: int, options: MipOptions) -> MipResult:
    result = solve_radius(instance, _assignment_pairs(instance, pairs), n_sites, options)
    if result.status == "infeasible":
        _raise_too_few_sites(instance, pairs, n_sites, options, "p-median")
    return result


def _by_assignment(
    instance: Instance,
    pairs: _Pairs,
    n_sites: int,
    capacities: Capacities | None,
    options: MipOptions,
) -> MipResult:
    """Sites y, then x per pair (`siting.locate.capacitated.add_assignment`); with
    capacities, after the plain p-median (`_capacitated_start`)."""
    model = MipModel("min")
    add_site_columns(model, instance, n_sites=n_sites)
    cost = instance.weights[pairs.rows] * pairs.minutes
    add_assignment(model, instance, (pairs.rows, pairs.columns), capacities, cost=cost, whole=True)
    if capacities is None:
        return _solve_or_explain(model, instance, pairs, n_sites, options, "p-median")
    started = time.perf_counter()
    start, bound = _capacitated_start(instance, pairs, n_sites, capacities, options)
    remaining = _remaining(options, started)
    step = replace(options, time_limit_s=None if remaining is None else max(remaining, 1.0))
    result = _solve_or_explain(
        model, instance, pairs, n_sites, step, "p-median", start, highs_settings(capacities)
    )
    if bound > result.bound:  # HiGHS's root LP had not ended (Dalarna: over a minute)
        gap = max(result.objective - bound, 0.0) / max(abs(result.objective), 1e-12)
        result = replace(result, bound=bound, gap=gap)
    return result


def _capacitated_start(
    instance: Instance, pairs: _Pairs, n_sites: int, capacities: Capacities, options: MipOptions
) -> tuple[FloatArray | None, float]:
    """The plain p-median to 1 %: its sites, each point to its nearest one with room, are
    HiGHS's start (None when a point finds none), and its bound is a bound here too (room
    only ever costs minutes)."""
    plain_options = replace(options, mip_gap=max(options.mip_gap, 0.01))
    try:
        plain, _, _ = _solve_median(
            instance, pairs, n_sites, None, plain_options, time.perf_counter(), "auto"
        )
    except SitingError:  # no plan without capacities either: HiGHS will say why
        return None, -math.inf
    guess = plain.values[: instance.od.shape[1]] > 0.5
    triple = (pairs.rows, pairs.columns, pairs.minutes)
    start = greedy_start(triple, instance.weights[pairs.rows], capacities, guess, whole=True)
    return start, plain.bound


def _check_without_answer(
    instance: Instance, pairs: _Pairs, n_sites: int, options: MipOptions
) -> None:
    """The heuristics served no answer: refuse at once when too few sites can be (the
    usual cause), or when the whole MIP is too large to hand to HiGHS."""
    if _sites_needed_bound(instance, pairs) > n_sites:
        _raise_too_few_sites(instance, pairs, n_sites, options, "p-median")
    if pairs.rows.size > MAX_MIP_PAIRS:
        msg = (
            f"p-median: no answer serving every demand point was found with n_sites={n_sites} "
            f"and the whole MIP ({pairs.rows.size} pairs) is more than HiGHS can hold here "
            f"({MAX_MIP_PAIRS}); raise n_sites or the OD matrix's cut-off"
        )
        raise SitingError(msg)


def _budget_binds(instance: Instance, n_sites: int) -> bool:
    """Whether some choice of `n_sites` allowed sites (required ones in) costs over budget."""
    if instance.budget is None:
        return False
    free = instance.allowed & ~instance.required
    dearest = np.sort(instance.costs[free])[::-1][: n_sites - int(instance.required.sum())]
    return float(instance.costs[instance.required].sum() + dearest.sum()) > instance.budget


def _lagrangian_status(reduction: Reduction, options: MipOptions, start: float) -> str | None:
    """Why the Lagrangian answer stands without HiGHS, or None when HiGHS should run."""
    gap = _relative_gap(reduction)
    if gap <= max(options.mip_gap, CLOSED_GAP):
        return "optimal"
    remaining = _remaining(options, start)
    if remaining is not None and remaining <= 0:
        return "time limit"
    kept = int(reduction.kept_pairs.sum())
    if kept > MAX_MIP_PAIRS:
        warn(
            logger,
            f"p-median: {kept} pairs left after fixing, more than a MIP here can hold "
            f"({MAX_MIP_PAIRS}); the answer stands with its Lagrangian gap {100 * gap:.3g}%",
        )
        return "size limit"
    return None


def _relative_gap(reduction: Reduction) -> float:
    upper, lower = reduction.upper_bound, reduction.lower_bound
    return max(upper - lower, 0.0) / max(abs(upper), 1e-12)


def _lagrangian_result(reduction: Reduction, seconds: float, status: str) -> MipResult:
    """The Lagrangian answer and bound as a solver result (site columns only)."""
    upper, lower = reduction.upper_bound, reduction.lower_bound
    values = reduction.best_open.astype(np.float64)
    return MipResult(values, upper, min(lower, upper), _relative_gap(reduction), status, seconds)


def solve_p_center(
    od: ODMatrix,
    *,
    n_sites: int,
    capacities: Any = None,
    single_sourcing: bool = False,
    options: MipOptions | None = None,
    **rules: Unpack[SiteRules],
) -> Solution:
    """Open `n_sites` sites minimising the longest travel time of any demand point.

    Weights select demand (weight 0: ignored) and, with `capacities`, are what a site
    serves. Other parameters as `solve_p_median`.

    Returns
    -------
    Solution
        Objective: the worst travel time in minutes; `bound` the largest radius proven too
        short (or the objective itself when optimal). With capacities, `assignment` is one
        that meets them within that time (the largest share of each point), not the
        shortest in total, and `site_loads` the weight each site serves in it.

    Notes
    -----
    Hakimi (1964): :math:`\\min W` s.t. every demand point has an open site within
    :math:`W`. The optimal :math:`W` is one of the stored travel times, so it is found by
    bisection over them (Minieka 1970), each step a set-covering feasibility MIP:

    .. math:: \\exists y \\in \\{0, 1\\}^m : \\sum_{j : t_{ij} \\le r} y_j \\ge 1 \\;
              \\forall i, \\; \\sum_j y_j = p

    This is exact, and far faster than the assignment formulation with
    :math:`\\sum_j t_{ij} x_{ij} \\le W`, whose LP bound is weak.

    With capacities (Özsoy and Pınar 2006 bisect the same way) each step asks instead
    whether the assignment rows of `solve_p_median` over the pairs within :math:`r` have a
    solution: :math:`\\sum_{j : t_{ij} \\le r} x_{ij} = 1`, :math:`x_{ij} \\le y_j`,
    :math:`\\sum_i w_i x_{ij} \\le Q_j y_j`, :math:`\\sum_j y_j = p`, with :math:`x`
    binary under single sourcing.
    """
    start = time.perf_counter()
    instance = prepare_instance(od, **rules)
    count = check_n_sites(instance, n_sites)
    unreachable = unreachable_rows(instance, None)
    check_some_reachable(instance, unreachable, "in the OD matrix")
    caps = check_capacities(instance, capacities, single_sourcing)
    # a required site nearer than all others may be full: prune only without capacities
    pairs = _usable_pairs(instance, unreachable, prune=caps is None)
    if caps is None:
        result = _bisect_radius(instance, pairs, count, options or MipOptions(), _cover_within)
    else:
        check_whole_demand_fits(instance, caps, pairs.rows, pairs.columns, "in the OD matrix")
        result = _bisect_radius(
            instance, pairs, count, options or MipOptions(), _capacitated_within(caps)
        )
    build_s = time.perf_counter() - start - result.solve_s
    logger.info("p-center p=%d: %g (%s)", count, result.objective, result.status)
    parameters: dict[str, Any] = {"n_sites": count}
    if caps is None:
        return make_solution(
            instance, "p-center", result, build_s=build_s, unreachable=unreachable,
            parameters=parameters,
        )  # fmt: skip
    within = _subset(pairs, pairs.minutes <= result.objective)
    return _capacitated_solution(
        instance, "p-center", result, within, caps, build_s=build_s, unreachable=unreachable,
        parameters={**parameters, "capacitated": True, "single_sourcing": caps.single_sourcing},
    )  # fmt: skip


#: whether `n_sites` sites serve every row within a radius: site values (then any further
#: columns of the model), or None
RadiusCheck = Callable[[Instance, _Pairs, IntArray, float, int, MipOptions], FloatArray | None]


def _bisect_radius(
    instance: Instance, pairs: _Pairs, n_sites: int, options: MipOptions, within: RadiusCheck
) -> MipResult:
    """Smallest stored time r such that `n_sites` sites serve every row within r."""
    nearest = np.full(pairs.indptr.size - 1, np.inf)
    local = np.repeat(np.arange(nearest.size), np.diff(pairs.indptr))
    np.minimum.at(nearest, local, pairs.minutes)
    radii = np.unique(pairs.minutes[pairs.minutes >= nearest.max()])
    started = time.perf_counter()
    best = within(instance, pairs, local, float(radii[-1]), n_sites, options)
    if best is None:
        _raise_too_few_sites(instance, pairs, n_sites, options, "p-center")
    low, high = 0, radii.size - 1  # radii[high] is feasible; every radius below low is not
    status = "optimal"
    while low < high:
        middle = (low + high) // 2
        remaining = _remaining(options, started)
        if remaining is not None and remaining <= 0:
            status = "time limit"
            break
        step = MipOptions(options.mip_gap, remaining, options.seed)
        values = within(instance, pairs, local, float(radii[middle]), n_sites, step)
        if values is None:
            low = middle + 1
        else:
            best, high = values, middle
    objective, bound = float(radii[high]), float(radii[low])
    gap = (objective - bound) / objective if objective > 0 else 0.0
    solve_s = time.perf_counter() - started
    return MipResult(best, objective, bound, gap, status, solve_s)


def _remaining(options: MipOptions, started: float) -> float | None:
    if options.time_limit_s is None:
        return None
    return options.time_limit_s - (time.perf_counter() - started)


def _cover_within(
    instance: Instance,
    pairs: _Pairs,
    local: IntArray,
    radius: float,
    n_sites: int,
    options: MipOptions,
) -> FloatArray | None:
    """Site values of a choice of `n_sites` covering every row within `radius`, or None."""
    keep = pairs.minutes <= radius
    n_rows = pairs.indptr.size - 1
    counts = np.bincount(local[keep], minlength=n_rows)
    if (counts == 0).any():
        return None
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    cover = sp.csr_matrix(
        (np.ones(counts.sum()), pairs.columns[keep], indptr),
        shape=(n_rows, instance.od.shape[1]),
    )
    if instance.budget is None and not instance.excluded:
        return _plain_cover(instance, pairs, cover, n_sites, options, radius)
    model = MipModel("min")
    add_site_columns(model, instance, n_sites=n_sites)
    model.add_rows(reduce_cover(cover, plain=False)[0], lower=1.0)
    return _cover_values(model.solve(options), radius)


def _capacitated_within(capacities: Capacities) -> RadiusCheck:
    """The radius check with capacities: the assignment rows over the pairs within it."""

    def check(
        instance: Instance,
        pairs: _Pairs,
        local: IntArray,
        radius: float,
        n_sites: int,
        options: MipOptions,
    ) -> FloatArray | None:
        keep = pairs.minutes <= radius
        if np.unique(local[keep]).size < pairs.indptr.size - 1:
            return None  # some row has no site at all within the radius
        rows, columns = pairs.rows[keep], pairs.columns[keep]
        model = MipModel("min")
        add_site_columns(model, instance, n_sites=n_sites)
        add_assignment(
            model, instance, (rows, columns), capacities, cost=np.zeros(rows.size), whole=True
        )
        return _cover_values(model.solve(options, settings=highs_settings(capacities)), radius)

    return check


def _plain_cover(
    instance: Instance,
    pairs: _Pairs,
    cover: sp.csr_matrix,
    n_sites: int,
    options: MipOptions,
    radius: float,
) -> FloatArray | None:
    """The check with sites alike but for their rows: required sites' rows met already,
    dominated rows and sites dropped (`siting.locate.cover_reduction`), at most the sites
    left to choose; the answer filled up to `n_sites` by `_fill_sites`."""
    free = instance.allowed & ~instance.required
    n_free = n_sites - int(instance.required.sum())
    open_rows = np.asarray(cover[:, instance.required].sum(axis=1)).ravel() == 0
    chosen = instance.required.copy()
    if open_rows.any():
        if n_free == 0:
            return None
        reduced, kept = reduce_cover(sp.csr_matrix(cover[open_rows][:, free]), plain=True)
        model = MipModel("min")
        model.add_columns(np.zeros(reduced.shape[1]), upper=1.0, integer=True)
        model.add_rows(sp.csr_matrix(np.ones((1, reduced.shape[1]))), upper=n_free)
        model.add_rows(reduced, lower=1.0)
        values = _cover_values(model.solve(options), radius)
        if values is None:
            return None
        chosen[np.flatnonzero(free)[kept][values > 0.5]] = True
    return _fill_sites(instance, pairs, chosen, n_sites).astype(np.float64)


def _cover_values(result: MipResult, radius: float) -> FloatArray | None:
    if result.status == "infeasible":
        return None
    if result.status != "optimal":
        raise SitingError(f"p-center: the covering check at {radius:g} minutes ran out of time")
    return result.values


def _fill_sites(instance: Instance, pairs: _Pairs, chosen: BoolArray, n_sites: int) -> BoolArray:
    """Open more allowed sites until `n_sites` are open, each the one that most shortens
    the weighted total time (the radius cannot grow: every row keeps its site)."""
    chosen = chosen.copy()
    weights = instance.weights[pairs.rows]
    n_columns = instance.od.shape[1]
    current = np.full(pairs.active.size, np.inf)  # per row, its nearest open site's minutes
    near = chosen[pairs.columns]
    np.minimum.at(current, pairs.rows[near], pairs.minutes[near])
    for _ in range(n_sites - int(chosen.sum())):
        saving = weights * np.maximum(np.minimum(current[pairs.rows], 1e12) - pairs.minutes, 0)
        gain = np.bincount(pairs.columns, weights=saving, minlength=n_columns)
        gain[chosen | ~instance.allowed] = -1.0
        opened = int(np.argmax(gain))
        chosen[opened] = True
        at = pairs.columns == opened
        np.minimum.at(current, pairs.rows[at], pairs.minutes[at])
    return chosen


def _subset(pairs: _Pairs, keep: BoolArray) -> _Pairs:
    local = np.repeat(np.arange(pairs.indptr.size - 1), np.diff(pairs.indptr))[keep]
    return _Pairs(
        rows=pairs.rows[keep],
        columns=pairs.columns[keep],
        minutes=pairs.minutes[keep],
        indptr=row_pointers(local, pairs.indptr.size - 1),
        active=pairs.active,
    )


def _assignment_pairs(instance: Instance, pairs: _Pairs) -> AssignmentPairs:
    """The pairs with their costs (weight x minutes), as the pass and the models take them."""
    return AssignmentPairs(
        local_rows=np.repeat(np.arange(pairs.indptr.size - 1), np.diff(pairs.indptr)),
        columns=pairs.columns,
        cost=instance.weights[pairs.rows] * pairs.minutes,
        indptr=pairs.indptr,
        n_columns=instance.od.shape[1],
    )


def _reduce(
    instance: Instance, pairs: _Pairs, n_sites: int, options: MipOptions, start: float
) -> Reduction | None:
    """Lagrangian bound, answer and exact site fixing; None when it found no answer."""
    assignment = _assignment_pairs(instance, pairs)
    deadline = None if options.time_limit_s is None else start + options.time_limit_s
    return reduce_p_median(
        assignment,
        n_sites,
        instance.required,
        instance.allowed,
        excluded=instance.excluded,
        target_gap=options.mip_gap,
        deadline=deadline,
    )


def _usable_pairs(instance: Instance, unreachable: BoolArray, *, prune: bool) -> _Pairs:
    """Stored pairs of demand rows with allowed sites; beyond a required site dropped."""
    active = instance.demand & ~unreachable
    matrix = instance.od.minutes
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    at_allowed = instance.allowed[matrix.indices]
    # counted, not built as `pairs_within`'s matrix (a sort of 86 million pairs)
    blocked = active & (np.bincount(rows[at_allowed], minlength=matrix.shape[0]) == 0)
    if blocked.any():
        ids = instance.od.origin_ids[blocked]
        msg = (
            f"infeasible: {blocked.sum()} demand points (e.g. {ids[0]!r}) reach only "
            "forbidden sites in the OD matrix"
        )
        raise InfeasibleError(msg)
    keep = active[rows] & at_allowed
    if prune and instance.required.any():
        nearest_required = np.full(matrix.shape[0], np.inf)
        is_required = instance.required[matrix.indices]
        np.minimum.at(nearest_required, rows[is_required], matrix.data[is_required])
        keep &= matrix.data <= nearest_required[rows]
    rows = rows[keep]
    local = (np.cumsum(active) - 1)[rows]  # a gather: searchsorted took 7 s at 86 million
    return _Pairs(
        rows=rows,
        columns=matrix.indices[keep].astype(np.int64),
        minutes=matrix.data[keep].astype(np.float64),
        indptr=row_pointers(local, int(active.sum())),
        active=active,
    )


def _solve_or_explain(
    model: MipModel,
    instance: Instance,
    pairs: _Pairs,
    n_sites: int,
    options: MipOptions | None,
    problem: str,
    start: FloatArray | None = None,
    settings: dict[str, bool | float | str] | None = None,
) -> MipResult:
    result = model.solve(options or MipOptions(), start=start, settings=settings)
    if result.status == "infeasible":
        _raise_too_few_sites(instance, pairs, n_sites, options, problem)
    return result


def _raise_too_few_sites(
    instance: Instance,
    pairs: _Pairs,
    n_sites: int,
    options: MipOptions | None,
    problem: str,
) -> NoReturn:
    needed = _fewest_sites_reaching_all(instance, pairs, n_sites, options)
    if needed > n_sites:
        msg = (
            f"{problem} is infeasible: reaching every demand point within the OD matrix's "
            f"cut-off takes at least {needed} sites, n_sites={n_sites} is short by "
            f"{needed - n_sites}"
        )
        raise InfeasibleError(msg)
    msg = f"{problem} is infeasible with n_sites={n_sites} under the capacities and budget"
    raise InfeasibleError(msg)


def _fewest_sites_reaching_all(
    instance: Instance, pairs: _Pairs, n_sites: int, options: MipOptions | None
) -> int:
    """How many sites any feasible answer needs: a bound from rows with no site in common
    when that is already over `n_sites`, else the set cover over the usable pairs."""
    bound = _sites_needed_bound(instance, pairs)
    if bound > n_sites:
        return bound
    model = MipModel("min")
    unbudgeted = replace(instance, budget=None)
    add_site_columns(model, unbudgeted, cost=1.0)
    model.add_rows(reduce_cover(_reach(instance, pairs), plain=False)[0], lower=1.0)
    return round(model.solve(options or MipOptions()).objective)


def _sites_needed_bound(instance: Instance, pairs: _Pairs) -> int:
    """Required sites plus rows they leave unserved that share no allowed site."""
    reach = _reach(instance, pairs)
    unserved = np.asarray(reach[:, instance.required].sum(axis=1)).ravel() == 0
    free = instance.allowed & ~instance.required
    left = sp.csr_matrix(reach[unserved][:, free])
    return int(instance.required.sum()) + disjoint_rows(left)


def _reach(instance: Instance, pairs: _Pairs) -> sp.csr_matrix:
    """Rows x sites, one where the pair is usable."""
    n_rows = pairs.indptr.size - 1
    return sp.csr_matrix(
        (np.ones(pairs.rows.size), pairs.columns, pairs.indptr),
        shape=(n_rows, instance.od.shape[1]),
    )
