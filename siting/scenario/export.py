"""A scenario file that runs from anywhere: its input paths made absolute, its problems
replaced — what the web service queues for `siting run` and offers for download."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import tomli_w

from siting._core.errors import InputError

#: [inputs] keys that name a file, as a path or as a table with `path`
_TABLE_INPUTS = ("population", "candidates", "existing")


def portable_scenario(
    path: str | os.PathLike[str],
    *,
    problems: Sequence[Mapping[str, Any]] | None = None,
    sites: str | None = None,
) -> str:
    """The scenario file at `path` as TOML text with absolute input paths.

    Parameters
    ----------
    path
        A scenario file (relative paths in it are relative to its folder).
    problems
        ``[[problems]]`` tables to put instead of the file's own; None keeps them.
    sites
        A table of every site (lon/lat in WGS84, a ``status`` column) to use instead of the
        file's existing offices and candidates, as written (relative to the new file).

    Raises
    ------
    InputError
        The file cannot be read as TOML.
    """
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        msg = f"{file}: {error}"
        raise InputError(msg) from None
    folder = file.resolve().parent
    inputs = data.get("inputs", {})
    for key in _TABLE_INPUTS:
        value = inputs.get(key)
        if isinstance(value, str):
            inputs[key] = _absolute(folder, value)
        elif isinstance(value, dict) and isinstance(value.get("path"), str):
            value["path"] = _absolute(folder, value["path"])
    network = inputs.get("network")
    if isinstance(network, str) and (folder / network).is_file():
        inputs["network"] = _absolute(folder, network)
    travel = data.get("travel", {})
    if isinstance(travel.get("gtfs"), str):
        travel["gtfs"] = _absolute(folder, travel["gtfs"])
    for problem in data.get("problems", []):
        if isinstance(problem, dict) and isinstance(problem.get("competitors_file"), str):
            problem["competitors_file"] = _absolute(folder, problem["competitors_file"])
    if problems is not None:
        data["problems"] = [dict(problem) for problem in problems]
    if sites is not None:
        inputs.pop("candidates", None)
        inputs["existing"] = {"path": sites, "crs": "EPSG:4326"}
    return tomli_w.dumps(data)


def _absolute(folder: Path, text: str) -> str:
    return str((folder / Path(text).expanduser()).resolve())
