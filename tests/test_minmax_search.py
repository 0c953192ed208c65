"""Tests of the search over site sets for the min-max over groups: the optimum of the
enumeration, with and without the regions' counts."""

from __future__ import annotations

import math

import brute_force
import numpy as np
import pytest
import scipy.sparse as sp

from siting.locate.minmax_bound import region_floors
from siting.locate.minmax_search import search_minmax


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
