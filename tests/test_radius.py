"""The radius formulation of the p-median against enumeration and against the assignment MIP."""

from __future__ import annotations

import itertools
import math

import brute_force
import numpy as np
import pytest
from random_graphs import random_graph_distances

from siting import ODMatrix, solve
from siting._core.errors import InfeasibleError, InputError
from siting.locate.enumeration import best_site_set
from siting.locate.instance import prepare_instance
from siting.locate.interchange import AssignmentPairs
from siting.locate.mip import MipOptions
from siting.locate.radius import solve_radius


def _radius_optimum(
    minutes: np.ndarray, weights: np.ndarray, n_sites: int, **rules: object
) -> float:
    """solve_radius straight on every stored pair of the weighted rows (no Lagrangian pass)."""
    od = ODMatrix.from_dense(minutes)
    instance = prepare_instance(od, weights=weights, **rules)  # type: ignore[arg-type]
    rows = (weights > 0) & np.isfinite(minutes).any(axis=1)
    allowed = instance.allowed
    sub = np.where(allowed[None, :], minutes[rows], np.inf)
    keep = np.isfinite(sub)
    indptr = np.r_[0, np.cumsum(keep.sum(axis=1))]
    local = np.nonzero(keep)[0]
    cost = weights[rows][local] * sub[keep]
    pairs = AssignmentPairs(local, np.nonzero(keep)[1], cost, indptr, minutes.shape[1])
    result = solve_radius(instance, pairs, n_sites, MipOptions())
    if result.status == "infeasible":
        return math.inf
    assert result.status == "optimal"
    opened = result.values[: minutes.shape[1]] > 0.5
    assert opened.sum() == n_sites
    # the objective is the answer's true cost, not only the model's
    true = float(weights[rows] @ minutes[rows][:, opened].min(axis=1))
    assert result.objective == pytest.approx(true)
    return result.objective


def _enumerated(
    minutes: np.ndarray,
    weights: np.ndarray,
    n_sites: int,
    *,
    required: set[int] = frozenset(),  # type: ignore[assignment]
    forbidden: set[int] = frozenset(),  # type: ignore[assignment]
    costs: np.ndarray | None = None,
    budget: float = math.inf,
    excluded: tuple[frozenset[int], ...] = (),
) -> float:
    rows = (weights > 0) & np.isfinite(minutes).any(axis=1)
    costs = np.ones(minutes.shape[1]) if costs is None else costs
    best = math.inf
    for chosen in brute_force.subsets(minutes.shape[1], n_sites, set(required), set(forbidden)):
        if costs[list(chosen)].sum() > budget or frozenset(chosen) in excluded:
            continue
        nearest = minutes[rows][:, list(chosen)].min(axis=1)
        best = min(best, float(weights[rows] @ nearest))
    return best


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("n_sites", [1, 2, 3, 4])
def test_radius_model_equals_enumeration(seed: int, n_sites: int) -> None:
    """Cut-off matrices (absent pairs) and zero weights: some sets leave rows unserved."""
    minutes, weights = brute_force.random_instance(seed, n_demand=14, n_sites=8)
    expected = _enumerated(minutes, weights, n_sites)
    assert _radius_optimum(minutes, weights, n_sites) == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(8))
def test_radius_model_with_site_rules_equals_enumeration(seed: int) -> None:
    minutes, weights = brute_force.random_instance(seed, n_demand=14, n_sites=8)
    minutes[:, 0] = np.where(np.isinf(minutes[:, 0]), 70.0, minutes[:, 0])
    costs = np.array([1.0, 2, 3, 4, 1, 2, 3, 4])
    cases = [
        ({"required_sites": [5]}, {"required": {5}}),
        ({"forbidden_sites": [0, 2]}, {"forbidden": {0, 2}}),
        ({"site_costs": costs, "budget": 6.0}, {"costs": costs, "budget": 6.0}),
    ]
    for rules, brute in cases:
        expected = _enumerated(minutes, weights, 3, **brute)  # type: ignore[arg-type]
        if math.isinf(expected):
            with pytest.raises(InfeasibleError):
                solve(
                    ODMatrix.from_dense(minutes),
                    problem="p-median",
                    n_sites=3,
                    weights=weights,
                    formulation="radius",
                    **rules,
                )
            continue
        assert _radius_optimum(minutes, weights, 3, **rules) == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(6))
def test_radius_model_keeps_out_excluded_sets(seed: int) -> None:
    minutes, weights = brute_force.random_instance(seed, n_demand=14, n_sites=8)
    minutes[np.isinf(minutes)] = 80.0
    best_sets = sorted(
        itertools.combinations(range(8), 3),
        key=lambda chosen: float(weights @ minutes[:, list(chosen)].min(axis=1)),
    )
    excluded = (frozenset(best_sets[0]), frozenset(best_sets[1]))
    expected = _enumerated(minutes, weights, 3, excluded=excluded)
    found = _radius_optimum(minutes, weights, 3, exclude=[list(s) for s in excluded])
    assert found == pytest.approx(expected)


@pytest.mark.parametrize(
    ("n_nodes", "n_sites", "seed"), [(60, 3, 0), (60, 4, 1), (80, 5, 2), (100, 4, 0), (120, 4, 0)]
)
def test_formulations_agree_on_random_graphs(n_nodes: int, n_sites: int, seed: int) -> None:
    """Graphs of the OR-Library shape: both MIPs prove the same optimum."""
    od = ODMatrix.from_dense(random_graph_distances(n_nodes, density=0.05, seed=seed))
    weights = np.random.default_rng(seed).integers(1, 20, size=n_nodes)
    found = {
        kind: solve(od, problem="p-median", n_sites=n_sites, weights=weights, formulation=kind)
        for kind in ("radius", "assignment", "auto")
    }
    assert found["auto"].objective == pytest.approx(found["assignment"].objective)
    assert found["auto"].parameters["formulation"] in ("enumeration", "branch")  # few sites
    assert found["radius"].objective == pytest.approx(found["assignment"].objective)
    distances = od.to_dense()
    for solution in found.values():  # the objective is what the chosen sites cost
        cost = weights @ distances[:, solution.site_index].min(axis=1)
        assert solution.objective == pytest.approx(cost)
    assert {s.status for s in found.values()} == {"optimal"}
    assert found["radius"].parameters["formulation"] == "radius"  # the MIP ran


def test_radius_refuses_capacities_and_unknown_names() -> None:
    od = ODMatrix.from_dense(np.array([[1.0, 2.0], [3.0, 1.0]]))
    with pytest.raises(InputError, match="formulation 'radius' has no capacities"):
        solve(od, problem="p-median", n_sites=1, capacities=[5, 5], formulation="radius")
    with pytest.raises(InputError, match="formulation must be one of auto, assignment, radius"):
        solve(od, problem="p-median", n_sites=1, formulation="levels")


@pytest.mark.parametrize("seed", range(10))
def test_enumeration_equals_brute_force_with_fixed_and_excluded_sets(seed: int) -> None:
    minutes, weights = brute_force.random_instance(seed, n_demand=14, n_sites=8)
    weighted = weights > 0
    cost = weights[weighted, None] * minutes[weighted]  # inf stays inf: weights are > 0
    fixed_open = np.zeros(8, dtype=bool)
    fixed_open[seed % 8] = True
    free = ~fixed_open
    free[(seed + 3) % 8] = False  # one site closed
    best_sets = sorted(
        (frozenset(c) | {seed % 8} for c in itertools.combinations(np.flatnonzero(free), 2)),
        key=lambda chosen: float(cost[:, sorted(chosen)].min(axis=1).sum()),
    )
    excluded = (np.isin(np.arange(8), sorted(best_sets[0])),)
    expected = math.inf
    for chosen in best_sets[1:]:
        expected = min(expected, float(cost[:, sorted(chosen)].min(axis=1).sum()))
    base = cost[:, fixed_open].min(axis=1)
    result = best_site_set(cost[:, free], base, fixed_open, free, 2, excluded)
    if math.isinf(expected):
        assert result.status == "infeasible"
        return
    assert result.objective == pytest.approx(expected)
    opened = result.values > 0.5
    assert opened.sum() == 3
    assert opened[seed % 8]
    assert not (opened == excluded[0]).all()
