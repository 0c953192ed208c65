"""Read a prepared network's saved folder: its manifest, checked files and mapped arrays.

The folder's format is described in `siting.travel.prepared`, which writes it. Reading
is apart from writing so that Dask workers (`siting.travel.blocks`) can load a saved
network without the OD matrix module above them.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from siting._core.errors import InputError
from siting._core.manifests import read_manifest
from siting.travel import routing

logger = logging.getLogger(__name__)

FORMAT = "siting-road-network-1"
MANIFEST = "manifest.json"
ARRAYS: dict[str, np.dtype[Any]] = {
    "node_id": np.dtype(np.int64),
    "lon": np.dtype(np.float64),
    "lat": np.dtype(np.float64),
    "tail": np.dtype(np.int32),
    "head": np.dtype(np.int32),
    "travel_time_s": np.dtype(np.float64),
}
TOPOLOGY_DIR = "cch"


@dataclass(frozen=True)
class SavedNetwork:
    """Where a prepared network is saved: all a Dask worker needs to load it, once per
    process, memory-mapped.

    Attributes
    ----------
    path
        The folder written by `save_road_network`, as the workers see it.
    key
        SHA-256 of its manifest (which lists every file's hash): a worker refuses a folder
        that has changed since.
    """

    path: str
    key: str


def load_saved_graph(folder: Path) -> tuple[routing.ArrayGraph, dict[str, Any], SavedNetwork]:
    """The arrays of a saved network, memory-mapped, with its CCH topology loaded.

    Returns the arrays, the manifest and where they were loaded from.

    Raises
    ------
    InputError
        If a file is missing, damaged or not of this format (the message names the file).
    """
    started = time.perf_counter()
    manifest, key = _read_manifest(folder)
    hashes: Mapping[str, str] = manifest["sha256"]
    for name, expected in hashes.items():
        file = folder / name
        if not file.is_file():
            msg = f"{file}: missing from the saved network"
            raise InputError(msg)
        if file_sha256(file) != expected:
            msg = f"{file}: damaged (its SHA-256 is not the one the manifest records)"
            raise InputError(msg)
    arrays = {
        name: _mapped(folder / f"{name}.npy", dtype, manifest) for name, dtype in ARRAYS.items()
    }
    graph = routing.ArrayGraph(**arrays)
    # the files hashed as recorded, so the graph's own hashes are the recorded ones: set
    # them rather than hash every array a second time
    graph.__dict__["topology_hash"] = manifest["topology_hash"]
    graph.__dict__["weights_hash"] = manifest["weights_hash"]
    routing.load_topology(graph.topology_hash, folder / TOPOLOGY_DIR)
    logger.info(
        "Network reloaded from %s: %d nodes, %d arcs (%.1f s)",
        folder,
        graph.n_nodes,
        graph.tail.size,
        time.perf_counter() - started,
    )
    return graph, manifest, SavedNetwork(path=str(folder.resolve()), key=key)


def _read_manifest(folder: Path) -> tuple[dict[str, Any], str]:
    """The manifest, checked, and the SHA-256 of its bytes (which covers every file's hash)."""
    file = folder / MANIFEST
    manifest, content = read_manifest(file, format_name=FORMAT, what="a saved network")
    expected = {f"{name}.npy" for name in ARRAYS}
    expected |= {f"{TOPOLOGY_DIR}/{name}" for name in routing.TOPOLOGY_FILES}
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
    if saved_with != pyroutingkit_version():
        # RoutingKit's files carry no format version of their own: refuse rather than guess
        msg = (
            f"{file}: the node order was saved by pyroutingkit {saved_with}, this is "
            f"{pyroutingkit_version()}; save the network again"
        )
        raise InputError(msg)
    return manifest, hashlib.sha256(content).hexdigest()


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


def file_sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def pyroutingkit_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pyroutingkit")
    except PackageNotFoundError:  # an uninstalled build: its files are its own
        return "unknown"
