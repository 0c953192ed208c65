"""Keep an OD matrix's finished blocks on disk, one file each, so that a run can resume.

A store is a folder::

    manifest.json                  format, the inputs' hash, shape, engine, the block bounds
    ids.npz                        origin and destination ids
    block-<start>-<stop>.npz       one finished block: indptr, indices, minutes (float32)

Each block file is written atomically (temporary file, then rename) by whichever process
computed it, a Dask worker included, so a killed run leaves only whole blocks; a run with
the same inputs computes only the blocks that are missing. The manifest's inputs hash
(network weights, points, options) keeps a store from being resumed with other inputs.
The matrix is assembled from the files one block at a time, never holding more than one
block beside the result.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from siting._core.atomic import atomic_path, write_text_atomic
from siting._core.errors import InputError
from siting._core.manifests import read_manifest
from siting.travel.blocks import Block, assemble_stream

FORMAT = "siting-od-blocks-1"
MANIFEST = "manifest.json"
IDS = "ids.npz"
_BLOCK_NAME = re.compile(r"block-(\d+)-(\d+)\.npz")


@dataclass(frozen=True)
class BlockStore:
    """An open block store: its folder and what its manifest records.

    Attributes
    ----------
    path
        The folder.
    inputs_hash
        Hash of everything the matrix's values depend on.
    bounds
        The blocks' small-side bounds, fixed when the store was made (the values do not
        depend on them, so a resumed run keeps them whatever its worker count).
    layout
        ``n_small``, ``n_large``, ``small_is_rows``, ``engine`` and the matrix metadata.
    """

    path: Path
    inputs_hash: str
    bounds: tuple[tuple[int, int], ...]
    layout: Mapping[str, Any]

    @property
    def engine(self) -> str:
        """The engine the finished blocks were computed with (a resume keeps it)."""
        return str(self.layout["engine"])

    def block_path(self, bounds: tuple[int, int]) -> Path:
        """The file of the block of small-side points ``bounds``."""
        return self.path / f"block-{bounds[0]}-{bounds[1]}.npz"

    def finished(self) -> set[tuple[int, int]]:
        """Bounds of the blocks already written."""
        found = set()
        for file in self.path.iterdir():
            match = _BLOCK_NAME.fullmatch(file.name)
            if match is not None:
                found.add((int(match[1]), int(match[2])))
        return found & set(self.bounds)

    def missing(self) -> list[tuple[int, int]]:
        """Bounds of the blocks still to compute, in order."""
        done = self.finished()
        return [bounds for bounds in self.bounds if bounds not in done]

    def write(self, block: Block) -> tuple[int, int, int]:
        """Write `block` atomically; return its bounds and stored pairs (a small receipt)."""
        stop = block.start + block.indptr.size - 1
        file = self.block_path((block.start, stop))
        # into a file object: savez adds no suffix to it
        with atomic_path(file) as temporary, temporary.open("wb") as stream:
            np.savez(stream, indptr=block.indptr, indices=block.indices, minutes=block.minutes)
        return block.start, stop, int(block.indptr[-1])

    def read(self, bounds: tuple[int, int]) -> Block:
        """Read one finished block."""
        file = self.block_path(bounds)
        try:
            with np.load(file, allow_pickle=False) as archive:
                block = Block(bounds[0], archive["indptr"], archive["indices"], archive["minutes"])
        except (OSError, ValueError, KeyError) as error:
            msg = f"{file}: not a readable OD block ({error})"
            raise InputError(msg) from error
        if block.indptr.size != bounds[1] - bounds[0] + 1:
            msg = f"{file}: holds {block.indptr.size - 1} points, its name says {bounds}"
            raise InputError(msg)
        return block

    def ids(self) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        """Origin and destination ids."""
        with np.load(self.path / IDS, allow_pickle=False) as archive:
            return archive["origin_ids"], archive["destination_ids"]

    def assemble(self) -> sp.csr_matrix:
        """Join the finished blocks into one read-only CSR matrix, reading one at a time.

        Raises
        ------
        InputError
            If blocks are missing (an unfinished run) or a block file is damaged.
        """
        missing = self.missing()
        if missing:
            msg = (
                f"{self.path}: {len(missing)} of {len(self.bounds)} OD blocks are not computed "
                "yet; run the OD again with the same inputs and store to finish them"
            )
            raise InputError(msg)
        nnz = 0
        for bounds in self.bounds:  # npz members load lazily: this reads only the pointers
            with np.load(self.block_path(bounds), allow_pickle=False) as archive:
                nnz += int(archive["indptr"][-1])
        layout = self.layout
        return assemble_stream(
            (self.read(bounds) for bounds in self.bounds),
            nnz=nnz,
            n_small=int(layout["n_small"]),
            n_large=int(layout["n_large"]),
            small_is_rows=bool(layout["small_is_rows"]),
        )


def open_store(path: str | os.PathLike[str], *, inputs_hash: str) -> BlockStore | None:
    """Reopen the store at `path` for these inputs; None if there is none yet.

    Raises
    ------
    InputError
        If `path` holds a store of other inputs, or is a non-empty folder that is not a store.
    """
    folder = Path(path)
    if not folder.exists() or (folder.is_dir() and not any(folder.iterdir())):
        return None
    store = read_store(folder)
    if store.inputs_hash != inputs_hash:
        msg = (
            f"{folder}: an OD block store for other inputs (network, points or options; its "
            f"inputs hash {store.inputs_hash[:12]}, these {inputs_hash[:12]}); use another "
            "folder or delete this one"
        )
        raise InputError(msg)
    return store


def read_store(path: str | os.PathLike[str]) -> BlockStore:
    """Open an existing store whatever its inputs (to assemble or inspect it).

    Raises
    ------
    InputError
        If `path` is not a block store of this format.
    """
    folder = Path(path)
    manifest, _ = read_manifest(folder / MANIFEST, format_name=FORMAT, what="an OD block store")
    return BlockStore(
        path=folder,
        inputs_hash=str(manifest["inputs_hash"]),
        bounds=tuple((int(start), int(stop)) for start, stop in manifest["bounds"]),
        layout=manifest["layout"],
    )


def create_store(
    path: str | os.PathLike[str],
    *,
    inputs_hash: str,
    bounds: list[tuple[int, int]],
    layout: Mapping[str, Any],
    ids: tuple[npt.NDArray[Any], npt.NDArray[Any]],
) -> BlockStore:
    """Make a new store: the ids first, then the manifest, whose presence marks it usable."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    origin_ids, destination_ids = (_plain(array) for array in ids)
    with atomic_path(folder / IDS) as temporary, temporary.open("wb") as stream:
        np.savez(stream, origin_ids=origin_ids, destination_ids=destination_ids)
    manifest = {
        "format": FORMAT,
        "inputs_hash": inputs_hash,
        "bounds": [list(b) for b in bounds],
        "layout": dict(layout),
    }
    write_text_atomic(folder / MANIFEST, json.dumps(manifest, indent=1, default=str))
    return read_store(folder)


def _plain(ids: npt.NDArray[Any]) -> npt.NDArray[Any]:
    # object ids (strings from a table) are stored as text: .npz refuses pickles here
    return ids.astype(str) if ids.dtype.kind == "O" else ids
