"""Snap points (grid cells, sites) to the nearest node of a drive network."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TypedDict, Unpack

import networkx as nx
import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer
from scipy.spatial import cKDTree

from siting._core.errors import InputError, warn

logger = logging.getLogger(__name__)

DEFAULT_ACCESS_SPEED_KPH = 20.0
DEFAULT_MAX_SNAP_M = 5_000.0
SWEREF99_TM = "EPSG:3006"
# SWEREF99 TM is a metric projection made for all of Sweden; elsewhere use the local UTM zone
_SWEDEN_LON_LAT_BOX = (10.0, 55.0, 24.5, 69.5)


@dataclass(frozen=True)
class Snapped:
    """Where each point joins the road network.

    Attributes
    ----------
    node
        Id of the nearest network node, per point.
    distance_m
        Straight-line distance from the point to that node.
    access_time_s
        Time to cover that distance at the access speed (the off-network part of a trip).
    too_far
        True where `distance_m` exceeds the allowed snap distance: such points are reported
        and must not be used as if they were on the network.
    """

    node: npt.NDArray[np.int64]
    distance_m: npt.NDArray[np.float64]
    access_time_s: npt.NDArray[np.float64]
    too_far: npt.NDArray[np.bool_]
    max_snap_m: float
    access_speed_kph: float


def metric_crs_for(lon: float, lat: float) -> CRS:
    """Return a metric CRS for distances near (lon, lat): SWEREF99 TM in Sweden, else UTM."""
    west, south, east, north = _SWEDEN_LON_LAT_BOX
    if west <= lon <= east and south <= lat <= north:
        return CRS.from_user_input(SWEREF99_TM)
    zone = int((lon + 180.0) // 6.0) + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


class SnapOptions(TypedDict, total=False):
    """The keywords of `snap_points`, shared by the functions that snap."""

    crs: str | CRS
    access_speed_kph: float
    max_snap_m: float


def snap_points(
    graph: nx.MultiDiGraph, x: npt.ArrayLike, y: npt.ArrayLike, **options: Unpack[SnapOptions]
) -> Snapped:
    """Snap points to their nearest network node and time the off-network access.

    Parameters
    ----------
    graph
        Drive network with node attributes `x`, `y` in `graph.graph["crs"]`.
    x, y
        Point coordinates in `crs`.
    crs
        CRS of the points (default EPSG:4326).
    access_speed_kph
        Speed over the straight line from a point to its node: the last stretch is driven on
        private roads and driveways, slower than the public road network (default
        `DEFAULT_ACCESS_SPEED_KPH`).
    max_snap_m
        Points farther than this from every node are flagged `too_far` and logged as a
        warning; callers decide whether to refuse or drop them (default
        `DEFAULT_MAX_SNAP_M`).

    Returns
    -------
    Snapped
        Node, distance, access time and the too-far flag per point.

    Raises
    ------
    InputError
        If coordinates are missing or not finite, the graph has no nodes, or an option is not
        a positive number.
    """
    node_ids, node_x, node_y = _node_arrays(graph)
    nodes_crs = graph.graph.get("crs", "EPSG:4326")
    return snap_to_nodes(node_ids, node_x, node_y, x, y, nodes_crs=nodes_crs, **options)


class NodeIndex:
    """Nodes in a metric CRS with a k-d tree, built once and reused by every snap.

    Building it costs about half a second for a county of 325,000 nodes (projecting the
    nodes and building the tree), more than snapping 2,000 points; the OD engine keeps one
    per prepared network.
    """

    def __init__(
        self,
        node_ids: npt.NDArray[np.int64],
        node_x: npt.NDArray[np.float64],
        node_y: npt.NDArray[np.float64],
        *,
        nodes_crs: str | CRS = "EPSG:4326",
    ) -> None:
        if node_ids.size == 0:
            msg = "cannot snap to a network with no nodes"
            raise InputError(msg)
        graph_crs = CRS.from_user_input(nodes_crs)
        self.metric = (
            metric_crs_for(float(np.median(node_x)), float(np.median(node_y)))
            if graph_crs.is_geographic
            else graph_crs
        )
        to_metric = Transformer.from_crs(graph_crs, self.metric, always_xy=True)
        nx_m, ny_m = to_metric.transform(node_x, node_y)
        self.node_ids = node_ids
        self.tree = cKDTree(np.column_stack([nx_m, ny_m]))

    def snap(
        self,
        x: npt.ArrayLike,
        y: npt.ArrayLike,
        *,
        crs: str | CRS = "EPSG:4326",
        access_speed_kph: float = DEFAULT_ACCESS_SPEED_KPH,
        max_snap_m: float = DEFAULT_MAX_SNAP_M,
        workers: int = 1,
    ) -> Snapped:
        """Snap points in `crs` to their nearest node (see `snap_points`), the tree searched
        by `workers` threads."""
        _check_positive("access_speed_kph", access_speed_kph)
        _check_positive("max_snap_m", max_snap_m)
        px, py = _as_coordinates(x, y)
        to_metric = Transformer.from_crs(crs, self.metric, always_xy=True)
        px_m, py_m = to_metric.transform(px, py)
        distance_m, index = self.tree.query(np.column_stack([px_m, py_m]), workers=workers)
        distance_m = np.asarray(distance_m, dtype=np.float64)
        too_far = distance_m > max_snap_m
        _report_far(distance_m, too_far, max_snap_m)
        return Snapped(
            node=self.node_ids[np.asarray(index, dtype=np.int64)],
            distance_m=distance_m,
            access_time_s=distance_m / (access_speed_kph / 3.6),
            too_far=too_far,
            max_snap_m=float(max_snap_m),
            access_speed_kph=float(access_speed_kph),
        )


def snap_to_nodes(
    node_ids: npt.NDArray[np.int64],
    node_x: npt.NDArray[np.float64],
    node_y: npt.NDArray[np.float64],
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    nodes_crs: str | CRS = "EPSG:4326",
    crs: str | CRS = "EPSG:4326",
    access_speed_kph: float = DEFAULT_ACCESS_SPEED_KPH,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> Snapped:
    """Snap points to the nearest of nodes given as arrays (see `snap_points`).

    The OD engine snaps on its array form of the network, so that the networkx graph (the
    largest object of a run) need not be kept for the matrix.
    """
    _check_positive("access_speed_kph", access_speed_kph)
    _check_positive("max_snap_m", max_snap_m)
    _as_coordinates(x, y)  # bad points are reported before an empty network
    index = NodeIndex(node_ids, node_x, node_y, nodes_crs=nodes_crs)
    return index.snap(x, y, crs=crs, access_speed_kph=access_speed_kph, max_snap_m=max_snap_m)


def _check_positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        msg = f"{name} must be a positive number, got {value!r}"
        raise InputError(msg)


def _as_coordinates(
    x: npt.ArrayLike, y: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    try:
        px = np.asarray(x, dtype=np.float64).ravel()
        py = np.asarray(y, dtype=np.float64).ravel()
    except (TypeError, ValueError) as error:
        msg = f"point coordinates must be numbers: {error}"
        raise InputError(msg) from error
    if px.shape != py.shape:
        msg = f"x and y must have the same length, got {px.size} and {py.size}"
        raise InputError(msg)
    bad = np.flatnonzero(~(np.isfinite(px) & np.isfinite(py)))
    if bad.size:
        msg = (
            f"{bad.size} point(s) have missing or non-finite coordinates, "
            f"first at position {bad[0]}"
        )
        raise InputError(msg)
    return px, py


def _node_arrays(
    graph: nx.MultiDiGraph,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    if graph.number_of_nodes() == 0:
        msg = "cannot snap to a network with no nodes"
        raise InputError(msg)
    ids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
    try:
        node_x = np.fromiter((d["x"] for _, d in graph.nodes(data=True)), dtype=np.float64)
        node_y = np.fromiter((d["y"] for _, d in graph.nodes(data=True)), dtype=np.float64)
    except KeyError as error:
        msg = f"network nodes must have 'x' and 'y' coordinates; missing {error}"
        raise InputError(msg) from error
    return ids, node_x, node_y


def _report_far(
    distance_m: npt.NDArray[np.float64], too_far: npt.NDArray[np.bool_], max_snap_m: float
) -> None:
    if distance_m.size:
        logger.info(
            "Snapped %d points: median %.0f m, max %.0f m to the network",
            distance_m.size,
            float(np.median(distance_m)),
            float(distance_m.max()),
        )
    count = int(too_far.sum())
    if count:
        worst = int(np.argmax(distance_m))
        warn(
            logger,
            f"{count} point(s) lie farther than {max_snap_m:.0f} m from the road network; "
            f"the farthest (position {worst}) is {distance_m[worst]:.0f} m away",
        )
