"""Turn drivable OSM ways into a simplified, strongly connected drive network.

Everything runs on numpy arrays of way segments. The result is either an osmnx-style
networkx graph (`build_drive_graph`, with tags and geometry on the edges) or, for routing,
only the arrays (`build_road_arrays`): the same nodes and edges without a Python object per
edge. osmnx builds the unsimplified graph in networkx and walks it in Python, which took
191 s and 6.2 GB for a county here; these array passes do the same work in seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from siting._core.errors import InputError
from siting.roads.filters import WayKind, directions, parse_duration_s
from siting.roads.speeds import ConstantSpeed, SpeedModel
from siting.roads.ways import OsmWays

logger = logging.getLogger(__name__)

EARTH_RADIUS_M = 6_371_009.0  # the mean radius osmnx uses, so lengths agree with it
_COORDINATE_UNIT = 1e-7  # OSM coordinates are stored in units of 1e-7 degrees
# Way tags copied onto edges (osmnx keeps the same ones); the rest only set speed and time.
_EDGE_TAGS = ("highway", "name", "ref", "maxspeed", "lanes", "bridge", "tunnel", "junction")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class FerryModel:
    """Ferry crossing times: the `duration` tag, or the distance at `speed_kph`, plus a wait."""

    speed_kph: float = 15.0
    wait_minutes: float = 10.0


@dataclass(frozen=True)
class BuildReport:
    """What the build kept and dropped, so no road disappears without a word."""

    ways: int
    ferry_ways: int
    track_ways: int
    nodes_unsimplified: int
    components: int
    dropped_nodes: int
    dropped_km: float
    kept_km: float
    missing_locations: int
    nodes: int
    edges: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Edges:
    """Directed edges of the unsimplified graph, in the order osmnx adds them."""

    tail: IntArray
    head: IntArray
    way: IntArray
    length: FloatArray
    time: FloatArray
    against: BoolArray  # runs against the way's node order
    road_share: FloatArray  # share of the segment's road length: 0.5 on two-way roads

    def take(self, index: IntArray | BoolArray) -> _Edges:
        return _Edges(
            self.tail[index],
            self.head[index],
            self.way[index],
            self.length[index],
            self.time[index],
            self.against[index],
            self.road_share[index],
        )


@dataclass(frozen=True, eq=False)
class RoadArrays:
    """A simplified drive network as flat arrays, without networkx.

    Edge `k` runs from node position ``tail[k]`` to ``head[k]``; the edges are those of the
    graph `build_drive_graph` returns for the same ways, in the order it adds them, parallel
    edges and self-loops included, with the same float64 lengths and travel times, so that
    both give the routing engine identical arrays.

    Attributes
    ----------
    node_id
        OSM node ids, ascending (int64).
    lon, lat
        Node coordinates in degrees, WGS84 (float64).
    tail, head
        Edge ends as positions into `node_id` (int32).
    length_m
        Edge length in metres (float64).
    travel_time_s
        Edge travel time in seconds (float64).
    build_report
        What the build kept and dropped (`BuildReport.as_dict`), or empty.
    """

    node_id: IntArray
    lon: FloatArray
    lat: FloatArray
    tail: npt.NDArray[np.int32]
    head: npt.NDArray[np.int32]
    length_m: FloatArray
    travel_time_s: FloatArray
    build_report: dict[str, Any] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_id.size)

    @property
    def n_edges(self) -> int:
        """Number of edges."""
        return int(self.tail.size)

    def to_networkx(self) -> nx.MultiDiGraph:
        """Return the network as an osmnx-style `networkx.MultiDiGraph`.

        Nodes carry `x`, `y`; edges `length`, `travel_time` and `speed_kph`, but none of the
        OSM tags or geometry that `load_network`'s graph has (the arrays do not keep them).
        """
        graph = nx.MultiDiGraph(crs="EPSG:4326", build_report=dict(self.build_report))
        ids = self.node_id.tolist()
        coordinates = zip(ids, self.lon.tolist(), self.lat.tolist(), strict=True)
        graph.add_nodes_from((n, {"x": x, "y": y}) for n, x, y in coordinates)
        speed = np.divide(
            self.length_m * 3.6,
            self.travel_time_s,
            out=np.zeros_like(self.length_m),
            where=self.travel_time_s > 0,
        )
        graph.add_edges_from(
            (ids[u], ids[v], {"length": length, "travel_time": time, "speed_kph": kph})
            for u, v, length, time, kph in zip(
                self.tail.tolist(),
                self.head.tolist(),
                self.length_m.tolist(),
                self.travel_time_s.tolist(),
                speed.tolist(),
                strict=True,
            )
        )
        return graph


@dataclass(frozen=True)
class _StrongEdges:
    """Directed edges of the largest strongly connected part of the unsimplified graph,
    with what the build report needs of the ways and of the parts dropped."""

    edges: _Edges
    node_osm_id: IntArray
    lon: FloatArray
    lat: FloatArray
    ways: int
    ferry_ways: int
    track_ways: int
    missing_locations: int
    components: int
    dropped_nodes: int
    dropped_km: float


@dataclass(frozen=True)
class _Simplified:
    """The build's result before it takes a graph or array form."""

    edges: _Edges
    chains: _Chains
    node_osm_id: IntArray
    lon: FloatArray
    lat: FloatArray
    report: BuildReport  # nodes and edges counted from the chains


def build_drive_graph(
    ways: OsmWays, speeds: SpeedModel | ConstantSpeed, ferry: FerryModel
) -> nx.MultiDiGraph:
    """Return the simplified drive graph of the largest strongly connected part of `ways`."""
    built = _simplified(_strong_edges(ways, speeds, ferry))
    graph = _to_networkx(ways, built.edges, built.chains, built.node_osm_id, built.lon, built.lat)
    graph.graph["build_report"] = built.report.as_dict()
    return graph


def build_road_arrays(
    ways: OsmWays, speeds: SpeedModel | ConstantSpeed, ferry: FerryModel
) -> RoadArrays:
    """Return the network `build_drive_graph` would, as `RoadArrays` (no networkx, no tags).

    Pass `ways` as a temporary (``build_road_arrays(read_osm_ways(...), ...)``) to let the
    build free them, the largest object of a national build, once the edges are made.

    Raises
    ------
    InputError
        If no drivable road is left to build a network from.
    """
    strong = _strong_edges(ways, speeds, ferry)
    del ways  # no tag or way node is needed from here on
    built = _simplified(strong)
    del strong
    u, v, length, time = _chain_totals(built.edges, built.chains)
    # compact ids are ranks of the sorted OSM ids, so the used ones stay in id order
    used = sorted_unique(np.r_[u, v])
    return RoadArrays(
        node_id=built.node_osm_id[used],
        lon=built.lon[used],
        lat=built.lat[used],
        tail=np.searchsorted(used, u).astype(np.int32),
        head=np.searchsorted(used, v).astype(np.int32),
        length_m=length,
        travel_time_s=time,
        build_report=built.report.as_dict(),
    )


def sorted_unique(values: IntArray) -> IntArray:
    """The distinct values, ascending: `numpy.unique` without options, by sorting.

    Hand-written because numpy 2.3+ answers a plain `numpy.unique` of integers with a hash
    table, which took 29 s for 24 million node pairs here (numpy 2.4.6), against 0.5 s
    for this sort.
    """
    ordered = np.sort(values)
    if ordered.size == 0:
        return ordered
    keep = np.empty(ordered.size, dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _strong_edges(
    ways: OsmWays, speeds: SpeedModel | ConstantSpeed, ferry: FerryModel
) -> _StrongEdges:
    if not ways.kind:
        msg = "no drivable roads"
        raise InputError(msg)
    node_osm_id, lon, lat, segments = _segments(ways)
    edges = _directed_edges(ways, segments, lon, lat, speeds, ferry)
    del segments
    if len(edges.tail) == 0:
        msg = "no drivable roads with node locations"
        raise InputError(msg)
    edges, components, dropped_nodes, dropped_km = _largest_strong_component(edges, len(lon))
    kinds = np.array([k.value for k in ways.kind])
    return _StrongEdges(
        edges,
        node_osm_id,
        lon,
        lat,
        ways=len(ways.kind),
        ferry_ways=int((kinds == WayKind.FERRY.value).sum()),
        track_ways=int((kinds == WayKind.TRACK.value).sum()),
        missing_locations=int((~ways.valid).sum()),
        components=components,
        dropped_nodes=dropped_nodes,
        dropped_km=dropped_km,
    )


def _simplified(strong: _StrongEdges) -> _Simplified:
    edges = strong.edges
    chains = _simplify(edges, len(strong.lon))
    if len(chains.start) == 1:
        msg = "no drivable roads besides closed rings (a lone roundabout, say)"
        raise InputError(msg)
    first = chains.edge[chains.start[:-1]]
    last = chains.edge[chains.start[1:] - 1]
    report = BuildReport(
        ways=strong.ways,
        ferry_ways=strong.ferry_ways,
        track_ways=strong.track_ways,
        nodes_unsimplified=len(sorted_unique(edges.tail)) + strong.dropped_nodes,
        components=strong.components,
        dropped_nodes=strong.dropped_nodes,
        dropped_km=round(strong.dropped_km, 3),
        kept_km=round(_road_km(edges), 3),
        missing_locations=strong.missing_locations,
        nodes=len(sorted_unique(np.r_[edges.tail[first], edges.head[last]])),
        edges=len(first),
    )
    return _Simplified(edges, chains, strong.node_osm_id, strong.lon, strong.lat, report)


def _segments(ways: OsmWays) -> tuple[IntArray, FloatArray, FloatArray, IntArray]:
    """Compact node numbering, node coordinates, and segment start positions.

    A segment joins positions k and k + 1 of one way; segments with a missing location or a
    repeated node are left out.
    """
    node_osm_id, first, compact = np.unique(ways.node_id, return_index=True, return_inverse=True)
    lon = np.asarray(ways.x[first] * _COORDINATE_UNIT, dtype=np.float64)
    lat = np.asarray(ways.y[first] * _COORDINATE_UNIT, dtype=np.float64)
    n_positions = len(ways.node_id)
    last_of_way = np.zeros(n_positions, dtype=bool)
    last_of_way[ways.start[1:] - 1] = True
    valid = ways.valid
    k = np.flatnonzero(~last_of_way[:-1] & valid[:-1] & valid[1:])
    k = k[compact[k] != compact[k + 1]]
    segments = np.stack([compact[k], compact[k + 1], k]).astype(np.int64)
    return node_osm_id.astype(np.int64), lon, lat, segments


def _directed_edges(
    ways: OsmWays,
    segments: IntArray,
    lon: FloatArray,
    lat: FloatArray,
    speeds: SpeedModel | ConstantSpeed,
    ferry: FerryModel,
) -> _Edges:
    a, b, position = segments
    way = np.searchsorted(ways.start, position, side="right") - 1
    length = haversine_m(lon[a], lat[a], lon[b], lat[b])
    forward, backward, kph_forward, kph_backward, ferry_duration_s = _way_rules(ways, speeds)
    way_length = np.bincount(way, weights=length, minlength=len(ways.kind))
    is_ferry = np.array([kind is WayKind.FERRY for kind in ways.kind])
    # a ferry without a duration tag crosses at the assumed speed; either way, the crossing
    # and the wait are spread over its segments by length
    crossing_s = np.where(
        np.isnan(ferry_duration_s), way_length / (ferry.speed_kph / 3.6), ferry_duration_s
    )
    ferry_s = crossing_s + 60.0 * ferry.wait_minutes
    share = np.divide(length, way_length[way], out=np.zeros_like(length), where=way_length[way] > 0)
    ferry_time = ferry_s[way] * share
    time_forward = np.where(is_ferry[way], ferry_time, length / (kph_forward[way] / 3.6))
    time_backward = np.where(is_ferry[way], ferry_time, length / (kph_backward[way] / 3.6))
    del share, ferry_time
    # edge k runs along segment seg[k], against the way's node order where against[k];
    # osmnx adds each way's forward edges, then its reverse edges: keep that order so that
    # the first of parallel edges is the same one. Segments are in way order, so a stable
    # sort by (way, direction) keeps each run in node order.
    fwd, bwd = np.flatnonzero(forward[way]), np.flatnonzero(backward[way])
    seg = np.r_[fwd, bwd]
    against = np.r_[np.zeros(fwd.size, bool), np.ones(bwd.size, bool)]
    order = np.argsort(way[seg] * 2 + against, kind="stable")
    del fwd, bwd
    seg, against = seg[order], against[order]
    del order
    # each field is gathered once, in its final order, so that only one edge-long
    # temporary lives at a time (a national build has tens of millions of edges)
    edge_way = way[seg]
    return _Edges(
        tail=np.where(against, b[seg], a[seg]),
        head=np.where(against, a[seg], b[seg]),
        way=edge_way,
        length=length[seg],
        time=np.where(against, time_backward[seg], time_forward[seg]),
        against=against,
        road_share=np.where(forward[edge_way] & backward[edge_way], 0.5, 1.0),
    )


def _way_rules(
    ways: OsmWays, speeds: SpeedModel | ConstantSpeed
) -> tuple[BoolArray, BoolArray, FloatArray, FloatArray, FloatArray]:
    """Per way: allowed directions, speed each way (km/h), ferry duration (s; NaN if untagged)."""
    n = len(ways.kind)
    forward = np.ones(n, dtype=bool)
    backward = np.ones(n, dtype=bool)
    kph = np.full((2, n), np.nan)
    ferry_duration_s = np.full(n, np.nan)
    memo: dict[tuple[tuple[str, str], ...], tuple[bool, bool, float, float]] = {}
    for i, (kind, tags) in enumerate(zip(ways.kind, ways.tags, strict=True)):
        if kind is WayKind.FERRY:
            forward[i], backward[i] = way_directions(kind, tags)
            duration = parse_duration_s(tags.get("duration"))
            ferry_duration_s[i] = np.nan if duration is None else duration
            continue
        key = tuple(sorted(tags.items()))
        rule = memo.get(key)
        if rule is None:
            fwd, bwd = way_directions(kind, tags)
            rule = (
                fwd,
                bwd,
                speeds.speed_kph(tags, maxspeed_key="maxspeed:forward"),
                speeds.speed_kph(tags, maxspeed_key="maxspeed:backward"),
            )
            memo[key] = rule
        forward[i], backward[i], kph[0, i], kph[1, i] = rule
    return forward, backward, kph[0], kph[1], ferry_duration_s


def way_directions(kind: WayKind, tags: dict[str, str]) -> tuple[bool, bool]:
    """Directions a way may be used in: ferries run both ways unless tagged one-way, walkers
    go both ways, cyclists as one-way tags say unless ``oneway:bicycle=no``."""
    if kind is WayKind.FOOT or (kind is WayKind.FERRY and "oneway" not in tags):
        return (True, True)
    if kind is WayKind.CYCLE and tags.get("oneway:bicycle") == "no":
        return (True, True)
    return directions(tags)


def _largest_strong_component(edges: _Edges, n_nodes: int) -> tuple[_Edges, int, int, float]:
    """Keep the edges of the largest strongly connected component; count what is dropped."""
    matrix = sparse.coo_matrix(
        (np.ones(len(edges.tail), dtype=np.int8), (edges.tail, edges.head)),
        shape=(n_nodes, n_nodes),
    ).tocsr()
    n_components, label = csgraph.connected_components(matrix, directed=True, connection="strong")
    used = np.zeros(n_nodes, dtype=bool)
    used[edges.tail] = True
    used[edges.head] = True
    sizes = np.bincount(label[used], minlength=n_components)
    largest = int(np.argmax(sizes))
    keep = (label[edges.tail] == largest) & (label[edges.head] == largest)
    dropped_nodes = int(used.sum() - sizes[largest])
    dropped = ~keep
    dropped_km = float(np.dot(edges.length[dropped], edges.road_share[dropped])) / 1000.0
    del dropped
    n_used_components = int((sizes > 0).sum())
    if dropped_nodes:
        logger.info(
            "kept the largest strongly connected part: dropped %d of %d nodes, %.1f km of road "
            "in %d other parts",
            dropped_nodes,
            int(used.sum()),
            dropped_km,
            n_used_components - 1,
        )
    return edges.take(keep), n_used_components, dropped_nodes, dropped_km


def _road_km(edges: _Edges) -> float:
    """Length of road under these edges, counting a two-way segment once."""
    return float(np.dot(edges.length, edges.road_share)) / 1000.0


@dataclass(frozen=True)
class _Chains:
    """Simplified edges: chain `c` is made of edges `edge[start[c]:start[c + 1]]`, in order."""

    edge: IntArray
    start: IntArray


def _simplify(edges: _Edges, n_nodes: int) -> _Chains:
    """Merge runs of edges through interior nodes, with osmnx's endpoint rules.

    A node stays (is an endpoint) if it loops to itself, has no edge in or none out, or does
    not have exactly two neighbours with two or four edges. Edges are merged along chains from
    endpoint to endpoint; rings with no endpoint are removed, as osmnx does.
    """
    tail, head = edges.tail, edges.head
    endpoint = _endpoints(tail, head, n_nodes)
    # parallel edges that touch an interior node merge into one (osmnx keeps the first)
    touches_interior = ~endpoint[tail] | ~endpoint[head]
    pair = tail.astype(np.int64) * n_nodes + head
    _, first = np.unique(pair, return_index=True)
    usable = ~touches_interior
    usable[first] = True
    index = np.flatnonzero(usable)
    tail, head = tail[index], head[index]
    nxt = _next_edge(tail, head, endpoint, n_nodes)
    root, depth = _chain_roots(nxt, endpoint[tail])
    valid = root >= 0
    if not valid.any():  # nothing but closed rings, which osmnx removes too
        return _Chains(edge=np.zeros(0, dtype=np.int64), start=np.zeros(1, dtype=np.int64))
    order = np.lexsort((depth[valid], root[valid]))
    member = np.flatnonzero(valid)[order]
    chain_root = root[member]
    starts = np.flatnonzero(np.r_[True, chain_root[1:] != chain_root[:-1]])
    bounds = np.r_[starts, len(member)]
    # a chain must end at an endpoint; a broken one (odd parallel edges) is dropped whole
    ends_ok = endpoint[head[member[bounds[1:] - 1]]]
    lengths = np.diff(bounds)
    keep_member = np.repeat(ends_ok, lengths)
    member = member[keep_member]
    lengths = lengths[ends_ok]
    return _Chains(edge=index[member], start=np.r_[0, np.cumsum(lengths)])


def _endpoints(tail: IntArray, head: IntArray, n_nodes: int) -> BoolArray:
    in_degree = np.bincount(head, minlength=n_nodes)
    out_degree = np.bincount(tail, minlength=n_nodes)
    degree = in_degree + out_degree
    # distinct neighbours, in or out: unique node pairs encoded as one int64 each
    pair = sorted_unique(np.r_[tail * n_nodes + head, head * n_nodes + tail])
    neighbours = np.bincount(pair // n_nodes, minlength=n_nodes)
    self_loop = np.zeros(n_nodes, dtype=bool)
    self_loop[tail[tail == head]] = True
    two_way_or_through = (neighbours == 2) & ((degree == 2) | (degree == 4))
    endpoint: BoolArray = self_loop | (in_degree == 0) | (out_degree == 0) | ~two_way_or_through
    return endpoint


def _next_edge(tail: IntArray, head: IntArray, endpoint: BoolArray, n_nodes: int) -> IntArray:
    """For each edge into an interior node, the edge that continues the chain (or -1)."""
    by_tail = np.argsort(tail, kind="stable")
    first_out = np.searchsorted(tail[by_tail], np.arange(n_nodes), side="left")
    n_out = np.bincount(tail, minlength=n_nodes)
    nxt = np.full(len(tail), -1, dtype=np.int64)
    into_interior = np.flatnonzero(~endpoint[head])
    v = head[into_interior]
    u = tail[into_interior]
    for slot in (0, 1):  # an interior node has at most two distinct out-edges
        has = (n_out[v] > slot) & (nxt[into_interior] < 0)
        candidate = np.where(has, by_tail[np.minimum(first_out[v] + slot, len(tail) - 1)], -1)
        ok = has & (head[candidate] != u)
        nxt[into_interior[ok]] = candidate[ok]
    return nxt


def _chain_roots(nxt: IntArray, starts_at_endpoint: BoolArray) -> tuple[IntArray, IntArray]:
    """First edge of each edge's chain and the edge's place in it, by pointer jumping.

    Edges not reachable from an endpoint (rings, orphans) get root -1.
    """
    n = len(nxt)
    prev = np.full(n + 1, n, dtype=np.int64)  # n is a sentinel "no chain"
    has_next = nxt >= 0
    prev[nxt[has_next]] = np.flatnonzero(has_next)
    pointer = np.where(starts_at_endpoint, np.arange(n), prev[:n])
    pointer = np.r_[pointer, n]
    distance = np.r_[np.where(starts_at_endpoint, 0, 1), 0].astype(np.int64)
    for _ in range(max(1, int(np.ceil(np.log2(n + 1))) + 1)):
        distance = distance + distance[pointer]
        pointer = pointer[pointer]
    root = pointer[:n]
    is_root = np.r_[starts_at_endpoint, False]
    valid = is_root[root]
    return np.where(valid, root, -1), distance[:n]


def _to_networkx(
    ways: OsmWays,
    edges: _Edges,
    chains: _Chains,
    node_osm_id: IntArray,
    lon: FloatArray,
    lat: FloatArray,
) -> nx.MultiDiGraph:
    u, v, length, time = _chain_totals(edges, chains)
    geometry = _chain_geometry(edges, chains, lon, lat)
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    nodes = sorted_unique(np.r_[u, v])
    graph.add_nodes_from(
        (int(node_osm_id[n]), {"x": float(lon[n]), "y": float(lat[n])}) for n in nodes
    )
    graph.add_edges_from(
        (int(node_osm_id[u[c]]), int(node_osm_id[v[c]]), attrs)
        for c, attrs in enumerate(_edge_attributes(ways, edges, chains, length, time, geometry))
    )
    return graph


def _chain_totals(
    edges: _Edges, chains: _Chains
) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """Per simplified edge: first and last node (compact ids), length and travel time."""
    first = chains.edge[chains.start[:-1]]
    last = chains.edge[chains.start[1:] - 1]
    chain_of = np.repeat(np.arange(len(first)), np.diff(chains.start))
    length = _sum_by(chain_of, edges.length[chains.edge], len(first))
    time = _sum_by(chain_of, edges.time[chains.edge], len(first))
    return edges.tail[first], edges.head[last], length, time


def _chain_geometry(
    edges: _Edges, chains: _Chains, lon: FloatArray, lat: FloatArray
) -> list[shapely.LineString | None]:
    """A LineString through every node of each merged chain (None for single edges)."""
    sizes = np.diff(chains.start)
    merged = np.flatnonzero(sizes > 1)
    result: list[shapely.LineString | None] = [None] * len(sizes)
    if len(merged) == 0:
        return result
    # each chain's node list: the tail of every edge, then the head of the last
    in_merged = np.repeat(sizes > 1, sizes)
    node_lists = edges.tail[chains.edge[in_merged]]
    last_heads = edges.head[chains.edge[chains.start[merged + 1] - 1]]
    counts = sizes[merged]
    insert_at = np.cumsum(counts)
    nodes = np.insert(node_lists, insert_at, last_heads)
    line_index = np.repeat(np.arange(len(merged)), counts + 1)
    lines = shapely.linestrings(lon[nodes], lat[nodes], indices=line_index)
    for c, line in zip(merged, lines, strict=True):
        result[c] = line
    return result


def _edge_attributes(
    ways: OsmWays,
    edges: _Edges,
    chains: _Chains,
    length: FloatArray,
    time: FloatArray,
    geometry: list[shapely.LineString | None],
) -> Iterator[dict[str, Any]]:
    base = [_way_attributes(ways, w) for w in range(len(ways.kind))]
    heads = chains.start[:-1]
    member_way = edges.way[chains.edge]
    member_against = edges.against[chains.edge]
    way_low = np.minimum.reduceat(member_way, heads)
    way_high = np.maximum.reduceat(member_way, heads)
    against_low = np.minimum.reduceat(member_against, heads)
    against_high = np.maximum.reduceat(member_against, heads)
    for c in range(len(length)):
        if way_low[c] == way_high[c]:  # the common case: a chain within one way
            attrs = dict(base[way_low[c]])
        else:
            way_index = member_way[chains.start[c] : chains.start[c + 1]]
            attrs = _merged(base, list(dict.fromkeys(way_index.tolist())))
        attrs["reversed"] = (
            bool(against_low[c])
            if against_low[c] == against_high[c]
            else [
                bool(a)
                for a in dict.fromkeys(member_against[chains.start[c] : chains.start[c + 1]])
            ]
        )
        attrs["length"] = float(length[c])
        attrs["travel_time"] = float(time[c])
        attrs["speed_kph"] = float(length[c] / time[c] * 3.6) if time[c] > 0 else 0.0
        if geometry[c] is not None:
            attrs["geometry"] = geometry[c]
        yield attrs


def _way_attributes(ways: OsmWays, way: int) -> dict[str, Any]:
    """The edge attributes a way gives every edge along it."""
    tags = ways.tags[way]
    kind = ways.kind[way]
    attrs: dict[str, Any] = {"osmid": int(ways.way_id[way])}
    attrs.update((key, tags[key]) for key in _EDGE_TAGS if key in tags)
    if kind is WayKind.FERRY:
        attrs["highway"] = "ferry"
        attrs["route"] = "ferry"
    forward, backward = way_directions(kind, tags)
    attrs["oneway"] = not (forward and backward)
    return attrs


def _merged(base: list[dict[str, Any]], way_index: list[int]) -> dict[str, Any]:
    """osmnx's merge: one value where the merged ways agree, else the list of distinct values."""
    values: dict[str, list[Any]] = {}
    for w in way_index:
        for key, value in base[w].items():
            values.setdefault(key, []).append(value)
    return {key: _one_or_list(found) for key, found in values.items()}


def _one_or_list(values: list[Any]) -> Any:
    distinct = list(dict.fromkeys(values))
    return distinct[0] if len(distinct) == 1 else distinct


def _sum_by(group: IntArray, values: FloatArray, n_groups: int) -> FloatArray:
    return np.bincount(group, weights=values, minlength=n_groups).astype(np.float64)


def haversine_m(
    lon1: FloatArray, lat1: FloatArray, lon2: FloatArray, lat2: FloatArray
) -> FloatArray:
    """Great-circle distance in metres between arrays of points in degrees."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlmb = np.radians(lon2 - lon1)
    h = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
    distance: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return distance
