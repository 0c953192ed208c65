"""Earliest arrival over a GTFS timetable by RAPTOR (round-based public transit routing).

Delling, Pajor and Werneck (2012), "Round-Based Public Transit Routing", Transportation
Science 49(3): round k finds the earliest arrival with at most k trips by scanning each
pattern once from the first stop improved in round k - 1 (section 3.1), with local pruning
against the best arrival so far (3.1, "local pruning"), then relaxes footpaths from the
stops that round's trips reached. Compiled with numba: the scan is a loop over stops and
trips with early exits that numpy cannot vectorise, and pure Python took about 100 x longer.

Journeys start at given (stop, time) labels: the caller adds walking access (to the origin
stop's footpath neighbours, or from a demand point to the stops near it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from siting._core.errors import InputError
from siting._core.jit import compiled
from siting.travel.timetable import Timetable

Int32Array = npt.NDArray[np.int32]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Arrival of a stop no journey reaches.
UNREACHED = np.iinfo(np.int32).max


def earliest_arrivals(
    timetable: Timetable,
    source_stops: npt.ArrayLike,
    source_times_s: npt.ArrayLike,
    *,
    max_transfers: int = 5,
) -> Int32Array:
    """Per stop, the earliest arrival (seconds from the timetable's midnight) of a journey
    that starts at one of `source_stops` no earlier than its time, with at most
    `max_transfers` changes of vehicle; `UNREACHED` where none arrives.

    A source stop counts as reached at its own time.
    """
    stops = np.asarray(source_stops, dtype=np.int64).ravel()
    times = np.asarray(source_times_s, dtype=np.int64).ravel()
    if stops.size != times.size:
        raise InputError(f"{stops.size} source stops but {times.size} source times")
    if stops.size == 0:
        return np.full(timetable.n_stops, UNREACHED, dtype=np.int32)
    # one run leaving at the earliest source time, each source walked to its own time
    start = int(times.min())
    arrivals: Int32Array = range_arrivals(
        timetable, stops, times - start, [start], max_transfers=max_transfers
    )[0]
    return arrivals


def range_arrivals(
    timetable: Timetable,
    access_stops: npt.ArrayLike,
    access_s: npt.ArrayLike,
    run_times_s: npt.ArrayLike,
    *,
    max_transfers: int = 5,
) -> Int32Array:
    """Range RAPTOR: per leaving time (falling), every stop's earliest arrival when leaving
    then or later, walking `access_s` seconds to each of `access_stops` first.

    Labels are kept from run to run (Delling, Pajor, Werneck 2012, section 3.3): a journey
    leaving later is one an earlier traveller may wait for, so each run only looks for what
    leaving earlier gains. Returns (runs x stops) arrivals, `UNREACHED` where none arrives.
    """
    stops = np.asarray(access_stops, dtype=np.int64).ravel()
    offsets = np.asarray(access_s, dtype=np.int64).ravel()
    runs = np.asarray(run_times_s, dtype=np.int64).ravel()
    if stops.size != offsets.size:
        raise InputError(f"{stops.size} access stops but {offsets.size} walking times")
    if stops.size and (stops.min() < 0 or stops.max() >= timetable.n_stops):
        raise InputError(f"source stops must be between 0 and {timetable.n_stops - 1}")
    if runs.size > 1 and (np.diff(runs) >= 0).any():
        raise InputError("run times must fall strictly (latest first)")
    if max_transfers < 0:
        raise InputError(f"max_transfers must be >= 0, got {max_transfers}")
    arrivals: Int32Array = _range_raptor(
        stops.astype(np.int32),
        offsets.astype(np.int32),
        runs.astype(np.int32),
        max_transfers + 1,
        *_arrays(timetable),
    )
    return arrivals


def from_stop(timetable: Timetable, stop: int, time_s: int) -> tuple[IntArray, IntArray]:
    """Sources of a journey from one stop: the stop at `time_s` and its footpath
    neighbours when walked to."""
    span = slice(timetable.footpath_ptr[stop], timetable.footpath_ptr[stop + 1])
    stops = np.r_[stop, timetable.footpath_stops[span]].astype(np.int64)
    times = np.r_[time_s, time_s + timetable.footpath_s[span]].astype(np.int64)
    return stops, times


def _arrays(timetable: Timetable) -> tuple[Any, ...]:
    return (
        timetable.pattern_stop_ptr,
        timetable.pattern_stops,
        timetable.pattern_trip_ptr,
        timetable.trip_event_ptr,
        timetable.arrival_s,
        timetable.departure_s,
        timetable.can_board,
        timetable.can_alight,
        timetable.footpath_ptr,
        timetable.footpath_stops,
        timetable.footpath_s,
        timetable.stop_pattern_ptr,
        timetable.stop_patterns,
        timetable.stop_positions,
    )


@compiled
def _range_raptor(
    source_stops: Int32Array,
    source_offsets: Int32Array,
    run_times: Int32Array,
    max_rounds: int,
    pattern_stop_ptr: IntArray,
    pattern_stops: Int32Array,
    pattern_trip_ptr: IntArray,
    trip_event_ptr: IntArray,
    arrival_s: Int32Array,
    departure_s: Int32Array,
    can_board: BoolArray,
    can_alight: BoolArray,
    footpath_ptr: IntArray,
    footpath_stops: Int32Array,
    footpath_s: Int32Array,
    stop_pattern_ptr: IntArray,
    stop_patterns: Int32Array,
    stop_positions: Int32Array,
) -> Int32Array:
    """Per run (departures in falling order), every stop's earliest arrival leaving at that
    run's time or later; labels are kept from run to run (rRAPTOR)."""
    n_stops = stop_pattern_ptr.size - 1
    n_patterns = pattern_stop_ptr.size - 1
    unreached = np.int32(2147483647)
    labels = np.full((max_rounds + 1, n_stops), unreached, dtype=np.int32)
    best = np.full(n_stops, unreached, dtype=np.int32)
    best_by_trip = np.full(n_stops, unreached, dtype=np.int32)
    marked = np.zeros(n_stops, dtype=np.bool_)
    first_position = np.full(n_patterns, -1, dtype=np.int64)
    queue = np.empty(n_patterns, dtype=np.int64)
    by_trip = np.full(n_stops, unreached, dtype=np.int32)
    reached = np.empty(n_stops, dtype=np.int64)
    result = np.empty((run_times.size, n_stops), dtype=np.int32)
    for run in range(run_times.size):
        for k in range(source_stops.size):
            stop, time = source_stops[k], run_times[run] + source_offsets[k]
            if time < labels[0, stop]:
                labels[0, stop] = time
                best[stop] = min(best[stop], time)
                marked[stop] = True
        for round_ in range(1, max_rounds + 1):
            n_queued = 0
            for stop in range(n_stops):
                if not marked[stop]:
                    continue
                marked[stop] = False
                for k in range(stop_pattern_ptr[stop], stop_pattern_ptr[stop + 1]):
                    pattern, position = stop_patterns[k], stop_positions[k]
                    if first_position[pattern] < 0:
                        queue[n_queued] = pattern
                        n_queued += 1
                        first_position[pattern] = position
                    elif position < first_position[pattern]:
                        first_position[pattern] = position
            if n_queued == 0:
                break
            previous, current = labels[round_ - 1], labels[round_]
            np.minimum(current, previous, current)  # k trips do at least as well as k - 1
            n_reached = 0
            for q in range(n_queued):
                pattern = queue[q]
                n_reached = _scan_pattern(
                    pattern,
                    first_position[pattern],
                    previous,
                    current,
                    best,
                    best_by_trip,
                    by_trip,
                    marked,
                    reached,
                    n_reached,
                    pattern_stop_ptr,
                    pattern_stops,
                    pattern_trip_ptr,
                    trip_event_ptr,
                    arrival_s,
                    departure_s,
                    can_board,
                    can_alight,
                )
                first_position[pattern] = -1
            for r in range(n_reached):
                stop = reached[r]
                for k in range(footpath_ptr[stop], footpath_ptr[stop + 1]):
                    target = footpath_stops[k]
                    walked = by_trip[stop] + footpath_s[k]
                    if walked < best[target]:
                        best[target] = walked
                        current[target] = walked
                        marked[target] = True
                by_trip[stop] = unreached
        marked[:] = False
        result[run] = best
    return result


@compiled
def _scan_pattern(
    pattern: int,
    start: int,
    previous: Int32Array,
    current: Int32Array,
    best: Int32Array,
    best_by_trip: Int32Array,
    by_trip: Int32Array,
    marked: BoolArray,
    reached: IntArray,
    n_reached: int,
    pattern_stop_ptr: IntArray,
    pattern_stops: Int32Array,
    pattern_trip_ptr: IntArray,
    trip_event_ptr: IntArray,
    arrival_s: Int32Array,
    departure_s: Int32Array,
    can_board: BoolArray,
    can_alight: BoolArray,
) -> int:
    """Ride the pattern from `start`: alight where that beats the best arrival by vehicle,
    hop on an earlier trip where the last round's arrival allows. Stops alighted at are
    listed in `reached` (their footpaths are relaxed next); returns how many."""
    first_trip, end_trip = pattern_trip_ptr[pattern], pattern_trip_ptr[pattern + 1]
    first_stop = pattern_stop_ptr[pattern]
    n_positions = pattern_stop_ptr[pattern + 1] - first_stop
    trip = -1
    for position in range(start, n_positions):
        stop = pattern_stops[first_stop + position]
        if trip >= 0:
            event = trip_event_ptr[trip] + position
            arrival = arrival_s[event]
            # pruned against arrivals by vehicle only: one at a stop first reached on foot
            # may still walk on (footpaths are not chained)
            if can_alight[event] and arrival < best_by_trip[stop]:
                best_by_trip[stop] = arrival
                if arrival < best[stop]:
                    best[stop] = arrival
                    current[stop] = arrival
                    marked[stop] = True
                if by_trip[stop] == 2147483647:
                    reached[n_reached] = stop
                    n_reached += 1
                by_trip[stop] = min(by_trip[stop], arrival)
        ready = previous[stop]
        if ready == 2147483647:
            continue
        if trip >= 0 and ready > departure_s[trip_event_ptr[trip] + position]:
            continue
        # earliest trip leaving at or after `ready` (trips never overtake: binary search)
        low, high = first_trip, trip if trip >= 0 else end_trip
        while low < high:
            middle = (low + high) // 2
            if departure_s[trip_event_ptr[middle] + position] < ready:
                low = middle + 1
            else:
                high = middle
        limit = trip if trip >= 0 else end_trip
        while low < limit and not can_board[trip_event_ptr[low] + position]:
            low += 1
        if low < limit:
            trip = low
    return n_reached
