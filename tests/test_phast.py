"""Tests of the sweep engine: its hierarchy, its distances against Dijkstra and RoutingKit."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
import scipy.sparse as sp
from scipy.sparse import csgraph

from siting.travel import block_rows, hierarchy, ordering, phast, routing

INF = hierarchy.INF_UNITS


def _random_network(
    n_nodes: int, n_arcs: int, seed: int
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.uint32]]:
    """Random one-way arcs with integer times 0..50 (zeros, parallels and dead ends too)."""
    rng = np.random.default_rng(seed)
    tail = rng.integers(0, n_nodes, n_arcs).astype(np.int32)
    head = rng.integers(0, n_nodes, n_arcs).astype(np.int32)
    keep = tail != head
    units = rng.integers(0, 51, n_arcs).astype(np.uint32)
    return tail[keep], head[keep], units[keep]


def _dijkstra_units(
    n_nodes: int,
    tail: npt.NDArray[np.int32],
    head: npt.NDArray[np.int32],
    units: npt.NDArray[np.uint32],
    sources: npt.NDArray[np.int64],
    targets: npt.NDArray[np.int64],
    *,
    forward: bool,
) -> npt.NDArray[np.uint32]:
    """scipy's Dijkstra in the same integer units (parallel arcs: the fastest)."""
    ends = (tail, head) if forward else (head, tail)
    # csr sums duplicates, so keep the fastest per pair first; +1 keeps zero-time arcs stored
    order = np.lexsort((units, ends[1], ends[0]))
    pair = ends[0][order].astype(np.int64) * n_nodes + ends[1][order]
    first = np.r_[True, pair[1:] != pair[:-1]]
    chosen = order[first]
    matrix = sp.csr_matrix(
        (units[chosen] + 1.0, (ends[0][chosen], ends[1][chosen])), shape=(n_nodes, n_nodes)
    )
    matrix.data -= 1.0
    times = csgraph.dijkstra(matrix, directed=True, indices=sources)[:, targets]
    return np.where(np.isinf(times), INF, times).astype(np.uint32)


def test_metis_order_is_a_permutation() -> None:
    """The nested dissection order holds every node once, isolated nodes included."""
    tail, head, _ = _random_network(250, 500, seed=10)
    order = ordering.nested_dissection_order(260, tail, head)
    np.testing.assert_array_equal(np.sort(order), np.arange(260))


def test_hierarchy_is_chordal_and_holds_every_arc() -> None:
    """A node's higher neighbours, less its parent, are all its parent's higher neighbours."""
    tail, head, _ = _random_network(300, 900, seed=1)
    order = np.random.default_rng(2).permutation(300)
    built = hierarchy.build_hierarchy(order, tail, head)
    neighbours = [set(built.head[built.first[x] : built.first[x + 1]]) for x in range(300)]
    for x, above in enumerate(neighbours):
        assert all(y > x for y in above)
        if above:
            assert built.parent[x] == min(above)
            assert above - {min(above)} <= neighbours[min(above)]
        else:
            assert built.parent[x] == -1
    for u, v in zip(built.rank[tail], built.rank[head], strict=True):
        assert max(u, v) in neighbours[min(u, v)]


@pytest.mark.parametrize("seed", [3, 4, 5])
@pytest.mark.parametrize("forward", [True, False])
def test_sweeps_equal_dijkstra_in_units(seed: int, forward: bool) -> None:
    """Any node order gives exact times; unreachable pairs are INF; more sources than a batch."""
    n_nodes = 400
    tail, head, units = _random_network(n_nodes, 1000, seed)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_nodes)
    engine = phast.build_engine(order, tail, head, units, weights_hash="test", resolution_s=1.0)
    sources = rng.choice(n_nodes, phast.BATCH * 2 + 5, replace=False)
    targets = rng.choice(n_nodes, 150, replace=False)
    got = engine.distance_units(sources, targets, forward=forward).T
    expected = _dijkstra_units(n_nodes, tail, head, units, sources, targets, forward=forward)
    assert (expected == INF).any()
    np.testing.assert_array_equal(got, expected)


def test_sweeps_equal_routingkit() -> None:
    """On a grid with one-way streets, on METIS's order and on RoutingKit's: the same units
    as RoutingKit's CCH query."""
    side = 30
    index = np.arange(side * side).reshape(side, side)
    tail = np.concatenate([index[:, :-1].ravel(), index[:-1, :].ravel()])
    head = np.concatenate([index[:, 1:].ravel(), index[1:, :].ravel()])
    rng = np.random.default_rng(6)
    two_way = rng.random(tail.size) < 0.8  # the rest one-way
    tail, head = np.r_[tail, head[two_way]], np.r_[head, tail[two_way]]
    seconds = rng.uniform(1.0, 30.0, tail.size)
    lon, lat = 15.0 + (index % side).ravel() * 1e-3, 60.0 + (index // side).ravel() * 1e-3
    graph = routing._array_graph(
        np.arange(side * side, dtype=np.int64), lon, lat, tail, head, seconds
    )
    sweeps = routing.build_phast(graph)  # METIS's order
    cch = routing.build_cch(graph)
    routing._PHAST.clear()
    routing._HIERARCHIES.clear()
    on_routingkit_order = routing.build_phast(graph)  # the topology is in memory now
    sources = rng.choice(side * side, 40, replace=False)
    targets = rng.choice(side * side, 300, replace=False)
    assert not np.array_equal(sweeps.hierarchy.rank, on_routingkit_order.hierarchy.rank)
    for forward in (True, False):
        side_name: routing.Side = "forward" if forward else "backward"
        expected = cch.distance_units(sources, targets, side=side_name)
        for engine in (sweeps, on_routingkit_order):
            got = engine.distance_units(sources, targets, forward=forward).T
            np.testing.assert_array_equal(got, expected)


def test_sparse_rows_equal_numpy() -> None:
    """Minutes, columns and cut-off of the compiled rows equal the plain numpy form, by
    small-side point and (transposed, columns offset) by large-side point."""
    rng = np.random.default_rng(8)
    units = rng.integers(0, 60_000, (5, 40)).astype(np.uint32)
    units[units % 7 == 0] = INF
    source_of, target_of = rng.integers(0, 5, 12), rng.integers(0, 40, 90)
    source_access, target_access = rng.uniform(0, 30, 12), rng.uniform(0, 30, 90)
    cut = {"resolution_s": 0.1, "limit_s": 3000.0}
    by_small = block_rows.sparse_rows(
        units, source_of, target_of, source_access, target_access, rows_are_small=True, **cut
    )
    by_large = block_rows.sparse_rows(
        units.T, target_of, source_of, target_access, source_access, rows_are_small=False,
        column_offset=100, **cut,
    )  # fmt: skip
    seconds = units.astype(np.float64) * 0.1
    seconds[units >= INF] = np.inf
    seconds = seconds[source_of[:, None], target_of[None, :]]
    seconds += source_access[:, None]
    seconds += target_access[None, :]
    keep = np.isfinite(seconds) & (seconds <= 3000.0)
    assert 0 < keep.sum() < keep.size
    for (indptr, columns, minutes), mask, values, offset in (
        (by_small, keep, seconds, 0),
        (by_large, keep.T, seconds.T, 100),
    ):
        np.testing.assert_array_equal(indptr, np.r_[0, np.cumsum(mask.sum(axis=1))])
        np.testing.assert_array_equal(columns, np.nonzero(mask)[1] + offset)
        np.testing.assert_array_equal(minutes, (values[mask] / 60.0).astype(np.float32))


@pytest.mark.parametrize("workers", [1, 2, 3, 50])
def test_merge_blocks_joins_rows_in_column_order(workers: int) -> None:
    """CSR blocks over the same rows join into the CSR of their side-by-side matrix, whatever
    the threads copying ranges of rows (more threads than rows included)."""
    rng = np.random.default_rng(9)
    left = sp.random(30, 7, density=0.3, format="csr", random_state=rng, dtype=np.float32)
    middle = sp.random(30, 4, density=0.0, format="csr", random_state=rng, dtype=np.float32)
    right = sp.random(30, 5, density=0.3, format="csr", random_state=rng, dtype=np.float32)
    parts = [
        (left.indptr.astype(np.int64), left.indices.astype(np.int32), left.data),
        (middle.indptr.astype(np.int64), middle.indices.astype(np.int32) + 7, middle.data),
        (right.indptr.astype(np.int64), right.indices.astype(np.int32) + 11, right.data),
    ]
    indptr, columns, minutes = block_rows.merge_blocks(parts, 30, workers=workers)
    expected = sp.hstack([left, middle, right], format="csr")
    expected.sort_indices()
    assert parts == []
    np.testing.assert_array_equal(indptr, expected.indptr)
    np.testing.assert_array_equal(columns, expected.indices)
    np.testing.assert_array_equal(minutes, expected.data)


def test_row_ranges_cover_the_rows_and_balance_the_pairs() -> None:
    """Ranges of rows for the join's threads: disjoint, in order, covering every row, each
    holding about its share of the pairs (rows of 10, 0, 0, 10, 10, 10 pairs in 2 parts)."""
    indptr = np.array([0, 10, 10, 10, 20, 30, 40])
    assert block_rows._row_ranges(indptr, 2) == [(0, 4), (4, 6)]
    assert block_rows._row_ranges(indptr, 1) == [(0, 6)]
    assert block_rows._row_ranges(np.zeros(1, dtype=np.int64), 4) == [(0, 0)]
