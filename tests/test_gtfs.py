"""Reading a GTFS feed into a day's timetable: what a bad feed is told, untimed stops, patterns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from gtfs_files import CALENDAR, STOP_TIMES, STOPS, write_feed

from siting import InputError
from siting.travel.timetable import load_timetable, walk_seconds

DAY = dt.date(2023, 3, 15)


@pytest.mark.parametrize(
    ("tables", "leave_out", "message"),
    [
        ({}, ("stop_times",), r"feed\.zip: the feed has no stop_times\.txt"),
        ({}, ("calendar",), "neither calendar.txt nor calendar_dates.txt"),
        (
            {"stop_times": STOP_TIMES.replace(",departure_time", "")},
            (),
            r"stop_times\.txt: missing column 'departure_time'",
        ),
        (
            {"stop_times": STOP_TIMES.replace("A1,08:10:00,08:10:00", "A1,07:50:00,07:50:00")},
            (),
            "trip 'A1' goes back in time at stop_sequence 2: stop times out of sequence",
        ),
        (
            {"stop_times": STOP_TIMES.replace("A1,08:10:00,08:10:00", "A1,8h10,8h10")},
            (),
            "arrival_time must be H:MM:SS, got '8h10'",
        ),
        (
            {"stop_times": STOP_TIMES.replace("S2,2", "S9,2", 1)},
            (),
            "stop_id 'S9' is not in stops.txt",
        ),
        (
            {
                "stop_times": STOP_TIMES.replace(
                    "A1,08:10:00,08:10:00,S2,2", "A1,08:10:00,08:10:00,S2,1"
                )
            },
            (),
            "trip 'A1' repeats stop_sequence 1",
        ),
        (
            {"stop_times": STOP_TIMES.replace("A1,08:20:00,08:20:00", "A1,,")},
            (),
            "trip 'A1' has no time at its first or last stop",
        ),
        ({"stops": STOPS.replace("65.0,20.05", "95.0,20.05")}, (), "stop 'S2' has stop_lat '95.0'"),
        (
            {"trips": "route_id,service_id,trip_id\nA,ALL,A1\n"},
            (),
            "trip_id 'A2' is not in trips.txt",
        ),
    ],
)
def test_a_bad_feed_is_told_in_one_line(
    tmp_path: Path, tables: dict[str, str], leave_out: tuple[str, ...], message: str
) -> None:
    """Each defect raises an InputError naming the feed, the file and the value."""
    feed = write_feed(tmp_path / "feed.zip", leave_out=leave_out, **tables)
    with pytest.raises(InputError, match=message):
        load_timetable(feed, DAY)


def test_a_corrupt_zip_is_an_input_error(tmp_path: Path) -> None:
    """Half a zip file: 'not a readable GTFS zip', not a traceback."""
    whole = write_feed(tmp_path / "whole.zip").read_bytes()
    broken = tmp_path / "broken.zip"
    broken.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError, match=r"broken\.zip: not a readable GTFS zip"):
        load_timetable(broken, DAY)
    with pytest.raises(InputError, match="no such GTFS feed"):
        load_timetable(tmp_path / "absent.zip", DAY)


def test_a_date_outside_the_calendar_names_the_period(tmp_path: Path) -> None:
    feed = write_feed(tmp_path / "feed.zip")
    with pytest.raises(
        InputError, match=r"2024-02-01 is outside the feed's calendar 2023-01-01\.\.2023-12-31"
    ):
        load_timetable(feed, dt.date(2024, 2, 1))


def test_a_day_without_service_is_said_so(tmp_path: Path) -> None:
    """Weekdays only, asked for a Sunday: no trip that day."""
    weekdays = CALENDAR.replace("ALL,1,1,1,1,1,1,1", "ALL,1,1,1,1,1,0,0")
    feed = write_feed(tmp_path / "feed.zip", calendar=weekdays)
    with pytest.raises(InputError, match=r"no trip runs on 2023-03-19 \(no service that day\)"):
        load_timetable(feed, dt.date(2023, 3, 19))


def test_untimed_stops_are_interpolated(tmp_path: Path) -> None:
    """S2 without times on A1 (allowed at non-timepoints) gets 08:10, halfway 08:00-08:20."""
    feed = write_feed(
        tmp_path / "feed.zip", stop_times=STOP_TIMES.replace("A1,08:10:00,08:10:00", "A1,,")
    )
    timetable = load_timetable(feed, DAY)
    trip = int(np.flatnonzero(timetable.trip_ids == "A1")[0])
    event = timetable.trip_event_ptr[trip] + 1
    assert timetable.arrival_s[event] == timetable.departure_s[event] == 8 * 3600 + 600


def test_overtaking_trips_go_to_separate_patterns(tmp_path: Path) -> None:
    """An express leaving S1 after A1 but reaching S3 before it cannot share A1's pattern
    (RAPTOR's binary search needs trips in the same order at every stop)."""
    express = "X1,08:05:00,08:05:00,S1,1\nX1,08:09:00,08:09:00,S2,2\nX1,08:15:00,08:15:00,S3,3\n"
    trips = "route_id,service_id,trip_id\nA,ALL,A1\nA,ALL,A2\nB,ALL,B1\nC,ALL,C1\nA,ALL,X1\n"
    feed = write_feed(tmp_path / "feed.zip", stop_times=STOP_TIMES + express, trips=trips)
    timetable = load_timetable(feed, DAY)
    pattern_of = np.repeat(
        np.arange(timetable.pattern_trip_ptr.size - 1), np.diff(timetable.pattern_trip_ptr)
    )
    on_day = timetable.departure_s[timetable.trip_event_ptr[:-1]] < 86_400
    a1 = pattern_of[(timetable.trip_ids == "A1") & on_day]
    x1 = pattern_of[(timetable.trip_ids == "X1") & on_day]
    a2 = pattern_of[(timetable.trip_ids == "A2") & on_day]
    assert a1 != x1
    assert x1 == a2 or a1 == a2  # A2 is overtaken by no one: it joins one of them


def test_footpaths_join_near_stops_only(tmp_path: Path) -> None:
    """S3-S5 (78 m) are joined both ways, at 1.3 x 78 m at 4.8 km/h; 2.3 km S1-S2 is not."""
    timetable = load_timetable(write_feed(tmp_path / "feed.zip"), DAY)
    s3, s5 = timetable.stop_index("S3"), timetable.stop_index("S5")
    paths = {
        (int(a), int(timetable.footpath_stops[k]), int(timetable.footpath_s[k]))
        for a in range(timetable.n_stops)
        for k in range(timetable.footpath_ptr[a], timetable.footpath_ptr[a + 1])
    }
    seconds = int(walk_seconds(np.array([77.84]))[0])
    assert paths == {(s3, s5, seconds), (s5, s3, seconds)}
    assert seconds == 76


def test_transfers_txt_sets_and_removes_footpaths(tmp_path: Path) -> None:
    """transfers.txt: S1-S2 type 2 (300 s) adds a walk; S3->S5 type 3 forbids one way."""
    transfers = "from_stop_id,to_stop_id,transfer_type,min_transfer_time\nS1,S2,2,300\nS3,S5,3,\n"
    timetable = load_timetable(write_feed(tmp_path / "feed.zip", transfers=transfers), DAY)
    index = timetable.stop_index
    paths = {
        (
            str(timetable.stop_ids[a]),
            str(timetable.stop_ids[timetable.footpath_stops[k]]),
            int(timetable.footpath_s[k]),
        )
        for a in range(timetable.n_stops)
        for k in range(timetable.footpath_ptr[a], timetable.footpath_ptr[a + 1])
    }
    assert paths == {("S1", "S2", 300), ("S5", "S3", 76)}
    assert index("S1") != index("S2")
