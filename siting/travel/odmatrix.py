"""Compute travel-time OD matrices between demand points and sites, sparse and cut off."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast

import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from siting._core.atomic import atomic_path
from siting._core.errors import InputError
from siting.roads.graph_build import RoadArrays
from siting.roads.snapping import NodeIndex
from siting.travel import blocks, blockstore, routing
from siting.travel.options import ComputeOptions, EngineChoice, SnapRule
from siting.travel.points import Points, as_points
from siting.travel.savedgraph import SavedNetwork
from siting.travel.straightline import StraightLineModel

logger = logging.getLogger(__name__)

Direction = Literal["to_sites", "from_sites"]
ROAD_MODEL = "road network"
STRAIGHT_MODEL = "straight-line fallback"
_FORMAT = "siting-odmatrix-1"


@dataclass(frozen=True)
class ODSummary:
    """Counts a planner checks before trusting a matrix.

    Attributes
    ----------
    n_origins, n_destinations
        Matrix shape.
    stored_pairs
        Pairs with a travel time (reachable, within the cut-off if one was given).
    unreachable_pairs
        Pairs without one: no route, or none within the cut-off.
    origins_without_destination
        Origins with no destination at all (within the cut-off).
    """

    n_origins: int
    n_destinations: int
    stored_pairs: int
    unreachable_pairs: int
    origins_without_destination: int


@dataclass(frozen=True)
class NearestDestinations:
    """The k nearest destinations per origin, nearest first.

    Attributes
    ----------
    index
        (n_origins, k) column positions; -1 where an origin has fewer than k destinations.
    minutes
        (n_origins, k) travel times; inf where `index` is -1.
    """

    index: npt.NDArray[np.int64]
    minutes: npt.NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class ODMatrix:
    """Travel times in minutes between origins (rows) and destinations (columns).

    A stored entry is a reachable pair, also when its time is exactly zero (an office in the
    demand cell): use `has_pair`, never ``minutes[i, j] != 0``. Absent entries are unreachable
    or beyond the cut-off. The arrays are read-only.

    Attributes
    ----------
    minutes
        Sparse CSR matrix, float32 minutes, indices sorted.
    origin_ids, destination_ids
        Ids of rows and columns.
    metadata
        Model ("road network" or "straight-line fallback"), engine, network hash, direction,
        cut-off and the other options that produced the matrix.
    """

    minutes: sp.csr_matrix
    origin_ids: npt.NDArray[Any]
    destination_ids: npt.NDArray[Any]
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        matrix = _owned_csr(self.minutes)
        if matrix.shape != (len(self.origin_ids), len(self.destination_ids)):
            msg = (
                f"minutes: shape {matrix.shape} does not match {len(self.origin_ids)} origin "
                f"ids and {len(self.destination_ids)} destination ids"
            )
            raise InputError(msg)
        for array in (matrix.data, matrix.indices, matrix.indptr):
            array.flags.writeable = False
        origin_ids = _frozen_ids(self.origin_ids, "origin_ids")
        destination_ids = _frozen_ids(self.destination_ids, "destination_ids")
        object.__setattr__(self, "minutes", matrix)
        object.__setattr__(self, "origin_ids", origin_ids)
        object.__setattr__(self, "destination_ids", destination_ids)
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    @property
    def shape(self) -> tuple[int, int]:
        """(number of origins, number of destinations)."""
        return (int(self.minutes.shape[0]), int(self.minutes.shape[1]))

    @cached_property
    def summary(self) -> ODSummary:
        """Stored and unreachable pair counts, origins with no destination."""
        n_origins, n_destinations = self.shape
        stored = int(self.minutes.nnz)
        return ODSummary(
            n_origins=n_origins,
            n_destinations=n_destinations,
            stored_pairs=stored,
            unreachable_pairs=n_origins * n_destinations - stored,
            origins_without_destination=int((np.diff(self.minutes.indptr) == 0).sum()),
        )

    def has_pair(self, origin: int, destination: int) -> bool:
        """Whether the pair at row `origin`, column `destination` is reachable (stored)."""
        start, stop = self.minutes.indptr[origin], self.minutes.indptr[origin + 1]
        return bool(np.isin(destination, self.minutes.indices[start:stop]))

    def to_dense(self) -> npt.NDArray[np.float32]:
        """Return a dense (n_origins, n_destinations) array with inf for absent pairs."""
        dense = np.full(self.shape, np.inf, dtype=np.float32)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.minutes.indptr))
        dense[rows, self.minutes.indices] = self.minutes.data
        return dense

    def nearest(self, k: int = 1) -> NearestDestinations:
        """Return the `k` nearest destinations of every origin (ties: lower column first)."""
        if not (isinstance(k, int) and k >= 1):
            msg = f"k must be a positive integer, got {k!r}"
            raise InputError(msg)
        counts = np.diff(self.minutes.indptr)
        rows = np.repeat(np.arange(self.shape[0]), counts)
        order = np.lexsort((self.minutes.indices, self.minutes.data, rows))
        rank = np.arange(order.size) - np.repeat(self.minutes.indptr[:-1], counts)
        keep = order[rank < k]
        index = np.full((self.shape[0], k), -1, dtype=np.int64)
        minutes = np.full((self.shape[0], k), np.inf, dtype=np.float32)
        kept_rank = rank[rank < k]
        index[rows[keep], kept_rank] = self.minutes.indices[keep]
        minutes[rows[keep], kept_rank] = self.minutes.data[keep]
        return NearestDestinations(index=index, minutes=minutes)

    def within(self, max_minutes: float) -> ODMatrix:
        """Return the matrix cut off at `max_minutes` (a stricter cut-off than computed)."""
        _check_max_minutes(max_minutes)
        matrix = self.minutes.copy()
        keep = matrix.data <= max_minutes
        matrix = _select_entries(matrix, keep)
        metadata = {**self.metadata, "max_minutes": float(max_minutes)}
        return ODMatrix(matrix, self.origin_ids, self.destination_ids, metadata)

    def save(self, path: str | os.PathLike[str], *, compress: bool = True) -> Path:
        """Write the matrix to ``.npz`` atomically (temp file, then rename).

        ``compress=False`` writes about 1.6 times the bytes some 90 times faster (measured on
        20 million pairs: 0.1 s against 9.3 s); the matrix caches take it, since at national
        size (130 million pairs) compressing cost about a minute of every first run.
        """
        target = Path(path)
        header = {
            "format": _FORMAT,
            "content_hash": _content_hash(self.minutes, self.origin_ids, self.destination_ids),
            "metadata": dict(self.metadata),
        }
        write = np.savez_compressed if compress else np.savez
        # straight into the temporary file: no second copy of the matrix in memory
        with atomic_path(target) as temporary, temporary.open("wb") as stream:
            write(
                stream,
                indptr=self.minutes.indptr.astype(np.int64),
                indices=self.minutes.indices.astype(np.int32),
                data=self.minutes.data,
                origin_ids=self.origin_ids,
                destination_ids=self.destination_ids,
                header=np.array(json.dumps(header, default=str)),
            )
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ODMatrix:
        """Read a matrix written by `save`, checking format and content hash."""
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            header = json.loads(str(arrays["header"]))
        except (OSError, ValueError, KeyError) as error:
            msg = f"{path}: not a saved OD matrix ({error})"
            raise InputError(msg) from error
        if header.get("format") != _FORMAT:
            msg = f"{path}: format {header.get('format')!r} is not {_FORMAT!r}"
            raise InputError(msg)
        shape = (arrays["origin_ids"].size, arrays["destination_ids"].size)
        matrix = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape)
        if (
            _content_hash(matrix, arrays["origin_ids"], arrays["destination_ids"])
            != header["content_hash"]
        ):
            msg = f"{path}: content hash does not match; the file is damaged"
            raise InputError(msg)
        return ODMatrix(matrix, arrays["origin_ids"], arrays["destination_ids"], header["metadata"])

    @classmethod
    def from_dense(
        cls,
        minutes: npt.ArrayLike,
        *,
        origin_ids: npt.ArrayLike | None = None,
        destination_ids: npt.ArrayLike | None = None,
        max_minutes: float | None = None,
    ) -> ODMatrix:
        """Build an `ODMatrix` from a dense array of minutes, as spopt's ``from_cost_matrix``.

        Parameters
        ----------
        minutes
            (n_origins, n_destinations) travel times; inf or NaN mark unreachable pairs, and zero
            is a valid (reachable) time.
        origin_ids, destination_ids
            Row and column ids; default 0..n-1.
        max_minutes
            Optional cut-off: longer times are dropped.

        Raises
        ------
        InputError
            If `minutes` is not 2-D, holds negative times, or ids do not match its shape.
        """
        _check_max_minutes(max_minutes)
        dense = np.asarray(minutes, dtype=np.float64)
        if dense.ndim != 2:
            msg = f"minutes must be a 2-D array, got shape {dense.shape}"
            raise InputError(msg)
        if (dense < 0).any():
            msg = f"minutes must be >= 0, got {dense[dense < 0][0]!r}"
            raise InputError(msg)
        keep = np.isfinite(dense) & (dense <= (math.inf if max_minutes is None else max_minutes))
        indptr = np.zeros(dense.shape[0] + 1, dtype=np.int64)
        np.cumsum(keep.sum(axis=1), out=indptr[1:])
        matrix = sp.csr_matrix(
            (dense[keep].astype(np.float32), np.nonzero(keep)[1], indptr), shape=dense.shape
        )
        rows = np.arange(dense.shape[0]) if origin_ids is None else origin_ids
        cols = np.arange(dense.shape[1]) if destination_ids is None else destination_ids
        metadata = {"model": "user matrix", "max_minutes": max_minutes}
        return ODMatrix(matrix, np.asarray(rows), np.asarray(cols), metadata)

    @classmethod
    def from_table(
        cls,
        table: pd.DataFrame | str | os.PathLike[str],
        *,
        origin: str = "origin",
        destination: str = "destination",
        minutes: str = "minutes",
    ) -> ODMatrix:
        """Build an `ODMatrix` from a long table: one row per reachable pair.

        Parameters
        ----------
        table
            DataFrame or CSV path with columns `origin`, `destination`, `minutes`.
        origin, destination, minutes
            Column names.

        Raises
        ------
        InputError
            If a column is missing, a time is missing or negative, or a pair repeats.
        """
        name = "table" if isinstance(table, pd.DataFrame) else str(table)
        frame = table if isinstance(table, pd.DataFrame) else _read_table(table)
        for column in (origin, destination, minutes):
            if column not in frame.columns:
                msg = f"{name}: column {column!r} not found; columns are {list(frame.columns)}"
                raise InputError(msg)
        values = pd.to_numeric(frame[minutes], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            msg = f"{name}: {minutes} must be a number >= 0, got {frame[minutes].iloc[row]!r}"
            raise InputError(msg + f" (row {row})")
        rows, origin_ids = pd.factorize(frame[origin], sort=False)
        cols, destination_ids = pd.factorize(frame[destination], sort=False)
        if pd.Series(rows * len(destination_ids) + cols).duplicated().any():
            msg = f"{name}: a pair of {origin!r} and {destination!r} appears more than once"
            raise InputError(msg)
        shape = (len(origin_ids), len(destination_ids))
        matrix = sp.coo_matrix((values.astype(np.float32), (rows, cols)), shape=shape).tocsr()
        metadata = {"model": "user table", "source": name}
        return ODMatrix(matrix, np.asarray(origin_ids), np.asarray(destination_ids), metadata)


def _owned_csr(minutes: Any) -> sp.csr_matrix:
    """A float32 CSR with sorted indices that nobody else can write to.

    Arrays already read-only (the engine's own output) are shared rather than copied: a
    copy of a matrix of 50 million pairs would cost another 400 MB at the peak.
    """
    if (
        isinstance(minutes, sp.csr_matrix)
        and minutes.dtype == np.float32
        and minutes.has_sorted_indices
        and not any(a.flags.writeable for a in (minutes.data, minutes.indices, minutes.indptr))
    ):
        return sp.csr_matrix(minutes, copy=False)
    matrix = sp.csr_matrix(minutes, dtype=np.float32, copy=True)
    matrix.sort_indices()
    return matrix


def _frozen_ids(ids: npt.ArrayLike, argument: str) -> npt.NDArray[Any]:
    array = np.array(ids)
    if array.ndim != 1:
        msg = f"{argument} must be one-dimensional, got shape {array.shape}"
        raise InputError(msg)
    if array.dtype.kind == "O":
        array = array.astype(str)
    if len(np.unique(array)) != array.size:
        values, counts = np.unique(array, return_counts=True)
        msg = f"{argument} must be unique; {values[counts > 1][0]!r} repeats"
        raise InputError(msg)
    array.flags.writeable = False
    return array


def row_pointers(rows: npt.NDArray[np.int64], n_rows: int) -> npt.NDArray[np.int64]:
    """CSR row pointers (``indptr``) of entries sorted by row, whose rows are `rows`.

    >>> row_pointers(np.array([0, 0, 2]), 4).tolist()
    [0, 2, 2, 3, 3]
    """
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return indptr


def _select_entries(matrix: sp.csr_matrix, keep: npt.NDArray[np.bool_]) -> sp.csr_matrix:
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))[keep]
    indptr = row_pointers(rows, matrix.shape[0])
    return sp.csr_matrix((matrix.data[keep], matrix.indices[keep], indptr), shape=matrix.shape)


def _check_max_minutes(max_minutes: float | None) -> None:
    if max_minutes is None:
        return
    if isinstance(max_minutes, bool) or not isinstance(max_minutes, int | float):
        msg = f"max_minutes must be a number > 0, got {max_minutes!r}"
        raise InputError(msg)
    if not (max_minutes > 0) or math.isnan(max_minutes):
        msg = f"max_minutes must be > 0, got {max_minutes!r}"
        raise InputError(msg)


def _read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as error:
        msg = f"{path}: cannot read the table ({error})"
        raise InputError(msg) from error


def _content_hash(matrix: sp.csr_matrix, *ids: npt.NDArray[Any]) -> str:
    digest = hashlib.sha256()
    for array in (matrix.indptr.astype(np.int64), matrix.indices.astype(np.int64), matrix.data):
        digest.update(np.ascontiguousarray(array).tobytes())
    for array in ids:
        digest.update(json.dumps(array.tolist()).encode())
    return digest.hexdigest()


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A drive network prepared for repeated OD searches: its array form is built once.

    Prepare again after changing travel times; the contraction hierarchy's node ordering is
    reused (only re-customised) as long as the topology is the same. It holds no reference
    to the networkx graph, which a caller may free: it takes many times the memory of the
    arrays.

    Attributes
    ----------
    arrays
        The engine's arrays (memory-mapped when reloaded by `load_road_network`).
    build_report
        What the network's build kept and dropped (`siting.load_network`'s report), if known.
    build_options
        The options its travel times were built with (`siting.roads.network.build_options`),
        if known: set by `load_road_network` and kept in a saved network.
    saved
        The folder it was reloaded from (`load_road_network`), if any: Dask workers load it
        from there instead of receiving the arrays.
    """

    arrays: routing.ArrayGraph
    build_report: Mapping[str, Any] = field(default_factory=dict)
    build_options: Mapping[str, Any] = field(default_factory=dict)
    saved: SavedNetwork | None = None

    @cached_property
    def node_index(self) -> NodeIndex:
        """The nodes' k-d tree for snapping, built on first use and then kept."""
        arrays = self.arrays
        return NodeIndex(arrays.node_id, arrays.lon, arrays.lat, nodes_crs="EPSG:4326")


_SNAP = SnapRule()
_COMPUTE = ComputeOptions()


def prepare_network(
    graph: nx.MultiDiGraph | RoadArrays, *, weight: str = "travel_time"
) -> RoadNetwork:
    """Flatten `graph` once for `travel_times` (see `routing.array_graph`).

    `graph` is a networkx graph (its edge attribute `weight` in seconds) or the
    `RoadArrays` of `siting.roads.network.load_road_arrays`, which give the same arrays
    without networkx (`weight` is then not used).
    """
    if isinstance(graph, RoadArrays):
        return RoadNetwork(routing.array_graph_from_roads(graph), dict(graph.build_report))
    report = graph.graph.get("build_report")
    return RoadNetwork(
        routing.array_graph(graph, weight=weight), report if isinstance(report, dict) else {}
    )


def _prepared(
    network: nx.MultiDiGraph | RoadArrays | RoadNetwork | None,
) -> RoadNetwork | None:
    if isinstance(network, nx.MultiDiGraph | RoadArrays):
        return prepare_network(network)
    return network


def travel_times(
    network: nx.MultiDiGraph | RoadArrays | RoadNetwork | None,
    origins: Any,
    destinations: Any,
    *,
    max_minutes: float | None = None,
    direction: Direction = "to_sites",
    straight_line: StraightLineModel | None = None,
    snap: SnapRule = _SNAP,
    compute: ComputeOptions = _COMPUTE,
    id_columns: tuple[str | None, str | None] = (None, None),
    crs: Any = "EPSG:4326",
) -> ODMatrix:
    """Compute travel times between origins (demand) and destinations (sites).

    Parameters
    ----------
    network
        Drive network (osmnx-style, edge ``travel_time`` in seconds), its `RoadArrays`, a
        `RoadNetwork` from `prepare_network` or `load_road_network`, or None for the
        straight-line fallback model.
    origins, destinations
        GeoDataFrames or GeoSeries of points (any CRS), or ``(ids, x, y)`` in `crs`.
    max_minutes
        Cut-off: longer pairs are not stored. None stores every reachable pair.
    direction
        ``"to_sites"``: trips from each origin to each destination; ``"from_sites"``: trips
        from each destination to each origin (a mobile office, home visits). Rows are always
        origins.
    straight_line
        Parameters of the fallback model (used when `network` is None).
    snap
        How points join the roads (`SnapRule`: access speed, farthest snap).
    compute
        Engine, workers, Dask, blocks, cache and progress (`ComputeOptions`).
    id_columns
        Id columns of GeoDataFrame origins and destinations (default
        ``demand_id``/``site_id``/``id``/index).
    crs
        CRS of plain ``(ids, x, y)`` inputs.

    Returns
    -------
    ODMatrix
        Minutes (float32, sparse), ids, summary and metadata (model, engine, network hash).

    Raises
    ------
    InputError
        If an option is invalid, a point has no coordinates or snaps farther than
        `max_snap_m`, or the network lacks travel times.
    """
    _check_options(max_minutes, direction)
    origin_points = as_points(origins, argument="origins", id_column=id_columns[0], crs=crs)
    site_points = as_points(destinations, argument="destinations", id_column=id_columns[1], crs=crs)
    road = _prepared(network)
    options: dict[str, Any] = {
        "max_minutes": max_minutes,
        "direction": direction,
        "access_speed_kph": snap.access_speed_kph,
        "max_snap_m": snap.max_snap_m,
        "resolution_s": compute.resolution_s,
        "straight_line": repr(straight_line or StraightLineModel()) if road is None else None,
    }
    cache_path = _cache_path(compute.cache_dir, road, origin_points, site_points, options)
    if cache_path is not None and cache_path.exists():
        logger.info("OD matrix: reusing %s", cache_path)
        return ODMatrix.load(cache_path)
    started = time.perf_counter()
    store, inputs_hash = None, ""
    if compute.store_dir is not None:
        inputs_hash = _inputs_hash(road, origin_points, site_points, options)
        store = blockstore.open_store(compute.store_dir, inputs_hash=inputs_hash)
        if store is not None and store.engine in ("phast", "cch", "dijkstra"):
            # keep the finished blocks' engine: another one may round the last bit otherwise
            compute = replace(compute, engine=cast(EngineChoice, store.engine))
    problem, metadata, probed = _build_problem(
        road,
        origin_points,
        site_points,
        options,
        compute=compute,
        straight_line=straight_line or StraightLineModel(),
    )
    metadata = {**metadata, **options}
    ids = (origin_points.ids, site_points.ids)
    if store is None and compute.store_dir is not None:
        store = _new_store(problem, compute, inputs_hash, metadata=metadata, ids=ids)
    if store is not None:
        matrix = _through_store(problem, store, compute)
    else:
        computed = _computed_blocks(problem, compute, probed)
        matrix = blocks.assemble(
            computed,
            n_small=problem.small.size,
            n_large=problem.large.size,
            small_is_rows=origin_points.size < site_points.size,
            workers=compute.workers if compute.dask is None else 1,
        )
    metadata["seconds"] = round(time.perf_counter() - started, 3)
    od = ODMatrix(matrix, origin_points.ids, site_points.ids, metadata)
    _log_matrix(od)
    if cache_path is not None:
        od.save(cache_path, compress=False)
    return od


def _computed_blocks(
    problem: blocks.BlockProblem, compute: ComputeOptions, probed: Probed | None
) -> list[blocks.Block]:
    """Every block of the matrix in memory; the engine probe's points are not searched again."""
    bounds = _block_bounds(problem, compute)
    if probed is not None:  # the probe covered the first points: (0, done)
        done = probed.stop
        bounds = [(max(start, done), stop) for start, stop in bounds if stop > done]
    computed = blocks.run_blocks(
        problem, bounds, workers=compute.workers, dask=compute.dask, progress=compute.progress
    )
    return computed if probed is None else [probed.block, *computed]


def _block_bounds(problem: blocks.BlockProblem, compute: ComputeOptions) -> list[tuple[int, int]]:
    chunk_size = compute.chunk_size or blocks.chunk_size_for(
        problem.small.size, problem.large.size, workers=compute.workers, engine=problem.engine
    )
    return blocks.chunk_bounds(problem.small.size, problem.large.size, chunk_size=chunk_size)


def _new_store(
    problem: blocks.BlockProblem,
    compute: ComputeOptions,
    inputs_hash: str,
    *,
    metadata: Mapping[str, Any],
    ids: tuple[npt.NDArray[Any], npt.NDArray[Any]],
) -> blockstore.BlockStore:
    assert compute.store_dir is not None
    layout = {
        "n_small": problem.small.size,
        "n_large": problem.large.size,
        "small_is_rows": ids[0].size < ids[1].size,
        "engine": problem.engine,
        "metadata": metadata,
    }
    return blockstore.create_store(
        compute.store_dir,
        inputs_hash=inputs_hash,
        bounds=_block_bounds(problem, compute),
        layout=layout,
        ids=ids,
    )


def _through_store(
    problem: blocks.BlockProblem, store: blockstore.BlockStore, compute: ComputeOptions
) -> sp.csr_matrix:
    """Compute the store's missing blocks into it, then assemble the matrix from its files."""
    # the store keeps blocks by small-side point (bounds name them)
    problem = replace(problem, large_is_rows=False)
    missing = store.missing()
    if not missing:  # a finished store: nothing to start (not even a local cluster)
        return store.assemble()
    if len(missing) < len(store.bounds):
        logger.info(
            "OD blocks: %d of %d already in %s, computing the other %d",
            len(store.bounds) - len(missing),
            len(store.bounds),
            store.path,
            len(missing),
        )
    blocks.run_blocks(
        problem,
        missing,
        workers=compute.workers,
        dask=compute.dask,
        progress=compute.progress,
        store=store,
    )
    return store.assemble()


def load_block_store(path: str | os.PathLike[str]) -> ODMatrix:
    """Assemble the matrix of a finished block store (`ComputeOptions.store_dir`).

    The blocks are read one at a time, so only one block and the result are in memory.

    Raises
    ------
    InputError
        If `path` is not a block store, blocks are missing (an unfinished run) or a block
        file is damaged.
    """
    store = blockstore.read_store(path)
    matrix = store.assemble()
    origin_ids, destination_ids = store.ids()
    return ODMatrix(matrix, origin_ids, destination_ids, store.layout["metadata"])


def _check_options(max_minutes: float | None, direction: str) -> None:
    _check_max_minutes(max_minutes)
    if direction not in ("to_sites", "from_sites"):
        msg = f"direction must be 'to_sites' or 'from_sites', got {direction!r}"
        raise InputError(msg)


def _cache_path(
    cache_dir: str | os.PathLike[str] | None,
    road: RoadNetwork | None,
    origins: Points,
    sites: Points,
    options: Mapping[str, Any],
) -> Path | None:
    if cache_dir is None:
        return None
    return Path(cache_dir) / f"od-{_inputs_hash(road, origins, sites, options)[:32]}.npz"


def _inputs_hash(
    road: RoadNetwork | None, origins: Points, sites: Points, options: Mapping[str, Any]
) -> str:
    """Hash of everything a matrix's values depend on: network, points and options."""
    digest = hashlib.sha256()
    digest.update((road.arrays.weights_hash if road is not None else STRAIGHT_MODEL).encode())
    digest.update(origins.digest().encode())
    digest.update(sites.digest().encode())
    digest.update(json.dumps(options, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _build_problem(
    road: RoadNetwork | None,
    origins: Points,
    sites: Points,
    options: Mapping[str, Any],
    *,
    compute: ComputeOptions,
    straight_line: StraightLineModel,
) -> tuple[blocks.BlockProblem, dict[str, Any], Probed | None]:
    limit_s = math.inf if options["max_minutes"] is None else 60.0 * options["max_minutes"]
    if road is None:
        metadata = {"model": STRAIGHT_MODEL, "engine": "straight-line", "network_hash": None}
        return _straight_problem(origins, sites, limit_s, straight_line), metadata, None
    # the k-d tree search takes a tenth of a 100,000-point matrix: it gets the workers too
    workers = compute.workers if compute.dask is None else 1
    origin_side, origin_snap_m = _snap(road, origins, "origins", options, workers=workers)
    site_side, site_snap_m = _snap(road, sites, "destinations", options, workers=workers)
    small_is_rows = origins.size < sites.size
    small, large = (origin_side, site_side) if small_is_rows else (site_side, origin_side)
    # the CCH and scipy search from the small side; which way depends on the trip direction
    forward = small_is_rows == (options["direction"] == "to_sites")
    problem = blocks.BlockProblem(
        engine="cch",
        small=small,
        large=large,
        search_side="forward" if forward else "backward",
        limit_s=limit_s,
        graph=road.arrays,
        resolution_s=options["resolution_s"],
        topology=None,
        straight_line=None,
        saved_network=road.saved,
        large_is_rows=not small_is_rows,
    )
    # threads share the topology; Dask workers load a saved network or need a copy
    ship = compute.dask is not None and road.saved is None
    chosen, probed = _choose_engine(problem, compute.engine, cache_dir=compute.cache_dir, ship=ship)
    return (
        chosen,
        {
            "model": ROAD_MODEL,
            "engine": chosen.engine,
            "network_hash": road.arrays.weights_hash,
            "max_snap_distance_m": max(origin_snap_m, site_snap_m),
        },
        probed,
    )


def _snap(
    road: RoadNetwork,
    points: Points,
    argument: str,
    options: Mapping[str, Any],
    *,
    workers: int = 1,
) -> tuple[blocks.Side, float]:
    snapped = road.node_index.snap(
        points.lon,
        points.lat,
        crs="EPSG:4326",
        access_speed_kph=options["access_speed_kph"],
        max_snap_m=options["max_snap_m"],
        workers=workers,
    )
    if snapped.too_far.any():
        worst = int(np.argmax(snapped.distance_m))
        msg = (
            f"{argument}: {int(snapped.too_far.sum())} point(s) lie farther than max_snap_m="
            f"{options['max_snap_m']} m from the road network; the farthest, id "
            f"{points.ids[worst]!r}, is {snapped.distance_m[worst]:.0f} m away"
        )
        raise InputError(msg)
    side = blocks.Side(
        node=road.arrays.positions(snapped.node, argument=argument),
        access_s=np.asarray(snapped.access_time_s, dtype=np.float64),
        lon=points.lon,
        lat=points.lat,
    )
    return side, float(snapped.distance_m.max())


def _straight_problem(
    origins: Points, sites: Points, limit_s: float, model: StraightLineModel
) -> blocks.BlockProblem:
    small_is_rows = origins.size < sites.size
    sides = [
        blocks.Side(
            node=np.zeros(p.size, dtype=np.int64),
            access_s=np.zeros(p.size),
            lon=p.lon,
            lat=p.lat,
        )
        for p in ((origins, sites) if small_is_rows else (sites, origins))
    ]
    return blocks.BlockProblem(
        engine="straight-line",
        small=sides[0],
        large=sides[1],
        search_side="forward",
        limit_s=limit_s,
        graph=None,
        resolution_s=routing.DEFAULT_RESOLUTION_S,
        topology=None,
        straight_line=model,
    )


def _choose_engine(
    problem: blocks.BlockProblem,
    engine: EngineChoice,
    *,
    cache_dir: str | os.PathLike[str] | None,
    ship: bool,
) -> tuple[blocks.BlockProblem, Probed | None]:
    if engine == "dijkstra":
        return replace(problem, engine="dijkstra"), None
    assert problem.graph is not None
    if engine == "cch":
        routing.build_cch(problem.graph, resolution_s=problem.resolution_s, cache_dir=cache_dir)
        files = routing.topology_files(problem.graph.topology_hash) if ship else None
        return replace(problem, engine="cch", topology=files), None
    # the sweeps: 3-8x faster than RoutingKit's many-to-many on the benchmark (README)
    sweeps = routing.build_phast(problem.graph, resolution_s=problem.resolution_s)
    sweeps.selection(np.unique(problem.large.node))  # made once here, shared by every block
    fast = replace(problem, engine="phast", phast=sweeps)
    if engine == "phast" or math.isinf(problem.limit_s):
        return fast, None
    return _probe(fast, replace(problem, engine="dijkstra"))


@dataclass(frozen=True, eq=False)
class Probed:
    """The engine probe's block of the winning engine: small-side points ``0 .. stop``."""

    block: blocks.Block
    stop: int


def _probe(
    fast: blocks.BlockProblem, dijkstra: blocks.BlockProblem
) -> tuple[blocks.BlockProblem, Probed]:
    # seconds per small-side point. One sweep serves a batch of sources, so the sweeps are
    # probed on one full batch (fewer points would charge a whole sweep to each) and
    # Dijkstra on 2 points; the target selection is already made, the compiled code loaded
    # on a tiny network (its first call cost 10x a point's sweep and chose Dijkstra). The
    # winner's block is part of the matrix: its points are not searched again.
    from siting.travel.phast import BATCH

    _load_compiled(fast)
    per_point, probed = {}, {}
    for candidate, n_points in ((fast, BATCH), (dijkstra, 2)):
        stop = min(n_points, fast.small.size)
        started = time.perf_counter()
        probed[candidate.engine] = Probed(blocks.compute_block(candidate, (0, stop)), stop)
        per_point[candidate.engine] = (time.perf_counter() - started) / stop
    logger.info("Engine probe (s per small-side point): %s", per_point)
    chosen = fast if per_point[fast.engine] <= per_point["dijkstra"] else dijkstra
    return chosen, probed[chosen.engine]


def _load_compiled(problem: blocks.BlockProblem) -> None:
    """Run one block of `problem`'s kind on a 2-node network: numba loads the code once."""
    from siting.travel import phast

    arc = np.zeros(1, dtype=np.int32)
    tiny = phast.build_engine(
        np.arange(2),
        arc,
        arc + 1,
        np.ones(1, dtype=np.uint32),
        weights_hash="load",
        resolution_s=problem.resolution_s,
    )
    point = blocks.Side(
        node=np.zeros(1, dtype=np.int64), access_s=np.zeros(1), lon=np.zeros(1), lat=np.zeros(1)
    )
    blocks.compute_block(replace(problem, small=point, large=point, phast=tiny), (0, 1))


def _log_matrix(od: ODMatrix) -> None:
    summary = od.summary
    logger.info(
        "OD matrix (%s, %s): %d x %d, %d pairs stored, %d unreachable, "
        "%d origins with no destination, %.2f s",
        od.metadata.get("model"),
        od.metadata.get("engine"),
        summary.n_origins,
        summary.n_destinations,
        summary.stored_pairs,
        summary.unreachable_pairs,
        summary.origins_without_destination,
        od.metadata.get("seconds", math.nan),
    )


def nearest_sites(
    network: nx.MultiDiGraph | RoadArrays | RoadNetwork,
    origins: Any,
    destinations: Any,
    *,
    max_minutes: float | None = None,
    direction: Direction = "to_sites",
    snap: SnapRule = _SNAP,
    crs: Any = "EPSG:4326",
) -> NearestDestinations:
    """Find each origin's nearest destination with one multi-source search (no matrix).

    Cheaper than `travel_times` followed by `ODMatrix.nearest` when only the nearest site
    matters (nearest-office maps, coverage checks): one Dijkstra over the network whatever
    the number of sites. Access times are added at both ends, as in `travel_times`.

    Returns
    -------
    NearestDestinations
        (n_origins, 1) column positions (-1: none within the cut-off) and minutes.
    """
    _check_options(max_minutes, direction)
    road = network if isinstance(network, RoadNetwork) else prepare_network(network)
    origin_points = as_points(origins, argument="origins", crs=crs)
    site_points = as_points(destinations, argument="destinations", crs=crs)
    options = {"access_speed_kph": snap.access_speed_kph, "max_snap_m": snap.max_snap_m}
    origin_side, _ = _snap(road, origin_points, "origins", options)
    site_side, _ = _snap(road, site_points, "destinations", options)
    limit_s = math.inf if max_minutes is None else 60.0 * max_minutes
    # to the sites: search the reversed network from the sites
    side: routing.Side = "backward" if direction == "to_sites" else "forward"
    seconds, which = routing.nearest_source_seconds(
        road.arrays, site_side.node, site_side.access_s, side=side, limit_s=limit_s
    )
    total = seconds[origin_side.node] + origin_side.access_s
    found = np.isfinite(total) & (total <= limit_s)
    index = np.where(found, which[origin_side.node], -1)
    minutes = np.where(found, total / 60.0, np.inf).astype(np.float32)
    return NearestDestinations(index=index[:, None], minutes=minutes[:, None])
