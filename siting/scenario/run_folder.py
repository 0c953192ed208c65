"""Read a folder written by `siting run` back, and refuse one that is cut short or edited.

`siting compare` reads folders other people made, sent by mail or copied half-way; every
file is checked against what `siting run` writes, and a fault is one line naming the file,
the field and the value, never a later "demand points differ".
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyogrio.errors import DataLayerError, DataSourceError

from siting._core.errors import InputError
from siting.scenario.pipeline import GROUP, SUMMARY

ASSIGNMENTS = "assignments.csv"
SITES = "sites.geojson"
#: the columns of assignments.csv that compare reads, and those of them that hold numbers
ASSIGNMENT_COLUMNS = ("problem", "demand_id", "site_id", "minutes", "population", GROUP,
                      "lon", "lat")  # fmt: skip
_NUMBERS = ("minutes", "population", "lon", "lat")
#: a demand point no office reaches has neither an office nor minutes
_MAY_BE_EMPTY = ("site_id", "minutes")
SITE_COLUMNS = ("site_id", "name", "status")
_RERUN = "re-run `siting run` to write the folder again"


@dataclass(frozen=True)
class Run:
    """One run folder: its summary, the travel table of each problem, its sites."""

    folder: Path
    summary: dict[str, Any]
    assignments: pd.DataFrame
    sites: gpd.GeoDataFrame

    @property
    def name(self) -> str:
        """The scenario's name."""
        return str(self.summary["scenario"]["name"])


def read_run(folder: str | os.PathLike[str]) -> Run:
    """Read a folder written by `siting run` and check it is whole.

    Raises
    ------
    InputError
        Naming the file, the field and the value: a missing or unreadable file, JSON or CSV
        that is cut short, a missing column or field, a value that is not a number, fewer
        rows than summary.json counts, or site ids that sites.geojson does not have.
    """
    path = Path(folder)
    if not path.is_dir():
        msg = f"{path}: no such folder; give a folder written by `siting run`"
        raise InputError(msg)
    summary = _read_summary(path / SUMMARY)
    assignments = _read_assignments(path / ASSIGNMENTS, summary)
    sites = _read_sites(path / SITES)
    _check_site_ids(path, summary, assignments, set(sites["site_id"]))
    return Run(path, summary, assignments, sites)


def _bad(file: Path, fault: str) -> InputError:
    return InputError(f"{file}: {fault}; {_RERUN}")


def _read_text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        fault = f"no such file, so {file.parent} is not a complete `siting run` folder"
        raise _bad(file, fault) from None
    except UnicodeDecodeError as error:
        raise _bad(file, f"not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise _bad(file, f"cannot be read ({error.strerror})") from None


def _read_summary(file: Path) -> dict[str, Any]:
    try:
        summary = json.loads(_read_text(file))
    except json.JSONDecodeError as error:
        fault = (
            f"not valid JSON at line {error.lineno}, column {error.colno} ({error.msg}): "
            "the file looks truncated or edited"
        )
        raise _bad(file, fault) from None
    if not isinstance(summary, dict):
        raise _bad(file, f"expected a JSON object, got {type(summary).__name__}")
    _field(file, summary, ("scenario", "name"), str)
    points = _field(file, summary, ("inputs", "demand_points"), int)
    if isinstance(points, bool) or points < 0:
        raise _bad(file, f"field 'inputs.demand_points' must be a count, got {points!r}")
    for position, problem in enumerate(_field(file, summary, ("problems",), list)):
        where = f"problems[{position}]"
        name = problem.get("name") if isinstance(problem, dict) else problem
        if not isinstance(name, str):
            raise _bad(file, f"field '{where}.name' must be a name, got {name!r}")
        for key in ("opened", "closed_sites"):
            if not isinstance(problem.get(key, []), list):
                raise _bad(file, f"field '{where}.{key}' must be a list, got {problem[key]!r}")
    return summary


def _field(file: Path, record: dict[str, Any], keys: Sequence[str], kind: type) -> Any:
    """The value at `keys` (nested), which must be of `kind`."""
    value: Any = record
    for depth, key in enumerate(keys):
        if not isinstance(value, dict) or key not in value:
            raise _bad(file, f"field {'.'.join(keys[: depth + 1])!r} is missing")
        value = value[key]
    if not isinstance(value, kind):
        raise _bad(file, f"field {'.'.join(keys)!r} must be {kind.__name__}, got {value!r}")
    return value


def _read_assignments(file: Path, summary: dict[str, Any]) -> pd.DataFrame:
    text = _read_text(file)
    if not text.strip():
        raise _bad(file, "the file is empty: it looks truncated")
    if not text.endswith("\n"):
        # pandas ends every row with a line break: a last line without one was cut mid-row
        fault = f"line {text.count(chr(10)) + 1} ends mid-row: the file looks truncated"
        raise _bad(file, fault)
    try:
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.ParserError as error:
        raise _bad(file, f"not a CSV table ({' '.join(str(error).split())})") from None
    missing = [column for column in ASSIGNMENT_COLUMNS if column not in table.columns]
    if missing:
        fault = f"missing column(s) {', '.join(missing)} (it has {', '.join(table.columns)})"
        raise _bad(file, fault)
    table = _typed(file, table)
    _check_rows(file, table, summary)
    return table


def _typed(file: Path, table: pd.DataFrame) -> pd.DataFrame:
    """Numbers as floats and empty ids as missing; a value that is neither is named."""
    typed = table.copy()
    for column in ASSIGNMENT_COLUMNS:
        raw = table[column].str.strip()
        values = pd.to_numeric(raw, errors="coerce") if column in _NUMBERS else raw
        empty = raw == ""
        bad = (pd.isna(values) & ~empty) | (empty & (column not in _MAY_BE_EMPTY))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            expected = "a number" if column in _NUMBERS else "a value"
            fault = f"column {column!r}, line {row + 2}: expected {expected}, got {raw.iloc[row]!r}"
            raise _bad(file, fault)
        typed[column] = values.mask(empty) if column in _MAY_BE_EMPTY else values
    return typed


def _check_rows(file: Path, table: pd.DataFrame, summary: dict[str, Any]) -> None:
    """One row per demand point in every problem summary.json has metrics for."""
    expected = int(summary["inputs"]["demand_points"])
    problems = [str(p["name"]) for p in summary["problems"]]
    twice = table.duplicated(["problem", "demand_id"])
    if twice.any():
        row = int(np.flatnonzero(twice.to_numpy())[0])
        problem, point = table["problem"].iloc[row], table["demand_id"].iloc[row]
        raise _bad(file, f"line {row + 2}: demand point {point!r} of {problem!r} comes twice")
    counts = table["problem"].value_counts()
    unknown = sorted(set(counts.index) - set(problems))
    if unknown:
        raise _bad(file, f"problem {unknown[0]!r} is not in {SUMMARY} (it has {problems})")
    for record in summary["problems"]:
        if "metrics" not in record:
            continue  # a problem without a travel table (no rows in the file)
        rows = int(counts.get(record["name"], 0))
        if rows != expected:
            fault = (
                f"{rows} row(s) for problem {record['name']!r}, but {SUMMARY} says the run "
                f"has {expected} demand points: the file looks truncated or incomplete"
            )
            raise _bad(file, fault)


def _read_sites(file: Path) -> gpd.GeoDataFrame:
    if not file.is_file():
        _read_text(file)  # the same message as any missing file
    try:
        sites = gpd.read_file(file)
    except (OSError, ValueError, DataSourceError, DataLayerError) as error:
        reason = " ".join(str(error).split())
        raise _bad(file, f"cannot be read as GeoJSON ({reason})") from None
    missing = [column for column in SITE_COLUMNS if column not in sites.columns]
    if missing:
        raise _bad(file, f"missing field(s) {', '.join(missing)} in its features")
    sites["site_id"] = sites["site_id"].astype(str)
    twice = sites["site_id"].duplicated()
    if twice.any():
        raise _bad(file, f"site id {sites['site_id'][twice].iloc[0]!r} comes twice")
    return sites


def _check_site_ids(
    folder: Path, summary: dict[str, Any], assignments: pd.DataFrame, known: set[str]
) -> None:
    """Every office a problem uses, opens or closes is one of the run's sites."""
    used = assignments["site_id"].dropna()
    unknown = ~used.isin(known)
    if unknown.any():
        row = int(used.index[unknown.to_numpy()][0])
        fault = f"line {row + 2}: site id {used[row]!r} is not in {SITES}"
        raise _bad(folder / ASSIGNMENTS, fault)
    for position, record in enumerate(summary["problems"]):
        for key in ("opened", "closed_sites"):
            strange = [str(site) for site in record.get(key, []) if str(site) not in known]
            if strange:
                fault = f"field 'problems[{position}].{key}': site id {strange[0]!r} not in {SITES}"
                raise _bad(folder / SUMMARY, fault)
