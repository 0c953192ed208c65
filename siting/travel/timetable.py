"""Build the timetable of one service day from a GTFS feed, in the arrays RAPTOR scans.

Trips that stop at the same stops in the same order form a *pattern* (RAPTOR's "route",
Delling, Pajor and Werneck 2012, section 3); within a pattern trips are sorted so that none
overtakes another, which lets a query find the earliest trip at a stop by binary search.
Trips of the previous day still running after midnight (GTFS times past 24:00) and of the
next day are included, shifted by a day, so journeys across midnight are found.
Footpaths join stops within walking distance (straight line x circuity at walking speed)
and those transfers.txt names; they are not chained (a journey walks once between trips).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from siting._core.errors import InputError
from siting.roads.graph_build import EARTH_RADIUS_M, haversine_m
from siting.travel.gtfs_calendar import feed_period, services_on
from siting.travel.gtfs_feed import (
    Feed,
    parse_coordinates,
    parse_integers,
    parse_times,
    read_feed,
)
from siting.travel.options import WALK_CIRCUITY, WALK_SPEED_KPH

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

DAY_S = 86_400
#: Stops this near (straight line, metres) are joined by a footpath.
FOOTPATH_M = 400.0


@dataclass(frozen=True)
class Timetable:
    """One service day of a feed, as flat arrays (times in seconds from midnight of `date`).

    Patterns: ``pattern_stops[pattern_stop_ptr[p]:pattern_stop_ptr[p + 1]]`` are the stops of
    pattern p; its trips are ``pattern_trip_ptr[p]..pattern_trip_ptr[p + 1] - 1``, sorted so
    that none overtakes another; trip t's events (one per stop) start at
    ``trip_event_ptr[t]``. Footpaths and the stops' patterns are row-pointer indexes too.
    """

    feed: Path
    date: dt.date
    stop_ids: npt.NDArray[np.str_]
    stop_lat: FloatArray
    stop_lon: FloatArray
    pattern_stop_ptr: IntArray
    pattern_stops: Int32Array
    pattern_trip_ptr: IntArray
    trip_ids: npt.NDArray[np.str_]
    trip_event_ptr: IntArray
    arrival_s: Int32Array
    departure_s: Int32Array
    can_board: BoolArray
    can_alight: BoolArray
    footpath_ptr: IntArray
    footpath_stops: Int32Array
    footpath_s: Int32Array
    stop_pattern_ptr: IntArray
    stop_patterns: Int32Array
    stop_positions: Int32Array

    @property
    def n_stops(self) -> int:
        """Number of stops served by some trip."""
        return int(self.stop_ids.size)

    def stop_index(self, stop_id: str) -> int:
        """The index of a GTFS stop id."""
        found = np.flatnonzero(self.stop_ids == stop_id)
        if found.size == 0:
            raise InputError(f"{self.feed}: no trip serves stop {stop_id!r}")
        return int(found[0])


def load_timetable(path: str | Path, date: dt.date, *, footpath_m: float = FOOTPATH_M) -> Timetable:
    """Read a GTFS zip and build the timetable of `date`.

    Raises
    ------
    InputError
        A bad feed (see `siting.travel.gtfs_feed.read_feed`), stop times out of sequence or
        without times, a date outside the feed's calendar, or no trip that day.
    """
    feed = read_feed(path)
    first, last = feed_period(feed)
    if not first <= date <= last:
        raise InputError(f"{feed.path}: date {date} is outside the feed's calendar {first}..{last}")
    events = _stop_events(feed)
    trips = _trip_instances(feed, events, date)
    if not any(0 <= trip.start_s < DAY_S for trip in trips):
        raise InputError(f"{feed.path}: no trip runs on {date} (no service that day)")
    timetable = _assemble(feed, date, events, trips, footpath_m)
    logger.info(
        "GTFS %s on %s: %d stops, %d patterns, %d trips, %d footpaths",
        feed.path.name,
        date,
        timetable.n_stops,
        timetable.pattern_stop_ptr.size - 1,
        timetable.trip_ids.size,
        timetable.footpath_stops.size,
    )
    return timetable


@dataclass(frozen=True)
class _Events:
    """stop_times sorted by trip and sequence: per trip its first row (``trip_ptr``)."""

    trip_ids: npt.NDArray[np.str_]
    trip_ptr: IntArray
    stop_ids: npt.NDArray[np.str_]
    arrival_s: IntArray
    departure_s: IntArray
    can_board: BoolArray
    can_alight: BoolArray


def _stop_events(feed: Feed) -> _Events:
    table = feed.table("stop_times.txt")
    sequence = parse_integers(feed, "stop_times.txt", "stop_sequence", table["stop_sequence"])
    order = np.lexsort((sequence, table["trip_id"].to_numpy(dtype=str)))
    table, sequence = table.iloc[order].reset_index(drop=True), sequence[order]
    trip = table["trip_id"].to_numpy(dtype=str)
    starts = np.flatnonzero(np.r_[True, trip[1:] != trip[:-1]])
    trip_ptr = np.r_[starts, trip.size].astype(np.int64)
    same_trip = np.r_[False, trip[1:] == trip[:-1]]
    repeated = same_trip & np.r_[False, sequence[1:] == sequence[:-1]]
    if repeated.any():
        row = int(np.argmax(repeated))
        raise feed.fail(
            "stop_times.txt", f"trip {str(trip[row])!r} repeats stop_sequence {sequence[row]}"
        )
    arrival, departure = _filled_times(feed, table, trip_ptr)
    _check_in_time_order(feed, trip, sequence, arrival, departure, same_trip)
    _check_stops_known(feed, table["stop_id"])
    return _Events(
        trip_ids=trip[starts],
        trip_ptr=trip_ptr,
        stop_ids=table["stop_id"].to_numpy(dtype=str),
        arrival_s=arrival,
        departure_s=departure,
        can_board=(table["pickup_type"] != "1").to_numpy(),
        can_alight=(table["drop_off_type"] != "1").to_numpy(),
    )


def _filled_times(feed: Feed, table: pd.DataFrame, trip_ptr: IntArray) -> tuple[IntArray, IntArray]:
    """Arrival and departure seconds; a missing one takes the other, stops with neither are
    interpolated by position between the trip's timed stops (GTFS allows untimed stops)."""
    arrival = parse_times(feed, "stop_times.txt", "arrival_time", table["arrival_time"])
    departure = parse_times(feed, "stop_times.txt", "departure_time", table["departure_time"])
    arrival = np.where(arrival < 0, departure, arrival)
    departure = np.where(departure < 0, arrival, departure)
    untimed = arrival < 0
    ends = np.r_[trip_ptr[:-1], trip_ptr[1:] - 1]
    if untimed[ends].any():
        row = int(ends[untimed[ends]][0])
        trip = table["trip_id"].iloc[row]
        raise feed.fail("stop_times.txt", f"trip {trip!r} has no time at its first or last stop")
    if untimed.any():
        # the trips' ends are timed, so interpolating along all rows never crosses trips
        position = np.arange(arrival.size)
        filled = np.interp(position[untimed], position[~untimed], arrival[~untimed])
        arrival[untimed] = departure[untimed] = np.round(filled).astype(np.int64)
    return arrival, departure


def _check_in_time_order(
    feed: Feed,
    trip: npt.NDArray[np.str_],
    sequence: IntArray,
    arrival: IntArray,
    departure: IntArray,
    same_trip: BoolArray,
) -> None:
    """No trip leaves a stop before it arrives, or reaches a stop before it left the last."""
    backwards = departure < arrival
    backwards[1:] |= same_trip[1:] & (arrival[1:] < departure[:-1])
    if backwards.any():
        row = int(np.argmax(backwards))
        raise feed.fail(
            "stop_times.txt",
            f"trip {str(trip[row])!r} goes back in time at stop_sequence {sequence[row]}: "
            "stop times out of sequence",
        )


def _check_stops_known(feed: Feed, stop_ids: pd.Series) -> None:
    known = set(feed.table("stops.txt")["stop_id"])
    unknown = ~stop_ids.isin(known)
    if unknown.any():
        stop = stop_ids[unknown].iloc[0]
        raise feed.fail("stop_times.txt", f"stop_id {stop!r} is not in stops.txt")


@dataclass(frozen=True)
class _Trip:
    """One run of a trip: its rows in `_Events`, its shift and its first departure (s)."""

    index: int
    offset_s: int
    start_s: int


def _trip_instances(feed: Feed, events: _Events, date: dt.date) -> list[_Trip]:
    """Trips running on the day before (past midnight only), the day and the day after."""
    trips = feed.table("trips.txt")
    service = dict(zip(trips["trip_id"], trips["service_id"], strict=True))
    unknown = [trip for trip in events.trip_ids if trip not in service]
    if unknown:
        raise feed.fail("stop_times.txt", f"trip_id {str(unknown[0])!r} is not in trips.txt")
    starts = _frequency_starts(feed)
    first = events.departure_s[events.trip_ptr[:-1]]
    last = events.arrival_s[events.trip_ptr[1:] - 1]
    instances = []
    for shift in (-1, 0, 1):
        running = services_on(feed, date + dt.timedelta(days=shift))
        for index, trip_id in enumerate(events.trip_ids):
            if service[trip_id] not in running:
                continue
            for start in starts.get(trip_id, [int(first[index])]):
                offset = shift * DAY_S + start - int(first[index])
                if last[index] + offset >= 0:
                    instances.append(_Trip(index, offset, int(first[index]) + offset))
    return instances


def _frequency_starts(feed: Feed) -> dict[str, list[int]]:
    """Per frequency-based trip, the departures from its first stop (start_time to before
    end_time every headway_secs); its stop_times give the times relative to the first."""
    table = feed.tables["frequencies.txt"]
    if table is None or not len(table):
        return {}
    start = parse_times(feed, "frequencies.txt", "start_time", table["start_time"])
    end = parse_times(feed, "frequencies.txt", "end_time", table["end_time"])
    headway = parse_integers(feed, "frequencies.txt", "headway_secs", table["headway_secs"])
    if (headway <= 0).any() or (start < 0).any() or (end < 0).any():
        raise feed.fail("frequencies.txt", "needs start_time, end_time and headway_secs > 0")
    starts: dict[str, list[int]] = {}
    for trip, first, stop, step in zip(table["trip_id"], start, end, headway, strict=True):
        starts.setdefault(trip, []).extend(range(int(first), int(stop), int(step)))
    return starts


def _assemble(
    feed: Feed, date: dt.date, events: _Events, trips: list[_Trip], footpath_m: float
) -> Timetable:
    stop_ids, stop_of_event = np.unique(events.stop_ids, return_inverse=True)
    patterns = list(_patterns(events, stop_of_event, trips))
    pattern_stops = [
        stop_of_event[events.trip_ptr[group[0].index] :][: _length(events, group[0])]
        for group in patterns
    ]
    ordered = [trip for group in patterns for trip in group]
    rows = [np.arange(events.trip_ptr[t.index], events.trip_ptr[t.index + 1]) for t in ordered]
    offsets = np.concatenate(
        [np.full(r.size, t.offset_s) for r, t in zip(rows, ordered, strict=True)]
    )
    every = np.concatenate(rows)
    lat, lon = _stop_coordinates(feed, stop_ids)
    footpaths = _footpaths(feed, stop_ids, lat, lon, footpath_m)
    stop_index = _stop_patterns(pattern_stops, stop_ids.size)
    return Timetable(
        feed=feed.path,
        date=date,
        stop_ids=stop_ids,
        stop_lat=lat,
        stop_lon=lon,
        pattern_stop_ptr=_pointer([p.size for p in pattern_stops]),
        pattern_stops=np.concatenate(pattern_stops).astype(np.int32),
        pattern_trip_ptr=_pointer([len(group) for group in patterns]),
        trip_ids=events.trip_ids[[t.index for t in ordered]],
        trip_event_ptr=_pointer([r.size for r in rows]),
        arrival_s=(events.arrival_s[every] + offsets).astype(np.int32),
        departure_s=(events.departure_s[every] + offsets).astype(np.int32),
        can_board=events.can_board[every],
        can_alight=events.can_alight[every],
        footpath_ptr=footpaths[0],
        footpath_stops=footpaths[1],
        footpath_s=footpaths[2],
        stop_pattern_ptr=stop_index[0],
        stop_patterns=stop_index[1],
        stop_positions=stop_index[2],
    )


def _length(events: _Events, trip: _Trip) -> int:
    return int(events.trip_ptr[trip.index + 1] - events.trip_ptr[trip.index])


def _pointer(sizes: list[int]) -> IntArray:
    pointer = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=pointer[1:])
    return pointer


def _patterns(
    events: _Events, stop_of_event: IntArray, trips: list[_Trip]
) -> Iterator[list[_Trip]]:
    """Trips grouped by their stop sequence, each group split so that no trip overtakes
    another (sorted by departure, every stop's times then rise from trip to trip)."""
    groups: dict[bytes, list[_Trip]] = {}
    for trip in trips:
        span = slice(events.trip_ptr[trip.index], events.trip_ptr[trip.index + 1])
        groups.setdefault(stop_of_event[span].tobytes(), []).append(trip)
    for group in groups.values():
        yield from _without_overtaking(events, group)


def _without_overtaking(events: _Events, group: list[_Trip]) -> Iterator[list[_Trip]]:
    def times(trip: _Trip) -> tuple[IntArray, IntArray]:
        span = slice(events.trip_ptr[trip.index], events.trip_ptr[trip.index + 1])
        return events.arrival_s[span] + trip.offset_s, events.departure_s[span] + trip.offset_s

    timed = sorted(
        ((times(t), t) for t in group), key=lambda item: (int(item[0][1][0]), int(item[0][0][-1]))
    )
    lanes: list[list[tuple[tuple[IntArray, IntArray], _Trip]]] = []
    for item in timed:
        (arrival, departure), _ = item
        for lane in lanes:
            (last_arrival, last_departure), _ = lane[-1]
            if (arrival >= last_arrival).all() and (departure >= last_departure).all():
                lane.append(item)
                break
        else:
            lanes.append([item])
    for lane in lanes:
        yield [trip for _, trip in lane]


def _stop_coordinates(feed: Feed, stop_ids: npt.NDArray[np.str_]) -> tuple[FloatArray, FloatArray]:
    lat, lon = parse_coordinates(feed)
    known = feed.table("stops.txt")["stop_id"].to_numpy(dtype=str)
    order = np.argsort(known, kind="stable")
    where = order[np.searchsorted(known[order], stop_ids)]
    return lat[where], lon[where]


def walk_seconds(distance_m: FloatArray) -> Int32Array:
    """Walking time over a straight-line distance, rounded up to the second."""
    seconds = np.ceil(distance_m * WALK_CIRCUITY / (WALK_SPEED_KPH / 3.6))
    return seconds.astype(np.int32)


def _footpaths(
    feed: Feed,
    stop_ids: npt.NDArray[np.str_],
    lat: FloatArray,
    lon: FloatArray,
    footpath_m: float,
) -> tuple[IntArray, Int32Array, Int32Array]:
    """Stops within `footpath_m`, then transfers.txt: type 2 sets the time, 3 removes it."""
    xyz = sphere_metres(lat, lon)
    pairs = cKDTree(xyz).query_pairs(footpath_m, output_type="ndarray")
    both = np.vstack([pairs, pairs[:, ::-1]]) if pairs.size else np.empty((0, 2), dtype=np.int64)
    distance = haversine_m(lon[both[:, 0]], lat[both[:, 0]], lon[both[:, 1]], lat[both[:, 1]])
    near = distance <= footpath_m
    paths = {
        (int(a), int(b)): int(s)
        for (a, b), s in zip(both[near], walk_seconds(distance[near]), strict=True)
    }
    _apply_transfers(feed, stop_ids, lat, lon, paths)
    ordered = sorted(paths.items())
    origin = np.array([a for (a, _), _ in ordered], dtype=np.int64)
    pointer = np.searchsorted(origin, np.arange(stop_ids.size + 1)).astype(np.int64)
    target = np.array([b for (_, b), _ in ordered], dtype=np.int32)
    seconds = np.array([s for _, s in ordered], dtype=np.int32)
    return pointer, target, seconds


def sphere_metres(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """Points as (x, y, z) metres on the sphere: a chord is never longer than its arc, so a
    k-d tree search within d finds every pair whose great-circle distance is d or less."""
    phi, lam = np.radians(lat), np.radians(lon)
    return EARTH_RADIUS_M * np.column_stack(
        [np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)]
    )


def _apply_transfers(
    feed: Feed,
    stop_ids: npt.NDArray[np.str_],
    lat: FloatArray,
    lon: FloatArray,
    paths: dict[tuple[int, int], int],
) -> None:
    """Stop-to-stop rows of transfers.txt (trip-to-trip rows are not modelled)."""
    table = feed.tables["transfers.txt"]
    if table is None or not len(table):
        return
    index = {stop: i for i, stop in enumerate(stop_ids)}
    stop_level = (table["from_trip_id"] == "") & (table["to_trip_id"] == "")
    rows = table[stop_level & (table["from_stop_id"] != table["to_stop_id"])]
    for start, end, kind, minimum in rows[
        ["from_stop_id", "to_stop_id", "transfer_type", "min_transfer_time"]
    ].itertuples(index=False, name=None):
        a, b = index.get(str(start)), index.get(str(end))
        if a is None or b is None:
            continue  # a stop no trip serves that day (or a station)
        if kind == "3":
            paths.pop((a, b), None)
        elif kind == "2" and minimum != "":
            if not str(minimum).isdigit():
                raise feed.fail(
                    "transfers.txt", f"min_transfer_time must be whole seconds, got {minimum!r}"
                )
            paths[(a, b)] = int(minimum)
        elif (a, b) not in paths:
            distance = haversine_m(lon[[a]], lat[[a]], lon[[b]], lat[[b]])
            paths[(a, b)] = int(walk_seconds(distance)[0])


def _stop_patterns(
    pattern_stops: list[IntArray], n_stops: int
) -> tuple[IntArray, Int32Array, Int32Array]:
    """Per stop, the patterns through it and the stop's position in each."""
    stops = np.concatenate(pattern_stops) if pattern_stops else np.zeros(0, dtype=np.int64)
    pattern = np.repeat(np.arange(len(pattern_stops)), [p.size for p in pattern_stops])
    position = (
        np.concatenate([np.arange(p.size) for p in pattern_stops]) if pattern_stops else stops
    )
    order = np.lexsort((position, pattern, stops))
    pointer = np.searchsorted(stops[order], np.arange(n_stops + 1)).astype(np.int64)
    return pointer, pattern[order].astype(np.int32), position[order].astype(np.int32)
