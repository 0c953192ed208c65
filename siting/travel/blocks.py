"""Compute an OD matrix in sparse blocks: in this process, a process pool, or on Dask.

The smaller side of the matrix (usually the sites) is cut into chunks; one block holds the
travel times from one chunk to every point of the larger side, filtered by the cut-off and
stored sparse at once, so no dense n x m array is ever held. Blocks are independent and exact,
so the assembled matrix does not depend on the number of chunks or workers. Finished blocks
can go to an on-disk store instead of memory (`siting.travel.blockstore`), which a Dask
worker writes to itself.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from tqdm.auto import tqdm

from siting._core.errors import InputError
from siting.travel import routing
from siting.travel.savedgraph import SavedNetwork, load_saved_graph
from siting.travel.straightline import StraightLineModel

if TYPE_CHECKING:
    from siting.travel.phast import PhastEngine

logger = logging.getLogger(__name__)

Engine = Literal["phast", "cch", "dijkstra", "straight-line"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_LOCK = threading.Lock()  # RoutingKit's query buffers are per metric: one search at a time


@dataclass(frozen=True, eq=False)
class Side:
    """One side of the matrix: per point its network position (or coordinates) and access."""

    node: IntArray
    access_s: FloatArray
    lon: FloatArray
    lat: FloatArray

    @property
    def size(self) -> int:
        """Number of points."""
        return int(self.access_s.size)


@dataclass(frozen=True, eq=False)
class BlockProblem:
    """Everything a worker needs to compute blocks; shipped once per worker."""

    engine: Engine
    small: Side
    large: Side
    search_side: routing.Side
    limit_s: float
    graph: routing.ArrayGraph | None
    resolution_s: float
    topology: Mapping[str, bytes] | None
    straight_line: StraightLineModel | None
    saved_network: SavedNetwork | None = None
    phast: PhastEngine | None = None
    #: The matrix's rows are the large side: sweep blocks are then compressed by large-side
    #: point, so that joining them needs no transposition.
    large_is_rows: bool = False


@dataclass(frozen=True, eq=False)
class ShippedNetwork:
    """A network with no saved folder, scattered to each Dask worker once per matrix."""

    graph: routing.ArrayGraph
    topology: Mapping[str, bytes] | None


class BlockSink(Protocol):
    """Where finished blocks go instead of memory (`siting.travel.blockstore.BlockStore`)."""

    def write(self, block: Block) -> tuple[int, int, int]:
        """Keep `block`; return its bounds and its stored pairs."""


@dataclass(frozen=True, eq=False)
class Block:
    """Stored times (minutes) from a chunk of the small side, compressed by small-side point
    (or, `by_large`, by large-side point, columns numbered from the chunk's `start`)."""

    start: int
    indptr: npt.NDArray[np.int64]
    indices: npt.NDArray[np.int32]
    minutes: npt.NDArray[np.float32]
    by_large: bool = False


def chunk_bounds(n_small: int, n_large: int, *, chunk_size: int | None) -> list[tuple[int, int]]:
    """Cut the small side into chunks whose dense block stays within `routing.BLOCK_BYTES`."""
    if chunk_size is None:
        chunk_size = max(1, routing.BLOCK_BYTES // (8 * max(n_large, 1)))
    return [(start, min(start + chunk_size, n_small)) for start in range(0, n_small, chunk_size)]


def compute_block(problem: BlockProblem, bounds: tuple[int, int]) -> Block:
    """Compute one block: times from small-side points ``bounds`` to every large-side point."""
    start, stop = bounds
    if problem.engine == "phast":
        return _phast_block(problem, start, stop)
    seconds = _block_seconds(problem, start, stop)
    seconds += problem.small.access_s[start:stop, None]
    seconds += problem.large.access_s[None, :]
    keep = np.isfinite(seconds) & (seconds <= problem.limit_s)
    indptr = np.zeros(stop - start + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=indptr[1:])
    # column numbers by one masked gather: 4x faster than np.nonzero on a 2-D mask
    columns = np.broadcast_to(np.arange(seconds.shape[1], dtype=np.int32), seconds.shape)
    return Block(
        start=start,
        indptr=indptr,
        indices=columns[keep],
        minutes=(seconds[keep] / 60.0).astype(np.float32),
    )


def _phast_block(problem: BlockProblem, start: int, stop: int) -> Block:
    from siting.travel import block_rows  # late: numba is heavy to import

    assert problem.phast is not None
    small, large = problem.small, problem.large
    sources, source_of = np.unique(small.node[start:stop], return_inverse=True)
    targets, target_of = np.unique(large.node, return_inverse=True)
    units = problem.phast.distance_units(sources, targets, forward=problem.search_side == "forward")
    resolution_s, limit_s = problem.phast.resolution_s, problem.limit_s
    if problem.large_is_rows:
        rows = block_rows.sparse_rows(
            units, target_of, source_of, large.access_s, small.access_s[start:stop],
            rows_are_small=False, resolution_s=resolution_s, limit_s=limit_s,
            column_offset=start,
        )  # fmt: skip
    else:
        rows = block_rows.sparse_rows(
            units.T, source_of, target_of, small.access_s[start:stop], large.access_s,
            rows_are_small=True, resolution_s=resolution_s, limit_s=limit_s,
        )  # fmt: skip
    return Block(start, *rows, by_large=problem.large_is_rows)


def _block_seconds(problem: BlockProblem, start: int, stop: int) -> FloatArray:
    small, large = problem.small, problem.large
    if problem.engine == "straight-line":
        assert problem.straight_line is not None
        return problem.straight_line.seconds(
            small.lon[start:stop], small.lat[start:stop], large.lon, large.lat
        )
    # search each distinct node once: many grid cells snap to the same node
    sources, source_of = np.unique(small.node[start:stop], return_inverse=True)
    targets, target_of = np.unique(large.node, return_inverse=True)
    if problem.engine == "cch":
        own = getattr(_THREAD_METRIC, "metric", None)
        if own is not None:  # a worker thread with its own metric: no lock needed
            distinct = routing.cch_seconds(own, sources, targets, side=problem.search_side)
        else:
            engine = _engine(problem)
            with _LOCK:
                distinct = routing.cch_seconds(engine, sources, targets, side=problem.search_side)
    else:
        assert problem.graph is not None
        limit = problem.limit_s - float(small.access_s[start:stop].min(initial=0.0))
        distinct = routing.dijkstra_seconds(
            problem.graph,
            sources,
            targets,
            side=problem.search_side,
            limit_s=max(limit, 0.0),
            resolution_s=problem.resolution_s,
        )
    return distinct[source_of[:, None], target_of[None, :]]


def _engine(problem: BlockProblem) -> routing.CCHEngine:
    assert problem.graph is not None
    if problem.topology is not None:
        routing.install_topology(problem.graph.topology_hash, problem.topology)
    return routing.build_cch(problem.graph, resolution_s=problem.resolution_s)


def assemble(
    blocks: list[Block], *, n_small: int, n_large: int, small_is_rows: bool, workers: int = 1
) -> sp.csr_matrix:
    """Join blocks into one read-only CSR matrix of minutes (rows = origins).

    Empties `blocks` as it copies them, so that at most the blocks and one copy of the
    matrix are in memory at once (a matrix of 50 million pairs takes 400 MB). Blocks by
    large-side point are joined by `workers` threads.
    """
    blocks.sort(key=lambda block: block.start)
    if blocks and blocks[0].by_large:
        return _assemble_by_large(blocks, n_small=n_small, n_large=n_large, workers=workers)
    nnz = sum(int(block.indptr[-1]) for block in blocks)

    def drained() -> Iterator[Block]:
        while blocks:
            yield blocks.pop(0)  # each block is freed once copied

    return assemble_stream(
        drained(), nnz=nnz, n_small=n_small, n_large=n_large, small_is_rows=small_is_rows
    )


def assemble_stream(
    blocks: Iterable[Block], *, nnz: int, n_small: int, n_large: int, small_is_rows: bool
) -> sp.csr_matrix:
    """Join blocks given in order of their start, holding `nnz` pairs, into a read-only CSR.

    Only the block being copied and the result are in memory: blocks may come one at a
    time from disk (`siting.travel.blockstore`).
    """
    indptr = np.empty(n_small + 1, dtype=np.int64)
    indices = np.empty(nnz, dtype=np.int32)
    minutes = np.empty(nnz, dtype=np.float32)
    filled, row = 0, 0
    for block in blocks:
        count = int(block.indptr[-1])
        indptr[row : row + block.indptr.size - 1] = block.indptr[:-1] + filled
        indices[filled : filled + count] = block.indices
        minutes[filled : filled + count] = block.minutes
        filled, row = filled + count, row + block.indptr.size - 1
        del block
    if (filled, row) != (nnz, n_small):
        msg = f"blocks hold {filled} pairs over {row} points, expected {nnz} over {n_small}"
        raise ValueError(msg)
    indptr[-1] = filled
    if small_is_rows:
        matrix = sp.csr_matrix((minutes, indices, indptr), shape=(n_small, n_large))
    else:
        # compressed by column: CSC of (rows = large side); one conversion to CSR, whose
        # indices come out sorted
        by_column = sp.csc_matrix((minutes, indices, indptr), shape=(n_large, n_small))
        del minutes, indices, indptr
        matrix = by_column.tocsr()
        del by_column
    matrix.sort_indices()
    for array in (matrix.data, matrix.indices, matrix.indptr):
        array.flags.writeable = False
    return matrix


def _assemble_by_large(
    blocks: list[Block], *, n_small: int, n_large: int, workers: int
) -> sp.csr_matrix:
    from siting.travel import block_rows  # late: numba is heavy to import

    parts = [(block.indptr, block.indices, block.minutes) for block in blocks]
    blocks.clear()
    indptr, columns, minutes = block_rows.merge_blocks(parts, n_large, workers=workers)
    matrix = sp.csr_matrix((minutes, columns, indptr), shape=(n_large, n_small))
    matrix.has_sorted_indices = True  # each row's blocks come in column order
    for array in (matrix.data, matrix.indices, matrix.indptr):
        array.flags.writeable = False
    return matrix


def run_blocks(
    problem: BlockProblem,
    bounds: list[tuple[int, int]],
    *,
    workers: int,
    dask: Any,
    progress: bool | None,
    store: BlockSink | None = None,
) -> list[Block]:
    """Compute every block here, in `workers` threads or processes, or on a Dask cluster.

    The CCH runs in threads: RoutingKit releases the GIL during a search, and each thread
    gets its own metric (query buffers are per metric), so nothing is pickled or copied.
    Processes would send every block back through a pipe (400 MB for 50 million pairs),
    which cost more than the search itself (issue 3's measurements). scipy's Dijkstra runs
    in processes. With a `store`, each block is written to it as it finishes (on Dask by
    the worker that computed it) and none is returned.
    """
    bar = tqdm(total=len(bounds), desc="OD blocks", unit="block", disable=_no_bar(progress))
    try:
        if dask is not None:
            results = _on_dask(problem, bounds, dask=dask, workers=workers, store=store)
        elif workers > 1 and len(bounds) > 1 and problem.engine == "phast":
            results = _sweeps_in_threads(problem, bounds, workers=workers)
        elif workers > 1 and len(bounds) > 1 and problem.engine == "cch":
            results = _in_threads(problem, bounds, workers=workers)
        elif workers > 1 and len(bounds) > 1:
            results = _in_processes(problem, bounds, workers=workers)
        else:
            results = (compute_block(problem, bound) for bound in bounds)
        return _kept(results, store, tick=bar.update)
    finally:
        bar.close()


def _kept(
    results: Iterator[Block | tuple[int, int, int]],
    store: BlockSink | None,
    *,
    tick: Callable[[int], object],
) -> list[Block]:
    """Blocks to return: all of them, or none once each is in the store."""
    kept = []
    for result in results:
        if isinstance(result, Block):
            if store is None:
                kept.append(result)
            else:
                store.write(result)
        tick(1)
    return kept


def _no_bar(progress: bool | None) -> bool | None:
    # None lets tqdm decide: off when stderr is not a terminal
    return None if progress is None else not progress


def chunk_size_for(n_small: int, n_large: int, *, workers: int, engine: Engine) -> int:
    """Points per block: within the memory budget, and enough blocks to keep workers busy.

    A CCH block pays one pass over all large-side points whatever its size, so it gets one
    block per worker: four per worker made 2 threads 7x slower than one on 2,000 x 200.
    Dijkstra costs the same per source in any block; there several blocks per worker keep
    both busy to the end (7 blocks on 2 workers leave one idle for a seventh of the run).
    """
    budget = max(1, routing.BLOCK_BYTES // (8 * max(n_large, 1)))
    if engine == "phast":
        # whole batches of sweeps (a part batch costs a whole sweep), as evenly as they go
        # over the workers
        from siting.travel.phast import BATCH

        batches = -(-n_small // BATCH)
        per_block = min(max(1, budget // BATCH), -(-batches // max(workers, 1)))
        return per_block * BATCH
    if workers <= 1:
        return budget
    per_worker = 1 if engine == "cch" else 4
    return max(1, min(budget, -(-n_small // (per_worker * workers))))


_THREAD_METRIC = threading.local()


def _in_threads(
    problem: BlockProblem,
    bounds: list[tuple[int, int]],
    *,
    workers: int,
) -> Iterator[Block]:
    shared = _engine(problem)

    def give_metric() -> None:
        _THREAD_METRIC.metric = routing.metric_copy(shared, side=problem.search_side)

    with ThreadPoolExecutor(max_workers=min(workers, len(bounds)), initializer=give_metric) as pool:
        yield from pool.map(lambda bound: compute_block(problem, bound), bounds)


def _sweeps_in_threads(
    problem: BlockProblem,
    bounds: list[tuple[int, int]],
    *,
    workers: int,
) -> Iterator[Block]:
    # the compiled sweeps release the GIL and share only read-only arrays
    with ThreadPoolExecutor(max_workers=min(workers, len(bounds))) as pool:
        yield from pool.map(lambda bound: compute_block(problem, bound), bounds)


_WORKER_PROBLEM: list[BlockProblem] = []


def _set_worker_problem(problem: BlockProblem) -> None:
    _WORKER_PROBLEM[:] = [problem]


def _worker_block(bounds: tuple[int, int]) -> Block:
    return compute_block(_WORKER_PROBLEM[0], bounds)


def _in_processes(
    problem: BlockProblem,
    bounds: list[tuple[int, int]],
    *,
    workers: int,
) -> Iterator[Block]:
    # fork shares the built hierarchy copy-on-write; with other threads alive fork is unsafe,
    # so fall back to a fork server (the problem then carries the topology files)
    method = "fork" if threading.active_count() == 1 else "forkserver"
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(
        max_workers=min(workers, len(bounds)),
        mp_context=context,
        initializer=_set_worker_problem,
        initargs=(problem,),
    ) as pool:
        yield from pool.map(_worker_block, bounds)


def _on_dask(
    problem: BlockProblem,
    bounds: list[tuple[int, int]],
    *,
    dask: Any,
    workers: int,
    store: BlockSink | None,
) -> Iterator[Block | tuple[int, int, int]]:
    """Blocks computed on Dask: the problem goes to each worker once, tasks carry bounds.

    The network reaches a worker as its saved folder's path (loaded once per worker
    process, memory-mapped, see `_worker_graph`) or, without a folder, scattered once per
    matrix. With a store the workers write the blocks and send back only receipts, so no
    block crosses the network to this process.
    """
    # distributed is imported only when asked for (it is heavy) and typed as Any (it has
    # no complete annotations)
    distributed: Any = importlib.import_module("distributed")
    client, owned = _dask_client(distributed, dask, workers)
    try:
        light, network = _for_workers(problem)
        shared = client.scatter(light, broadcast=True)
        if isinstance(network, ShippedNetwork):
            network = client.scatter(network, broadcast=True)
        futures = [
            client.submit(_dask_block, shared, network, bound, store, pure=False)
            for bound in bounds
        ]
        for future in distributed.as_completed(futures):
            yield future.result()
            future.release()  # a block held by its future would stay in the worker's memory
    finally:
        for resource in owned:
            resource.close()


def _dask_client(distributed: Any, dask: Any, workers: int) -> tuple[Any, list[Any]]:
    """The client to use, and what this call started and must close."""
    if isinstance(dask, distributed.Client):
        return dask, []
    if isinstance(dask, str) and dask != "local":
        try:
            client = distributed.Client(dask)
        except OSError as error:  # includes the connection's timeout
            msg = f"dask: cannot reach the Dask scheduler at {dask!r} ({error})"
            raise InputError(msg) from error
        return client, [client]
    cluster = distributed.LocalCluster(
        n_workers=max(workers, 1),
        threads_per_worker=1,
        processes=True,
        # a free port: the default 8787 may be held by another cluster on the machine
        dashboard_address=":0",
    )
    client = distributed.Client(cluster)
    return client, [client, cluster]


def _for_workers(
    problem: BlockProblem,
) -> tuple[BlockProblem, SavedNetwork | ShippedNetwork | None]:
    """The problem without its network, and how the network reaches the workers."""
    if problem.graph is None:
        return problem, None
    # the sweeps' hierarchy is rebuilt by each worker from the network, and kept there
    light = replace(problem, graph=None, topology=None, phast=None)
    if problem.saved_network is not None:
        return light, problem.saved_network
    return light, ShippedNetwork(problem.graph, problem.topology)


def _dask_block(
    light: BlockProblem,
    network: SavedNetwork | ShippedNetwork | None,
    bounds: tuple[int, int],
    store: BlockSink | None,
) -> Block | tuple[int, int, int]:
    """One block on a Dask worker: written to the store if there is one, else returned."""
    problem = light if network is None else replace(light, graph=_worker_graph(network))
    if problem.engine == "phast" and problem.phast is None:
        assert problem.graph is not None
        sweeps = routing.build_phast(problem.graph, resolution_s=problem.resolution_s)
        problem = replace(problem, phast=sweeps)
    block = compute_block(problem, bounds)
    return block if store is None else store.write(block)


_WORKER_GRAPHS: dict[str, routing.ArrayGraph] = {}


def _worker_graph(network: SavedNetwork | ShippedNetwork) -> routing.ArrayGraph:
    """The network in this worker process: a saved one is loaded once and then kept."""
    if isinstance(network, ShippedNetwork):
        if network.topology is not None:
            routing.install_topology(network.graph.topology_hash, network.topology)
        return network.graph
    graph = _WORKER_GRAPHS.get(network.key)
    if graph is None:
        graph, _, saved = load_saved_graph(Path(network.path))
        if saved.key != network.key:
            msg = f"{network.path}: the saved network changed while the OD matrix was computed"
            raise InputError(msg)
        _WORKER_GRAPHS.clear()  # one network per worker at a time, as the engine caches
        _WORKER_GRAPHS[network.key] = graph
    return graph
