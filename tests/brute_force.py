"""Brute-force optima of location problems on tiny dense instances, written independently."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog

Dense = npt.NDArray[np.float64]


def random_instance(seed: int, n_demand: int = 12, n_sites: int = 7) -> tuple[Dense, Dense]:
    """Minutes (inf = absent pair, about 1 in 5) and integer weights 0-9 (some zero)."""
    rng = np.random.default_rng(seed)
    minutes = rng.integers(1, 60, size=(n_demand, n_sites)).astype(np.float64)
    minutes[rng.random(minutes.shape) < 0.2] = np.inf
    weights = rng.integers(0, 10, size=n_demand).astype(np.float64)
    weights[0] = max(weights[0], 1.0)
    return minutes, weights


def subsets(
    n_sites: int, size: int | None, required: set[int], forbidden: set[int]
) -> Iterator[tuple[int, ...]]:
    """Every site set (of `size`, or of any size) holding the required and no forbidden site."""
    sizes = range(n_sites + 1) if size is None else [size]
    for count in sizes:
        for chosen in itertools.combinations(range(n_sites), count):
            if required <= set(chosen) and not forbidden & set(chosen):
                yield chosen


def lscp(
    minutes: Dense,
    weights: Dense,
    limit: float,
    *,
    costs: Dense | None = None,
    required: set[int] = frozenset(),  # type: ignore[assignment]
    forbidden: set[int] = frozenset(),  # type: ignore[assignment]
) -> float:
    """Least cost of a set covering every weighted row some site reaches within `limit`."""
    costs = np.ones(minutes.shape[1]) if costs is None else costs
    within = minutes <= limit
    needed = (weights > 0) & within.any(axis=1)
    best = math.inf
    for chosen in subsets(minutes.shape[1], None, set(required), set(forbidden)):
        if within[needed][:, list(chosen)].any(axis=1).all():
            best = min(best, float(costs[list(chosen)].sum()))
    return best


def mclp(
    minutes: Dense, weights: Dense, limit: float, n_sites: int, backup_weight: float = 0.0
) -> float:
    """Most weight covered by `n_sites` sites (plus backup_weight x weight covered twice)."""
    best = -math.inf
    for chosen in subsets(minutes.shape[1], n_sites, set(), set()):
        count = (minutes[:, list(chosen)] <= limit).sum(axis=1)
        value = weights @ (count >= 1) + backup_weight * (weights @ (count >= 2))
        best = max(best, float(value))
    return best


def p_median(
    minutes: Dense,
    weights: Dense,
    n_sites: int,
    required: set[int] = frozenset(),  # type: ignore[assignment]
) -> float:
    """Least weighted total minutes; rows no site reaches are left out; inf if infeasible."""
    rows = (weights > 0) & np.isfinite(minutes).any(axis=1)
    best = math.inf
    for chosen in subsets(minutes.shape[1], n_sites, set(required), set()):
        nearest = minutes[rows][:, list(chosen)].min(axis=1)
        best = min(best, float(weights[rows] @ nearest))
    return best


def p_center(minutes: Dense, weights: Dense, n_sites: int) -> float:
    """Least worst minutes over weighted rows some site reaches; inf if infeasible."""
    rows = (weights > 0) & np.isfinite(minutes).any(axis=1)
    best = math.inf
    for chosen in subsets(minutes.shape[1], n_sites, set(), set()):
        best = min(best, float(minutes[rows][:, list(chosen)].min(axis=1).max()))
    return best


def attendance(
    minutes: Dense,
    weights: Dense,
    weight_of: Callable[[Dense], Dense],
    n_sites: int | None,
    *,
    required: set[int] = frozenset(),  # type: ignore[assignment]
    forbidden: set[int] = frozenset(),  # type: ignore[assignment]
    costs: Dense | None = None,
    budget: float = math.inf,
) -> tuple[float, tuple[int, ...]]:
    """Most people coming (weight x decay of the nearest open site) and a set reaching it."""
    costs = np.ones(minutes.shape[1]) if costs is None else costs
    best, best_set = -math.inf, ()
    for chosen in subsets(minutes.shape[1], n_sites, set(required), set(forbidden)):
        if not chosen or costs[list(chosen)].sum() > budget:
            continue
        nearest = minutes[:, list(chosen)].min(axis=1)
        value = float(weights @ weight_of(nearest))
        if value > best:
            best, best_set = value, chosen
    return best, best_set


def capacitated_p_median(minutes: Dense, weights: Dense, n_sites: int, capacities: Dense) -> float:
    """Least weighted minutes with split assignment within capacities: one LP per site set."""
    rows = np.flatnonzero(weights > 0)
    best = math.inf
    for chosen in subsets(minutes.shape[1], n_sites, set(), set()):
        cost = minutes[np.ix_(rows, chosen)]
        if not np.isfinite(cost).any(axis=1).all():
            continue
        n_rows, n_open = cost.shape
        bounds = [(0, 0 if not np.isfinite(c) else 1) for c in cost.ravel()]
        objective = (weights[rows, None] * np.where(np.isfinite(cost), cost, 0)).ravel()
        equal = np.kron(np.eye(n_rows), np.ones(n_open))
        result = linprog(
            objective,
            A_ub=_capacity_matrix(weights[rows], n_open),
            b_ub=capacities[list(chosen)],
            A_eq=equal,
            b_eq=np.ones(n_rows),
            bounds=bounds,
        )
        if result.status == 0:
            best = min(best, float(result.fun))
    return best


def _capacity_matrix(weights: Dense, n_open: int) -> Dense:
    """Row j sums weight_i x_ij over the row-major (i, j) variables."""
    n_rows = weights.size
    matrix = np.zeros((n_open, n_rows * n_open))
    for j in range(n_open):
        matrix[j, j::n_open] = weights
    return matrix


def group_matrix(labels: npt.NDArray[np.int64], weights: Dense) -> Dense:
    """Groups x rows: each row's weight in its group's row; groups of no weight left out."""
    matrix = np.array([np.where(labels == k, weights, 0.0) for k in np.unique(labels)])
    return matrix[matrix.sum(axis=1) > 0]


def minmax_group(minutes: Dense, groups: Dense, n_sites: int, required: set[int]) -> float:
    """Least worst group mean of minutes to the nearest open site, over rows some site reaches;
    sets leaving such a row unserved are not answers (inf if every set does)."""
    rows = (groups.sum(axis=0) > 0) & np.isfinite(minutes).any(axis=1)
    reached = groups[:, rows]
    counted = reached.sum(axis=1) > 0
    best = math.inf
    for chosen in subsets(minutes.shape[1], n_sites, set(required), set()):
        nearest = minutes[rows][:, list(chosen)].min(axis=1)
        if not np.isfinite(nearest).all():
            continue
        means = (reached @ nearest)[counted] / reached.sum(axis=1)[counted]
        best = min(best, float(means.max()))
    return best


def share_median(
    minutes: Dense, weights: Dense, groups: Dense, n_sites: int, limit: float, share: float
) -> tuple[float, tuple[int, ...]]:
    """Least weighted minutes over sets leaving no group below `share` within `limit`, and the
    reachable rows (weighted or in a group) all served; inf if no set qualifies."""
    rows = ((weights > 0) | (groups.sum(axis=0) > 0)) & np.isfinite(minutes).any(axis=1)
    best, best_set = math.inf, ()
    for chosen in subsets(minutes.shape[1], n_sites, set(), set()):
        nearest = minutes[:, list(chosen)].min(axis=1)
        if not np.isfinite(nearest[rows]).all():
            continue
        if (worst_share(groups, nearest, limit) < share - 1e-12).any():
            continue
        value = float(weights[rows] @ nearest[rows])
        if value < best:
            best, best_set = value, chosen
    return best, best_set


def worst_share(groups: Dense, nearest: Dense, limit: float) -> Dense:
    """Each group's share of its weight within `limit` (every row counted in its total)."""
    result: Dense = groups @ (nearest <= limit) / groups.sum(axis=1)
    return result


def max_worst_share(minutes: Dense, groups: Dense, n_sites: int, limit: float) -> float:
    """The largest least-group share within `limit` that `n_sites` sites give."""
    best = -math.inf
    for chosen in subsets(minutes.shape[1], n_sites, set(), set()):
        nearest = minutes[:, list(chosen)].min(axis=1)
        best = max(best, float(worst_share(groups, nearest, limit).min()))
    return best
