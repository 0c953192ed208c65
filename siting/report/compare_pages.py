"""Compare scenarios: people within 15/30/45/60 minutes, mean and 95th percentile, who gains."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from siting._core.errors import InputError
from siting.report.equity_text import PlanEquity
from siting.report.maps import align_travel

THRESHOLDS_MIN = (15, 30, 45, 60)
#: the capped measures count a longer trip, or no office reached, as this many minutes: a
#: plan that reaches more people can then only look better, never worse as the mean over
#: people reached can (those newly reached are the far ones)
CAP_MIN = THRESHOLDS_MIN[-1]
#: minutes are compared at the precision assignments.csv stores, so summary.json and a later
#: `siting compare` of the run folder give the same figures
MINUTES_DECIMALS = 3
#: a change smaller than this (minutes) is neither a gain nor a loss (rounding, snapping)
MIN_CHANGE_MIN = 1.0
TOTAL = "total"
#: the group of demand points whose group column is empty
UNKNOWN_GROUP = "?"


@dataclass(frozen=True)
class OfficePlan:
    """One set of offices and who goes where, ready to map and compare.

    Attributes
    ----------
    name
        Shown on cards, maps and tables ("I dag", "Utan aviserade stängningar").
    travel
        ``demand_id``, ``minutes`` and (for catchments) ``site_id`` per demand point:
        `siting.nearest_office(od)` or `Solution.assignment_table()`.
    opened, closed
        Site ids this scenario opens or closes (marked on its map).
    description
        One sentence for the index page.
    sites
        This scenario's own offices and candidates, where scenarios come from runs with
        different sites (`siting compare`); None: the sites shared by every scenario.
    equity
        Its equity measures and attendance (from the run's summary.json), shown on its card,
        map and the comparison; None: not measured.
    """

    name: str
    travel: pd.DataFrame
    opened: tuple[Any, ...] = ()
    closed: tuple[Any, ...] = ()
    description: str = ""
    sites: gpd.GeoDataFrame | None = None
    equity: PlanEquity | None = None


@dataclass(frozen=True)
class Comparison:
    """Metrics of every scenario and changes against the first (the baseline).

    Attributes
    ----------
    metrics
        One row per scenario and group (and a ``total`` row): population, people and share
        within each threshold, mean and 95th percentile minutes, people not reached.
    changes
        One row per later scenario and group: people who gain or lose at least
        `MIN_CHANGE_MIN` minutes, their mean gain or loss, the largest loss, people no
        longer reached, and the change in person-minutes.
    """

    metrics: pd.DataFrame
    changes: pd.DataFrame


def weighted_percentile(values: npt.ArrayLike, weights: npt.ArrayLike, share: float) -> float:
    """The smallest value at or below which `share` of the weight lies (inf counts as largest).

    Examples
    --------
    >>> weighted_percentile([10, 20, 30], [1, 1, 98], 0.95)
    30.0
    >>> weighted_percentile([10, 20, float("inf")], [90, 6, 4], 0.95)
    20.0
    """
    data = np.asarray(values, dtype=np.float64)
    weight = np.asarray(weights, dtype=np.float64)
    if data.size == 0 or weight.sum() <= 0:
        return float("nan")
    order = np.argsort(data, kind="stable")
    cumulative = np.cumsum(weight[order])
    position = int(np.searchsorted(cumulative, share * cumulative[-1] - 1e-9, side="left"))
    return float(data[order][min(position, data.size - 1)])


def access_metrics(population: npt.ArrayLike, minutes: npt.ArrayLike) -> dict[str, float]:
    """Accessibility of one population: people and share within each threshold, means, p95.

    `minutes` is inf (or NaN) where no office is reached; those people count in `unreached`,
    not in ``mean_minutes`` (over people reached), and push the 95th percentile to inf when
    they are more than 5 %. ``person_minutes_capped`` and ``mean_minutes_capped`` are over
    everyone, a trip over `CAP_MIN` or none at all counted as `CAP_MIN` minutes: the measure
    to compare plans that reach different numbers of people.
    """
    people = np.asarray(population, dtype=np.float64)
    times = _unreached_as_inf(minutes)
    total = float(people.sum())
    reached = np.isfinite(times)
    row: dict[str, float] = {"population": total}
    for limit in THRESHOLDS_MIN:
        within = float(people[times <= limit].sum())
        row[f"within_{limit}_min"] = within
        row[f"share_within_{limit}_min"] = within / total if total > 0 else math.nan
    weight_reached = float(people[reached].sum())
    row["mean_minutes"] = (
        float(people[reached] @ times[reached]) / weight_reached if weight_reached > 0 else math.nan
    )
    capped = float(people @ np.minimum(times, CAP_MIN))
    row["person_minutes_capped"] = capped
    row["mean_minutes_capped"] = capped / total if total > 0 else math.nan
    row["p95_minutes"] = weighted_percentile(times, people, 0.95)
    row["unreached"] = total - weight_reached
    return row


def change_metrics(
    population: npt.ArrayLike, before: npt.ArrayLike, after: npt.ArrayLike
) -> dict[str, float]:
    """Who gains and who loses between two scenarios, and by how many minutes."""
    people = np.asarray(population, dtype=np.float64)
    old, new = _unreached_as_inf(before), _unreached_as_inf(after)
    both = np.isfinite(old) & np.isfinite(new)
    delta = np.zeros_like(old)
    delta[both] = new[both] - old[both]
    gain = both & (delta <= -MIN_CHANGE_MIN)
    loss = both & (delta >= MIN_CHANGE_MIN)
    lost = np.isfinite(old) & ~np.isfinite(new)
    found = ~np.isfinite(old) & np.isfinite(new)

    def mean(mask: npt.NDArray[np.bool_]) -> float:
        weight = people[mask].sum()
        # NaN, not 0, when nobody gains (or loses): "no one" is not "zero minutes"
        return (
            float((people[mask] * np.abs(delta[mask])).sum() / weight) if weight > 0 else math.nan
        )

    return {
        "people_gaining": float(people[gain].sum()),
        "mean_gain_min": mean(gain),
        "people_losing": float(people[loss].sum()),
        "mean_loss_min": mean(loss),
        "max_loss_min": float(delta[loss].max()) if loss.any() else math.nan,
        "people_no_longer_reached": float(people[lost].sum()),
        "people_newly_reached": float(people[found].sum()),
        "person_minutes_change": float((people[both] * delta[both]).sum()),
    }


def compare_scenarios(
    demand: gpd.GeoDataFrame,
    scenarios: Sequence[OfficePlan],
    *,
    group_column: str | None = None,
) -> Comparison:
    """Metrics per scenario (in total and per `group_column`, e.g. municipality) and changes.

    Raises
    ------
    InputError
        No scenario, duplicate names, a group column missing from `demand`, or travel
        tables that do not cover the demand points.
    """
    _check_scenarios(scenarios)
    if group_column is not None and group_column not in demand.columns:
        msg = f"group_column: demand has no column {group_column!r}"
        raise InputError(msg)
    population = demand["population"].to_numpy(dtype=np.float64)
    groups = (
        np.array([UNKNOWN_GROUP if pd.isna(v) else str(v) for v in demand[group_column]])
        if group_column
        else np.full(len(demand), TOTAL, dtype=object)
    )
    minutes = {scenario.name: align_travel(demand, scenario.travel)[0] for scenario in scenarios}
    baseline = scenarios[0].name
    metric_rows, change_rows = [], []
    for group, chosen in _groups(groups):
        for scenario in scenarios:
            times = minutes[scenario.name][chosen]
            metric_rows.append(
                {"scenario": scenario.name, "group": group,
                 **access_metrics(population[chosen], times)}
            )  # fmt: skip
            if scenario.name != baseline:
                change_rows.append(
                    {"scenario": scenario.name, "baseline": baseline, "group": group,
                     **change_metrics(population[chosen], minutes[baseline][chosen], times)}
                )  # fmt: skip
    return Comparison(metrics=pd.DataFrame(metric_rows), changes=pd.DataFrame(change_rows))


def _unreached_as_inf(minutes: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Minutes at the stored precision; inf where no office is reached."""
    times = np.round(np.asarray(minutes, dtype=np.float64), MINUTES_DECIMALS)
    return np.where(np.isnan(times), np.inf, times)


def _groups(groups: npt.NDArray[Any]) -> list[tuple[str, npt.NDArray[np.bool_]]]:
    """The total first, then each group in sorted order."""
    every = [(TOTAL, np.ones(groups.size, dtype=bool))]
    if set(groups) == {TOTAL}:
        return every
    return every + [(str(group), groups == group) for group in sorted(set(groups))]


def _check_scenarios(scenarios: Collection[OfficePlan]) -> None:
    if not scenarios:
        msg = "scenarios: need at least one"
        raise InputError(msg)
    names = [scenario.name for scenario in scenarios]
    if len(set(names)) != len(names):
        msg = f"scenarios: names must differ, got {names}"
        raise InputError(msg)
