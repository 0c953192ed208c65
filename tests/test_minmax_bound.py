"""Tests of the regions bound on the min-max over groups: never above the optimum of every
site set (enumeration), and tight where each group needs its own site."""

from __future__ import annotations

import itertools

import brute_force
import numpy as np
import pytest
import scipy.sparse as sp

from siting.locate import minmax_bound
from siting.locate.minmax_bound import region_bound, region_floors


def _scaled(groups: np.ndarray) -> sp.csr_matrix:
    """Groups x rows, each group's row summing to 1 (its cost is then its mean)."""
    return sp.csr_matrix(groups / groups.sum(axis=1, keepdims=True))


def _districts(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """50 points in four quadrant districts x 12 sites, straight-line minutes."""
    rng = np.random.default_rng(seed)
    points, sites = rng.uniform(0, 100, (50, 2)), rng.uniform(0, 100, (12, 2))
    minutes = np.linalg.norm(points[:, None, :] - sites[None, :, :], axis=2)
    labels = (points[:, 0] > 50).astype(int) * 2 + (points[:, 1] > 50).astype(int)
    weights = rng.integers(1, 30, size=50).astype(np.float64)
    return minutes, brute_force.group_matrix(labels, weights)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n_sites", [1, 2, 3, 4])
def test_region_bound_is_never_above_the_optimum(seed: int, n_sites: int) -> None:
    """Against enumeration of every site set, also with a required site."""
    minutes, groups = _districts(seed)
    free = np.ones(minutes.shape[1], dtype=np.bool_)
    none = np.zeros_like(free)
    optimum = brute_force.minmax_group(minutes, groups, n_sites, set())
    assert region_bound(minutes, _scaled(groups), none, free, n_sites) <= optimum + 1e-9
    required = none.copy()
    required[0] = True
    free[0] = False
    optimum = brute_force.minmax_group(minutes, groups, n_sites, {0})
    bound = region_bound(minutes, _scaled(groups), required, free, n_sites - 1)
    assert bound <= optimum + 1e-9


def test_region_bound_beats_every_site_open_on_these_instances() -> None:
    """The bound bites: above the worst mean with all sites open for some p of seed 0."""
    minutes, groups = _districts(0)
    free = np.ones(minutes.shape[1], dtype=np.bool_)
    every = float((_scaled(groups) @ minutes.min(axis=1)).max())
    bounds = [region_bound(minutes, _scaled(groups), ~free, free, p) for p in (1, 2, 3)]
    assert max(bounds) > every + 1e-6


def test_region_bound_by_hand() -> None:
    """Two towns 100 min apart, a site in each, one office: each region needs its own site,
    so one group waits 100 min; the bound is 100 (all sites open would say 0)."""
    minutes = np.array([[0.0, 100.0], [100.0, 0.0]])
    groups = np.eye(2)
    free = np.ones(2, dtype=np.bool_)
    assert region_bound(minutes, _scaled(groups), ~free, free, 1) == 100.0
    assert region_bound(minutes, _scaled(groups), ~free, free, 2) == 0.0


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("most_sites", [1, 4, 14])
def test_region_floors_are_never_above_any_set_with_that_count(
    seed: int, most_sites: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every set of 1-4 sites holding u sites of region c has a worst mean of at least
    floors[c, u] (enumeration of every set); regions of one group each, or merged up to
    4 or 14 sites."""
    monkeypatch.setattr(minmax_bound, "MAX_REGION_SITES", most_sites)
    minutes, groups = _districts(seed)
    free = np.ones(minutes.shape[1], dtype=np.bool_)
    regions = region_floors(minutes, _scaled(groups), ~free, free, 4)
    means_of = _scaled(groups)
    for size in range(1, 5):
        for chosen in itertools.combinations(range(minutes.shape[1]), size):
            worst = float((means_of @ minutes[:, list(chosen)].min(axis=1)).max())
            counts = np.bincount(regions.region[list(chosen)], minlength=len(regions.floors))
            for region, count in enumerate(counts):
                assert regions.floors[region, count] <= worst + 1e-9
