"""Load road networks for routing without networkx, and save them prepared for fast reloads.

`load_road_network` reads an OSM file (or GraphML, or a place) straight into the routing
engine's arrays. `save_road_network` writes those arrays and the contraction hierarchy's
node order (the expensive, topology-only part of its preparation) into a folder that
`load_road_network` reloads memory-mapped, skipping the OSM reading and the nested
dissection both.

Notes
-----
A saved network is a folder::

    manifest.json        format, sizes, hashes of every file, the pyroutingkit version
    node_id.npy lon.npy lat.npy tail.npy head.npy travel_time_s.npy
    cch/                 RoutingKit's saved CCH topology (node order and arcs)

The arrays are plain ``.npy`` files, opened with ``numpy.load(mmap_mode="r")``; the manifest's
SHA-256 hashes are checked on every load (reading the files once, a fraction of a second at
2 million nodes), so a damaged or mismatched file is refused by name instead of giving wrong
travel times or crashing RoutingKit.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry.base import BaseGeometry

from siting._core.atomic import atomic_directory
from siting._core.version import __version__
from siting.roads.network import build_options, load_road_arrays
from siting.roads.speeds import SpeedModel
from siting.travel import routing
from siting.travel.odmatrix import RoadNetwork, prepare_network
from siting.travel.savedgraph import (
    ARRAYS,
    FORMAT,
    TOPOLOGY_DIR,
    file_sha256,
    load_saved_graph,
    pyroutingkit_version,
)
from siting.travel.savedgraph import (
    MANIFEST as MANIFEST,  # re-exported: scenarios and tests name it from here
)

logger = logging.getLogger(__name__)


def load_road_network(
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
) -> RoadNetwork:
    """Return a network ready for `travel_times`, built without networkx, or reloaded.

    Parameters
    ----------
    source
        A folder written by `save_road_network` (reloaded memory-mapped, with its CCH node
        order; the other options are then ignored), or any source of
        `siting.load_network`: an OSM file, GraphML, ``pyrosm:<extract>``, a place.
    include_tracks, ferries, ferry_speed_kph, ferry_wait_minutes, speeds, cache, cache_dir, mode
        As `siting.load_network`.

    Returns
    -------
    RoadNetwork
        The same arrays, and so the same travel times to the last bit, as
        ``prepare_network(load_network(source, ...))``.

    Raises
    ------
    InputError
        As `siting.load_network`; for a saved folder, if a file is missing, damaged or not
        of this format (the message names the file).
    """
    if not isinstance(source, BaseGeometry) and (Path(source) / MANIFEST).is_file():
        return _load_saved(Path(source))
    options: dict[str, Any] = {
        "include_tracks": include_tracks,
        "ferries": ferries,
        "ferry_speed_kph": ferry_speed_kph,
        "ferry_wait_minutes": ferry_wait_minutes,
        "speeds": speeds,
        "mode": mode,
    }
    roads = load_road_arrays(source, cache=cache, cache_dir=cache_dir, **options)
    return replace(prepare_network(roads), build_options=build_options(**options))


def save_road_network(network: RoadNetwork, path: str | os.PathLike[str]) -> Path:
    """Write `network` and its CCH node order into the folder `path`, atomically.

    The contraction hierarchy's topology is built first if this process has not built (or
    loaded) it yet: at 2 million nodes that is the slow step, which a reload then skips.

    Parameters
    ----------
    network
        From `load_road_network` or `prepare_network`.
    path
        The folder to write; replaced whole if it exists.

    Returns
    -------
    Path
        `path`.

    Raises
    ------
    OutputError
        If the disk fills up or another process holds the folder's lock (nothing of a
        half-written folder is left behind).
    """
    graph = network.arrays
    target = Path(path)
    started = time.perf_counter()
    with atomic_directory(target) as folder:
        files: dict[str, str] = {}
        for name in ARRAYS:
            file = folder / f"{name}.npy"
            np.save(file, np.ascontiguousarray(getattr(graph, name), dtype=ARRAYS[name]))
            files[file.name] = file_sha256(file)
        (folder / TOPOLOGY_DIR).mkdir()
        routing.save_topology(graph, folder / TOPOLOGY_DIR)
        for name in routing.TOPOLOGY_FILES:
            files[f"{TOPOLOGY_DIR}/{name}"] = file_sha256(folder / TOPOLOGY_DIR / name)
        manifest = {
            "format": FORMAT,
            "siting_version": __version__,
            "pyroutingkit_version": pyroutingkit_version(),
            "n_nodes": graph.n_nodes,
            "n_arcs": int(graph.tail.size),
            "topology_hash": graph.topology_hash,
            "weights_hash": graph.weights_hash,
            "build_report": dict(network.build_report),
            "build_options": dict(network.build_options),
            "sha256": files,
        }
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    logger.info("Saved the network in %s (%.1f s)", target, time.perf_counter() - started)
    return target


def _load_saved(folder: Path) -> RoadNetwork:
    graph, manifest, saved = load_saved_graph(folder)
    return RoadNetwork(
        graph,
        build_report=manifest.get("build_report") or {},
        build_options=manifest.get("build_options") or {},
        saved=saved,
    )
