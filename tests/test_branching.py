"""The Lagrangian branch and bound on sites against brute force on small random graphs."""

from __future__ import annotations

import itertools
import logging
import math
import re

import brute_force
import numpy as np
import pytest
from random_graphs import random_graph_distances

from siting import ODMatrix, solve
from siting._core.errors import InfeasibleError, InputError
from siting.locate import branching, sorted_pairs
from siting.locate.branching import _Tree, solve_by_branching
from siting.locate.interchange import AssignmentPairs
from siting.locate.sorted_pairs import SortedPairs, sort_pairs


def _best(
    minutes: np.ndarray,
    weights: np.ndarray,
    n_sites: int,
    required: set[int] = frozenset(),  # type: ignore[assignment]
    forbidden: set[int] = frozenset(),  # type: ignore[assignment]
) -> float:
    """Least weighted total over every allowed set (rows of weight 0 or no site left out)."""
    rows = (weights > 0) & np.isfinite(minutes).any(axis=1)
    best = math.inf
    for chosen in brute_force.subsets(minutes.shape[1], n_sites, set(required), set(forbidden)):
        best = min(best, float(weights[rows] @ minutes[rows][:, list(chosen)].min(axis=1)))
    return best


def _dense_pairs(cost: np.ndarray) -> SortedPairs:
    """Every finite entry of a rows x sites cost matrix as pairs, each row sorted by cost."""
    keep = np.isfinite(cost)
    unsorted = AssignmentPairs(
        local_rows=np.nonzero(keep)[0],
        columns=np.nonzero(keep)[1],
        cost=cost[keep],
        indptr=np.r_[0, np.cumsum(keep.sum(axis=1))],
        n_columns=cost.shape[1],
    )
    return sort_pairs(unsorted)


def _nodes(caplog: pytest.LogCaptureFixture) -> int:
    """Nodes of the last tree, from its summary line."""
    found = [re.search(r"(\d+) nodes", r.getMessage()) for r in caplog.records]
    return [int(match.group(1)) for match in found if match][-1]


@pytest.mark.parametrize("price_every", [0, branching.PRICE_EVERY])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("seed", range(10))
def test_tree_alone_equals_brute_force(
    seed: int,
    weighted: bool,
    price_every: int,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """From no incumbent nor multipliers the tree finds and proves the optimum itself;
    without the root's pricing of relaxed answers, by branching."""
    monkeypatch.setattr(branching, "PRICE_EVERY", price_every)
    rng = np.random.default_rng(seed)
    n_nodes, n_sites = 16, 2 + seed % 3
    minutes = random_graph_distances(n_nodes, density=0.15, seed=seed)
    # fractional weights take the pruning rule without the whole-unit step
    weights = rng.random(n_nodes) * 10 if weighted else rng.integers(1, 9, n_nodes).astype(float)
    cost = weights[:, None] * minutes
    nothing = np.zeros(n_nodes, dtype=np.bool_)
    with caplog.at_level(logging.INFO, logger="siting.locate.branching"):
        result = solve_by_branching(
            _dense_pairs(cost), n_sites, (nothing, nothing), (math.inf, nothing)
        )
    expected = _best(minutes, weights, n_sites)
    opened = result.values > 0.5
    assert result.status == "optimal"
    assert opened.sum() == n_sites
    assert result.objective == pytest.approx(expected)
    assert float(cost[:, opened].min(axis=1).sum()) == pytest.approx(expected)
    assert result.bound <= result.objective + 1e-9
    if price_every == 0:
        assert _nodes(caplog) > 1  # the answer came from branching, not from the root alone


@pytest.mark.parametrize("seed", range(10))
def test_tree_from_a_poor_incumbent_equals_brute_force(seed: int) -> None:
    """Started from the worst set, the tree still finds the optimum: pruning is not too eager."""
    rng = np.random.default_rng(100 + seed)
    minutes = random_graph_distances(18, density=0.12, seed=100 + seed)
    weights = rng.integers(1, 9, 18).astype(float)
    cost = weights[:, None] * minutes
    worst = np.zeros(18, dtype=np.bool_)
    worst[np.argsort(cost.sum(axis=0))[-3:]] = True
    nothing = np.zeros(18, dtype=np.bool_)
    result = solve_by_branching(
        _dense_pairs(cost), 3, (nothing, nothing), (float(cost[:, worst].min(axis=1).sum()), worst)
    )
    assert result.objective == pytest.approx(_best(minutes, weights, 3))
    assert result.status == "optimal"


@pytest.mark.parametrize("seed", range(30))
def test_tree_from_the_next_best_set_finds_the_best(seed: int) -> None:
    """Costs in small whole units, started from the next-best set: a prune, fixing or pair
    drop that is off by even a unit or two loses the optimum."""
    rng = np.random.default_rng(300 + seed)
    n_nodes, n_sites = 24, 3 + seed % 3
    minutes = np.ceil(random_graph_distances(n_nodes, density=0.1, seed=300 + seed) / 25)
    weights = rng.integers(1, 4, n_nodes).astype(float)
    cost = weights[:, None] * minutes
    sets = np.array(list(itertools.combinations(range(n_nodes), n_sites)))
    totals = cost[:, sets].min(axis=2).sum(axis=0)  # every set at once: rows x sets
    best = float(totals.min())
    start = np.zeros(n_nodes, dtype=np.bool_)
    start[sets[np.argmin(np.where(totals > best, totals, np.inf))]] = True
    nothing = np.zeros(n_nodes, dtype=np.bool_)
    incumbent = (float(cost[:, start].min(axis=1).sum()), start)
    result = solve_by_branching(_dense_pairs(cost), n_sites, (nothing, nothing), incumbent)
    assert result.objective == best
    assert float(cost[:, result.values > 0.5].min(axis=1).sum()) == best


@pytest.mark.parametrize("seed", range(8))
def test_required_and_forbidden_sites_equal_brute_force(seed: int) -> None:
    """Through solve(): fixed-open and forbidden sites start the tree fixed, optimum unchanged."""
    rng = np.random.default_rng(seed)
    minutes = random_graph_distances(15, density=0.15, seed=200 + seed)
    weights = rng.integers(1, 9, 15).astype(float)
    required, forbidden = {int(seed % 15)}, {int((seed + 4) % 15), int((seed + 9) % 15)}
    found = solve(
        ODMatrix.from_dense(minutes),
        problem="p-median",
        n_sites=4,
        weights=weights,
        required_sites=sorted(required),
        forbidden_sites=sorted(forbidden),
        formulation="branch",
    )
    assert found.objective == pytest.approx(_best(minutes, weights, 4, required, forbidden))
    assert required <= set(found.site_index.tolist())
    assert not forbidden & set(found.site_index.tolist())
    assert found.status == "optimal"


@pytest.mark.parametrize("seed", range(10))
def test_cut_off_matrices_equal_brute_force(seed: int) -> None:
    """Absent pairs and zero weights: nodes whose closed sites strand a row are dropped."""
    minutes, weights = brute_force.random_instance(seed, n_demand=14, n_sites=8)
    expected = _best(minutes, weights, 3)
    od = ODMatrix.from_dense(minutes)
    if math.isinf(expected):
        with pytest.raises(InfeasibleError):
            solve(od, problem="p-median", n_sites=3, weights=weights, formulation="branch")
        return
    found = solve(od, problem="p-median", n_sites=3, weights=weights, formulation="branch")
    assert found.objective == pytest.approx(expected)
    assert found.status == "optimal"


def test_auto_branches_for_few_sites_with_the_radius_optimum() -> None:
    """A graph whose pass leaves a gap and too many sets to enumerate: auto runs the tree."""
    od = ODMatrix.from_dense(random_graph_distances(400, seed=400))
    found = {
        kind: solve(od, problem="p-median", n_sites=5, formulation=kind)
        for kind in ("auto", "radius")
    }
    assert found["auto"].parameters["formulation"] == "branch"
    assert found["auto"].objective == pytest.approx(found["radius"].objective)
    assert found["auto"].status == "optimal"


def test_time_limit_returns_a_valid_gap() -> None:
    """A deadline already past stops the tree after its root: an answer and a bound below it."""
    minutes = random_graph_distances(16, density=0.15, seed=3)
    nothing = np.zeros(16, dtype=np.bool_)
    start = np.zeros(16, dtype=np.bool_)
    start[:3] = True
    cost = float(minutes[:, start].min(axis=1).sum())
    result = solve_by_branching(
        _dense_pairs(minutes), 3, (nothing, nothing), (cost, start), deadline=0.0
    )
    best = _best(minutes, np.ones(16), 3)
    assert result.status == "time limit"
    assert result.bound <= best <= result.objective <= cost
    assert result.gap == pytest.approx((result.objective - result.bound) / result.objective)


def test_branch_refuses_what_the_relaxation_cannot_hold() -> None:
    """Capacities, excluded sets and a binding budget keep their own paths."""
    minutes = random_graph_distances(12, density=0.2, seed=1)
    od = ODMatrix.from_dense(minutes)
    with pytest.raises(InputError, match="capacities"):
        solve(od, problem="p-median", n_sites=2, capacities=np.full(12, 5.0), formulation="branch")
    with pytest.raises(InputError, match="excluded"):
        solve(od, problem="p-median", n_sites=2, exclude=[[0, 1]], formulation="branch")
    with pytest.raises(InputError, match="budget"):
        solve(
            od,
            problem="p-median",
            n_sites=2,
            site_costs=np.arange(12.0),
            budget=5.0,
            formulation="branch",
        )


def _tree_over(cost: np.ndarray, n_sites: int, incumbent: tuple[float, np.ndarray]) -> _Tree:
    """A search state over every pair of a dense cost matrix, integer costs."""
    pairs = _dense_pairs(cost)
    upper, best_open = incumbent
    return _Tree(pairs, n_sites, upper, best_open.copy(), 0.0, True, None)


def _totals(cost: np.ndarray, n_sites: int) -> dict[tuple[int, ...], float]:
    """Cost of every set of `n_sites` columns."""
    sets = list(itertools.combinations(range(cost.shape[1]), n_sites))
    values = cost[:, np.array(sets)].min(axis=2).sum(axis=0)
    return dict(zip(sets, values.tolist(), strict=True))


@pytest.mark.parametrize("seed", range(20))
def test_node_bounds_fixings_and_dropped_pairs_keep_every_better_answer(seed: int) -> None:
    """At random nodes L is below every answer in the node; fixings and dropped pairs only
    rule out answers no cheaper than the pruning level."""
    rng = np.random.default_rng(500 + seed)
    n_nodes, n_sites = 20, 3 + seed % 2
    minutes = np.ceil(random_graph_distances(n_nodes, density=0.1, seed=500 + seed) / 20)
    cost = rng.integers(1, 4, n_nodes)[:, None] * minutes
    totals = _totals(cost, n_sites)
    ranked = sorted(totals.values())
    level_set = next(s for s, v in totals.items() if v == ranked[min(len(ranked) - 1, 40)])
    start = np.isin(np.arange(n_nodes), level_set)
    tree = _tree_over(cost, n_sites, (totals[level_set], start))
    state = np.zeros(n_nodes, dtype=np.int8)
    state[rng.choice(n_nodes, 3, replace=False)] = branching.CLOSED
    state[rng.choice(np.flatnonzero(state == 0), 1)] = branching.OPEN
    inside = {s: v for s, v in totals.items() if _in_node(s, state)}
    relaxed = branching._bound(tree, state.copy(), np.zeros(n_nodes), 200, -math.inf)
    assert relaxed.value <= min(inside.values()) + 1e-9
    level = tree.prune_at()
    better = {s: v for s, v in inside.items() if v < level}
    branching._fix_by_penalties(tree, relaxed)
    assert all(_in_node(s, relaxed.state) for s in better)
    branching._drop_pairs(tree, relaxed)
    for chosen, value in better.items():  # priced on the pairs left, each keeps its cost
        open_sites = np.isin(np.arange(n_nodes), chosen)
        kept = tree.pairs
        assert branching._set_cost(kept.indptr, kept.columns, kept.cost, open_sites) == value


def _in_node(chosen: tuple[int, ...], state: np.ndarray) -> bool:
    """Whether a set opens every open site of the node and no closed one."""
    opened = np.isin(np.arange(state.size), chosen)
    return bool(
        opened[state == branching.OPEN].all() and not opened[state == branching.CLOSED].any()
    )


def test_integer_costs_prune_only_what_cannot_be_a_unit_cheaper() -> None:
    """With whole-unit costs a bound a unit below the incumbent (less noise) is not pruned."""
    cost = np.array([[1.0, 2.0], [3.0, 1.0]])
    tree = _tree_over(cost, 1, (100.0, np.array([True, False])))
    assert 99.0 < tree.prune_at() < 99.5  # a bound of 99.5 shows nothing below 100
    tree.integral = False
    assert tree.prune_at() == pytest.approx(100.0, rel=1e-8)


@pytest.mark.parametrize("seed", range(6))
def test_steps_split_over_threads_reach_the_same_optimum(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every step's rows split into blocks (as at scale), the tree proves the same
    optimum as brute force."""
    monkeypatch.setattr(sorted_pairs, "PARALLEL_PAIRS", 0)
    rng = np.random.default_rng(700 + seed)
    minutes = random_graph_distances(16, density=0.15, seed=700 + seed)
    weights = rng.integers(1, 9, 16).astype(float)
    nothing = np.zeros(16, dtype=np.bool_)
    pairs = _dense_pairs(weights[:, None] * minutes)
    result = solve_by_branching(pairs, 3, (nothing, nothing), (math.inf, nothing))
    assert result.status == "optimal"
    assert result.objective == pytest.approx(_best(minutes, weights, 3))
    assert result.bound <= result.objective + 1e-9


def test_pricing_takes_only_a_cheaper_answer_and_lowers_the_stop_by_as_much() -> None:
    """Two rows, sites 0-2: costs by hand (row 0: 1, 4, 6; row 1: 5, 2, 3)."""
    cost = np.array([[1.0, 4.0, 6.0], [5.0, 2.0, 3.0]])
    pairs = _dense_pairs(cost)
    args = (pairs.indptr, pairs.columns, pairs.cost)
    incumbent, found = np.array([8.0, 7.5]), np.array([False, False, True])
    branching._price(*args, np.array([True, True, False]), incumbent, found)
    assert incumbent.tolist() == [3.0, 2.5]  # 1 + 2, lowered by 5 as the target was
    assert found.tolist() == [True, True, False]
    branching._price(*args, np.array([False, True, True]), incumbent, found)  # 4 + 2 = 6
    assert incumbent.tolist() == [3.0, 2.5]
    assert found.tolist() == [True, True, False]
    nothing = np.array([math.inf, math.inf])  # no incumbent yet: stop at the answer's cost
    branching._price(*args, np.array([False, False, True]), nothing, found)
    assert nothing.tolist() == [9.0, 9.0]
