"""OD blocks on disk: a stored matrix equals the in-memory one bit for bit, an interrupted
run (an exception, a killed process) resumes from its finished blocks, a store of other
inputs is refused, and Dask workers load a saved network once from its folder."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from siting._core.errors import InputError
from siting.travel import blocks, routing
from siting.travel.blockstore import IDS, MANIFEST
from siting.travel.odmatrix import ODMatrix, RoadNetwork, load_block_store, travel_times
from siting.travel.options import ComputeOptions
from siting.travel.prepared import load_road_network, save_road_network

Points = tuple[list[int], list[float], list[float]]


@pytest.fixture(scope="module")
def saved_roads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Kotka's drive network (220 nodes), saved prepared."""
    folder = tmp_path_factory.mktemp("roads") / "kotka"
    return save_road_network(load_road_network("pyrosm:test.osm.pbf", cache=False), folder)


@pytest.fixture
def roads(saved_roads: Path) -> Iterator[RoadNetwork]:
    """The saved network reloaded, with no engine left in memory by another test."""
    routing._TOPOLOGIES.clear()
    routing._ENGINES.clear()
    yield load_road_network(saved_roads)
    routing._TOPOLOGIES.clear()
    routing._ENGINES.clear()


def _points(network: RoadNetwork, step: int, offset: int = 0) -> Points:
    arrays = network.arrays
    index = np.arange(offset, arrays.n_nodes, step)
    return (index.tolist(), arrays.lon[index].tolist(), arrays.lat[index].tolist())


def _od(network: RoadNetwork, compute: ComputeOptions, *, sites_step: int = 7) -> ODMatrix:
    """Every node to every seventh node (more origins than sites), 6-minute cut-off."""
    origins, sites = _points(network, 1), _points(network, sites_step, offset=3)
    return travel_times(network, origins, sites, max_minutes=6.0, compute=compute)


def _assert_identical(first: ODMatrix, second: ODMatrix) -> None:
    np.testing.assert_array_equal(first.minutes.indptr, second.minutes.indptr)
    np.testing.assert_array_equal(first.minutes.indices, second.minutes.indices)
    # to the last bit: the float32 minutes compared as integers
    np.testing.assert_array_equal(
        first.minutes.data.view(np.uint32), second.minutes.data.view(np.uint32)
    )
    np.testing.assert_array_equal(first.origin_ids, second.origin_ids)
    np.testing.assert_array_equal(first.destination_ids, second.destination_ids)


@pytest.mark.parametrize("sites_step", [7, 1])
@pytest.mark.parametrize("engine", ["cch", "dijkstra"])
def test_stored_matrix_equals_in_memory(
    roads: RoadNetwork, tmp_path: Path, engine: str, sites_step: int
) -> None:
    """Blocks through the store give the in-memory matrix; one file per block is left."""
    fresh = _od(roads, ComputeOptions(engine=engine), sites_step=sites_step)  # type: ignore[arg-type]
    compute = ComputeOptions(engine=engine, chunk_size=4, store_dir=tmp_path / "od")  # type: ignore[arg-type]
    stored = _od(roads, compute, sites_step=sites_step)
    _assert_identical(fresh, stored)
    assert fresh.summary.stored_pairs > 100  # a matrix with something in it
    n_small = min(fresh.shape)
    assert len(list((tmp_path / "od").glob("block-*.npz"))) == -(-n_small // 4)
    _assert_identical(fresh, load_block_store(tmp_path / "od"))


def test_resume_after_an_error_computes_only_the_missing_blocks(
    roads: RoadNetwork, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that fails after 3 blocks is finished by the next one, which computes the rest."""
    fresh = _od(roads, ComputeOptions(engine="cch"))
    compute = ComputeOptions(engine="cch", chunk_size=4, store_dir=tmp_path / "od")
    real = blocks.compute_block
    calls: list[tuple[int, int]] = []

    def fail_after_three(problem: blocks.BlockProblem, bounds: tuple[int, int]) -> blocks.Block:
        if len(calls) == 3:
            raise RuntimeError("interrupted")
        calls.append(bounds)
        return real(problem, bounds)

    monkeypatch.setattr(blocks, "compute_block", fail_after_three)
    with pytest.raises(RuntimeError, match="interrupted"):
        _od(roads, compute)
    assert len(list((tmp_path / "od").glob("block-*.npz"))) == 3
    with pytest.raises(InputError, match="5 of 8 OD blocks are not computed"):
        load_block_store(tmp_path / "od")
    monkeypatch.setattr(blocks, "compute_block", real)
    counted: list[tuple[int, int]] = []
    monkeypatch.setattr(blocks, "compute_block", lambda p, b: counted.append(b) or real(p, b))
    resumed = _od(roads, compute)
    assert sorted(counted) == [(12, 16), (16, 20), (20, 24), (24, 28), (28, 31)]
    assert set(counted).isdisjoint(calls)
    _assert_identical(fresh, resumed)


_KILLED_RUN = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    from siting.travel import blockstore
    from siting.travel.odmatrix import travel_times
    from siting.travel.options import ComputeOptions
    from siting.travel.prepared import load_road_network

    write = blockstore.BlockStore.write
    written = []

    def write_then_die(self, block):
        receipt = write(self, block)
        written.append(receipt)
        if len(written) == 2:
            os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer or a lost node would
        return receipt

    blockstore.BlockStore.write = write_then_die
    network = load_road_network(sys.argv[1])
    arrays = network.arrays
    every = np.arange(arrays.n_nodes)
    some = np.arange(3, arrays.n_nodes, 7)
    points = [(i.tolist(), arrays.lon[i].tolist(), arrays.lat[i].tolist()) for i in (every, some)]
    compute = ComputeOptions(engine="cch", workers=2, chunk_size=4, store_dir=sys.argv[2])
    travel_times(network, *points, max_minutes=6.0, compute=compute)
    """
)


def test_resume_after_the_process_is_killed(roads: RoadNetwork, tmp_path: Path) -> None:
    """A process killed (SIGKILL) after 2 blocks leaves 2 whole blocks; a resume finishes."""
    store = tmp_path / "od"
    child = subprocess.run(
        [sys.executable, "-c", _KILLED_RUN, roads.saved.path, str(store)],  # type: ignore[union-attr]
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -9, child.stderr
    assert len(list(store.glob("block-*.npz"))) == 2
    assert not [p for p in store.iterdir() if p.name.startswith(".")]  # no temporary left
    resumed = _od(roads, ComputeOptions(engine="cch", chunk_size=4, store_dir=store))
    _assert_identical(_od(roads, ComputeOptions(engine="cch")), resumed)


def test_store_of_other_inputs_is_refused(roads: RoadNetwork, tmp_path: Path) -> None:
    """Resuming with another cut-off names the store and says it is for other inputs."""
    store = tmp_path / "od"
    _od(roads, ComputeOptions(chunk_size=4, store_dir=store))
    origins, sites = _points(roads, 1), _points(roads, 7, offset=3)
    compute = ComputeOptions(chunk_size=4, store_dir=store)
    with pytest.raises(InputError, match=f"{store}: an OD block store for other inputs"):
        travel_times(roads, origins, sites, max_minutes=7.0, compute=compute)


def test_folder_that_is_not_a_store_is_refused(roads: RoadNetwork, tmp_path: Path) -> None:
    """A non-empty folder without a store's manifest is not written into."""
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not an OD block store"):
        _od(roads, ComputeOptions(store_dir=folder))
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


def test_store_files(roads: RoadNetwork, tmp_path: Path) -> None:
    """The manifest records the inputs hash and bounds; ids and blocks are plain arrays."""
    store = tmp_path / "od"
    od = _od(roads, ComputeOptions(chunk_size=10, store_dir=store))
    manifest = (store / MANIFEST).read_text()
    assert '"inputs_hash"' in manifest
    assert '"bounds"' in manifest
    with np.load(store / IDS, allow_pickle=False) as ids:
        np.testing.assert_array_equal(ids["origin_ids"], od.origin_ids)
    with np.load(store / "block-0-10.npz", allow_pickle=False) as block:
        # the first 10 sites' column of the matrix (the sites are the small side)
        assert block["indptr"].size == 11
        assert int(block["indptr"][-1]) == od.minutes[:, :10].nnz


def _worker_networks() -> dict[str, int]:
    return {key: id(graph) for key, graph in blocks._WORKER_GRAPHS.items()}


@pytest.mark.slow
def test_dask_local_cluster_loads_the_saved_network_once(
    roads: RoadNetwork, tmp_path: Path
) -> None:
    """On a LocalCluster of 2 processes the matrix equals the threads' one exactly, each
    worker loads the saved network from its folder once (keyed by its manifest), and
    workers write the blocks into the store."""
    distributed: Any = pytest.importorskip("distributed")
    threads = _od(roads, ComputeOptions(engine="cch", workers=2))
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    try:
        with distributed.Client(cluster) as client:
            compute = ComputeOptions(engine="cch", dask=client, workers=2, chunk_size=3)
            on_dask = _od(roads, compute)
            _assert_identical(threads, on_dask)
            loaded = client.run(_worker_networks)
            assert roads.saved is not None
            assert all(list(found) == [roads.saved.key] for found in loaded.values())
            store = tmp_path / "od"
            compute = ComputeOptions(engine="cch", dask=client, chunk_size=5, store_dir=store)
            stored = _od(roads, compute)
            _assert_identical(threads, stored)
            assert client.run(_worker_networks) == loaded  # kept, not loaded again
            # the sweeps: each worker builds their hierarchy from the network it loaded
            compute = ComputeOptions(engine="phast", dask=client, workers=2, chunk_size=3)
            _assert_identical(threads, _od(roads, compute))
            assert client.run(_worker_networks) == loaded
    finally:
        cluster.close()
