"""The efficiency-equity frontier: least total travel time for each share the worst group gets."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from siting._core.errors import InfeasibleError, InputError
from siting.locate.group_equity import (
    SHARE_TOLERANCE,
    solve_max_worst_share,
    solve_share_median,
)
from siting.locate.groups import DEFAULT_FRONTIER_POINTS, GroupShare, check_share
from siting.locate.instance import check_max_minutes, row_weights
from siting.locate.mip import MipOptions
from siting.locate.solution import Solution
from siting.travel.odmatrix import ODMatrix

logger = logging.getLogger(__name__)


def equity_frontier(
    od: ODMatrix,
    *,
    n_sites: int,
    groups: Any,
    max_minutes: float,
    shares: Sequence[float] | None = None,
    n_points: int = DEFAULT_FRONTIER_POINTS,
    weights: Any = None,
    required_sites: Iterable[Any] = (),
    forbidden_sites: Iterable[Any] = (),
    mip_gap: float = 0.0,
    time_limit_s: float | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Least weighted travel time (the p-median) for each least share of the worst group.

    Efficiency (total travel) and equity (the worst-off group's share within T) pull
    apart; each row is the cheapest plan in travel that gives every group at least the
    target share, so a planner sees what each step of fairness costs.

    Parameters
    ----------
    od
        Travel times.
    n_sites
        Open sites in every plan, required ones included.
    groups
        A group label per demand point, or a DataFrame of weights per group (as in
        `siting.locate.group_equity.solve_minmax_group`).
    max_minutes
        T: the time within which a group's share counts.
    shares
        Target shares (0-1) to solve for; default `n_points` evenly spaced from the worst
        share of the plain p-median to the largest worst share `n_sites` sites can give.
    n_points
        Points of the default curve (at least 2).
    weights, required_sites, forbidden_sites
        As in `siting.solve`.
    mip_gap, time_limit_s, seed
        Solver options of every solve (as in `siting.solve`).

    Returns
    -------
    pandas.DataFrame
        One row per target, indexed by ``target_share``: ``worst_share`` and
        ``worst_group`` of the plan, ``total_minutes`` (weight x minutes, the objective),
        ``mean_minutes``, ``bound``, ``gap``, ``status``, ``sites`` and ``solve_s`` (seconds of
        its solve; 0 for a point answered by a lower one's plan). A target no plan meets
        has status ``"infeasible"`` and NaN figures. ``attrs["max_worst_share"]``
        is the largest worst share any plan of `n_sites` sites gives (the curve's end).

    Raises
    ------
    InputError
        A share outside 0-1, `n_points` below 2, or the checks of the solvers.

    Notes
    -----
    The epsilon-constraint method (Haimes, Lasdon and Wismer 1971): with :math:`s(y)` the
    least share within T over the groups, each row solves

    .. math:: \\min \\sum_{ij} w_i t_{ij} x_{ij} \\quad \\text{s.t.} \\quad s(y) \\ge
              \\varepsilon

    exactly (`siting.locate.group_equity.solve_share_median`), and the end of the curve,
    :math:`\\max_y s(y)`, by `siting.locate.group_equity.solve_max_worst_share`. Each row is
    optimal for its target; a row whose plan exceeds its target also answers every target
    up to the share it reaches, so such targets reuse it instead of solving again.

    Examples
    --------
    >>> od = ODMatrix.from_dense(np.array([[0.0, 40.0], [40.0, 0.0], [40.0, 0.0]]))
    >>> curve = equity_frontier(od, n_sites=1, groups=["a", "b", "b"], max_minutes=30,
    ...                         shares=[0.0, 0.5])
    >>> curve[["worst_share", "total_minutes", "status"]].to_dict("list")
    {'worst_share': [0.0, nan], 'total_minutes': [40.0, nan], 'status': ['optimal', 'infeasible']}
    """
    limit = check_max_minutes(max_minutes)
    targets = _targets(shares, n_points)
    options = MipOptions(mip_gap=mip_gap, time_limit_s=time_limit_s, seed=seed)
    rules = {
        "groups": groups,
        "n_sites": n_sites,
        "weights": weights,
        "required_sites": list(required_sites),
        "forbidden_sites": list(forbidden_sites),
        "options": options,
    }
    end = solve_max_worst_share(od, max_minutes=limit, **rules)
    solved: list[dict[str, Any]] = []
    if targets is None:
        started = time.perf_counter()
        plain = solve_share_median(od, min_group_share=GroupShare(limit, 0.0), **rules)
        if plain.status == "optimal":
            solved.append(_record(od, 0.0, plain, rules, time.perf_counter() - started))
        ends = (_worst(plain), end.objective)
        targets = sorted(set(np.linspace(*ends, n_points).tolist()))
    rows = []
    for target in targets:
        rows.append(_reused(solved, target) or _row(od, target, limit, rules))
        if rows[-1]["status"] == "optimal":
            solved.append(rows[-1])
    curve = pd.DataFrame(rows).set_index("target_share")
    curve.attrs["max_worst_share"] = end.objective
    curve.attrs["max_worst_share_status"] = end.status
    return curve


def _targets(shares: Sequence[float] | None, n_points: int) -> list[float] | None:
    if shares is None:
        if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points < 2:
            msg = f"n_points must be an integer >= 2, got {n_points!r}"
            raise InputError(msg)
        return None
    targets = [check_share(share, f"shares[{i}]") for i, share in enumerate(shares)]
    if not targets:
        raise InputError("shares: give at least one target share, or leave shares out")
    return sorted(set(targets))


def _reused(solved: list[dict[str, Any]], target: float) -> dict[str, Any] | None:
    """The optimum of a lower target whose plan already gives every group `target`: the
    rule at `target` only removes plans, and keeps that one, so it stays optimal (exact;
    Dalarna's default curve solves two of its five points instead of five)."""
    for row in solved:
        if row["target_share"] <= target <= row["worst_share"] + SHARE_TOLERANCE:
            logger.info("frontier share %.4f: the plan of share %.4f", target, row["target_share"])
            return {**row, "target_share": target, "solve_s": 0.0}
    return None


def _row(od: ODMatrix, target: float, limit: float, rules: dict[str, Any]) -> dict[str, Any]:
    rule = GroupShare(limit, target)
    started = time.perf_counter()
    try:
        plan = solve_share_median(od, min_group_share=rule, **rules)
    except InfeasibleError as error:
        logger.info("frontier share %.4f: infeasible (%s)", target, error)
        return {"target_share": target, "worst_share": math.nan, "worst_group": None,
                "total_minutes": math.nan, "mean_minutes": math.nan, "bound": math.nan,
                "gap": math.nan, "status": "infeasible", "sites": None,
                "solve_s": time.perf_counter() - started}  # fmt: skip
    row = _record(od, target, plan, rules, time.perf_counter() - started)
    logger.info("frontier share %.4f: %s", target, row)
    return row


def _record(
    od: ODMatrix, target: float, plan: Solution, rules: dict[str, Any], seconds: float
) -> dict[str, Any]:
    served = np.isfinite(plan.assigned_minutes)
    weights = row_weights(od, rules["weights"])
    people = float(weights[served].sum())
    return {
        "target_share": target,
        "worst_share": _worst(plan),
        "worst_group": plan.parameters["worst_group"],
        "total_minutes": plan.objective,
        "mean_minutes": plan.objective / people if people > 0 else math.nan,
        "bound": plan.bound,
        "gap": plan.gap,
        "status": plan.status,
        "sites": plan.site_ids.tolist(),
        "solve_s": seconds,
    }


def _worst(plan: Solution) -> float:
    return float(min(plan.parameters["group_shares"].values()))
