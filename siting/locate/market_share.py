"""Market share with the Huff model: the most demand new offices win against other offices,
and the fewest offices that win a target share.

Notes
-----
Huff (1963): a demand point :math:`i` goes to office :math:`j` with probability
:math:`a_{ij} / \\sum_k a_{ik}` over the open offices, ours and the others', where
:math:`a_{ij} = A_j f(t_{ij})` is the office's attractiveness :math:`A_j` (1 when not given)
times the decay weight of the trip (`siting.locate.decay`). With :math:`S_i(y) = \\sum_j a_{ij}
y_j` over our sites and :math:`C_i` the others' sum, our captured demand is

.. math:: V(y) = \\sum_i w_i \\, \\varphi_i(S_i(y)), \\qquad \\varphi_i(S) = \\frac{S}{S + C_i},

and the market share is :math:`V / W` with :math:`W` the demand some office reaches.
:math:`\\varphi_i` is concave and increasing, so each of its tangents lies above it:

.. math:: u_i \\le \\varphi_i(s) + \\varphi_i'(s) (S_i(y) - s), \\quad
          \\varphi_i'(s) = \\frac{C_i}{(s + C_i)^2},

and :math:`\\max \\sum_i w_i u_i` over binary :math:`y` with a set of such tangents is an
upper bound of :math:`V` (outer approximation; Ljubić and Moreno 2018 solve the maximum
capture problem this way, Duran and Grossmann 1986 in general). The MIP is solved, the
true :math:`V` of its plan evaluated and tangents added at that plan's :math:`S_i`, until
bound and best plan meet: exact, since a plan met again is priced exactly by its own
tangents. A point no other office reaches (:math:`C_i = 0`) is won whole by any of our
sites that reaches it: :math:`u_i \\le \\sum_{j : a_{ij} > 0} y_j`, as in the MCLP.

TargetMarketShare minimises the number of sites (or their cost) subject to
:math:`\\sum_i w_i u_i \\ge X W` over the same tangents: each model's optimum is a lower
bound on the count, and the first plan whose true share reaches X is optimal.

References
----------
Huff, D. L. (1963). A probabilistic analysis of shopping center trade areas. *Land
Economics* 39(1), 81-90.

Ljubić, I. and Moreno, E. (2018). Outer approximation and submodular cuts for maximum
capture facility location problems with random utilities. *European Journal of
Operational Research* 266(1), 46-56.

Duran, M. A. and Grossmann, I. E. (1986). An outer-approximation algorithm for a class of
mixed-integer nonlinear programs. *Mathematical Programming* 36(3), 307-339.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Unpack

import numpy as np
import scipy.sparse as sp

from siting._core.errors import InfeasibleError, InputError, SitingError
from siting.locate.decay import DEFAULT_DECAY, Decay
from siting.locate.groups import check_share
from siting.locate.instance import (
    BoolArray,
    FloatArray,
    Instance,
    SiteRules,
    add_site_columns,
    check_n_sites,
    make_solution,
    prepare_instance,
)
from siting.locate.mip import MipModel, MipOptions, MipResult, NoSolutionError
from siting.locate.solution import PROVEN_GAP, Solution
from siting.travel.odmatrix import ODMatrix

logger = logging.getLogger(__name__)

#: most rounds of outer approximation (each one MIP); a plan met again ends it sooner
MAX_ROUNDS = 200
#: tangents each row starts with, at these fractions of its largest S (0 included)
START_POINTS = (0.0, 0.05, 0.25, 1.0)


@dataclass
class _Market:
    """Our pull per row (a row x site matrix), the others' sum, and the demand weights."""

    ours: sp.csr_matrix  # a_ij over the sites we may open (0 elsewhere)
    others: FloatArray  # C_i
    weights: FloatArray  # w_i, rows of the market only
    rows: BoolArray  # rows some office reaches (the market)
    tangents: list[tuple[FloatArray, FloatArray]] = field(default_factory=list)

    def value(self, open_sites: BoolArray) -> FloatArray:
        """Per row, our expected share phi_i(S_i) under `open_sites`."""
        pull = np.asarray(self.ours @ open_sites.astype(np.float64)).ravel()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(pull > 0, pull / (pull + self.others), 0.0)


def solve_market_share(
    od: ODMatrix,
    *,
    n_sites: int,
    competitor_sites: Iterable[Any] = (),
    attractiveness: Any = None,
    decay: Decay = DEFAULT_DECAY,
    options: MipOptions | None = None,
    **rules: Unpack[SiteRules],
) -> Solution:
    """Open `n_sites` sites (ours, required ones included) to win the most demand (Huff).

    ArcGIS calls this MarketShare. The module notes give the model and the method.

    Parameters
    ----------
    od
        Travel times, demand points x sites (ours and the other offices).
    n_sites
        Number of our open sites, required ones (today's offices) included.
    competitor_sites
        Site ids of the other offices (another agency, a competitor): always open, never
        ours.
    attractiveness
        Per site (all columns), :math:`A_j > 0`; 1 each when not given.
    decay
        How a trip's pull falls with time.
    options, **rules
        Solver options and the shared rules of `siting.locate.instance.SiteRules`.

    Returns
    -------
    Solution
        Objective: the demand we win, :math:`\\sum_i w_i S_i / (S_i + C_i)`;
        ``parameters["market_share"]`` is that over the demand some office reaches.

    Raises
    ------
    InputError
        A competitor also required, bad attractiveness, or the shared checks.
    InfeasibleError
        None of our sites reaches any demand.

    Examples
    --------
    >>> import numpy as np
    >>> od = ODMatrix.from_dense(np.array([[5.0, 5.0, 40.0], [40.0, 30.0, 5.0]]))
    >>> won = solve_market_share(od, n_sites=1, competitor_sites=[0], weights=[10, 10],
    ...                          decay=Decay("linear", max_minutes=60))
    >>> won.site_ids.tolist(), round(won.objective, 3)
    ([1], 11.0)
    """
    start = time.perf_counter()
    instance, market = _prepare(od, competitor_sites, attractiveness, decay, rules)
    count = check_n_sites(instance, n_sites)
    result = _outer_approximation(instance, market, options or MipOptions(), start, count=count)
    return _solution(instance, market, result, start, "market-share", {"n_sites": count})


def solve_target_market_share(
    od: ODMatrix,
    *,
    target_share: float,
    competitor_sites: Iterable[Any] = (),
    attractiveness: Any = None,
    decay: Decay = DEFAULT_DECAY,
    options: MipOptions | None = None,
    **rules: Unpack[SiteRules],
) -> Solution:
    """The fewest of our sites (least cost, with `site_costs`) that win `target_share` of
    the demand some office reaches (ArcGIS's TargetMarketShare).

    Parameters are those of `solve_market_share`, with `target_share` from 0 to 1 in
    place of `n_sites`.

    Raises
    ------
    InputError
        A share outside 0-1, or as `solve_market_share`.
    InfeasibleError
        Every one of our allowed sites open still wins less than the target (the message
        says how much they win).

    Examples
    --------
    >>> import numpy as np
    >>> od = ODMatrix.from_dense(np.array([[5.0, 5.0, 40.0], [40.0, 30.0, 5.0]]))
    >>> plan = solve_target_market_share(od, target_share=0.6, competitor_sites=[0],
    ...                                  decay=Decay("linear", max_minutes=60))
    >>> plan.site_ids.tolist()
    [1, 2]
    """
    start = time.perf_counter()
    target = check_share(target_share, "target_share")
    instance, market = _prepare(od, competitor_sites, attractiveness, decay, rules)
    everything = float(market.weights @ market.value(instance.allowed))
    total = float(market.weights.sum())
    if everything < target * total - 1e-9 * total:
        msg = (
            f"target_share {target:.1%}: every allowed site of ours open wins "
            f"{everything / total:.1%} of the demand"
        )
        raise InfeasibleError(msg)
    result = _outer_approximation(
        instance, market, options or MipOptions(), start, target=target * total
    )
    return _solution(instance, market, result, start, "target-market-share",
                     {"target_share": target})  # fmt: skip


def _prepare(
    od: ODMatrix,
    competitor_sites: Iterable[Any],
    attractiveness: Any,
    decay: object,
    rules: SiteRules,
) -> tuple[Instance, _Market]:
    """The instance (competitors forbidden to us) and each row's pull, ours and theirs."""
    if not isinstance(decay, Decay):
        msg = f"decay must be a siting.Decay, got {decay!r}"
        raise InputError(msg)
    instance = prepare_instance(od, **rules)
    others = np.isin(od.destination_ids, list(competitor_sites))
    unknown = set(competitor_sites) - set(od.destination_ids.tolist())
    if unknown:
        msg = f"competitor_sites: {sorted(map(str, unknown))[0]!r} is not a site of the OD matrix"
        raise InputError(msg)
    if (others & instance.required).any():
        raise InputError("competitor_sites: a site cannot be both a competitor and required")
    instance = replace(instance, forbidden=instance.forbidden | others)
    pull = _pull(od, attractiveness, decay)
    theirs = np.asarray(pull @ others.astype(np.float64)).ravel()
    ours = sp.csr_matrix(pull @ sp.diags(instance.allowed.astype(np.float64)))
    ours.eliminate_zeros()
    rows = instance.demand & ((np.diff(ours.indptr) > 0) | (theirs > 0))
    if not (np.diff(ours.indptr)[instance.demand] > 0).any():
        raise InfeasibleError(f"none of our sites reaches any demand ({decay.summary()})")
    market = _Market(sp.csr_matrix(ours[rows]), theirs[rows], instance.weights[rows], rows)
    return instance, market


def _pull(od: ODMatrix, attractiveness: Any, decay: Decay) -> sp.csr_matrix:
    """a_ij = A_j f(t_ij) over the stored pairs."""
    n_sites = od.shape[1]
    appeal = np.ones(n_sites) if attractiveness is None else np.asarray(attractiveness, float)
    if appeal.shape != (n_sites,) or not (np.isfinite(appeal) & (appeal > 0)).all():
        msg = f"attractiveness must be {n_sites} finite numbers > 0, one per site"
        raise InputError(msg)
    matrix = sp.csr_matrix(od.minutes, dtype=np.float64, copy=True)
    matrix.data = decay.weight(matrix.data) * appeal[matrix.indices]
    matrix.eliminate_zeros()
    return matrix


def _outer_approximation(
    instance: Instance,
    market: _Market,
    options: MipOptions,
    start: float,
    *,
    count: int | None = None,
    target: float | None = None,
) -> MipResult:
    """Solve, price the plan, add tangents at it; stop when the bound meets a plan."""
    _start_tangents(market, instance.allowed)
    maximise = target is None
    best: tuple[float, BoolArray] | None = None
    bound = math.inf if maximise else -math.inf
    for _ in range(MAX_ROUNDS):
        left = _left(options, start)
        if left is not None and left <= 0 and best is not None:
            break
        step = replace(options, time_limit_s=None if left is None else max(left, 1e-3))
        try:
            result = _model(instance, market, count, target).solve(step)
        except NoSolutionError:
            if best is None:
                raise
            break  # out of time: the best plan stands with the bound so far
        if result.status == "infeasible":
            raise InfeasibleError("no plan of ours meets the site rules and the target")
        plan = result.values[: instance.od.shape[1]] > 0.5
        won = float(market.weights @ market.value(plan))
        best, bound = _progress(instance, result, (plan, won), best, bound, target)
        # HiGHS meets a tangent to its feasibility tolerance (1e-7): closed at PROVEN_GAP
        if best is not None and _gap(_value(instance, best, target), bound, maximise) <= max(
            options.mip_gap, PROVEN_GAP
        ):
            break
        market.tangents.append(_tangent_at(market, plan))
    if best is None:
        msg = "target_share: no plan reaching the target was found within the time limit"
        raise SitingError(msg)
    objective = _value(instance, best, target)
    gap = _gap(objective, bound, maximise)
    status = "optimal" if gap <= max(options.mip_gap, PROVEN_GAP) else "time limit"
    return MipResult(best[1].astype(np.float64), objective, bound, gap, status,
                     time.perf_counter() - start)  # fmt: skip


def _left(options: MipOptions, start: float) -> float | None:
    if options.time_limit_s is None:
        return None
    return options.time_limit_s - (time.perf_counter() - start)


def _value(instance: Instance, best: tuple[float, BoolArray], target: float | None) -> float:
    """The objective of a plan: demand won, or (target) the cost of its sites."""
    return best[0] if target is None else float(instance.costs @ best[1])


def _progress(
    instance: Instance,
    result: MipResult,
    plan_won: tuple[BoolArray, float],
    best: tuple[float, BoolArray] | None,
    bound: float,
    target: float | None,
) -> tuple[tuple[float, BoolArray] | None, float]:
    """After one MIP: the best plan so far and the bound. Most demand won: every MIP's
    bound is an upper bound of V (the tangents only over-estimate). Fewest sites: each
    MIP's bound is a lower bound on the cost, and a plan counts only when its true share
    reaches the target."""
    plan, won = plan_won
    if target is None:
        if best is None or won > best[0]:
            best = (won, plan)
        return best, min(bound, result.bound)
    reaches = won >= target - 1e-9 * max(abs(target), 1.0)
    cost = float(instance.costs @ plan)
    if reaches and (best is None or cost < float(instance.costs @ best[1])):
        best = (won, plan)
    return best, max(bound, result.bound)


def _gap(objective: float, bound: float, maximise: bool) -> float:
    slack = bound - objective if maximise else objective - bound
    return max(slack, 0.0) / max(abs(objective), 1e-12)


def _start_tangents(market: _Market, allowed: BoolArray) -> None:
    """Tangents of each row at fractions of its largest S (all our allowed sites open)."""
    largest = np.asarray(market.ours @ allowed.astype(np.float64)).ravel()
    market.tangents = [_tangent(market, share * largest) for share in START_POINTS]


def _tangent_at(market: _Market, plan: BoolArray) -> tuple[FloatArray, FloatArray]:
    return _tangent(market, np.asarray(market.ours @ plan.astype(np.float64)).ravel())


def _tangent(market: _Market, pull: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Slope and intercept of phi_i's tangent at S_i = `pull` (rows with C_i > 0)."""
    others = market.others
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(others > 0, others / (pull + others) ** 2, 0.0)
        at = np.where(others > 0, (pull / (pull + others)) ** 2, 1.0)
    return slope, at


def _model(
    instance: Instance, market: _Market, count: int | None, target: float | None
) -> MipModel:
    """Sites y, a u per market row; tangent rows (or cover rows where C_i = 0)."""
    n_rows = market.weights.size
    model = MipModel("max" if target is None else "min")
    site_cost = 0.0 if target is None else instance.costs
    add_site_columns(model, instance, cost=site_cost, n_sites=count)
    first_u = model.add_columns(market.weights if target is None else np.zeros(n_rows),
                                upper=1.0)  # fmt: skip
    identity = sp.identity(n_rows, format="csr")
    alone = market.others <= 0
    for slope, intercept in market.tangents:  # u_i - slope_i S_i <= intercept_i
        keep = ~alone
        block = sp.hstack([-sp.diags(slope[keep]) @ market.ours[keep], identity[keep]])
        model.add_rows(sp.csr_matrix(block), upper=intercept[keep])
    if alone.any():  # won whole by any of our sites that reaches the row
        reach = sp.csr_matrix(market.ours[alone], copy=True)
        reach.data[:] = 1.0
        model.add_rows(sp.csr_matrix(sp.hstack([-reach, identity[alone]])), upper=0.0)
    if target is not None:
        row = sp.csr_matrix(np.r_[np.zeros(first_u), market.weights][None, :])
        model.add_rows(row, lower=target)
    return model


def _solution(
    instance: Instance,
    market: _Market,
    result: MipResult,
    start: float,
    problem: str,
    parameters: dict[str, Any],
) -> Solution:
    plan = result.values > 0.5
    won = float(market.weights @ market.value(plan))
    total = float(market.weights.sum())
    logger.info("%s: %g (%s)", problem, result.objective, result.status)
    record = {**parameters, "won": won, "market_share": won / total if total > 0 else 0.0}
    return make_solution(
        instance, problem, result, build_s=time.perf_counter() - start - result.solve_s,
        unreachable=instance.demand & ~market.rows, parameters=record,
    )  # fmt: skip
