"""Lagrangian bounds, a greedy answer and exact site fixing that shrink the p-median MIP.

The strong p-median LP has one row per demand-site pair, and HiGHS spends nearly all its time
on the root LP (60 s of 65 s on Dalarna's 4,004 x 73). Relaxing the assignment rows gives a
bound that numpy evaluates in milliseconds (Beasley 1993, "Lagrangean heuristics for location
problems"); with a good answer in hand, every site whose forced opening (or closing) lifts the
bound above that answer is fixed, which is exact, and the MIP that remains is small.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Reduction:
    """What the Lagrangian pass proved.

    Attributes
    ----------
    lower_bound
        Best Lagrangian bound: no answer costs less.
    upper_bound
        Cost of `best_open`, the best answer found.
    best_open
        Open sites of that answer (mask over all columns).
    fixed_open, fixed_closed
        Sites open (closed) in every answer that costs no more than `upper_bound`, so in
        every optimal one: fixing them loses no optimum.
    kept_pairs
        Per pair, False where no answer costing at most `upper_bound` assigns that row to
        that site (the pair can leave the model).
    """

    lower_bound: float
    upper_bound: float
    best_open: BoolArray
    fixed_open: BoolArray
    fixed_closed: BoolArray
    kept_pairs: BoolArray


@dataclass(frozen=True)
class AssignmentPairs:
    """Pairs of active demand rows (row-major, ``indptr`` per row) and sites, with costs."""

    local_rows: IntArray
    columns: IntArray
    cost: FloatArray
    indptr: IntArray
    n_columns: int


def reduce_p_median(
    pairs: AssignmentPairs,
    n_sites: int,
    required: BoolArray,
    allowed: BoolArray,
    *,
    iterations: int = 1500,
    patience: int = 30,
    min_step: float = 1e-2,
) -> Reduction:
    """Run subgradient optimisation and fix sites; every row must have at least one pair.

    The multipliers start at each row's cost in the greedy answer (near the LP duals of
    geographic instances); the step halves after `patience` iterations without a better bound.
    """
    upper_open = _greedy(pairs, n_sites, required, allowed)
    upper = _cost(pairs, upper_open)
    multipliers = _row_min(pairs, np.where(upper_open[pairs.columns], pairs.cost, np.inf))
    best_lower, best_multipliers = -np.inf, multipliers
    step, stall = 2.0, 0
    for iteration in range(iterations):
        lower, chosen, reduced = _lagrangian(pairs, multipliers, n_sites, required, allowed)
        if lower > best_lower + 1e-9 * abs(lower):
            best_lower, best_multipliers, stall = lower, multipliers.copy(), 0
        else:
            stall += 1
            if stall >= patience:
                step, stall = step / 2, 0
        if iteration % 2 == 0:  # the relaxation's sites as an answer: most often near the end
            cost = _cost(pairs, chosen)
            if cost < upper:
                upper, upper_open = cost, chosen
        if upper - best_lower <= 1e-9 * abs(upper) or step < min_step:
            break
        assigned = np.bincount(
            pairs.local_rows, weights=(reduced < 0) & chosen[pairs.columns], minlength=_rows(pairs)
        )
        gradient = 1.0 - assigned
        norm = float(gradient @ gradient)
        if norm == 0:
            break
        multipliers = multipliers + step * (upper - lower) / norm * gradient
    return _fix(
        pairs, best_multipliers, n_sites, required, allowed, (best_lower, upper, upper_open)
    )


def _rows(pairs: AssignmentPairs) -> int:
    return int(pairs.indptr.size - 1)


def _row_min(pairs: AssignmentPairs, values: FloatArray) -> FloatArray:
    mins: FloatArray = np.minimum.reduceat(values, pairs.indptr[:-1])
    return mins


def _cost(pairs: AssignmentPairs, open_sites: BoolArray) -> float:
    """Total cost with every row at its cheapest open site (inf if a row has none)."""
    masked = np.where(open_sites[pairs.columns], pairs.cost, np.inf)
    return float(_row_min(pairs, masked).sum())


def _lagrangian(
    pairs: AssignmentPairs,
    multipliers: FloatArray,
    n_sites: int,
    required: BoolArray,
    allowed: BoolArray,
) -> tuple[float, BoolArray, FloatArray]:
    """L(lambda) = sum lambda + best p sites by rho_j = sum_i min(0, c_ij - lambda_i)."""
    reduced = pairs.cost - multipliers[pairs.local_rows]
    rho = np.bincount(
        pairs.columns, weights=np.minimum(reduced, 0.0), minlength=pairs.n_columns
    ).astype(np.float64)
    chosen = _best_sites(rho, n_sites, required, allowed)
    return float(multipliers.sum() + rho[chosen].sum()), chosen, reduced


def _best_sites(
    rho: FloatArray, n_sites: int, required: BoolArray, allowed: BoolArray
) -> BoolArray:
    free = allowed & ~required
    order = np.flatnonzero(free)[np.argsort(rho[free], kind="stable")]
    chosen = required.copy()
    chosen[order[: n_sites - int(required.sum())]] = True
    return chosen


def _greedy(
    pairs: AssignmentPairs, n_sites: int, required: BoolArray, allowed: BoolArray
) -> BoolArray:
    """Add the site that saves most until `n_sites` are open (rows without one cost big)."""
    big = float(pairs.cost.max()) * 10 + 1.0
    chosen = required.copy()
    current = _row_min(pairs, np.where(chosen[pairs.columns], pairs.cost, big))
    while chosen.sum() < n_sites:
        saving = np.maximum(current[pairs.local_rows] - pairs.cost, 0.0)
        gain = np.bincount(pairs.columns, weights=saving, minlength=pairs.n_columns)
        gain[chosen | ~allowed] = -1.0
        site = int(np.argmax(gain))
        chosen[site] = True
        here = pairs.columns == site
        np.minimum.at(current, pairs.local_rows[here], pairs.cost[here])
    return chosen


def _fix(
    pairs: AssignmentPairs,
    multipliers: FloatArray,
    n_sites: int,
    required: BoolArray,
    allowed: BoolArray,
    bounds: tuple[float, float, BoolArray],
) -> Reduction:
    """Close j if forcing it open lifts L above the best answer; open j if forcing it shut does."""
    lower, upper, upper_open = bounds
    value, chosen, reduced = _lagrangian(pairs, multipliers, n_sites, required, allowed)
    rho = np.bincount(
        pairs.columns, weights=np.minimum(reduced, 0.0), minlength=pairs.n_columns
    ).astype(np.float64)
    free_chosen = chosen & ~required
    free_other = allowed & ~chosen
    # margin keeps float error from fixing a site that an optimum (cost == upper) uses
    margin = 1e-7 * max(abs(upper), 1.0)
    fixed_closed = np.zeros(pairs.n_columns, dtype=np.bool_)
    fixed_open = required.copy()
    worst_in = float(rho[free_chosen].max()) if free_chosen.any() else 0.0
    if free_chosen.any() and free_other.any():
        best_out = float(rho[free_other].min())
        fixed_closed = free_other & (value + rho - worst_in > upper + margin)
        fixed_open |= free_chosen & (value - rho + best_out > upper + margin)
    fixed_closed |= ~allowed
    # forcing x_ij = 1 adds its positive reduced cost, and opening j if L left it shut
    opening = np.where(chosen, 0.0, rho - worst_in if free_chosen.any() else np.inf)
    forced = value + np.maximum(reduced, 0.0) + opening[pairs.columns]
    kept_pairs = (forced <= upper + margin) & ~fixed_closed[pairs.columns]
    logger.info(
        "p-median Lagrangian: bound %.6g, answer %.6g, %d sites fixed open, %d closed, "
        "%d of %d pairs kept",
        max(lower, value),
        upper,
        int(fixed_open.sum() - required.sum()),
        int((fixed_closed & allowed).sum()),
        int(kept_pairs.sum()),
        kept_pairs.size,
    )
    return Reduction(max(lower, value), upper, upper_open, fixed_open, fixed_closed, kept_pairs)


def greedy_cost(
    pairs: AssignmentPairs, n_sites: int, required: BoolArray, allowed: BoolArray
) -> float:
    """Cost of the greedy answer (inf if it leaves a row without an open site)."""
    return _cost(pairs, _greedy(pairs, n_sites, required, allowed))
