"""RAPTOR earliest arrivals: hand-made feeds checked on paper, and the Norrbotten feed
against the Connection Scan Algorithm (`tests/csa_reference.py`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from csa_reference import ConnectionScan
from gtfs_files import STOP_TIMES, write_feed
from shared_data import shared_file

from siting.travel.raptor import UNREACHED, earliest_arrivals, from_stop
from siting.travel.timetable import Timetable, load_timetable

DAY = dt.date(2023, 3, 15)  # a Wednesday
NORRBOTTEN = shared_file("gtfs_norrbotten_2023.zip")


def _clock(text: str) -> int:
    hours, minutes, seconds = (int(part) for part in text.split(":"))
    return hours * 3600 + minutes * 60 + seconds


def _arrivals(timetable: Timetable, stop: str, at: str, **options: int) -> dict[str, int]:
    sources = from_stop(timetable, timetable.stop_index(stop), _clock(at))
    best = earliest_arrivals(timetable, *sources, **options)
    return {
        str(stop_id): int(time)
        for stop_id, time in zip(timetable.stop_ids, best, strict=True)
        if time != UNREACHED
    }


def _trips_of_the_day(timetable: Timetable) -> list[str]:
    """Trips leaving their first stop on the timetable's date (not the day before or after)."""
    first = timetable.departure_s[timetable.trip_event_ptr[:-1]]
    return sorted(str(trip) for trip in timetable.trip_ids[(first >= 0) & (first < 86_400)])


def test_a_change_of_bus_and_a_walk_are_found(tmp_path: Path) -> None:
    """S1 07:55: A1 to S3 at 08:20, change to B1 for S4 at 08:35; S5 is 76 s on foot from S3."""
    timetable = load_timetable(write_feed(tmp_path / "feed.zip"), DAY)
    arrivals = _arrivals(timetable, "S1", "07:55:00")
    assert arrivals == {
        "S1": _clock("07:55:00"),
        "S2": _clock("08:10:00"),
        "S3": _clock("08:20:00"),
        "S4": _clock("08:35:00"),
        "S5": _clock("08:21:16"),
    }


def test_no_change_allowed_leaves_the_second_line_out(tmp_path: Path) -> None:
    """max_transfers=0: one bus only, so S4 (a change away) is out of reach."""
    timetable = load_timetable(write_feed(tmp_path / "feed.zip"), DAY)
    arrivals = _arrivals(timetable, "S1", "07:55:00", max_transfers=0)
    assert "S4" not in arrivals
    assert arrivals["S5"] == _clock("08:21:16")


def test_no_pickup_means_walking_to_the_other_line(tmp_path: Path) -> None:
    """B1 takes no one at S3 (pickup_type 1): S4 only by walking to S5 and C1, 08:50."""
    stop_times = STOP_TIMES.replace(
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence",
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence,pickup_type",
    )
    rows = [line + ("," if line.count(",") == 4 else "") for line in stop_times.splitlines()]
    rows = [row + "1" if row.startswith("B1,08:25:00") else row for row in rows]
    feed = write_feed(tmp_path / "feed.zip", stop_times="\n".join(rows) + "\n")
    arrivals = _arrivals(load_timetable(feed, DAY), "S1", "07:55:00")
    assert arrivals["S4"] == _clock("08:50:00")


def test_missing_the_first_bus_waits_for_the_next(tmp_path: Path) -> None:
    """Leaving S1 at 08:01 catches A2 (09:00), reaching S3 at 09:20; B1 and C1 have left."""
    timetable = load_timetable(write_feed(tmp_path / "feed.zip"), DAY)
    arrivals = _arrivals(timetable, "S1", "08:01:00")
    assert arrivals["S3"] == _clock("09:20:00")
    assert arrivals["S4"] == _clock("32:35:00")  # B1 the next morning (the next day's trips)


def test_a_trip_past_midnight_runs_into_the_next_day(tmp_path: Path) -> None:
    """A night bus of the day before, S1 23:50 -> S3 24:20, is caught at 00:05 at S2."""
    stop_times = (
        STOP_TIMES
        + "N1,23:50:00,23:50:00,S1,1\nN1,24:05:00,24:05:00,S2,2\nN1,24:20:00,24:20:00,S3,3\n"
    )
    trips = "route_id,service_id,trip_id\nA,ALL,A1\nA,ALL,A2\nB,ALL,B1\nC,ALL,C1\nA,ALL,N1\n"
    feed = write_feed(tmp_path / "feed.zip", stop_times=stop_times, trips=trips)
    timetable = load_timetable(feed, DAY)
    assert _arrivals(timetable, "S2", "00:01:00")["S3"] == _clock("00:20:00")
    # and the same evening's run reaches S3 at 24:20, after midnight
    assert _arrivals(timetable, "S1", "23:40:00")["S3"] == _clock("24:20:00")


def test_calendar_exceptions_remove_and_add_a_day(tmp_path: Path) -> None:
    """calendar_dates: A's trips do not run on DAY (type 2); a service runs only DAY (type 1)."""
    trips = "route_id,service_id,trip_id\nA,ALL,A1\nA,ALL,A2\nB,ALL,B1\nC,ONLY,C1\n"
    exceptions = "service_id,date,exception_type\nALL,20230315,2\nONLY,20230315,1\n"
    feed = write_feed(tmp_path / "feed.zip", trips=trips, calendar_dates=exceptions)
    timetable = load_timetable(feed, DAY)
    assert _trips_of_the_day(timetable) == ["C1"]
    assert _arrivals(timetable, "S5", "08:00:00")["S4"] == _clock("08:50:00")
    # A1 and A2 do not run that day: S3 only with the next day's A1
    assert _arrivals(timetable, "S1", "07:00:00")["S3"] == _clock("32:20:00")
    other_day = load_timetable(feed, DAY + dt.timedelta(days=1))
    assert _trips_of_the_day(other_day) == ["A1", "A2", "B1"]


def test_frequency_trips_leave_every_headway(tmp_path: Path) -> None:
    """C1 every 10 min from 08:00 to before 09:00 (its stop_times give 20 min S5 -> S4):
    at S5 at 08:25, the 08:30 run arrives 08:50; at 08:51 the next day's first run."""
    frequencies = "trip_id,start_time,end_time,headway_secs\nC1,08:00:00,09:00:00,600\n"
    feed = write_feed(tmp_path / "feed.zip", frequencies=frequencies)
    timetable = load_timetable(feed, DAY)
    assert _trips_of_the_day(timetable).count("C1") == 6
    assert _arrivals(timetable, "S5", "08:25:00")["S4"] == _clock("08:50:00")
    assert _arrivals(timetable, "S5", "08:41:00")["S4"] == _clock("09:10:00")
    assert _arrivals(timetable, "S5", "08:51:00")["S4"] == _clock("32:20:00")  # 08:00 next day


@pytest.mark.skipif(not NORRBOTTEN.exists(), reason=f"{NORRBOTTEN} is absent (../shared/data)")
def test_raptor_equals_connection_scan_on_the_norrbotten_feed() -> None:
    """300 random stops and departures (06:00-20:00) on a weekday: every stop's earliest
    arrival equal to the second, over about a million stop pairs."""
    timetable = load_timetable(NORRBOTTEN, DAY)
    reference = ConnectionScan(timetable)
    rng = np.random.default_rng(16)
    reached_pairs = 0
    for stop, time in zip(
        rng.integers(0, timetable.n_stops, 300), rng.integers(6 * 3600, 20 * 3600, 300), strict=True
    ):
        sources = from_stop(timetable, int(stop), int(time))
        raptor = earliest_arrivals(timetable, *sources, max_transfers=50)
        expected = reference.earliest(*sources)
        np.testing.assert_array_equal(raptor, expected)
        reached_pairs += int((raptor != UNREACHED).sum())
    assert reached_pairs > 30_000  # journeys found, not only stops left unreached
