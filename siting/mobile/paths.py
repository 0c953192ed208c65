"""Draw the legs of mobile office tours: road paths over a drive graph, or straight segments."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import networkx as nx
import numpy as np
import numpy.typing as npt
import shapely

from siting._core.errors import InputError
from siting.roads.snapping import snap_points

FloatArray = npt.NDArray[np.float64]
ROAD = "road"
STRAIGHT = "straight segment (no road path)"


@dataclass(frozen=True)
class LegPath:
    """How a vehicle drives from one location to the next.

    Attributes
    ----------
    nodes
        Graph nodes driven through, in order (empty for a straight segment).
    geometry
        The line in WGS84 longitude/latitude, from the start point to the end point.
    kind
        ``"road"`` or ``"straight segment (no road path)"``.
    """

    nodes: tuple[int, ...]
    geometry: shapely.LineString
    kind: str


class LegDrawer:
    """Paths between numbered locations (lon, lat), over `graph` when one is given."""

    def __init__(self, lon: FloatArray, lat: FloatArray, graph: nx.MultiDiGraph | None) -> None:
        self.lon = lon
        self.lat = lat
        self.graph = graph
        # the same nearest-node snap as the OD engine, so the path is the one it timed
        self.node = None if graph is None else snap_points(graph, lon, lat, max_snap_m=1e12).node
        self._paths: dict[tuple[int, int], LegPath] = {}

    def path(self, start: int, end: int) -> LegPath:
        """The path from location `start` to location `end` (cached)."""
        key = (start, end)
        if key not in self._paths:
            self._paths[key] = self._draw(start, end)
        return self._paths[key]

    def _draw(self, start: int, end: int) -> LegPath:
        ends = [(self.lon[start], self.lat[start]), (self.lon[end], self.lat[end])]
        if self.graph is None or self.node is None:
            return LegPath((), shapely.LineString(ends), STRAIGHT)
        source, target = int(self.node[start]), int(self.node[end])
        try:
            nodes = nx.shortest_path(self.graph, source, target, weight="travel_time")
        except nx.NetworkXNoPath:
            msg = f"no road from node {source} to node {target}: the graph is not connected"
            raise InputError(msg) from None
        coordinates = [ends[0], *self._road_coordinates(nodes), ends[1]]
        return LegPath(tuple(int(n) for n in nodes), shapely.LineString(coordinates), ROAD)

    def _road_coordinates(self, nodes: list[int]) -> list[tuple[float, float]]:
        """Node coordinates, with each edge's own geometry (curves) where it has one."""
        assert self.graph is not None
        coordinates = [(self.graph.nodes[nodes[0]]["x"], self.graph.nodes[nodes[0]]["y"])]
        for u, v in itertools.pairwise(nodes):
            edges = self.graph.get_edge_data(u, v).values()
            fastest = min(edges, key=lambda attrs: attrs.get("travel_time", np.inf))
            shape = fastest.get("geometry")
            if shape is not None:
                coordinates.extend(list(shape.coords)[1:])
            else:
                coordinates.append((self.graph.nodes[v]["x"], self.graph.nodes[v]["y"]))
        return [(float(x), float(y)) for x, y in coordinates]
