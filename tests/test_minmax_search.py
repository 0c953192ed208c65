"""Tests of the search over site sets for the min-max over groups: the optimum of the
enumeration, and each child's bound never above the best set below it."""

from __future__ import annotations

import itertools
import math

import brute_force
import numpy as np
import pytest
import scipy.sparse as sp

from siting.locate.minmax_bound import region_floors
from siting.locate.minmax_search import _Search, search_minmax


def _instance(seed: int, cut_off: float) -> tuple[np.ndarray, np.ndarray]:
    """40 points x 14 sites, straight-line minutes, pairs beyond `cut_off` absent (inf)
    and points no site reaches left out; three groups of weights that overlap."""
    rng = np.random.default_rng(seed)
    points, sites = rng.uniform(0, 100, (40, 2)), rng.uniform(0, 100, (14, 2))
    minutes = np.linalg.norm(points[:, None, :] - sites[None, :, :], axis=2)
    minutes[minutes > cut_off] = np.inf
    groups = rng.integers(0, 20, size=(3, 40)).astype(np.float64)
    groups[groups < 8] = 0.0  # each group holds only some of the points
    reached = np.isfinite(minutes).any(axis=1)  # as the solver serves: rows some site reaches
    return minutes[reached], groups[:, reached]


def _scaled(groups: np.ndarray) -> sp.csr_matrix:
    return sp.csr_matrix(groups / groups.sum(axis=1, keepdims=True))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n_sites", [2, 3, 5])
@pytest.mark.parametrize("cut_off", [math.inf, 45.0])
def test_search_equals_enumeration(seed: int, n_sites: int, cut_off: float) -> None:
    """Overlapping groups, with and without absent pairs: the value of brute force."""
    minutes, groups = _instance(seed, cut_off)
    expected = brute_force.minmax_group(minutes, groups, n_sites, set())
    free = np.arange(minutes.shape[1])
    none = np.zeros(minutes.shape[1], dtype=np.bool_)
    found = search_minmax(minutes, _scaled(groups), none, free, n_sites)
    assert found.complete
    if math.isinf(expected):
        assert found.plan is None
        return
    assert found.value == pytest.approx(expected, rel=1e-12)
    assert found.plan is not None
    assert int(found.plan.sum()) == n_sites


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n_sites", [2, 4])
def test_search_with_region_counts_equals_enumeration(seed: int, n_sites: int) -> None:
    """Counting sites per region (and searching region by region) keeps the optimum:
    districts of four quadrants, also with a required site."""
    minutes, groups = _quadrants(seed)
    for required in (set(), {3}):
        expected = brute_force.minmax_group(minutes, groups, n_sites, required)
        fixed = np.isin(np.arange(minutes.shape[1]), list(required))
        n_free = n_sites - len(required)
        regions = region_floors(minutes, _scaled(groups), fixed, ~fixed, n_free)
        found = search_minmax(
            minutes, _scaled(groups), fixed, np.flatnonzero(~fixed), n_free, regions=regions
        )
        assert found.complete
        assert found.value == pytest.approx(expected, rel=1e-12)
        assert found.plan is not None
        assert found.plan[fixed].all()


def _quadrants(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """60 points in four quadrant districts x 16 sites, straight-line minutes."""
    rng = np.random.default_rng(seed)
    points, sites = rng.uniform(0, 100, (60, 2)), rng.uniform(0, 100, (16, 2))
    minutes = np.linalg.norm(points[:, None, :] - sites[None, :, :], axis=2)
    labels = (points[:, 0] > 50).astype(int) * 2 + (points[:, 1] > 50).astype(int)
    return minutes, brute_force.group_matrix(labels, rng.integers(1, 30, 60).astype(float))


def _worst_below(search: _Search, prefix: tuple[int, ...], child: int, left: int) -> float:
    """The least worst group mean over every set of `prefix`, `child` and `left` - 1
    columns after `child` (enumerated)."""
    n_columns = search.minutes.shape[1]
    best = math.inf
    for rest in itertools.combinations(range(child + 1, n_columns), left - 1):
        nearest = search.minutes[:, [*prefix, child, *rest]].min(axis=1)
        with np.errstate(invalid="ignore"):
            means = np.asarray(search.weights @ nearest).ravel()
        best = min(best, float(np.where(np.isnan(means), np.inf, means).max()))
    return best


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("cut_off", [math.inf, 45.0])
def test_saving_bound_is_never_above_the_sets_below(seed: int, cut_off: float) -> None:
    """At nodes of one, two and no chosen columns, each child's floor from single-site
    savings is at most the best set below that child."""
    minutes, groups = _instance(seed, cut_off)
    search = _Search(minutes, _scaled(groups), math.inf, None)
    n_columns = minutes.shape[1]
    for prefix, left in [((), 3), ((0,), 3), ((1, 4), 2), ((2,), 4)]:
        first = max(prefix, default=-1) + 1
        last = n_columns - left + 1
        nearest = minutes[:, list(prefix)].min(axis=1, initial=np.inf)
        floors = search._saving_bounds(nearest, first, last, left)
        for offset, floor in enumerate(floors):
            assert floor <= _worst_below(search, prefix, first + offset, left) + 1e-9


def test_saving_bound_by_hand() -> None:
    """One group of two points at 10 and 0 min from the chosen site; columns 1 and 2 each
    save the first point 4 min (half the weight: mean 5 -> 3), column 3 saves nothing.
    Child 1 may add column 2: floor 5 - 2 - 2 = 1, below the true 3 (both savings are on
    the same point); child 2 may add only column 3: floor 5 - 2 - 0 = 3, the true value."""
    minutes = np.array([[10.0, 6.0, 6.0, 12.0], [0.0, 9.0, 9.0, 9.0]])
    search = _Search(minutes, sp.csr_matrix([[0.5, 0.5]]), math.inf, None)
    floors = search._saving_bounds(minutes[:, 0], 1, 3, 2)
    assert floors.tolist() == [1.0, 3.0]


def test_unreached_rows_start_from_their_farthest_column() -> None:
    """A point the chosen sites do not reach counts from its farthest column still to try
    (6 min here), so the floor is finite and exact: 6 / 2 = 3 for both children."""
    minutes = np.array([[np.inf, 6.0, 6.0, 6.0], [0.0, 9.0, 9.0, 9.0]])
    search = _Search(minutes, sp.csr_matrix([[0.5, 0.5]]), math.inf, None)
    floors = search._saving_bounds(minutes[:, 0], 1, 3, 2)
    assert floors.tolist() == [3.0, 3.0]
