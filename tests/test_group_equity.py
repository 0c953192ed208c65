"""Tests of equity in the optimisation (min-max group, p-median with a group share rule,
best worst share) against brute force over every site set of small instances."""

from __future__ import annotations

import math

import brute_force
import numpy as np
import pandas as pd
import pytest

from siting import solve
from siting._core.errors import InfeasibleError, InputError
from siting.locate.group_equity import solve_max_worst_share, solve_minmax_group
from siting.locate.groups import GroupShare
from siting.travel.odmatrix import ODMatrix

SEEDS = range(8)


def _instance(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The brute-force instance with each point in one of three districts."""
    minutes, weights = brute_force.random_instance(seed)
    labels = np.random.default_rng(100 + seed).integers(0, 3, size=weights.size)
    return minutes, weights, labels


def _two_columns(seed: int, weights: np.ndarray) -> pd.DataFrame:
    """Group weight columns over the same points: everyone, and a random older part."""
    older = np.random.default_rng(200 + seed).integers(0, 4, size=weights.size).astype(float)
    older[-1] += 1.0  # never a group of nobody
    return pd.DataFrame({"everyone": weights, "65+": older})


@pytest.mark.parametrize("seed", SEEDS)
def test_minmax_group_equals_brute_force(seed: int) -> None:
    """Worst district mean, p = 3: the optimum equals enumeration; group means add up."""
    minutes, weights, labels = _instance(seed)
    expected = brute_force.minmax_group(
        minutes, brute_force.group_matrix(labels, weights), 3, set()
    )
    if math.isinf(expected):
        with pytest.raises(InfeasibleError, match="cannot reach every demand point"):
            solve_minmax_group(ODMatrix.from_dense(minutes), n_sites=3, groups=labels,
                               weights=weights)  # fmt: skip
        return
    solution = solve(ODMatrix.from_dense(minutes), problem="minmax-group", n_sites=3,
                     groups=labels, weights=weights)  # fmt: skip
    assert solution.objective == pytest.approx(expected, rel=1e-9)
    assert solution.status == "optimal"
    assert solution.bound == pytest.approx(expected, rel=1e-6)
    means = solution.parameters["group_mean_minutes"]
    assert max(means.values()) == pytest.approx(expected)
    assert means[solution.parameters["worst_group"]] == pytest.approx(expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_minmax_over_weight_columns_with_a_required_site(seed: int) -> None:
    """Groups as weight columns (everyone, 65+), site 2 required, p = 3: as enumeration."""
    minutes, weights, _ = _instance(seed)
    table = _two_columns(seed, weights)
    expected = brute_force.minmax_group(minutes, table.to_numpy().T, 3, {2})
    assert math.isfinite(expected)  # every seed has a set of 3 with site 2 serving all
    solution = solve_minmax_group(
        ODMatrix.from_dense(minutes), n_sites=3, groups=table, required_sites=[2]
    )
    assert solution.objective == pytest.approx(expected, rel=1e-9)
    assert 2 in solution.site_ids.tolist()


#: (n_sites, minutes, share): the rule binds (a dearer answer than the p-median's) for seeds
#: 0, 2, 3, 4 of the first, 1, 4, 6 of the second; seeds 0 and 4 of the third are infeasible
RULES = [(2, 30.0, 0.6), (2, 25.0, 0.5), (3, 30.0, 0.8)]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("n_sites", "minutes", "share"), RULES)
def test_share_median_equals_brute_force(
    seed: int, n_sites: int, minutes: float, share: float
) -> None:
    """p-median with no district below `share` within `minutes`: as enumeration."""
    minutes_matrix, weights, labels = _instance(seed)
    groups = brute_force.group_matrix(labels, weights)
    expected, _ = brute_force.share_median(minutes_matrix, weights, groups, n_sites, minutes, share)
    rule = {"minutes": minutes, "share": share}
    od = ODMatrix.from_dense(minutes_matrix)
    arguments = {"n_sites": n_sites, "weights": weights, "groups": labels, "min_group_share": rule}
    if math.isinf(expected):
        with pytest.raises(InfeasibleError, match=f"min_group_share|no {n_sites} sites"):
            solve(od, problem="p-median", **arguments)
        return
    solution = solve(od, problem="p-median", **arguments)
    assert solution.objective == pytest.approx(expected, rel=1e-9)
    assert solution.status == "optimal"
    shares = brute_force.worst_share(groups, solution.assigned_minutes, minutes)
    assert shares.min() >= share - 1e-9
    assert min(solution.parameters["group_shares"].values()) == pytest.approx(shares.min())


def test_the_share_rule_binds_on_these_instances() -> None:
    """Seed 0, p = 2, 60 % within 30 min costs more than the p-median: the tests above bite."""
    minutes, weights, labels = _instance(0)
    groups = brute_force.group_matrix(labels, weights)
    fair, _ = brute_force.share_median(minutes, weights, groups, 2, 30.0, 0.6)
    assert fair > brute_force.p_median(minutes, weights, 2)
    solution = solve(ODMatrix.from_dense(minutes), problem="p-median", n_sites=2,
                     weights=weights, groups=labels,
                     min_group_share={"minutes": 30, "share": 0.6})  # fmt: skip
    assert solution.objective == pytest.approx(fair)


def test_share_rule_off_is_the_p_median() -> None:
    """A share of 0 asks nothing: the optimum is the plain p-median's (brute force)."""
    for seed in SEEDS:
        minutes, weights, labels = _instance(seed)
        expected = brute_force.p_median(minutes, weights, 2)
        if math.isinf(expected):
            continue
        solution = solve(ODMatrix.from_dense(minutes), problem="p-median", n_sites=2,
                         weights=weights, groups=labels,
                         min_group_share=GroupShare(minutes=30, share=0.0))  # fmt: skip
        assert solution.objective == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_max_worst_share_equals_brute_force(seed: int) -> None:
    """The best least-group share within 25 min that 2 sites give equals enumeration."""
    minutes, weights, _ = _instance(seed)
    table = _two_columns(seed, weights)
    expected = brute_force.max_worst_share(minutes, table.to_numpy().T, 2, 25)
    solution = solve_max_worst_share(
        ODMatrix.from_dense(minutes), n_sites=2, groups=table, max_minutes=25
    )
    assert solution.objective == pytest.approx(expected, abs=1e-9)
    assert solution.status == "optimal"


def test_minmax_by_hand_trades_the_mean_for_the_worst_group() -> None:
    """Town 90 people at site 0, village 10 at 40 min: p-median serves the town, min-max
    the village's mean (site 1 halfway: 20 min for both groups)."""
    minutes = np.array([[0.0, 20.0, 40.0], [40.0, 20.0, 0.0]])
    od = ODMatrix.from_dense(minutes)
    median = solve(od, problem="p-median", n_sites=1, weights=[90, 10])
    fair = solve(od, problem="minmax-group", n_sites=1, weights=[90, 10],
                 groups=["town", "village"])  # fmt: skip
    assert (median.site_ids.tolist(), median.objective) == ([0], 400.0)
    assert (fair.site_ids.tolist(), fair.objective) == ([1], 20.0)
    assert fair.parameters["group_mean_minutes"] == {"town": 20.0, "village": 20.0}


def test_share_rule_names_a_group_that_can_never_reach_it() -> None:
    """A district whose only point is 45 min from every site cannot have 80 % within 30."""
    minutes = np.array([[5.0, 50.0], [45.0, 50.0], [50.0, 10.0]])
    with pytest.raises(InfeasibleError, match=r"group 'far' can have at most 0\.0%"):
        solve(ODMatrix.from_dense(minutes), problem="p-median", n_sites=2,
              groups=["near", "far", "near"],
              min_group_share={"minutes": 30, "share": 0.8})  # fmt: skip


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"min_group_share": {"minutes": 30, "share": 1.2}}, r"share must be a share from 0 to 1"),
        ({"min_group_share": {"minutes": 0, "share": 0.8}}, r"minutes must be a number > 0"),
        ({"min_group_share": {"minutes": 30}}, r"min_group_share\.share is required"),
        ({"min_group_share": {"minutes": 30, "shar": 0.8}}, r"did you mean 'share'"),
        ({"groups": ["a", "b", "a"]}, r"groups is only used with min_group_share"),
        ({"min_group_share": {"minutes": 30, "share": 0.5}, "groups": ["a", "b"]},
         r"groups: 2 labels for 3 demand points"),
        ({"min_group_share": {"minutes": 30, "share": 0.5}, "groups": ["a", None, "b"]},
         r"row 1 has no group"),
        ({"min_group_share": {"minutes": 30, "share": 0.5},
          "groups": pd.DataFrame({"65+": [1.0, -2.0, 3.0]})},
         r"column '65\+' must hold finite weights >= 0, got -2\.0 \(row 1\)"),
        ({"min_group_share": {"minutes": 30, "share": 0.5},
          "groups": pd.DataFrame({"65+": [0.0, 0.0, 0.0]})}, r"group '65\+' has no weight"),
        ({"min_group_share": {"minutes": 30, "share": 0.5}, "groups": ["a", "b", "a"],
          "capacities": [10, 10]}, r"cannot be combined with capacities"),
        ({"min_group_share": {"minutes": 30, "share": 0.5}, "groups": ["a", "b", "a"],
          "formulation": "radius"}, r"formulation must be 'auto', got 'radius'"),
    ],
)  # fmt: skip
def test_bad_group_input_is_one_clear_line(arguments: dict, message: str) -> None:  # type: ignore[type-arg]
    """Share above 100 %, bad minutes, a missing or negative group: an InputError naming it."""
    od = ODMatrix.from_dense(np.array([[5.0, 50.0], [45.0, 50.0], [50.0, 10.0]]))
    with pytest.raises(InputError, match=message):
        solve(od, problem="p-median", n_sites=1, **arguments)


def test_minmax_group_needs_groups() -> None:
    """kind minmax-group without groups is refused naming the option."""
    od = ODMatrix.from_dense(np.array([[5.0, 50.0]]))
    with pytest.raises(InputError, match="missing required option 'groups'"):
        solve(od, problem="minmax-group", n_sites=1)
