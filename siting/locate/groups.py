"""Check the groups an equity model is fair between, and the share target it must meet."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from siting._core import validators as check
from siting._core.errors import InputError

if TYPE_CHECKING:  # the instance module loads HiGHS; scenario parameters read this one
    from siting.locate.instance import Instance

FloatArray = npt.NDArray[np.float64]
#: points of an equity frontier when no shares are given: the two ends and three between
DEFAULT_FRONTIER_POINTS = 5


@dataclass(frozen=True)
class GroupShare:
    """At least `share` of every group's people within `minutes` of an open office.

    Parameters
    ----------
    minutes
        The travel time T that counts as near (a finite number > 0).
    share
        The least share X of each group within T, from 0 to 1 (0.8 is 80 %).

    Raises
    ------
    InputError
        `minutes` not > 0, or `share` outside 0-1 (a target above 100 %), naming the value.

    Examples
    --------
    >>> GroupShare(minutes=30, share=0.8)
    GroupShare(minutes=30.0, share=0.8)
    """

    minutes: float
    share: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "minutes", check.positive(self.minutes, "min_group_share.minutes"))
        object.__setattr__(self, "share", check_share(self.share, "min_group_share.share"))

    @classmethod
    def from_value(cls, value: Any, where: str = "min_group_share") -> GroupShare:
        """A `GroupShare` as given: itself, or a mapping ``{minutes = 30, share = 0.8}``."""
        if isinstance(value, GroupShare):
            return value
        if not isinstance(value, Mapping):
            raise check.fail(where, "a table {minutes = 30, share = 0.8}", value)
        for key in value:
            if key not in ("minutes", "share"):
                hint = check.did_you_mean(str(key), ("minutes", "share"))
                raise InputError(f"{where}: unknown key {key!r}{hint or '; known: minutes, share'}")
        for key in ("minutes", "share"):
            if key not in value:
                raise InputError(f"{where}.{key} is required")
        try:
            return cls(minutes=value["minutes"], share=value["share"])
        except InputError as error:
            raise InputError(str(error).replace("min_group_share", where, 1)) from None

    def summary(self) -> dict[str, float]:
        """Plain values for ``summary.json``."""
        return {"minutes": self.minutes, "share": self.share}


def check_share(value: Any, where: str) -> float:
    """A target share from 0 to 1; a share above 100 % is refused naming `where`."""
    if not (check.is_number(value) and 0 <= value <= 1):
        raise check.fail(where, "a share from 0 to 1 (0.8 is 80%)", value)
    return float(value)


@dataclass(frozen=True)
class Groups:
    """The groups over the demand rows: each group's weight per row.

    Attributes
    ----------
    names
        One name per group.
    weights
        Groups x demand rows: the people of each group at each point (sparse).
    """

    names: tuple[str, ...]
    weights: sp.csr_matrix

    @property
    def totals(self) -> FloatArray:
        """Each group's weight over every row."""
        return np.asarray(self.weights.sum(axis=1), dtype=np.float64).ravel()

    def shares(self, near: npt.NDArray[np.bool_]) -> FloatArray:
        """Each group's share of its weight at the rows marked `near`."""
        within = np.asarray(self.weights @ near.astype(np.float64), dtype=np.float64).ravel()
        return within / self.totals

    def means(self, minutes: FloatArray, rows: npt.NDArray[np.bool_]) -> FloatArray:
        """Each group's weighted mean of `minutes` over `rows` (NaN for a group with none)."""
        counted = self.weights[:, np.flatnonzero(rows)]
        people = np.asarray(counted.sum(axis=1), dtype=np.float64).ravel()
        total = np.asarray(counted @ minutes[rows], dtype=np.float64).ravel()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(people > 0, total / people, math.nan)


def make_groups(instance: Instance, groups: Any) -> Groups:
    """Groups from a label per demand row (a partition of the demand weights) or a table of
    weights, one column per group (people 65+, people without internet).

    Raises
    ------
    InputError
        No groups, the wrong length, a missing label, a weight column that is not numeric,
        negative or not finite (naming the column, row and value), or a group with no weight.
    """
    n_rows = instance.od.shape[0]
    if groups is None:
        raise InputError("groups is required: a group label per demand point, or weight columns")
    if isinstance(groups, pd.DataFrame):
        found = _weight_columns(groups, n_rows)
    else:
        found = _partition(np.asarray(groups, dtype=object).ravel(), instance.weights)
    if not found.names:
        raise InputError("groups: there are no groups")
    empty = found.totals <= 0
    if empty.any():
        msg = f"groups: group {found.names[int(np.argmax(empty))]!r} has no weight at all"
        raise InputError(msg)
    return found


def _partition(labels: npt.NDArray[Any], weights: FloatArray) -> Groups:
    if labels.size != weights.size:
        msg = f"groups: {labels.size} labels for {weights.size} demand points"
        raise InputError(msg)
    missing = pd.isna(labels)
    if missing.any():
        msg = f"groups: demand point at row {int(np.argmax(missing))} has no group"
        raise InputError(msg)
    text = labels.astype(str)
    names, codes = np.unique(text, return_inverse=True)
    keep = weights > 0  # a group of nobody has no mean and no share: left out
    used = np.unique(codes[keep])
    renumber = np.full(names.size, -1)
    renumber[used] = np.arange(used.size)
    rows = np.flatnonzero(keep)
    matrix = sp.csr_matrix(
        (weights[rows], (renumber[codes[rows]], rows)), shape=(used.size, weights.size)
    )
    return Groups(tuple(str(name) for name in names[used]), matrix)


def _weight_columns(table: pd.DataFrame, n_rows: int) -> Groups:
    if len(table) != n_rows:
        msg = f"groups: {len(table)} rows of group weights for {n_rows} demand points"
        raise InputError(msg)
    columns = []
    for name in table.columns:
        values = pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            row = int(np.argmax(bad))
            value = table[name].iloc[row]
            shown = value.item() if isinstance(value, np.generic) else value
            msg = (
                f"groups: column {name!r} must hold finite weights >= 0, got {shown!r} (row {row})"
            )
            raise InputError(msg)
        columns.append(values)
    matrix = sp.csr_matrix(np.vstack(columns)) if columns else sp.csr_matrix((0, n_rows))
    return Groups(tuple(str(name) for name in table.columns), matrix)
