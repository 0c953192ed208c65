"""Coverage problems: fewest sites reaching everyone (LSCP), most demand reached (MCLP)."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any, Unpack

import numpy as np
import scipy.sparse as sp

from siting._core.errors import InfeasibleError, InputError
from siting.locate.capacitated import check_capacities
from siting.locate.capacitated_mclp import solve_capacitated_mclp
from siting.locate.instance import (
    BoolArray,
    Instance,
    SiteRules,
    add_site_columns,
    check_max_minutes,
    check_some_reachable,
    count_or_budget,
    make_solution,
    merge_identical_rows,
    pairs_within,
    prepare_instance,
    unreachable_rows,
)
from siting.locate.mip import MipModel, MipOptions
from siting.locate.solution import Solution
from siting.travel.odmatrix import ODMatrix

logger = logging.getLogger(__name__)


def solve_lscp(
    od: ODMatrix,
    *,
    max_minutes: float,
    options: MipOptions | None = None,
    **rules: Unpack[SiteRules],
) -> Solution:
    """Open the fewest sites (or the cheapest set) so that all demand is within `max_minutes`.

    Parameters
    ----------
    od
        Travel times, demand points x candidate sites.
    max_minutes
        Coverage standard T.
    options
        Solver options (gap, time limit, seed).
    **rules
        `weights` (rows of weight 0 need no coverage), `required_sites`, `forbidden_sites`,
        `site_costs` (the objective becomes the summed cost), `budget`, `exclude`: see
        `siting.locate.instance.SiteRules`.

    Returns
    -------
    Solution
        Objective: number of open sites (summed cost if `site_costs` is given).
        ``unreachable`` lists demand that no site in the matrix reaches within T: it is
        excluded from the model and reported, never silently dropped.

    Raises
    ------
    InputError
        If `max_minutes` is not positive, demand is empty, ids are unknown.
    InfeasibleError
        If no demand is reachable within T, some demand is reachable only from forbidden
        sites, or the budget cannot pay for a covering set (the message gives the shortfall).

    Notes
    -----
    Toregas et al. (1971). With :math:`y_j \\in \\{0, 1\\}` (site open), cost :math:`c_j` and
    :math:`N_i = \\{j : t_{ij} \\le T\\}`:

    .. math:: \\min \\sum_j c_j y_j \\quad \\text{s.t.} \\quad
              \\sum_{j \\in N_i} y_j \\ge 1 \\;\\; \\forall i : w_i > 0, N_i \\neq \\emptyset

    plus :math:`y_j = 1` for required and :math:`y_j = 0` for forbidden sites and
    :math:`\\sum_j c_j y_j \\le B` with a budget.

    Examples
    --------
    >>> import numpy as np
    >>> from siting import ODMatrix, solve
    >>> od = ODMatrix.from_dense(np.array([[5.0, 40.0], [35.0, 10.0], [20.0, 20.0]]))
    >>> solve(od, problem="lscp", max_minutes=25).site_ids.tolist()
    [0, 1]
    """
    start = time.perf_counter()
    instance = prepare_instance(od, **rules)
    limit = check_max_minutes(max_minutes)
    unreachable = unreachable_rows(instance, limit)
    check_some_reachable(instance, unreachable, f"within max_minutes={limit:g}")
    cover = _covering_rows(instance, unreachable, limit)
    cover, _ = merge_identical_rows(cover, np.ones(cover.shape[0]))
    model = MipModel("min")
    add_site_columns(model, instance, cost=instance.costs)
    model.add_rows(cover, lower=1.0)
    build_s = time.perf_counter() - start
    result = model.solve(options or MipOptions())
    if result.status == "infeasible":
        _raise_over_budget(instance, cover, limit, options)
    logger.info("LSCP T=%g: %g (%s)", limit, result.objective, result.status)
    return make_solution(
        instance,
        "lscp",
        result,
        build_s=build_s,
        unreachable=unreachable,
        parameters={"max_minutes": limit},
    )


def _covering_rows(instance: Instance, unreachable: BoolArray, limit: float) -> sp.csr_matrix:
    needed = instance.demand & ~unreachable
    cover = pairs_within(instance, limit)[needed]
    blocked = np.diff(cover.indptr) == 0
    if blocked.any():
        ids = instance.od.origin_ids[needed][blocked]
        weight = float(instance.weights[needed][blocked].sum())
        msg = (
            f"LSCP is infeasible: {blocked.sum()} demand points (weight {weight:g}, e.g. "
            f"{ids[0]!r}) are within max_minutes={limit:g} only of forbidden sites"
        )
        raise InfeasibleError(msg)
    return cover


def _raise_over_budget(
    instance: Instance, cover: sp.csr_matrix, limit: float, options: MipOptions | None
) -> None:
    """Find the cheapest covering set without the budget and raise with the shortfall."""
    model = MipModel("min")
    free = replace(instance, budget=None)
    add_site_columns(model, free, cost=instance.costs)
    model.add_rows(cover, lower=1.0)
    cheapest = model.solve(options or MipOptions()).objective
    budget = float(instance.budget or 0.0)
    msg = (
        f"LSCP is infeasible: covering all reachable demand within max_minutes={limit:g} "
        f"costs at least {cheapest:g}, budget {budget:g} is short by {cheapest - budget:g}"
    )
    raise InfeasibleError(msg)


def solve_mclp(
    od: ODMatrix,
    *,
    max_minutes: float,
    n_sites: int | None = None,
    backup_weight: float = 0.0,
    capacities: Any = None,
    single_sourcing: bool = False,
    options: MipOptions | None = None,
    **rules: Unpack[SiteRules],
) -> Solution:
    """Open `n_sites` sites (or as many as the budget pays for) reaching the most demand.

    Parameters
    ----------
    od, max_minutes, options, **rules
        As in `solve_lscp`.
    n_sites
        Number of open sites, required ones included. May be None when a budget is given.
    backup_weight
        Value of a second site within T, per unit of weight (backup coverage, Hogan and
        ReVelle 1986); 0 = plain MCLP. Keep it below 1 so first coverage comes first.
    capacities
        Per site, the most weight it may serve: covered demand counts only up to each open
        site's capacity (capacitated MCLP; not with `backup_weight`).
    single_sourcing
        With `capacities`: a demand point counts only when one site serves all of it.

    Returns
    -------
    Solution
        Objective: weight covered (plus `backup_weight` x weight covered twice); with
        capacities, weight served within T. Then `assignment` is the site serving the
        largest share of each point served (the nearest open site for the rest) and
        `site_loads` the weight each serves.

    Raises
    ------
    InputError
        Under single sourcing, a demand point heavier than every site within T (named).

    Notes
    -----
    Church and ReVelle (1974). With :math:`z_i` (demand i covered), :math:`u_i` (covered
    twice) and :math:`N_i = \\{j : t_{ij} \\le T\\}`:

    .. math:: \\max \\sum_i w_i z_i + \\beta \\sum_i w_i u_i \\quad \\text{s.t.} \\quad
              z_i + u_i \\le \\sum_{j \\in N_i} y_j, \\; u_i \\le z_i, \\;
              \\sum_j y_j = p, \\; z, u \\in [0, 1], y \\in \\{0, 1\\}

    (:math:`u` only when :math:`\\beta > 0`; :math:`z, u` are integral at the optimum).

    With capacities :math:`Q_j` (the capacitated MCLP of Pirkul and Schilling 1991, without
    their penalty for demand left unserved), :math:`x_{ij} \\in [0, 1]` for
    :math:`j \\in N_i` is the share of :math:`i` that :math:`j` serves:

    .. math:: \\max \\sum_{ij} w_i x_{ij} \\quad \\text{s.t.} \\quad
              \\sum_j x_{ij} \\le 1, \\; x_{ij} \\le y_j, \\;
              \\sum_i w_i x_{ij} \\le Q_j y_j, \\; \\sum_j y_j = p

    with :math:`x_{ij} \\in \\{0, 1\\}` under single sourcing.
    """
    start = time.perf_counter()
    instance = prepare_instance(od, **rules)
    limit = check_max_minutes(max_minutes)
    count = count_or_budget(instance, n_sites)
    backup = _check_backup_weight(backup_weight)
    caps = check_capacities(instance, capacities, single_sourcing)
    if caps is not None and backup > 0:
        raise InputError("backup_weight cannot be combined with capacities")
    unreachable = unreachable_rows(instance, limit)
    check_some_reachable(instance, unreachable, f"within max_minutes={limit:g}")
    if caps is not None:
        # the plain MCLP first (about 0.3 s on Dalarna): its sites seed the start, its
        # bound bounds the capacitated optimum too
        plain = _build_mclp(instance, limit, count, 0.0).solve(options or MipOptions())
        return solve_capacitated_mclp(
            instance, limit, count, caps, options, (start, unreachable, plain)
        )
    model = _build_mclp(instance, limit, count, backup)
    build_s = time.perf_counter() - start
    result = model.solve(options or MipOptions())
    if result.status == "infeasible":  # pragma: no cover - every check above keeps it feasible
        raise InfeasibleError("MCLP is infeasible under the budget and n_sites")
    logger.info("MCLP p=%s T=%g: %g (%s)", count, limit, result.objective, result.status)
    parameters = {"max_minutes": limit, "n_sites": count, "backup_weight": backup}
    return make_solution(
        instance,
        "mclp",
        result,
        build_s=build_s,
        unreachable=unreachable,
        parameters=parameters,
    )


def _check_backup_weight(backup_weight: float) -> float:
    if not (isinstance(backup_weight, int | float) and backup_weight >= 0):
        msg = f"backup_weight must be a number >= 0, got {backup_weight!r}"
        raise InputError(msg)
    return float(backup_weight)


def _build_mclp(
    instance: Instance, limit: float, n_sites: int | None, backup_weight: float
) -> MipModel:
    cover = pairs_within(instance, limit)
    active = instance.demand & (np.diff(cover.indptr) > 0)
    always = np.zeros_like(active)
    if backup_weight == 0:
        # a row a required site covers is covered whatever else opens: its weight is a
        # constant and HiGHS need not see it (most rows when today's offices stay open)
        always = active & (cover @ instance.required.astype(np.float64) > 0)
    cover, weights = merge_identical_rows(
        cover[active & ~always], instance.weights[active & ~always]
    )
    n_rows, n_columns = cover.shape
    model = MipModel("max", offset=float(instance.weights[always].sum()))
    add_site_columns(model, instance, n_sites=n_sites)
    model.add_columns(weights, upper=1.0)  # z: covered
    identity = sp.identity(n_rows, format="csr")
    if backup_weight == 0:
        model.add_rows(sp.hstack([-cover, identity], format="csr"), upper=0.0)
        return model
    model.add_columns(backup_weight * weights, upper=1.0)  # u: covered twice
    model.add_rows(sp.hstack([-cover, identity, identity], format="csr"), upper=0.0)
    empty = sp.csr_matrix((n_rows, n_columns))
    model.add_rows(sp.hstack([empty, -identity, identity], format="csr"), upper=0.0)
    return model
