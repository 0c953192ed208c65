"""Search shortest travel times on a compact array form of a drive network.

Two exact engines answer "travel time from every node of a small set to every node of a large
set": a customisable contraction hierarchy (CCH, RoutingKit through ``pyroutingkit``) and
Dijkstra from ``scipy.sparse.csgraph``. The CCH's node ordering (the expensive, topology-only
part) is built once per topology and kept in memory and optionally on disk; a change of
travel times only re-customises it, which takes a fraction of a second.

Notes
-----
The CCH follows Dibbelt, Strasser and Wagner (2016), "Customizable Contraction Hierarchies"
(ACM Journal of Experimental Algorithmics 21), as implemented by RoutingKit: a
metric-independent phase (node order, then the chordal supergraph of shortcuts), a
customisation that fills in the weights of one metric, and queries on the result.
``pyroutingkit`` orders the nodes by RoutingKit's nested dissection, whose separators come
from Inertial Flow (Schild and Sommer 2015, "On Balanced Separators in Road Networks", SEA):
that is why the topology build needs node coordinates, and why the order is worth caching.
Many-to-many matrices use the batched PHAST sweeps of `siting.travel.phast` (built by
`build_phast`, on METIS's order) by default, RoutingKit's CCH query on request; nearest-site
searches use a multi-source Dijkstra.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import networkx as nx
import numpy as np
import numpy.typing as npt
import pyroutingkit
import scipy.sparse as sp
from scipy.sparse import csgraph

from siting._core.errors import InputError
from siting.roads.graph_build import RoadArrays

if TYPE_CHECKING:
    from siting.travel.hierarchy import Hierarchy
    from siting.travel.phast import PhastEngine

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
PositionArray = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]
Side = Literal["forward", "backward"]

#: Integer unit of CCH weights, in seconds. RoutingKit takes integer weights; rounding each
#: edge to 0.1 ms keeps a path of 2,000 edges within 0.1 s of the exact float sum in the worst
#: case (errors of typical paths are far smaller) while paths up to 59 hours still fit below
#: RoutingKit's infinity of 2**31 - 1 units.
DEFAULT_RESOLUTION_S = 1e-4
#: The files RoutingKit writes for a saved CCH topology.
TOPOLOGY_FILES = ("head", "node_count", "order", "rank", "tail")
#: Budget for one dense block of distances (bytes), which bounds memory per search chunk.
BLOCK_BYTES = 64 * 2**20


@dataclass(frozen=True, eq=False)
class ArrayGraph:
    """A drive network as flat arrays: the form every engine searches.

    Attributes
    ----------
    node_id
        Graph node id per position (sorted ascending).
    lon, lat
        Node coordinates in degrees (WGS84).
    tail, head
        Arc end positions (int32); parallel arcs are merged keeping the fastest, self-loops
        dropped; arcs sorted by tail, then head (the order of a CSR matrix's entries).
    travel_time_s
        Travel time per arc, seconds (float64: the CCH's integer units are rounded from it).
    """

    node_id: IntArray
    lon: FloatArray
    lat: FloatArray
    tail: PositionArray
    head: PositionArray
    travel_time_s: FloatArray

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_id.size)

    @cached_property
    def topology_hash(self) -> str:
        """Hash of nodes and arcs, without travel times: equal for re-customisable graphs."""
        return _hash_arrays(self.node_id, self.tail, self.head)

    @cached_property
    def weights_hash(self) -> str:
        """Hash of topology and travel times: identifies the network for caches."""
        return _hash_arrays(self.node_id, self.tail, self.head, self.travel_time_s)

    @cached_property
    def forward_csr(self) -> sp.csr_matrix:
        """Adjacency matrix of travel times; explicit zeros are zero-time arcs."""
        return _csr(self.tail, self.head, self.travel_time_s, self.n_nodes)

    @cached_property
    def backward_csr(self) -> sp.csr_matrix:
        """Adjacency matrix of the reversed network (searches towards a node)."""
        return _csr(self.head, self.tail, self.travel_time_s, self.n_nodes)

    def units_csr(self, side: Side, resolution_s: float) -> sp.csr_matrix:
        """As `forward_csr` (or `backward_csr`) in whole units of `resolution_s`: the
        hierarchies' integer weights, as float64 (sums stay exact below 2**53)."""
        key = (side, resolution_s)
        if key not in self._units_csr:
            units = to_units(self.travel_time_s, resolution_s).astype(np.float64)
            ends = (self.tail, self.head) if side == "forward" else (self.head, self.tail)
            self._units_csr[key] = _csr(*ends, units, self.n_nodes)
        return self._units_csr[key]

    @cached_property
    def _units_csr(self) -> dict[tuple[Side, float], sp.csr_matrix]:
        return {}

    def positions(self, node_ids: npt.ArrayLike, *, argument: str = "node") -> IntArray:
        """Return the array positions of graph node ids.

        Raises
        ------
        InputError
            If an id is not a node of the graph.
        """
        ids = np.asarray(node_ids, dtype=np.int64)
        found = np.searchsorted(self.node_id, ids).clip(0, max(self.n_nodes - 1, 0))
        missing = self.node_id[found] != ids if self.n_nodes else np.ones(ids.shape, bool)
        if missing.any():
            msg = f"{argument}: node {ids[missing][0]} is not in the network"
            raise InputError(msg)
        return found.astype(np.int64)

    def with_travel_times(self, travel_time_s: npt.ArrayLike) -> ArrayGraph:
        """Return the same topology with new arc travel times (winter speeds, closed ferry)."""
        times = np.asarray(travel_time_s, dtype=np.float64)
        _check_times(times, self.tail.size)
        return ArrayGraph(self.node_id, self.lon, self.lat, self.tail, self.head, times)


def _hash_arrays(*arrays: npt.NDArray[np.generic]) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        # positions are hashed as int64, as they were stored before int32, so that hashes
        # (and the caches keyed by them) stay the same
        wide = array.astype(np.int64) if array.dtype == np.int32 else array
        digest.update(str(wide.dtype).encode())
        digest.update(np.ascontiguousarray(wide).data)
    return digest.hexdigest()


def _csr(
    tail: PositionArray, head: PositionArray, weight: FloatArray, n_nodes: int
) -> sp.csr_matrix:
    # arcs are already unique, so no duplicates are summed and explicit zeros survive
    matrix = sp.csr_matrix((weight, (tail, head)), shape=(n_nodes, n_nodes))
    matrix.sort_indices()
    return matrix


def _check_times(times: FloatArray, n_arcs: int) -> None:
    if times.shape != (n_arcs,):
        msg = f"travel_time_s must have one value per arc ({n_arcs}), got shape {times.shape}"
        raise InputError(msg)
    bad = ~np.isfinite(times) | (times < 0)
    if bad.any():
        msg = f"travel_time must be finite and >= 0 seconds, got {times[bad][0]!r}"
        raise InputError(msg)


def array_graph(graph: nx.MultiDiGraph, *, weight: str = "travel_time") -> ArrayGraph:
    """Flatten a drive network into an `ArrayGraph`.

    Parameters
    ----------
    graph
        osmnx-style network: node attributes ``x``, ``y`` (lon/lat), edge attribute `weight`
        in seconds.
    weight
        Edge attribute holding the travel time in seconds.

    Returns
    -------
    ArrayGraph
        Nodes sorted by id; per node pair only the fastest arc.

    Raises
    ------
    InputError
        If the graph is empty, is not in EPSG:4326, or an edge lacks a valid `weight`.
    """
    crs = str(graph.graph.get("crs", "EPSG:4326")).upper()
    if crs not in {"EPSG:4326", "WGS84"}:
        msg = f"network: graph crs must be EPSG:4326, got {crs!r}"
        raise InputError(msg)
    if graph.number_of_nodes() == 0:
        msg = "network: the graph has no nodes"
        raise InputError(msg)
    node_id, lon, lat = _node_arrays(graph)
    tail_id, head_id, times = _edge_arrays(graph, weight)
    tail = np.searchsorted(node_id, tail_id)
    head = np.searchsorted(node_id, head_id)
    return _array_graph(node_id, lon, lat, tail, head, times)


def array_graph_from_roads(roads: RoadArrays) -> ArrayGraph:
    """Return the `ArrayGraph` of road arrays: equal to `array_graph` of their networkx form.

    Parameters
    ----------
    roads
        A network from `siting.roads.network.load_road_arrays` (or `build_road_arrays`).

    Returns
    -------
    ArrayGraph
        Per node pair only the fastest arc, self-loops dropped; no node is copied.

    Raises
    ------
    InputError
        If the network has no nodes or edges, or a travel time is negative or not finite.
    """
    if roads.n_nodes == 0 or roads.n_edges == 0:
        msg = "network: the graph has no nodes or no edges"
        raise InputError(msg)
    _check_times(roads.travel_time_s, roads.n_edges)
    return _array_graph(
        roads.node_id, roads.lon, roads.lat, roads.tail, roads.head, roads.travel_time_s
    )


def _array_graph(
    node_id: IntArray,
    lon: FloatArray,
    lat: FloatArray,
    tail: npt.NDArray[np.integer],
    head: npt.NDArray[np.integer],
    times: FloatArray,
) -> ArrayGraph:
    tail, head, times = _fastest_arcs(tail, head, times, node_id.size)
    logger.info("Array graph: %d nodes, %d arcs", node_id.size, tail.size)
    return ArrayGraph(node_id, lon, lat, tail.astype(np.int32), head.astype(np.int32), times)


def _node_arrays(graph: nx.MultiDiGraph) -> tuple[IntArray, FloatArray, FloatArray]:
    count = graph.number_of_nodes()
    try:
        ids = np.fromiter(graph.nodes, dtype=np.int64, count=count)
        lon = np.fromiter((d["x"] for _, d in graph.nodes(data=True)), np.float64, count)
        lat = np.fromiter((d["y"] for _, d in graph.nodes(data=True)), np.float64, count)
    except (KeyError, TypeError, ValueError) as error:
        msg = f"network: nodes need integer ids and numeric 'x', 'y' coordinates ({error!r})"
        raise InputError(msg) from error
    order = np.argsort(ids, kind="stable")
    return ids[order], lon[order], lat[order]


def _edge_arrays(graph: nx.MultiDiGraph, weight: str) -> tuple[IntArray, IntArray, FloatArray]:
    count = graph.number_of_edges()
    if count == 0:
        msg = "network: the graph has no edges"
        raise InputError(msg)
    tails = np.fromiter((u for u, _ in graph.edges()), np.int64, count)
    heads = np.fromiter((v for _, v in graph.edges()), np.int64, count)
    values = [value for _, _, value in graph.edges(data=weight)]
    if any(value is None for value in values):
        msg = f"network: edges lack the attribute {weight!r} (add travel times first)"
        raise InputError(msg)
    try:
        times = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        msg = f"network: edge attribute {weight!r} must be numeric seconds ({error})"
        raise InputError(msg) from error
    _check_times(times, count)
    return tails, heads, times


def _fastest_arcs(
    tail: npt.NDArray[np.integer],
    head: npt.NDArray[np.integer],
    times: FloatArray,
    n_nodes: int,
) -> tuple[npt.NDArray[np.integer], npt.NDArray[np.integer], FloatArray]:
    keep = tail != head  # a self-loop never shortens a path
    tail, head, times = tail[keep], head[keep], times[keep]
    key = tail.astype(np.int64) * n_nodes + head
    order = np.lexsort((times, key))
    first = np.ones(order.size, dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    chosen = order[first]
    return tail[chosen], head[chosen], times[chosen]


@dataclass(frozen=True, eq=False)
class CCHEngine:
    """A customised contraction hierarchy with forward and backward metrics.

    The topology is built on every arc twice, once as given and once reversed; the forward
    metric gives reversed arcs an infinite weight and the backward metric the other way round.
    Both share one node ordering, so searches towards a set of sites run from the sites'
    side, which is the fast side of RoutingKit's many-to-many query.

    Notes
    -----
    The CCH's metric-independent phase works on the undirected graph under the arcs
    (Dibbelt et al. 2016), so adding every arc reversed leaves the node order and the
    shortcuts as they are; it only doubles the input arcs that a metric gives weights to.
    The speed difference of the two sides is measured, not documented by RoutingKit: on a
    300 x 300 grid (90,000 nodes), 20 sources x 20,000 targets took 0.33 s and
    20,000 x 20 took 52 s (measured 2026-12-03).
    """

    topology_hash: str
    weights_hash: str
    resolution_s: float
    topology: pyroutingkit.CCHTopology = field(repr=False)
    forward: pyroutingkit.CCHMetric = field(repr=False)
    backward: pyroutingkit.CCHMetric = field(repr=False)

    def distance_units(
        self, sources: IntArray, targets: IntArray, *, side: Side
    ) -> npt.NDArray[np.uint32]:
        """Return (len(sources), len(targets)) distances in units; INF_WEIGHT = unreachable."""
        metric = self.forward if side == "forward" else self.backward
        result: npt.NDArray[np.uint32] = metric.distances_many_to_many(
            sources.astype(np.uint32), targets.astype(np.uint32)
        )
        return result


def metric_copy(engine: CCHEngine, *, side: Side) -> CCHEngine:
    """Return an engine with a fresh metric of its own for `side`, for another thread.

    RoutingKit keeps query buffers in the metric, so two threads must not search one metric
    at once; a copy shares the topology and costs one customisation (a fraction of a second).
    """
    metric = pyroutingkit.CCHMetric(engine.topology)
    # a full customisation rather than a copy: the bindings offer no way to clone a metric
    weights = engine.forward.weights if side == "forward" else engine.backward.weights
    metric.customize(np.asarray(weights, dtype=np.uint32))
    forward, backward = (metric, engine.backward) if side == "forward" else (engine.forward, metric)
    return replace(engine, forward=forward, backward=backward)


INF_UNITS = int(pyroutingkit.INF_WEIGHT)
_TOPOLOGIES: dict[str, pyroutingkit.CCHTopology] = {}
_ENGINES: dict[tuple[str, float], CCHEngine] = {}


def build_cch(
    graph: ArrayGraph,
    *,
    resolution_s: float = DEFAULT_RESOLUTION_S,
    cache_dir: str | os.PathLike[str] | None = None,
) -> CCHEngine:
    """Build (or reuse) a CCH for `graph` and customise it with its travel times.

    Parameters
    ----------
    graph
        The network.
    resolution_s
        Integer weight unit in seconds.
    cache_dir
        Directory where node orderings are kept across runs (keyed by topology hash).

    Returns
    -------
    CCHEngine
        The same engine for the same travel times; a re-customised one, sharing the node
        ordering, for new travel times on the same topology.
    """
    key = (graph.weights_hash, resolution_s)
    if key in _ENGINES:
        return _ENGINES[key]
    topology = _topology(graph, cache_dir)
    started = time.perf_counter()
    weights = to_units(graph.travel_time_s, resolution_s)
    # the topology holds each arc twice (given, then reversed); an infinite weight hides
    # the half a metric must not use, so one node order serves both search directions
    infinite = np.full(weights.size, INF_UNITS, dtype=np.uint32)
    forward = pyroutingkit.CCHMetric(topology)
    forward.customize(np.concatenate([weights, infinite]))
    backward = pyroutingkit.CCHMetric(topology)
    backward.customize(np.concatenate([infinite, weights]))
    logger.info("CCH customised in %.2f s", time.perf_counter() - started)
    engine = CCHEngine(
        graph.topology_hash, graph.weights_hash, resolution_s, topology, forward, backward
    )
    _ENGINES.clear()  # one metric pair in memory at a time; the topology stays
    _ENGINES[key] = engine
    return engine


_PHAST: dict[tuple[str, float], PhastEngine] = {}
_HIERARCHIES: dict[str, Hierarchy] = {}


def build_phast(graph: ArrayGraph, *, resolution_s: float = DEFAULT_RESOLUTION_S) -> PhastEngine:
    """Build (or reuse) the batched-sweep engine of `graph`.

    Its node order is RoutingKit's if this process holds that topology already (loaded
    with a saved network), else METIS's nested dissection (`siting.travel.ordering`, 2 s at
    324,525 nodes where RoutingKit's takes 14 s or more); its arcs and weights are computed by
    `siting.travel.hierarchy` (under 1 s); new travel times on the same topology only
    re-customise.
    """
    key = (graph.weights_hash, resolution_s)
    if key in _PHAST:
        return _PHAST[key]
    from siting.travel import phast  # late: numba is heavy to import

    started = time.perf_counter()
    hierarchy = _sweep_hierarchy(graph)
    ordered = time.perf_counter()
    engine = phast.customised(
        hierarchy,
        graph.tail,
        graph.head,
        to_units(graph.travel_time_s, resolution_s),
        weights_hash=graph.weights_hash,
        resolution_s=resolution_s,
    )
    logger.info(
        "Sweep hierarchy: %d arcs; ordered and built in %.2f s, customised in %.2f s",
        hierarchy.n_arcs,
        ordered - started,
        time.perf_counter() - ordered,
    )
    _PHAST.clear()  # one network's weights in memory at a time
    _PHAST[key] = engine
    return engine


def _sweep_hierarchy(graph: ArrayGraph) -> Hierarchy:
    from siting.travel.hierarchy import build_hierarchy
    from siting.travel.ordering import nested_dissection_order

    if graph.topology_hash not in _HIERARCHIES:
        topology = _TOPOLOGIES.get(graph.topology_hash)
        # a RoutingKit order already in memory (a saved network was loaded) is as good as
        # METIS's and free; otherwise METIS's takes seconds where RoutingKit's takes minutes
        order = (
            _routingkit_order(topology)
            if topology is not None
            else nested_dissection_order(graph.n_nodes, graph.tail, graph.head)
        )
        _HIERARCHIES.clear()
        _HIERARCHIES[graph.topology_hash] = build_hierarchy(order, graph.tail, graph.head)
    return _HIERARCHIES[graph.topology_hash]


def _routingkit_order(topology: pyroutingkit.CCHTopology) -> npt.NDArray[np.uint32]:
    # pyroutingkit has no accessor for the order; its saved ``order`` file is the raw array
    with tempfile.TemporaryDirectory() as scratch:
        topology.save(scratch)
        return np.fromfile(Path(scratch) / "order", dtype=np.uint32)


def to_units(travel_time_s: FloatArray, resolution_s: float) -> npt.NDArray[np.uint32]:
    """Round travel times to integer CCH units."""
    units = np.rint(travel_time_s / resolution_s)
    if units.size and units.max() >= INF_UNITS:
        msg = f"resolution_s={resolution_s} is too fine for an arc of {travel_time_s.max()} s"
        raise InputError(msg)
    return units.astype(np.uint32)


def _topology(
    graph: ArrayGraph, cache_dir: str | os.PathLike[str] | None
) -> pyroutingkit.CCHTopology:
    key = graph.topology_hash
    if key in _TOPOLOGIES:
        return _TOPOLOGIES[key]
    started = time.perf_counter()
    topology = pyroutingkit.CCHTopology()
    directory = Path(cache_dir) / f"cch-{key[:24]}" if cache_dir is not None else None
    if directory is not None and all((directory / n).exists() for n in TOPOLOGY_FILES):
        topology.load(str(directory))
        how = "loaded"
    else:
        # RoutingKit's nested dissection shows no progress: say what the wait is for
        logger.info("Ordering %d nodes for the contraction hierarchy", graph.n_nodes)
        # arcs as given, then reversed (see CCHEngine); coordinates feed Inertial Flow
        tail = np.concatenate([graph.tail, graph.head]).astype(np.uint32)
        head = np.concatenate([graph.head, graph.tail]).astype(np.uint32)
        lat, lon = graph.lat.astype(np.float32), graph.lon.astype(np.float32)
        topology.build(tail, head, lat, lon, graph.n_nodes)
        how = "built"
        if directory is not None:
            _save_topology(topology, directory)
    logger.info("CCH topology %s in %.2f s", how, time.perf_counter() - started)
    _TOPOLOGIES.clear()
    _TOPOLOGIES[key] = topology
    return topology


def _save_topology(topology: pyroutingkit.CCHTopology, directory: Path) -> None:
    # save into a fresh sibling directory, then rename: readers never see half a topology
    directory.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=directory.parent, prefix=".cch-"))
    topology.save(str(scratch))
    try:
        scratch.rename(directory)
    except OSError:  # another process saved the same topology first
        for path in scratch.iterdir():
            path.unlink()
        scratch.rmdir()


def save_topology(graph: ArrayGraph, directory: Path) -> None:
    """Write `graph`'s CCH topology (node order and arcs; built first if need be) into
    `directory`, in RoutingKit's files (`TOPOLOGY_FILES`)."""
    _topology(graph, None).save(str(directory))


def load_topology(topology_hash: str, directory: Path) -> None:
    """Load a topology written by `save_topology` as the one of `topology_hash`.

    Loading skips the nested dissection, the expensive part; RoutingKit rebuilds the
    chordal supergraph from the saved order.
    """
    if topology_hash in _TOPOLOGIES:
        return
    started = time.perf_counter()
    topology = pyroutingkit.CCHTopology()
    topology.load(str(directory))
    logger.info("CCH topology loaded in %.2f s", time.perf_counter() - started)
    _TOPOLOGIES.clear()
    _TOPOLOGIES[topology_hash] = topology


def topology_files(topology_hash: str) -> Mapping[str, bytes]:
    """Return the saved files of an in-memory topology (to ship it to Dask workers)."""
    topology = _TOPOLOGIES[topology_hash]
    with tempfile.TemporaryDirectory() as scratch:
        topology.save(scratch)
        return {name: (Path(scratch) / name).read_bytes() for name in TOPOLOGY_FILES}


def install_topology(topology_hash: str, files: Mapping[str, bytes]) -> None:
    """Load a topology shipped by `topology_files` into this process's memory."""
    if topology_hash in _TOPOLOGIES:
        return
    with tempfile.TemporaryDirectory() as scratch:
        for name, content in files.items():
            (Path(scratch) / name).write_bytes(content)
        topology = pyroutingkit.CCHTopology()
        topology.load(scratch)
    _TOPOLOGIES.clear()
    _TOPOLOGIES[topology_hash] = topology


def dijkstra_seconds(
    graph: ArrayGraph,
    sources: IntArray,
    targets: IntArray,
    *,
    side: Side,
    limit_s: float,
    resolution_s: float = DEFAULT_RESOLUTION_S,
) -> FloatArray:
    """Return (len(sources), len(targets)) travel times by scipy Dijkstra; inf = not reached.

    ``side="backward"`` searches the reversed network, giving times from targets to sources.
    The search stops at `limit_s` seconds (a pair up to one unit beyond may be kept).

    Notes
    -----
    The search sums the hierarchies' whole units of `resolution_s` (`units_csr`), not float
    seconds: every engine then sums the same integers and gives the same times to the last
    bit, whichever one "auto"'s timed probe picks (float seconds summed along other paths
    differed there).
    """
    matrix = graph.units_csr(side, resolution_s)
    limit = math.floor(limit_s / resolution_s) + 1 if math.isfinite(limit_s) else np.inf
    rows = max(1, BLOCK_BYTES // (8 * max(graph.n_nodes, 1)))
    result = np.empty((sources.size, targets.size), dtype=np.float64)
    for start in range(0, sources.size, rows):
        chunk = sources[start : start + rows]
        units = csgraph.dijkstra(matrix, directed=True, indices=chunk, limit=limit)
        # the same product as cch_seconds: float64 units times the resolution
        result[start : start + rows] = units[:, targets] * resolution_s
    return result


def cch_seconds(
    engine: CCHEngine, sources: IntArray, targets: IntArray, *, side: Side
) -> FloatArray:
    """Return (len(sources), len(targets)) travel times by the CCH; inf = unreachable."""
    units = engine.distance_units(sources, targets, side=side)
    seconds = units.astype(np.float64) * engine.resolution_s
    seconds[units >= INF_UNITS] = math.inf
    return seconds


def nearest_source_seconds(
    graph: ArrayGraph,
    sources: IntArray,
    source_offset_s: FloatArray,
    *,
    side: Side,
    limit_s: float,
) -> tuple[FloatArray, IntArray]:
    """Return per node the time from its nearest source and which source, in one search.

    Each source gets a virtual node joined to its network node by an arc of its offset
    (the access time), so that one multi-source Dijkstra (``min_only``) gives exact
    ``min_j(offset_j + d(source_j, v))``. Unreached nodes get inf and source -1.

    Notes
    -----
    This is the textbook super-source reduction, with one virtual node per source instead of
    one for all, so that the predecessor of each node's path names its source. One search
    costs about one Dijkstra whatever the number of sources; a CCH many-to-many query would
    build the full sources x nodes matrix only to take its column minima.
    """
    base = graph.forward_csr if side == "forward" else graph.backward_csr
    n_nodes, n_sources = graph.n_nodes, sources.size
    virtual = sp.csr_matrix(
        (source_offset_s, (np.arange(n_sources), sources)), shape=(n_sources, n_nodes)
    )
    augmented = sp.bmat([[base, None], [virtual, None]], format="csr")
    # bmat leaves out the virtual nodes' (empty) columns; make the matrix square again
    augmented.resize((n_nodes + n_sources, n_nodes + n_sources))
    seconds, _, nearest = csgraph.dijkstra(
        augmented,
        directed=True,
        indices=np.arange(n_nodes, n_nodes + n_sources),
        limit=limit_s,
        min_only=True,
        return_predecessors=True,
    )
    which = np.where(nearest[:n_nodes] >= 0, nearest[:n_nodes] - n_nodes, -1)
    return seconds[:n_nodes], which.astype(np.int64)
