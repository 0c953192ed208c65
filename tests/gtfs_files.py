"""Hand-made GTFS feeds for tests: a few stops and trips you can check on paper."""

from __future__ import annotations

import zipfile
from pathlib import Path

#: Stops on a line going east at 65.0 N: S1 .. S4 about 2.3 km apart; S5 80 m from S3.
STOPS = """stop_id,stop_name,stop_lat,stop_lon
S1,One,65.0,20.00
S2,Two,65.0,20.05
S3,Three,65.0,20.10
S4,Four,65.0,20.15
S5,Five,65.0007,20.10
"""
ROUTES = "route_id,route_short_name,route_type\nA,1,3\nB,2,3\nC,3,3\n"
#: Every day in 2023.
CALENDAR = (
    "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
    "ALL,1,1,1,1,1,1,1,20230101,20231231\n"
)
TRIPS = "route_id,service_id,trip_id\nA,ALL,A1\nA,ALL,A2\nB,ALL,B1\nC,ALL,C1\n"
#: A1 S1 08:00 -> S3 08:20; A2 an hour later; B1 S3 08:25 -> S4 08:35; C1 S5 08:30 -> S4 08:50
STOP_TIMES = """trip_id,arrival_time,departure_time,stop_id,stop_sequence
A1,08:00:00,08:00:00,S1,1
A1,08:10:00,08:10:00,S2,2
A1,08:20:00,08:20:00,S3,3
A2,09:00:00,09:00:00,S1,1
A2,09:10:00,09:10:00,S2,2
A2,09:20:00,09:20:00,S3,3
B1,08:25:00,08:25:00,S3,1
B1,08:35:00,08:35:00,S4,2
C1,08:30:00,08:30:00,S5,1
C1,08:50:00,08:50:00,S4,2
"""


def write_feed(path: Path, *, leave_out: tuple[str, ...] = (), **tables: str) -> Path:
    """A GTFS zip of the tables above, `tables` replacing or adding files by name without
    ".txt" (``stop_times=...``), `leave_out` dropping some."""
    files = {
        "stops": STOPS,
        "routes": ROUTES,
        "trips": TRIPS,
        "stop_times": STOP_TIMES,
        "calendar": CALENDAR,
        **tables,
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            if name not in leave_out:
                archive.writestr(f"{name}.txt", text)
    return path
