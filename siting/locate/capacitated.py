"""Capacities shared by the p-median, p-center and MCLP: checks, assignment rows, loads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from siting._core.errors import InputError
from siting.locate.instance import FloatArray, Instance, IntArray
from siting.locate.mip import MipModel, MipResult


@dataclass(frozen=True)
class Capacities:
    """Per site, the most demand weight it may serve, and whether demand may split.

    Attributes
    ----------
    values
        Per column of the OD matrix, the capacity (finite, >= 0).
    single_sourcing
        Each demand point is served whole by one site (else it may split between sites).
    """

    values: FloatArray
    single_sourcing: bool


def highs_settings(capacities: Capacities | None) -> dict[str, bool | float | str]:
    """HiGHS options for an assignment model: presolve off under single sourcing, where on
    Dalarna's 4,004 x 73 it ran 128 s, past a 30 s limit it does not check, and reduced
    nothing."""
    if capacities is not None and capacities.single_sourcing:
        return {"presolve": "off"}
    return {}


def check_capacities(
    instance: Instance, capacities: Any, single_sourcing: Any
) -> Capacities | None:
    """`capacities` as one value per site and `single_sourcing` checked; None without them.

    Raises
    ------
    InputError
        Capacities of the wrong length, negative or not finite; `single_sourcing` not a
        boolean, or true without capacities.
    """
    if not isinstance(single_sourcing, bool | np.bool_):
        msg = f"single_sourcing must be true or false, got {single_sourcing!r}"
        raise InputError(msg)
    if capacities is None:
        if single_sourcing:
            raise InputError("single_sourcing needs capacities: none were given")
        return None
    values = np.asarray(capacities, dtype=np.float64).ravel()
    if values.size != instance.od.shape[1]:
        msg = f"capacities: {values.size} values for {instance.od.shape[1]} sites"
        raise InputError(msg)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        site = instance.od.destination_ids[np.argmax(bad)]
        msg = f"capacities must be finite and >= 0, got {values[bad][0]!r} for site {site!r}"
        raise InputError(msg)
    return Capacities(values, bool(single_sourcing))


def check_whole_demand_fits(
    instance: Instance, capacities: Capacities, rows: IntArray, columns: IntArray, reach: str
) -> None:
    """Under single sourcing, refuse a demand point heavier than every site it reaches.

    `rows` and `columns` are the usable demand-site pairs (demand rows of `instance`, allowed
    sites); `reach` says within what they were taken (``"in the OD matrix"``). Such a point
    can never be served whole, whatever sites open: bad input, not a hard instance.
    """
    if not capacities.single_sourcing:
        return
    largest = np.full(instance.od.shape[0], -np.inf)
    np.maximum.at(largest, rows, capacities.values[columns])
    heavy = np.zeros(largest.size, dtype=np.bool_)
    heavy[rows] = instance.weights[rows] > largest[rows]
    if heavy.any():
        row = int(np.argmax(heavy))
        point = instance.od.origin_ids[row]
        point = point.item() if isinstance(point, np.generic) else point
        msg = (
            f"single sourcing: demand point {point!r} "
            f"(weight {instance.weights[row]:g}) exceeds the largest capacity it reaches "
            f"{reach} ({largest[row]:g}) and can never be served"
            + (f"; {int(heavy.sum()) - 1} more points too" if heavy.sum() > 1 else "")
        )
        raise InputError(msg)


def add_assignment(
    model: MipModel,
    instance: Instance,
    pairs: tuple[IntArray, IntArray],
    capacities: Capacities | None,
    *,
    cost: FloatArray,
    whole: bool,
    weights: FloatArray | None = None,
) -> int:
    """Add x per pair (its share of the row's demand served by the site) and its rows.

    The site columns y must be the model's first ones. Each row is assigned once
    (``whole``) or at most once; x only to open sites; with `capacities`, the weight assigned
    to a site at most its capacity, and x binary under single sourcing. `pairs` are (rows,
    columns) sorted by row; `weights` the demand weight of each pair's row (default the
    instance's). Returns the index of the first x column.
    """
    rows, columns = pairs
    pair_weights = instance.weights[rows] if weights is None else weights
    n_pairs, n_sites = rows.size, instance.od.shape[1]
    integer = capacities is not None and capacities.single_sourcing
    first = model.add_columns(cost, upper=1.0, integer=integer)
    x_columns = first + np.arange(n_pairs)
    distinct, local = np.unique(rows, return_inverse=True)
    once = sp.csr_matrix(
        (np.ones(n_pairs), (local, x_columns)), shape=(distinct.size, model.n_cols)
    )
    model.add_rows(once, lower=1.0 if whole else 0.0, upper=1.0)
    link = sp.csr_matrix(
        (np.tile([1.0, -1.0], n_pairs), np.column_stack([x_columns, columns]).ravel(),
         np.arange(0, 2 * n_pairs + 1, 2)),
        shape=(n_pairs, model.n_cols),
    )  # fmt: skip
    model.add_rows(link, upper=0.0)  # x_ij <= y_j: a far tighter LP than the capacity row alone
    if capacities is not None:
        load = sp.csr_matrix(
            (np.concatenate([pair_weights, -capacities.values]),
             (np.concatenate([columns, np.arange(n_sites)]),
              np.concatenate([x_columns, np.arange(n_sites)]))),
            shape=(n_sites, model.n_cols),
        )  # fmt: skip
        model.add_rows(load, upper=0.0)  # sum_i w_i x_ij <= Q_j y_j
    return first


def shares(result: MipResult, first: int, n_pairs: int) -> FloatArray:
    """The x values of `add_assignment` in a solved model (zeros for rounding noise)."""
    values = result.values[first : first + n_pairs]
    cleaned: FloatArray = np.where(values > 1e-9, values, 0.0)
    return cleaned


def largest_shares(
    n_rows: int, rows: IntArray, columns: IntArray, minutes: FloatArray, share: FloatArray
) -> tuple[IntArray, FloatArray]:
    """Per demand row, the site serving the largest share of it and its minutes (-1 and inf
    for rows no pair serves): the capacitated models' assignment, demand may split."""
    served = share > 0
    rows, columns, minutes, share = rows[served], columns[served], minutes[served], share[served]
    order = np.lexsort((columns, -share, rows))
    sorted_rows = rows[order]
    first = order[np.r_[True, sorted_rows[1:] != sorted_rows[:-1]]] if order.size else order
    assignment = np.full(n_rows, -1, dtype=np.int64)
    assigned_minutes = np.full(n_rows, np.inf)
    assignment[rows[first]] = columns[first]
    assigned_minutes[rows[first]] = minutes[first]
    return assignment, assigned_minutes


def site_loads(
    instance: Instance, rows: IntArray, columns: IntArray, share: FloatArray
) -> FloatArray:
    """Per column of the OD matrix, the demand weight assigned to it."""
    weight = instance.weights[rows] * share
    loads = np.bincount(columns, weights=weight, minlength=instance.od.shape[1])
    return loads.astype(np.float64)


def greedy_start(
    pairs: tuple[IntArray, IntArray, FloatArray],
    weights: FloatArray,
    capacities: Capacities,
    open_sites: npt.NDArray[np.bool_],
    *,
    whole: bool,
) -> FloatArray | None:
    """Column values (sites, then x) of `add_assignment`'s model for a plan opening
    `open_sites`, to hand HiGHS as a start: rows, heaviest first, to their nearest open
    sites with room (split: filling each, then the next). None when `whole` and a row finds
    no room; an MCLP row may stay unserved.

    `pairs` are (rows, columns, minutes) sorted by row, `weights` each pair's row weight.
    HiGHS alone often held no plan, or a poor one, at the time limit on Dalarna's 4,004 x 73
    (its root LP takes most of a minute on a loaded machine); this one costs milliseconds.
    """
    rows, columns, minutes = pairs
    left = np.where(open_sites, capacities.values, 0.0)
    share = np.zeros(rows.size)
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if rows.size else rows
    ends = np.r_[starts[1:], rows.size]
    for first, end in sorted(zip(starts, ends, strict=True), key=lambda s: -weights[s[0]]):
        need = _place(first, end, (columns, minutes, weights[first]), left, share, capacities)
        if whole and need > 1e-9:
            return None
    return np.concatenate([open_sites.astype(np.float64), share])


def _place(
    first: int,
    end: int,
    row: tuple[IntArray, FloatArray, float],
    left: FloatArray,
    share: FloatArray,
    capacities: Capacities,
) -> float:
    """Place one row's demand on its pairs first..end, nearest first; the share unplaced."""
    columns, minutes, weight = row
    need = 1.0
    for pair in first + np.argsort(minutes[first:end], kind="stable"):
        room = left[columns[pair]] / weight if weight > 0 else 1.0
        take = (1.0 if room >= 1.0 else 0.0) if capacities.single_sourcing else min(need, room)
        if take <= 0:
            continue
        share[pair] = take
        left[columns[pair]] -= take * weight
        need -= take
        if need <= 1e-12:
            return 0.0
    return need
