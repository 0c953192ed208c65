"""Tests of the efficiency-equity frontier against brute force over every site set."""

from __future__ import annotations

import math

import brute_force
import numpy as np
import pytest

from siting._core.errors import InputError
from siting.locate.frontier import equity_frontier
from siting.travel.odmatrix import ODMatrix

SEEDS = range(6)


def _instance(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The brute-force instance with each point in one of three districts."""
    minutes, weights = brute_force.random_instance(seed)
    labels = np.random.default_rng(100 + seed).integers(0, 3, size=weights.size)
    return minutes, weights, labels


@pytest.mark.parametrize("seed", SEEDS)
def test_every_point_of_the_frontier_equals_brute_force(seed: int) -> None:
    """p = 2, T = 30: each row is the least total minutes with every share >= its target,
    the ends are the plain p-median and the best worst share (all by enumeration)."""
    minutes, weights, labels = _instance(seed)
    groups = brute_force.group_matrix(labels, weights)
    curve = equity_frontier(
        ODMatrix.from_dense(minutes), n_sites=2, groups=labels, max_minutes=30, weights=weights
    )
    best_share = brute_force.max_worst_share(minutes, groups, 2, 30)
    assert curve.attrs["max_worst_share"] == pytest.approx(best_share, abs=1e-9)
    assert curve.index.max() == pytest.approx(best_share, abs=1e-9)
    for target, row in curve.iterrows():
        expected, _ = brute_force.share_median(minutes, weights, groups, 2, 30, float(target))
        if math.isinf(expected):
            assert row["status"] == "infeasible"
            continue
        assert row["total_minutes"] == pytest.approx(expected, rel=1e-9)
        assert row["worst_share"] >= float(target) - 1e-9
        assert row["status"] == "optimal"
    first = curve.iloc[0]
    assert first["total_minutes"] == pytest.approx(brute_force.p_median(minutes, weights, 2))


def test_frontier_rises_in_cost_as_the_share_rises() -> None:
    """Seed 0 (where the rule binds): total minutes never fall as the target share grows."""
    minutes, weights, labels = _instance(0)
    curve = equity_frontier(
        ODMatrix.from_dense(minutes), n_sites=2, groups=labels, max_minutes=30,
        weights=weights, shares=[0.0, 0.3, 0.6, 0.9, 1.0],
    )  # fmt: skip
    feasible = curve[curve["status"] == "optimal"]["total_minutes"]
    assert feasible.is_monotonic_increasing
    assert feasible.iloc[-1] > feasible.iloc[0]


def test_frontier_by_hand() -> None:
    """Town (90) at site 0, village (10) at site 2, 40 min apart, site 1 halfway (20 min):
    one office within 20 min of both groups costs 2,000 person-minutes, the town's 400."""
    minutes = np.array([[0.0, 20.0, 40.0], [40.0, 20.0, 0.0]])
    curve = equity_frontier(
        ODMatrix.from_dense(minutes), n_sites=1, groups=["town", "village"], max_minutes=20,
        weights=[90, 10],
    )  # fmt: skip
    assert curve.index.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert curve["total_minutes"].tolist() == [400.0, 2000.0, 2000.0, 2000.0, 2000.0]
    assert curve["sites"].tolist() == [[0], [1], [1], [1], [1]]
    assert curve.attrs["max_worst_share"] == 1.0


def test_frontier_reuses_a_plan_that_meets_higher_targets() -> None:
    """The by-hand case: the plan for 25 % already gives both groups 100 %, so 50-100 % take
    it without a solve (solve_s 0) and the plain p-median's answers its own worst share."""
    minutes = np.array([[0.0, 20.0, 40.0], [40.0, 20.0, 0.0]])
    curve = equity_frontier(
        ODMatrix.from_dense(minutes), n_sites=1, groups=["town", "village"], max_minutes=20,
        weights=[90, 10],
    )  # fmt: skip
    assert curve["solve_s"].tolist()[2:] == [0.0, 0.0, 0.0]
    assert curve["solve_s"].iloc[0] == 0.0  # the plain p-median, solved for the ends
    assert curve["solve_s"].iloc[1] > 0.0
    assert curve["status"].tolist() == ["optimal"] * 5


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"shares": [0.5, 1.5]}, r"shares\[1\] must be a share from 0 to 1"),
        ({"shares": []}, r"shares: give at least one target share"),
        ({"n_points": 1}, r"n_points must be an integer >= 2, got 1"),
        ({"max_minutes": -5}, r"max_minutes must be > 0"),
    ],
)
def test_frontier_bad_input(arguments: dict, message: str) -> None:  # type: ignore[type-arg]
    """A share above 100 %, no shares, too few points or a bad T: one InputError naming it."""
    od = ODMatrix.from_dense(np.array([[0.0, 40.0], [40.0, 0.0]]))
    given = {"n_sites": 1, "groups": ["a", "b"], "max_minutes": 30, **arguments}
    with pytest.raises(InputError, match=message):
        equity_frontier(od, **given)
