"""Tests of equity in the optimisation (min-max group, p-median with a group share rule,
best worst share) against brute force over every site set of small instances."""

from __future__ import annotations

import itertools
import math

import brute_force
import numpy as np
import pandas as pd
import pytest

from siting import solve
from siting._core.errors import InfeasibleError, InputError
from siting.locate import group_equity
from siting.locate.group_equity import (
    solve_max_worst_share,
    solve_minmax_group,
    solve_share_median,
)
from siting.locate.groups import GroupShare
from siting.locate.mip import MipOptions
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


@pytest.mark.parametrize("seed", SEEDS)
def test_minmax_by_the_mip_equals_brute_force(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no time for the search over site sets, HiGHS on the level model (started from
    the greedy and swap plan) still reaches the enumeration's optimum, p = 3."""
    monkeypatch.setattr(group_equity, "MINMAX_SEARCH_S", 0.0)
    minutes, weights, labels = _instance(seed)
    expected = brute_force.minmax_group(
        minutes, brute_force.group_matrix(labels, weights), 3, set()
    )
    if math.isinf(expected):
        return  # the first test checks the refusal
    solution = solve_minmax_group(
        ODMatrix.from_dense(minutes), n_sites=3, groups=labels, weights=weights
    )
    assert solution.objective == pytest.approx(expected, rel=1e-9)
    assert solution.status == "optimal"


def _districts(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """70 points in four districts (quadrants of a 100 km square) x 18 sites, minutes at
    60 km/h: more site sets than a hand check, few enough for brute force."""
    rng = np.random.default_rng(seed)
    points, sites = rng.uniform(0, 100, (70, 2)), rng.uniform(0, 100, (18, 2))
    minutes = np.linalg.norm(points[:, None, :] - sites[None, :, :], axis=2)
    labels = (points[:, 0] > 50).astype(int) * 2 + (points[:, 1] > 50).astype(int)
    stored = ODMatrix.from_dense(minutes).to_dense().astype(np.float64)  # float32 as solved
    return stored, rng.integers(1, 30, size=70).astype(np.float64), labels


@pytest.mark.parametrize("seed", range(4))
def test_minmax_search_over_site_sets_equals_brute_force(seed: int) -> None:
    """70 points in four districts x 18 sites, p = 4: the search over site sets proves the
    optimum of the enumeration (3,060 sets)."""
    minutes, weights, labels = _districts(seed)
    expected = brute_force.minmax_group(
        minutes, brute_force.group_matrix(labels, weights), 4, set()
    )
    solution = solve_minmax_group(
        ODMatrix.from_dense(minutes), n_sites=4, groups=labels, weights=weights
    )
    assert solution.objective == pytest.approx(expected, rel=1e-9)
    assert (solution.status, solution.gap) == ("optimal", 0.0)


def test_minmax_keeps_excluded_sets_out() -> None:
    """The optimal set excluded, the answer is the best other set of the enumeration."""
    minutes, weights, labels = _districts(0)
    groups = brute_force.group_matrix(labels, weights)
    values = {}
    for chosen in itertools.combinations(range(minutes.shape[1]), 3):
        means = groups @ minutes[:, list(chosen)].min(axis=1) / groups.sum(axis=1)
        values[chosen] = float(means.max())
    ranked = sorted(values, key=values.__getitem__)
    od = ODMatrix.from_dense(minutes)
    solution = solve_minmax_group(
        od, n_sites=3, groups=labels, weights=weights, exclude=[list(ranked[0])]
    )
    assert solution.objective == pytest.approx(values[ranked[1]], rel=1e-9)
    assert tuple(solution.site_index.tolist()) != ranked[0]


def test_minmax_out_of_time_still_returns_a_plan() -> None:
    """No time for search or HiGHS: the greedy and swap plan comes back with status "time
    limit" and a gap, never "no solution"."""
    minutes, weights, labels = _districts(1)
    solution = solve_minmax_group(
        ODMatrix.from_dense(minutes), n_sites=4, groups=labels, weights=weights,
        options=MipOptions(time_limit_s=1e-9),
    )  # fmt: skip
    assert solution.n_sites == 4
    assert solution.status == "time limit"
    means = solution.parameters["group_mean_minutes"]
    assert solution.objective == pytest.approx(max(means.values()))
    assert not solution.bound > solution.objective


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


def test_share_median_out_of_time_returns_the_plan_meeting_the_rule() -> None:
    """Districts instance, p = 3, 60 % of every district within 30 min (binding): with no
    time for HiGHS the swap plan comes back meeting the rule, status "time limit", a
    bound below it; with time, the optimum equals brute force."""
    minutes, weights, labels = _districts(2)
    od, rule = ODMatrix.from_dense(minutes), {"minutes": 30, "share": 0.6}
    expected, _ = brute_force.share_median(
        minutes, weights, brute_force.group_matrix(labels, weights), 3, 30, 0.6
    )
    plain = brute_force.p_median(minutes, weights, 3)
    assert expected > plain  # the rule binds
    hurried = solve_share_median(
        od, n_sites=3, groups=labels, weights=weights, min_group_share=rule,
        options=MipOptions(time_limit_s=1e-9),
    )  # fmt: skip
    assert hurried.status == "time limit"
    assert min(hurried.parameters["group_shares"].values()) >= 0.6
    assert hurried.bound <= expected + 1e-6 <= hurried.objective + 1e-6
    exact = solve_share_median(od, n_sites=3, groups=labels, weights=weights,
                               min_group_share=rule)  # fmt: skip
    assert exact.objective == pytest.approx(expected, rel=1e-9)
    assert exact.status == "optimal"


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


def _share_median_with_rules(
    minutes: np.ndarray,
    weights: np.ndarray,
    groups: np.ndarray,
    rule: tuple[int, float],
    rules: dict,  # type: ignore[type-arg]
) -> float:
    """Enumeration under required, forbidden, a budget over site costs and excluded sets."""
    n_sites, limit, share = 3, *rule
    rows = ((weights > 0) | (groups.sum(axis=0) > 0)) & np.isfinite(minutes).any(axis=1)
    excluded = {tuple(sorted(chosen)) for chosen in rules.get("exclude", [])}
    costs, budget = np.asarray(rules.get("site_costs", [])), rules.get("budget")
    best = math.inf
    chosen_sets = brute_force.subsets(minutes.shape[1], n_sites,
                                      set(rules.get("required_sites", [])),
                                      set(rules.get("forbidden_sites", [])))  # fmt: skip
    for chosen in chosen_sets:
        if chosen in excluded or (budget is not None and costs[list(chosen)].sum() > budget):
            continue
        nearest = minutes[:, list(chosen)].min(axis=1)
        fair = (brute_force.worst_share(groups, nearest, limit) >= share - 1e-12).all()
        if np.isfinite(nearest[rows]).all() and fair:
            best = min(best, float(weights[rows] @ nearest[rows]))
    return best


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    "rules",
    [
        {"required_sites": [1], "forbidden_sites": [4]},
        {"site_costs": [1.0, 3.0, 1.0, 2.0, 1.0, 2.0, 1.0], "budget": 5.0},
        {"exclude": "the optimum"},
    ],
)
def test_share_median_by_cuts_keeps_the_site_rules(seed: int, rules: dict) -> None:  # type: ignore[type-arg]
    """p = 3, 60 % of each of two weight columns within 30 min, under required and forbidden
    sites, a budget (no swap plan: the MIP alone) and the optimum excluded: as enumeration."""
    minutes, weights, _ = _instance(seed)
    columns = _two_columns(seed, weights)
    groups = columns.to_numpy().T
    if rules.get("exclude") == "the optimum":
        _, best_set = brute_force.share_median(minutes, weights, groups, 3, 30, 0.6)
        rules = {"exclude": [list(best_set)]}
    expected = _share_median_with_rules(minutes, weights, groups, (30, 0.6), rules)
    arguments = {"n_sites": 3, "weights": weights, "groups": columns,
                 "min_group_share": {"minutes": 30, "share": 0.6}, **rules}  # fmt: skip
    if math.isinf(expected):
        with pytest.raises(InfeasibleError):
            solve_share_median(ODMatrix.from_dense(minutes), **arguments)
        return
    solution = solve_share_median(ODMatrix.from_dense(minutes), **arguments)
    assert solution.objective == pytest.approx(expected, rel=1e-9)
    assert solution.status == "optimal"
