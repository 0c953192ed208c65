"""Uploaded inputs: streamed to disk under a size limit, recognised by their content (not
their name), stored by sha256, and turned into a project's scenario file that is checked
exactly as `siting run` checks one."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import tomli_w

from siting._core.errors import InputError

#: what each upload may be, by the suffix it is stored under
KINDS = {
    "population": (".csv", ".gpkg", ".geojson"),
    "sites": (".csv", ".gpkg", ".geojson"),
    "network": (".osm.pbf",),
}
_CHUNK = 1024 * 1024
_SAFE_TEXT = re.compile(r"[^\w .,()+-]", re.UNICODE)


class TooLargeError(InputError):
    """An upload over the size limit (the page answers 413)."""


@dataclass(frozen=True)
class StoredUpload:
    """One stored file: where it is, its hash, and the name it came with (display only)."""

    path: Path
    sha256: str
    shown_name: str
    size: int
    #: False when the same content was stored before (another project may use it)
    new: bool = True


def shown_name(filename: str | None) -> str:
    """A file name fit to show: no folders (no path traversal), no control characters."""
    base = re.split(r"[\\/]", filename or "")[-1]
    return _SAFE_TEXT.sub("_", base)[:120] or "upload"


def store_upload(
    stream: BinaryIO, filename: str | None, *, field: str, folder: Path, max_bytes: int
) -> StoredUpload:
    """Copy `stream` into `folder` as ``<sha256><suffix>``, the suffix from its content.

    Raises
    ------
    TooLargeError
        More than `max_bytes` (nothing is kept).
    InputError
        Content that is none of the kinds `field` accepts, naming the field and the file.
    """
    folder.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    msg = f"{field}: {shown_name(filename)} is larger than {max_bytes:,} bytes"
                    raise TooLargeError(msg)
                digest.update(chunk)
                out.write(chunk)
        suffix = sniff(Path(temporary), field=field, filename=filename)
        final = folder / f"{digest.hexdigest()}{suffix}"
        new = not final.exists()
        os.replace(temporary, final)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return StoredUpload(final, digest.hexdigest(), shown_name(filename), size, new)


def sniff(path: Path, *, field: str, filename: str | None) -> str:
    """The suffix the content says the file is, if `field` accepts that kind."""
    head = path.read_bytes()[:4096] if path.stat().st_size else b""
    kind = _kind_of(head, path)
    allowed = KINDS[field]
    if kind not in allowed:
        what = "empty" if not head else f"not {' or '.join(allowed)}"
        msg = f"{field}: {shown_name(filename)} is {what} (judged by its content)"
        raise InputError(msg)
    return kind


def _kind_of(head: bytes, path: Path) -> str | None:
    if head.startswith(b"SQLite format 3\x00"):
        return ".gpkg"
    if b"OSMHeader" in head[:64]:
        return ".osm.pbf"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        return ".geojson" if isinstance(data, dict) and "features" in data else None
    if b"\x00" in head or not stripped:
        return None
    first = stripped.split(b"\n", 1)[0]
    return ".csv" if any(sep in first for sep in (b",", b";", b"\t")) else None


def write_project_scenario(
    folder: Path,
    *,
    name: str,
    population: StoredUpload,
    sites: StoredUpload,
    network: StoredUpload | None,
    options: dict[str, Any],
) -> Path:
    """A scenario file for an uploaded project: its files, the chosen columns, one default
    question (one new office within 30 minutes) to start from."""
    folder.mkdir(parents=True, exist_ok=True)
    population_table: dict[str, Any] = {"path": str(population.path)}
    for key in ("id_column", "population_column", "crs"):
        if options.get(f"population_{key}"):
            population_table[key] = str(options[f"population_{key}"])
    sites_table: dict[str, Any] = {"path": str(sites.path)}
    for key in ("id_column", "name_column", "status_column", "crs"):
        if options.get(f"sites_{key}"):
            sites_table[key] = str(options[f"sites_{key}"])
    data = {
        "name": name,
        "description": f"uploaded: {population.shown_name}, {sites.shown_name}",
        "inputs": {
            "network": str(network.path) if network else "straight-line",
            "population": population_table,
            "existing": sites_table,
        },
        "problems": [{"name": "one new office", "kind": "mclp", "n_new": 1, "max_minutes": 30}],
    }
    path = folder / "scenario.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path
