"""Closures: who loses when given offices close, and which k offices close with least loss."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from siting._core.errors import InputError
from siting.locate.instance import check_max_minutes, nearest_open, prepare_instance
from siting.locate.solution import Solution
from siting.locate.solve import solve
from siting.travel.odmatrix import ODMatrix

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class ClosureImpact:
    """What closing a set of offices does to the people they served.

    Attributes
    ----------
    closed_sites
        Ids of the offices closed.
    table
        Per demand point: ``demand_id``, ``group``, ``weight``, ``site_before``,
        ``minutes_before``, ``site_after``, ``minutes_after`` (inf: no office reachable),
        ``added_minutes``, ``loses_coverage`` (within `max_minutes` before, not after).
    by_group
        Per group (municipality, say): ``weight``, ``weight_affected`` (their office
        closed), ``weight_losing_coverage``, ``weight_losing_access`` (no office left in
        the matrix), ``added_person_minutes``, ``added_minutes_per_affected``.
    totals
        The same sums over all demand.
    """

    closed_sites: tuple[Any, ...]
    table: pd.DataFrame
    by_group: pd.DataFrame
    totals: dict[str, float]


def closure_impact(
    od: ODMatrix,
    *,
    open_sites: Iterable[Any],
    closed_sites: Iterable[Any],
    weights: Any = None,
    max_minutes: float | None = None,
    groups: Any = None,
) -> ClosureImpact:
    """Compare the nearest open office of every demand point before and after closures.

    Parameters
    ----------
    od
        Travel times, demand points x sites.
    open_sites
        Offices open today.
    closed_sites
        The subset of `open_sites` that closes.
    weights
        Demand weights (population, 65+...).
    max_minutes
        Coverage standard: who is within it before and not after loses coverage.
    groups
        Per demand point, a label to sum by (municipality code); one group if None.

    Returns
    -------
    ClosureImpact
        Per demand point and per group; people without a reachable office after the
        closures are counted in ``weight_losing_access`` and left out of the added minutes.
    """
    instance = prepare_instance(od, weights=weights, required_sites=open_sites)
    closed = prepare_instance(od, required_sites=closed_sites).required
    if (closed & ~instance.required).any():
        site = od.destination_ids[closed & ~instance.required][0]
        msg = f"closed_sites: {site!r} is not among the open sites"
        raise InputError(msg)
    limit = None if max_minutes is None else check_max_minutes(max_minutes)
    before_site, before = nearest_open(od, instance.required)
    after_site, after = nearest_open(od, instance.required & ~closed)
    table = _impact_table(od, instance.weights, groups, (before_site, before, after_site, after))
    table["loses_coverage"] = (
        (table.minutes_before <= limit) & (table.minutes_after > limit)
        if limit is not None
        else False
    )
    by_group = _sum_by_group(table)
    totals = {str(key): float(value) for key, value in by_group.sum(numeric_only=True).items()}
    affected = totals["weight_affected"] - totals["weight_losing_access"]
    totals["added_minutes_per_affected"] = (
        totals["added_person_minutes"] / affected if affected > 0 else 0.0
    )
    closed_ids = tuple(od.destination_ids[closed].tolist())
    logger.info("closing %d sites affects weight %g", len(closed_ids), totals["weight_affected"])
    return ClosureImpact(closed_ids, table, by_group, totals)


def _impact_table(
    od: ODMatrix,
    weights: npt.NDArray[np.float64],
    groups: Any,
    nearest: tuple[Any, Any, Any, Any],
) -> pd.DataFrame:
    before_site, before, after_site, after = nearest
    labels = np.zeros(od.shape[0], dtype=np.int64) if groups is None else np.asarray(groups)
    if labels.shape != (od.shape[0],):
        msg = f"groups: {labels.size} labels for {od.shape[0]} demand points"
        raise InputError(msg)
    ids = od.destination_ids
    table = pd.DataFrame(
        {
            "demand_id": od.origin_ids,
            "group": labels,
            "weight": weights,
            "site_before": np.where(before_site >= 0, ids[before_site], None),
            "minutes_before": before,
            "site_after": np.where(after_site >= 0, ids[after_site], None),
            "minutes_after": after,
        }
    )
    table["affected"] = (before_site != after_site) & (weights > 0)
    table["loses_access"] = np.isfinite(before) & ~np.isfinite(after) & (weights > 0)
    reachable = np.isfinite(after) & np.isfinite(before)
    # subtract only where both are finite: inf - inf would warn (and be NaN)
    table["added_minutes"] = np.subtract(after, before, out=np.zeros(len(after)), where=reachable)
    return table


def _sum_by_group(table: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "group": table.group,
            "weight": table.weight,
            "weight_affected": table.weight * table.affected,
            "weight_losing_coverage": table.weight * table.loses_coverage,
            "weight_losing_access": table.weight * table.loses_access,
            "added_person_minutes": table.weight * table.added_minutes,
        }
    )
    by_group = frame.groupby("group", sort=True).sum()
    affected = by_group.weight_affected - by_group.weight_losing_access
    by_group["added_minutes_per_affected"] = np.where(
        affected > 0, by_group.added_person_minutes / affected.where(affected > 0, 1.0), 0.0
    )
    return by_group


def solve_closures(
    od: ODMatrix,
    *,
    open_sites: Iterable[Any],
    n_close: int,
    weights: Any = None,
    max_minutes: float | None = None,
    keep_sites: Iterable[Any] = (),
    **options: Any,
) -> Solution:
    """Choose `n_close` of the open offices to close with the least loss.

    Parameters
    ----------
    od
        Travel times.
    open_sites
        Offices open today; only these may stay open.
    n_close
        How many close.
    weights
        Demand weights.
    max_minutes
        With it, keep the most weight within `max_minutes` (MCLP); without it, add the
        fewest person-minutes (p-median).
    keep_sites
        Offices that must stay open.
    **options
        Solver options of `siting.solve` (mip_gap, time_limit_s, seed).

    Returns
    -------
    Solution
        The offices that stay open; ``parameters["closed_sites"]`` lists those that close.
    """
    open_list = list(open_sites)
    mask = prepare_instance(od, required_sites=open_list).required
    if isinstance(n_close, bool) or not isinstance(n_close, int) or n_close < 1:
        msg = f"n_close must be a positive integer, got {n_close!r}"
        raise InputError(msg)
    if n_close >= int(mask.sum()):
        msg = f"n_close={n_close} must be below the {int(mask.sum())} open sites"
        raise InputError(msg)
    forbidden = od.destination_ids[~mask].tolist()
    common = {
        "n_sites": int(mask.sum()) - n_close,
        "weights": weights,
        "required_sites": list(keep_sites),
        "forbidden_sites": forbidden,
        **options,
    }
    if max_minutes is None:
        solution = solve(od, problem="p-median", **common)
    else:
        solution = solve(od, problem="mclp", max_minutes=max_minutes, **common)
    closed = [site for site in od.destination_ids[mask].tolist() if site not in solution.site_ids]
    parameters = {**solution.parameters, "closed_sites": closed, "open_sites": open_list}
    return replace(solution, parameters=parameters)
