"""Attendance and equity of one plan's travel times, in all and per group, for summary.json."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from siting.locate.decay import Decay, attendance
from siting.locate.equity import equity_by_group, equity_measures, equity_summary


def plan_measures(
    minutes: npt.NDArray[np.float64],
    people: npt.NDArray[np.float64],
    groups: npt.NDArray[Any],
    *,
    decay: Decay,
    cut_off_minutes: float,
    names: Mapping[str, str],
) -> dict[str, Any]:
    """``attendance`` and ``equity`` of a plan, each with a ``by_group`` list.

    Parameters
    ----------
    minutes
        Per demand point, the travel time to its office (inf: none within the cut-off).
    people
        Per demand point, the people counted.
    groups
        Per demand point, its group (municipality code by default).
    decay
        How attendance falls with travel time.
    cut_off_minutes
        The matrix cut-off: equity counts an unreached point at this time, the least its
        trip can be, so that a plan cannot look fairer by leaving people out.
    names
        Group names (municipality names) by group code.

    Returns
    -------
    dict
        ``attendance``: ``people`` expected to come (decay-weighted demand) and their
        ``share`` of everyone, in all and per group; ``equity``: the `EquityMeasures` in
        all (``total``) and per group.
    """
    _, coming = attendance(minutes, people, decay)
    labels = pd.Series(np.asarray(groups).astype(str))
    frame = pd.DataFrame({"group": labels, "people": people, "coming": coming})
    sums = frame.groupby("group", sort=True)[["people", "coming"]].sum()
    by_group = [
        {"group": str(group), "name": names.get(str(group), str(group)),
         **_attending(float(row["coming"]), float(row["people"]))}
        for group, row in sums.iterrows()
    ]  # fmt: skip
    total = _attending(float(coming.sum()), float(people.sum()))
    cap = {"unreached_minutes": cut_off_minutes}
    equity = equity_summary(
        equity_measures(minutes, people, **cap),
        equity_by_group(minutes, people, labels.to_numpy(), **cap),
        names,
    )
    return {"attendance": {**total, "by_group": by_group}, "equity": equity}


def _attending(coming: float, people: float) -> dict[str, float]:
    return {"people": coming, "share": coming / people if people > 0 else float("nan")}
