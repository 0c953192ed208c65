"""Read and check the tables of a GTFS feed (a zip): the files and columns routing needs.

Every table is read as text and checked at the boundary, so a bad feed fails with one line
naming the file, the column and the value, before any timetable is built.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from siting._core.errors import InputError
from siting.download.gtfs import GTFS_REQUIRED_FILES

IntArray = npt.NDArray[np.int64]

#: Columns read from each file (`GTFS_REQUIRED_FILES` must be there).
COLUMNS: dict[str, tuple[str, ...]] = {
    "stops.txt": ("stop_id", "stop_lat", "stop_lon"),
    "routes.txt": ("route_id",),
    "trips.txt": ("route_id", "service_id", "trip_id"),
    "stop_times.txt": ("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"),
    "calendar.txt": (
        "service_id",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "start_date",
        "end_date",
    ),
    "calendar_dates.txt": ("service_id", "date", "exception_type"),
    "transfers.txt": ("from_stop_id", "to_stop_id", "transfer_type"),
    "frequencies.txt": ("trip_id", "start_time", "end_time", "headway_secs"),
}
#: Columns read when present, empty otherwise.
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "stops.txt": ("location_type",),
    "stop_times.txt": ("pickup_type", "drop_off_type"),
    "transfers.txt": ("min_transfer_time", "from_trip_id", "to_trip_id"),
}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Feed:
    """The tables of one feed as text (absent optional files: None), and where it came from."""

    path: Path
    tables: dict[str, pd.DataFrame | None]

    def table(self, name: str) -> pd.DataFrame:
        """A table that must be there (checked by `read_feed`)."""
        table = self.tables[name]
        assert table is not None, name
        return table

    def fail(self, name: str, message: str) -> InputError:
        """An error naming the feed and the file."""
        return InputError(f"{self.path}: {name}: {message}")


def read_feed(path: str | Path) -> Feed:
    """Read the GTFS tables routing needs from a zip, checking files and columns.

    Raises
    ------
    InputError
        The file is missing or not a zip; a required file or column is missing; there is
        neither calendar.txt nor calendar_dates.txt.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such GTFS feed")
    try:
        with zipfile.ZipFile(path) as archive:
            names = {Path(name).name: name for name in archive.namelist()}
            tables = {name: _read_table(path, archive, names, name) for name in COLUMNS}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as error:
        raise InputError(f"{path}: not a readable GTFS zip ({error})") from error
    for name in GTFS_REQUIRED_FILES:
        if tables[name] is None:
            raise InputError(f"{path}: the feed has no {name}")
    if tables["calendar.txt"] is None and tables["calendar_dates.txt"] is None:
        raise InputError(f"{path}: the feed has neither calendar.txt nor calendar_dates.txt")
    return Feed(path, tables)


def _read_table(
    path: Path, archive: zipfile.ZipFile, names: dict[str, str], name: str
) -> pd.DataFrame | None:
    if name not in names:
        return None
    try:
        raw = archive.read(names[name])
        table = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise InputError(f"{path}: {name}: not a readable CSV table ({error})") from error
    table.columns = [str(column).strip() for column in table.columns]
    missing = [column for column in COLUMNS[name] if column not in table.columns]
    if missing:
        raise InputError(f"{path}: {name}: missing column {', '.join(map(repr, missing))}")
    for column in OPTIONAL_COLUMNS.get(name, ()):
        if column not in table.columns:
            table[column] = ""
    return table[list(COLUMNS[name] + OPTIONAL_COLUMNS.get(name, ()))].map(str.strip)


def parse_times(feed: Feed, name: str, column: str, values: pd.Series) -> IntArray:
    """GTFS times ("H:MM:SS", hours may pass 24 for trips after midnight) as seconds; empty
    values as -1."""
    text = values.to_numpy(dtype=str)
    seconds = np.full(text.size, -1, dtype=np.int64)
    given = text != ""
    parts = np.char.partition(text[given], ":")
    hours, rest = parts[:, 0], np.char.partition(parts[:, 2], ":")
    minutes, secs = rest[:, 0], rest[:, 2]
    good = (
        np.char.isdigit(hours)
        & (np.char.str_len(minutes) == 2)
        & np.char.isdigit(minutes)
        & (np.char.str_len(secs) == 2)
        & np.char.isdigit(secs)
    )
    if not good.all():
        bad = str(text[given][~good][0])
        raise feed.fail(name, f"{column} must be H:MM:SS, got {bad!r}")
    value = hours.astype(np.int64) * 3600 + minutes.astype(np.int64) * 60 + secs.astype(np.int64)
    if ((minutes.astype(int) > 59) | (secs.astype(int) > 59)).any():
        bad = str(text[given][(minutes.astype(int) > 59) | (secs.astype(int) > 59)][0])
        raise feed.fail(name, f"{column} has minutes or seconds over 59: {bad!r}")
    seconds[given] = value
    return seconds


def parse_integers(feed: Feed, name: str, column: str, values: pd.Series) -> IntArray:
    """Whole numbers; empty or other text is an error naming the value."""
    text = values.to_numpy(dtype=str)
    good = np.char.isdigit(np.char.lstrip(text, "-")) if text.size else np.ones(0, bool)
    if not good.all():
        raise feed.fail(name, f"{column} must be a whole number, got {str(text[~good][0])!r}")
    return text.astype(np.int64)


def parse_dates(feed: Feed, name: str, column: str, values: pd.Series) -> list[dt.date]:
    """YYYYMMDD dates."""
    dates = []
    for text in values:
        try:
            dates.append(dt.datetime.strptime(text, "%Y%m%d").date())
        except ValueError:
            raise feed.fail(name, f"{column} must be a date YYYYMMDD, got {text!r}") from None
    return dates


def parse_coordinates(feed: Feed) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Stop latitudes and longitudes, checked to be on Earth."""
    stops = feed.table("stops.txt")
    result = []
    for column, limit in (("stop_lat", 90.0), ("stop_lon", 180.0)):
        values = pd.to_numeric(stops[column], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~(np.abs(values) <= limit)
        if bad.any():
            first = int(np.argmax(bad))
            stop, text = stops["stop_id"].iloc[first], stops[column].iloc[first]
            raise feed.fail("stops.txt", f"stop {stop!r} has {column} {text!r}")
        result.append(values)
    return result[0], result[1]
