"""Earliest arrival by the Connection Scan Algorithm: the reference RAPTOR is tested against.

Dibbelt, Pajor, Strasser and Wagner (2013), "Intriguingly Simple and Fast Transit Routing"
(SEA 2013): every elementary connection (one vehicle from one stop to the next) in order of
departure, once. Written separately from `siting.travel.raptor`, in plain Python, from the
timetable's trips rather than its patterns; the same journey rules: board where pickup is
allowed and the stop is reached by then, alight where drop-off is allowed, walk one footpath
after a vehicle (not from a stop reached on foot).
"""

from __future__ import annotations

import bisect

import numpy as np

from siting.travel.timetable import Timetable

UNREACHED = np.iinfo(np.int32).max


class ConnectionScan:
    """The timetable's connections sorted by departure, for repeated queries."""

    def __init__(self, timetable: Timetable) -> None:
        self.timetable = timetable
        connections = []
        stops = _event_stops(timetable)
        for trip in range(timetable.trip_ids.size):
            first, end = timetable.trip_event_ptr[trip], timetable.trip_event_ptr[trip + 1]
            for event in range(first, end - 1):
                connections.append(
                    (
                        int(timetable.departure_s[event]),
                        int(timetable.arrival_s[event + 1]),
                        event,
                        trip,
                        int(stops[event]),
                        int(stops[event + 1]),
                        bool(timetable.can_board[event]),
                        bool(timetable.can_alight[event + 1]),
                    )
                )
        # by departure, then arrival; a trip's own connections keep their order (event)
        connections.sort()
        self.connections = connections
        self.departures = [c[0] for c in connections]

    def earliest(self, source_stops: np.ndarray, source_times: np.ndarray) -> np.ndarray:
        """Per stop, the earliest arrival from the sources (each reached at its time)."""
        timetable = self.timetable
        reached = np.full(timetable.n_stops, UNREACHED, dtype=np.int64)
        by_vehicle = np.full(timetable.n_stops, UNREACHED, dtype=np.int64)
        for stop, time in zip(source_stops, source_times, strict=True):
            reached[stop] = min(reached[stop], time)
        on_board = np.zeros(timetable.trip_ids.size, dtype=bool)
        start = bisect.bisect_left(self.departures, int(np.min(source_times)))
        for departure, arrival, _, trip, origin, target, board, alight in self.connections[start:]:
            if not on_board[trip]:
                if not (board and reached[origin] <= departure):
                    continue
                on_board[trip] = True
            if alight and arrival < by_vehicle[target]:
                by_vehicle[target] = arrival
                reached[target] = min(reached[target], arrival)
                span = range(timetable.footpath_ptr[target], timetable.footpath_ptr[target + 1])
                for k in span:
                    other = timetable.footpath_stops[k]
                    reached[other] = min(reached[other], arrival + int(timetable.footpath_s[k]))
        return reached


def _event_stops(timetable: Timetable) -> np.ndarray:
    """The stop of every event, from each trip's pattern."""
    stops = np.empty(timetable.arrival_s.size, dtype=np.int64)
    for pattern in range(timetable.pattern_stop_ptr.size - 1):
        pattern_stops = timetable.pattern_stops[
            timetable.pattern_stop_ptr[pattern] : timetable.pattern_stop_ptr[pattern + 1]
        ]
        for trip in range(
            timetable.pattern_trip_ptr[pattern], timetable.pattern_trip_ptr[pattern + 1]
        ):
            first = timetable.trip_event_ptr[trip]
            stops[first : first + pattern_stops.size] = pattern_stops
    return stops
