"""Dominance reductions of the covering check and the p-center that uses them, against
enumeration."""

from __future__ import annotations

import itertools
import math

import brute_force
import numpy as np
import pytest
import scipy.sparse as sp
from random_graphs import random_graph_distances

from siting import ODMatrix, solve
from siting.locate.cover_reduction import disjoint_rows, reduce_cover


def _fewest_covering(matrix: np.ndarray) -> float:
    """Least number of columns meeting every row (inf if a row is empty), by enumeration."""
    for count in range(matrix.shape[1] + 1):
        for chosen in itertools.combinations(range(matrix.shape[1]), count):
            if matrix[:, list(chosen)].any(axis=1).all():
                return count
    return math.inf


@pytest.mark.parametrize("seed", range(30))
def test_reduced_cover_needs_as_many_sites_as_the_full_one(seed: int) -> None:
    rng = np.random.default_rng(seed)
    matrix = rng.random((12, 9)) < rng.uniform(0.2, 0.6)
    matrix[np.arange(12), rng.integers(0, 9, 12)] = True  # no empty row
    reduced, kept = reduce_cover(sp.csr_matrix(matrix.astype(float)), plain=True)
    assert reduced.shape[1] == kept.sum()
    assert _fewest_covering(reduced.toarray() > 0) == _fewest_covering(matrix)
    rows_only, all_columns = reduce_cover(sp.csr_matrix(matrix.astype(float)), plain=False)
    assert all_columns.all()
    assert _fewest_covering(rows_only.toarray() > 0) == _fewest_covering(matrix)


@pytest.mark.parametrize("seed", range(30))
def test_disjoint_rows_never_exceed_the_fewest_covering_sites(seed: int) -> None:
    rng = np.random.default_rng(seed)
    matrix = rng.random((12, 9)) < rng.uniform(0.1, 0.4)
    matrix[np.arange(12), rng.integers(0, 9, 12)] = True
    assert 1 <= disjoint_rows(sp.csr_matrix(matrix.astype(float))) <= _fewest_covering(matrix)


def test_disjoint_rows_count_rows_needing_a_site_each() -> None:
    # rows 0, 2 and 4 share no site (so 3 are needed); row 1 shares with 0, row 3 with 4
    matrix = np.array(
        [[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 1, 0, 1, 1], [0, 0, 0, 0, 1]],
        dtype=float,
    )
    assert disjoint_rows(sp.csr_matrix(matrix)) == 3 == _fewest_covering(matrix > 0)


def test_dominated_rows_and_sites_leave() -> None:
    # row 1 holds row 0's sites and more: implied; site 2 covers a subset of site 0's rows
    matrix = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [1, 0, 1]], dtype=float)
    reduced, kept = reduce_cover(sp.csr_matrix(matrix), plain=True)
    assert kept.tolist() == [True, True, False]
    assert sorted(map(tuple, reduced.toarray().astype(int))) == [(0, 1), (1, 0)]


def _center_enumerated(
    minutes: np.ndarray, weights: np.ndarray, p: int, required: set[int], forbidden: set[int]
) -> float:
    rows = (weights > 0) & np.isfinite(minutes).any(axis=1)
    best = math.inf
    for chosen in brute_force.subsets(minutes.shape[1], p, required, forbidden):
        best = min(best, float(minutes[rows][:, list(chosen)].min(axis=1).max()))
    return best


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize(
    ("required", "forbidden"), [(set(), set()), ({2}, set()), (set(), {0, 5}), ({1}, {3})]
)
def test_p_center_with_site_rules_equals_enumeration(
    seed: int, required: set[int], forbidden: set[int]
) -> None:
    minutes, weights = brute_force.random_instance(seed, n_demand=14, n_sites=8)
    minutes[np.isinf(minutes)] = 75.0
    expected = _center_enumerated(minutes, weights, 3, required, forbidden)
    solution = solve(
        ODMatrix.from_dense(minutes),
        problem="p-center",
        n_sites=3,
        weights=weights,
        required_sites=sorted(required),
        forbidden_sites=sorted(forbidden),
    )
    assert solution.objective == pytest.approx(expected)
    assert len(solution.site_ids) == 3
    assert required <= set(solution.site_ids.tolist())
    assert not forbidden & set(solution.site_ids.tolist())
    worst = minutes[weights > 0][:, solution.site_index].min(axis=1).max()
    assert worst == pytest.approx(expected)


@pytest.mark.parametrize(("n_nodes", "n_sites", "seed"), [(50, 3, 0), (60, 3, 1)])
def test_p_center_on_random_graphs_equals_enumeration(
    n_nodes: int, n_sites: int, seed: int
) -> None:
    distances = random_graph_distances(n_nodes, density=0.05, seed=seed)
    best = min(
        distances[:, list(chosen)].min(axis=1).max()
        for chosen in itertools.combinations(range(n_nodes), n_sites)
    )
    solution = solve(ODMatrix.from_dense(distances), problem="p-center", n_sites=n_sites)
    assert solution.objective == best
    assert distances[:, solution.site_index].min(axis=1).max() == best
    assert solution.status == "optimal"


def test_p_center_with_and_without_column_dominance_agree() -> None:
    """A budget that cannot bind turns column dominance off: the same radius comes out."""
    od = ODMatrix.from_dense(random_graph_distances(150, density=0.03, seed=7))
    plain = solve(od, problem="p-center", n_sites=6)
    rows_only = solve(od, problem="p-center", n_sites=6, budget=1000.0)
    assert plain.objective == rows_only.objective
    assert {plain.status, rows_only.status} == {"optimal"}
