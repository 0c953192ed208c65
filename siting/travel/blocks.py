"""Compute an OD matrix in sparse blocks: in this process, a process pool, or on Dask.

The smaller side of the matrix (usually the sites) is cut into chunks; one block holds the
travel times from one chunk to every point of the larger side, filtered by the cut-off and
stored sparse at once, so no dense n x m array is ever held. Blocks are independent and exact,
so the assembled matrix does not depend on the number of chunks or workers.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from tqdm.auto import tqdm

from siting.travel import routing
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
    phast: PhastEngine | None = None
    #: The matrix's rows are the large side: sweep blocks are then compressed by large-side
    #: point, so that joining them needs no transposition.
    large_is_rows: bool = False


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
            problem.graph, sources, targets, side=problem.search_side, limit_s=max(limit, 0.0)
        )
    return distinct[source_of[:, None], target_of[None, :]]


def _engine(problem: BlockProblem) -> routing.CCHEngine:
    assert problem.graph is not None
    if problem.topology is not None:
        routing.install_topology(problem.graph.topology_hash, problem.topology)
    return routing.build_cch(problem.graph, resolution_s=problem.resolution_s)


def assemble(
    blocks: list[Block], *, n_small: int, n_large: int, small_is_rows: bool
) -> sp.csr_matrix:
    """Join blocks into one read-only CSR matrix of minutes (rows = origins).

    Empties `blocks` as it copies them, so that at most the blocks and one copy of the
    matrix are in memory at once (a matrix of 50 million pairs takes 400 MB).
    """
    blocks.sort(key=lambda block: block.start)
    if blocks and blocks[0].by_large:
        return _assemble_by_large(blocks, n_small=n_small, n_large=n_large)
    nnz = sum(int(block.indptr[-1]) for block in blocks)
    indptr = np.empty(n_small + 1, dtype=np.int64)
    indices = np.empty(nnz, dtype=np.int32)
    minutes = np.empty(nnz, dtype=np.float32)
    filled, row = 0, 0
    while blocks:
        block = blocks.pop(0)  # each block is freed once copied
        count = int(block.indptr[-1])
        indptr[row : row + block.indptr.size - 1] = block.indptr[:-1] + filled
        indices[filled : filled + count] = block.indices
        minutes[filled : filled + count] = block.minutes
        filled, row = filled + count, row + block.indptr.size - 1
        del block
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


def _assemble_by_large(blocks: list[Block], *, n_small: int, n_large: int) -> sp.csr_matrix:
    from siting.travel import block_rows  # late: numba is heavy to import

    parts = [(block.indptr, block.indices, block.minutes) for block in blocks]
    blocks.clear()
    indptr, columns, minutes = block_rows.merge_blocks(parts, n_large)
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
) -> list[Block]:
    """Compute every block here, in `workers` threads or processes, or on a Dask cluster.

    The CCH runs in threads: RoutingKit releases the GIL during a search, and each thread
    gets its own metric (query buffers are per metric), so nothing is pickled or copied.
    Processes would send every block back through a pipe (400 MB for 50 million pairs),
    which cost more than the search itself (issue 3's measurements). scipy's Dijkstra runs
    in processes.
    """
    bar = tqdm(total=len(bounds), desc="OD blocks", unit="block", disable=_no_bar(progress))
    try:
        if dask is not None:
            return list(_on_dask(problem, bounds, dask=dask, workers=workers, tick=bar.update))
        if workers > 1 and len(bounds) > 1 and problem.engine == "phast":
            return list(_sweeps_in_threads(problem, bounds, workers=workers, tick=bar.update))
        if workers > 1 and len(bounds) > 1 and problem.engine == "cch":
            return list(_in_threads(problem, bounds, workers=workers, tick=bar.update))
        if workers > 1 and len(bounds) > 1:
            return list(_in_processes(problem, bounds, workers=workers, tick=bar.update))
        return [_ticked(compute_block(problem, bound), bar.update) for bound in bounds]
    finally:
        bar.close()


def _no_bar(progress: bool | None) -> bool | None:
    # None lets tqdm decide: off when stderr is not a terminal
    return None if progress is None else not progress


def _ticked(block: Block, tick: Callable[[int], object]) -> Block:
    tick(1)
    return block


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
    tick: Callable[[int], object],
) -> Iterator[Block]:
    shared = _engine(problem)

    def give_metric() -> None:
        _THREAD_METRIC.metric = routing.metric_copy(shared, side=problem.search_side)

    with ThreadPoolExecutor(max_workers=min(workers, len(bounds)), initializer=give_metric) as pool:
        for block in pool.map(lambda bound: compute_block(problem, bound), bounds):
            tick(1)
            yield block


def _sweeps_in_threads(
    problem: BlockProblem,
    bounds: list[tuple[int, int]],
    *,
    workers: int,
    tick: Callable[[int], object],
) -> Iterator[Block]:
    # the compiled sweeps release the GIL and share only read-only arrays
    with ThreadPoolExecutor(max_workers=min(workers, len(bounds))) as pool:
        for block in pool.map(lambda bound: compute_block(problem, bound), bounds):
            tick(1)
            yield block


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
    tick: Callable[[int], object],
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
        for block in pool.map(_worker_block, bounds):
            tick(1)
            yield block


def _on_dask(
    problem: BlockProblem,
    bounds: list[tuple[int, int]],
    *,
    dask: Any,
    workers: int,
    tick: Callable[[int], object],
) -> Iterator[Block]:
    # distributed is imported only when asked for (it is heavy) and typed as Any (it has
    # no complete annotations)
    distributed: Any = importlib.import_module("distributed")
    client_type = distributed.Client
    cluster = None
    if isinstance(dask, client_type):
        client = dask
    elif isinstance(dask, str) and dask != "local":
        client = distributed.Client(dask)
    else:
        cluster = distributed.LocalCluster(
            n_workers=max(workers, 1),
            threads_per_worker=1,
            processes=True,
            # a free port: the default 8787 may be held by another cluster on the machine
            dashboard_address=":0",
        )
        client = distributed.Client(cluster)
    try:
        shared = client.scatter(problem, broadcast=True)
        futures = [client.submit(compute_block, shared, bound, pure=False) for bound in bounds]
        blocks = []
        for future in distributed.as_completed(futures):
            blocks.append(future.result())
            tick(1)
        yield from blocks
    finally:
        if client is not dask:
            client.close()
        if cluster is not None:
            cluster.close()
