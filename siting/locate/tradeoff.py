"""Trade-off curves: coverage, mean and worst travel time as the number of offices grows."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from siting._core.errors import InfeasibleError, InputError
from siting.locate.instance import check_max_minutes, prepare_instance
from siting.locate.solution import Solution
from siting.locate.solve import solve
from siting.travel.odmatrix import ODMatrix

logger = logging.getLogger(__name__)


def tradeoff_curve(
    od: ODMatrix,
    *,
    max_n_sites: int,
    max_minutes: float,
    weights: Any = None,
    required_sites: Iterable[Any] = (),
    forbidden_sites: Iterable[Any] = (),
    **options: Any,
) -> pd.DataFrame:
    """Solve MCLP, p-median and p-center for every number of sites up to `max_n_sites`.

    Efficiency (least mean minutes, p-median) and equity (least worst minutes, p-center)
    pull apart; each row shows both optima and what each optimum does to the other
    measures, so a planner sees the price of one in the other.

    Parameters
    ----------
    od
        Travel times.
    max_n_sites
        Largest number of open sites P; rows run from the number of required sites (at
        least 1) to P.
    max_minutes
        Coverage standard T.
    weights, required_sites, forbidden_sites
        As in `siting.solve`.
    **options
        Solver options of `siting.solve` (mip_gap, time_limit_s, seed).

    Returns
    -------
    pandas.DataFrame
        One row per ``n_sites``: ``covered_share`` (best share of all weight within T),
        ``mean_minutes`` (best weighted mean), ``worst_minutes`` (best worst case), and
        ``median_covered_share`` / ``median_worst_minutes`` (of the p-median answer),
        ``center_mean_minutes`` (of the p-center answer), the three site lists and
        ``status`` (``"optimal"`` when all three answers are proven, else the first other
        status). NaN where the matrix cut-off leaves some demand without a site for that
        many sites.
    """
    limit = check_max_minutes(max_minutes)
    required = list(required_sites)
    instance = prepare_instance(
        od, weights=weights, required_sites=required, forbidden_sites=forbidden_sites
    )
    first = max(1, int(instance.required.sum()))
    if isinstance(max_n_sites, bool) or not isinstance(max_n_sites, int) or max_n_sites < first:
        msg = f"max_n_sites must be an integer >= {first}, got {max_n_sites!r}"
        raise InputError(msg)
    allowed = int((~instance.forbidden).sum())
    if max_n_sites > allowed:  # checked before the first solve, not when the curve gets there
        msg = f"max_n_sites = {max_n_sites}: only {allowed} sites may open"
        raise InputError(msg)
    rules = {
        "weights": instance.weights,
        "required_sites": required,
        "forbidden_sites": list(forbidden_sites),
        **options,
    }
    rows = [_row(od, count, limit, rules) for count in range(first, max_n_sites + 1)]
    return pd.DataFrame(rows).set_index("n_sites")


def _row(od: ODMatrix, count: int, limit: float, rules: dict[str, Any]) -> dict[str, Any]:
    weights = rules["weights"]
    coverage = solve(od, problem="mclp", n_sites=count, max_minutes=limit, **rules)
    row: dict[str, Any] = {
        "n_sites": count,
        "covered_share": coverage.objective / weights.sum(),
        "mclp_sites": coverage.site_ids.tolist(),
    }
    median = _solve_or_none(od, "p-median", count, rules)
    center = _solve_or_none(od, "p-center", count, rules)
    row.update(
        {
            "mean_minutes": _mean(median, weights),
            "median_covered_share": _covered(median, weights, limit),
            "median_worst_minutes": _worst(median, weights),
            "median_sites": median.site_ids.tolist() if median else None,
            "worst_minutes": center.objective if center else math.nan,
            "center_mean_minutes": _mean(center, weights),
            "center_sites": center.site_ids.tolist() if center else None,
        }
    )
    # one word for the row: "optimal" only when all three answers are proven
    statuses = [answer.status for answer in (coverage, median, center) if answer is not None]
    row["status"] = next((status for status in statuses if status != "optimal"), "optimal")
    logger.info("trade-off p=%d: %s", count, row)
    return row


def _solve_or_none(
    od: ODMatrix, problem: str, count: int, rules: dict[str, Any]
) -> Solution | None:
    try:
        return solve(od, problem=problem, n_sites=count, **rules)
    except InfeasibleError:
        return None


def _served(solution: Solution, weights: np.ndarray) -> np.ndarray:
    return np.isfinite(solution.assigned_minutes) & (weights > 0)


def _mean(solution: Solution | None, weights: np.ndarray) -> float:
    if solution is None:
        return math.nan
    served = _served(solution, weights)
    return float(weights[served] @ solution.assigned_minutes[served] / weights[served].sum())


def _worst(solution: Solution | None, weights: np.ndarray) -> float:
    if solution is None:
        return math.nan
    return float(solution.assigned_minutes[_served(solution, weights)].max())


def _covered(solution: Solution | None, weights: np.ndarray, limit: float) -> float:
    if solution is None:
        return math.nan
    return float(weights @ (solution.assigned_minutes <= limit) / weights.sum())
