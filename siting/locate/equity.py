"""Measure how fairly a plan spreads travel time: Gini, Palma, Theil and the worst-off decile."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from siting._core import validators as check
from siting._core.errors import InputError

FloatArray = npt.NDArray[np.float64]

#: the shares of people Palma's ratio compares: the longest 10 % against the shortest 40 %
PALMA_TOP, PALMA_BOTTOM = 0.1, 0.4
#: the worst-off share whose mean travel time is reported
WORST_SHARE = 0.1


@dataclass(frozen=True)
class EquityMeasures:
    """How unequal one population's travel times are.

    Attributes
    ----------
    people
        Weight measured (people reached, plus the unreached when they count at a time).
    unreached
        Weight with no office reached.
    mean_minutes
        Weighted mean travel time.
    gini
        Population-weighted Gini coefficient of travel time: 0 when everyone travels as
        long, towards 1 when a few carry all the travel.
    palma
        The share of all person-minutes travelled by the 10 % of people with the longest
        trips over the share travelled by the 40 % with the shortest (inf when those 40 %
        travel 0 minutes).
    theil
        Theil's T index of travel time (0 when equal, at most ln of the number of people).
    worst_decile_minutes
        Mean travel time of the 10 % of people with the longest trips.

    Every measure but `people` and `unreached` is NaN when nobody is measured or nobody
    travels at all (a mean of 0 leaves the ratios undefined).
    """

    people: float
    unreached: float
    mean_minutes: float
    gini: float
    palma: float
    theil: float
    worst_decile_minutes: float

    def summary(self) -> dict[str, float]:
        """Plain values for ``summary.json``."""
        return asdict(self)


def equity_measures(
    minutes: npt.ArrayLike,
    weights: npt.ArrayLike,
    *,
    unreached_minutes: float | None = None,
) -> EquityMeasures:
    """Inequality of travel time over people, each point counted by its weight.

    Parameters
    ----------
    minutes
        Each point's travel time to its office; inf or NaN where none is reached.
    weights
        People (or any weight >= 0) per point.
    unreached_minutes
        The time an unreached point counts as (the matrix cut-off: the least its trip can
        be); None leaves unreached points out of the measures (they are still counted in
        ``unreached``).

    Returns
    -------
    EquityMeasures

    Raises
    ------
    InputError
        Weights and times of different lengths, a weight that is negative or not finite,
        a negative travel time or a bad `unreached_minutes`.

    Notes
    -----
    With weights :math:`w_i`, times :math:`x_i`, :math:`W = \\sum w_i` and
    :math:`\\mu = \\sum w_i x_i / W`:

    - Gini: :math:`G = \\sum_i \\sum_j w_i w_j |x_i - x_j| / (2 W^2 \\mu)`, computed after
      sorting as :math:`\\sum_k w_k x_k (W_{<k} - W_{>k}) / (W^2 \\mu)`.
    - Theil: :math:`T = \\sum_i (w_i / W) (x_i / \\mu) \\ln(x_i / \\mu)`, with
      :math:`0 \\ln 0 = 0`.
    - Palma and the worst decile read the Lorenz curve of person-minutes over people
      sorted by time; a point whose weight straddles the 10 % or 40 % boundary is split
      there, as if its people were separate.

    With unit weights these are the textbook measures over individuals (PySAL
    inequality's ``Gini`` and ``Theil`` give the same numbers, `tests/test_equity.py`).

    Examples
    --------
    >>> measures = equity_measures([10.0, 10.0, 40.0], [1, 1, 2])
    >>> measures.mean_minutes, measures.gini, measures.worst_decile_minutes
    (25.0, 0.3, 40.0)
    """
    times, people = _checked(minutes, weights)
    unreached = ~np.isfinite(times)
    lost = float(people[unreached].sum())
    if unreached_minutes is not None:
        cap = check.non_negative(unreached_minutes, "unreached_minutes")
        times = np.where(unreached, cap, times)
    else:
        times, people = times[~unreached], people[~unreached]
    keep = people > 0  # a point nobody lives in changes no measure
    order = np.argsort(times[keep], kind="stable")
    return _measures(times[keep][order], people[keep][order], lost)


def equity_by_group(
    minutes: npt.ArrayLike,
    weights: npt.ArrayLike,
    groups: npt.ArrayLike,
    *,
    unreached_minutes: float | None = None,
) -> dict[str, EquityMeasures]:
    """`equity_measures` of each group's points (a municipality, a district), by group name.

    Examples
    --------
    >>> by_group = equity_by_group([5.0, 5.0, 10.0, 30.0], [1, 1, 1, 1], ["a", "a", "b", "b"])
    >>> by_group["a"].gini, by_group["b"].gini
    (0.0, 0.25)
    """
    times, people = _checked(minutes, weights)
    labels = np.asarray(groups).astype(str)
    if labels.shape != times.shape:
        msg = f"groups: {labels.size} values for {times.size} travel times"
        raise InputError(msg)
    return {
        str(group): equity_measures(
            times[labels == group], people[labels == group], unreached_minutes=unreached_minutes
        )
        for group in np.unique(labels)
    }


def _checked(minutes: npt.ArrayLike, weights: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    times = np.asarray(minutes, dtype=np.float64).ravel()
    people = np.asarray(weights, dtype=np.float64).ravel()
    if people.shape != times.shape:
        msg = f"weights: {people.size} values for {times.size} travel times"
        raise InputError(msg)
    bad = ~np.isfinite(people) | (people < 0)
    if bad.any():
        row = int(np.argmax(bad))
        msg = f"weights must be finite and >= 0, got {float(people[row])!r} at row {row}"
        raise InputError(msg)
    if (times < 0).any():
        msg = f"minutes must be >= 0, got {float(times[times < 0][0])!r}"
        raise InputError(msg)
    return times, people


def _measures(times: FloatArray, people: FloatArray, lost: float) -> EquityMeasures:
    """The measures over times sorted ascending with their positive weights."""
    total = float(people.sum())
    effort = people * times
    person_minutes = float(effort.sum())
    if total <= 0 or person_minutes <= 0:
        mean = person_minutes / total if total > 0 else math.nan
        return EquityMeasures(total, lost, mean, math.nan, math.nan, math.nan, math.nan)
    mean = person_minutes / total
    before = np.cumsum(people) - people  # weight of the points sorted before each
    after = total - before - people
    gini = float(effort @ (before - after)) / (total * person_minutes)
    ratio = times / mean
    logs = np.log(ratio, out=np.zeros_like(ratio), where=ratio > 0)
    theil = float(people @ (ratio * logs)) / total
    top = person_minutes - _lorenz(times, people, 1 - PALMA_TOP)
    bottom = _lorenz(times, people, PALMA_BOTTOM)
    palma = top / bottom if bottom > 0 else math.inf
    worst = (person_minutes - _lorenz(times, people, 1 - WORST_SHARE)) / (WORST_SHARE * total)
    return EquityMeasures(total, lost, mean, gini, palma, theil, worst)


def _lorenz(times: FloatArray, people: FloatArray, share: float) -> float:
    """Person-minutes travelled by the `share` of people with the shortest trips.

    Within one point everyone travels as long, so person-minutes grow linearly with people
    between the cumulative weights: interpolation there is exact.
    """
    weight = np.concatenate(([0.0], np.cumsum(people)))
    effort = np.concatenate(([0.0], np.cumsum(people * times)))
    return float(np.interp(share * weight[-1], weight, effort))


def equity_summary(
    total: EquityMeasures, by_group: Mapping[str, EquityMeasures], names: Mapping[str, str]
) -> dict[str, Any]:
    """``{"total": {...}, "by_group": [{"group", "name", ...}, ...]}`` for ``summary.json``."""
    return {
        "total": total.summary(),
        "by_group": [
            {"group": group, "name": names.get(group, group), **measures.summary()}
            for group, measures in by_group.items()
        ],
    }
