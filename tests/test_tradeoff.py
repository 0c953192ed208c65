"""Tests of the trade-off curve against brute force for every number of sites."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from siting import InputError, ODMatrix
from siting.locate.tradeoff import tradeoff_curve


def test_each_row_holds_the_three_optima() -> None:
    """For p = 1..4, coverage, mean and worst minutes equal enumeration over p-site sets."""
    rng = np.random.default_rng(3)
    minutes = rng.integers(1, 60, (12, 6)).astype(np.float64)
    weights = rng.integers(1, 9, 12).astype(np.float64)
    curve = tradeoff_curve(
        ODMatrix.from_dense(minutes), max_n_sites=4, max_minutes=20, weights=weights
    )
    assert curve.index.tolist() == [1, 2, 3, 4]
    for count in range(1, 5):
        sets = [list(c) for c in itertools.combinations(range(6), count)]
        nearest = [minutes[:, s].min(axis=1) for s in sets]
        covered = max(weights @ (n <= 20) for n in nearest) / weights.sum()
        mean = min(weights @ n for n in nearest) / weights.sum()
        worst = min(n.max() for n in nearest)
        row = curve.loc[count]
        assert row.covered_share == pytest.approx(covered)
        assert row.mean_minutes == pytest.approx(mean)
        assert row.worst_minutes == pytest.approx(worst)
        assert row.median_worst_minutes >= worst - 1e-9
        assert row.center_mean_minutes >= mean - 1e-9
    assert curve.mean_minutes.is_monotonic_decreasing


def test_infeasible_counts_are_nan() -> None:
    """With a cut-off only two sites reach everyone: p=1 has no p-median answer."""
    od = ODMatrix.from_dense(np.array([[5.0, np.inf], [np.inf, 7.0]]))
    curve = tradeoff_curve(od, max_n_sites=2, max_minutes=10)
    assert np.isnan(curve.loc[1, "mean_minutes"])
    assert curve.loc[1, "covered_share"] == 0.5
    assert curve.loc[2, "worst_minutes"] == 7.0


def test_max_n_sites_below_the_required_sites_is_an_input_error() -> None:
    """The curve starts at the number of required sites."""
    od = ODMatrix.from_dense(np.ones((2, 3)))
    with pytest.raises(InputError, match="max_n_sites must be an integer >= 2"):
        tradeoff_curve(od, max_n_sites=1, max_minutes=5, required_sites=[0, 1])
