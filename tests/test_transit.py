"""Transit travel times over a departure window: a hand-made feed checked on paper, and the
Norrbotten feed against the Connection Scan reference run at every departure minute."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from csa_reference import UNREACHED, ConnectionScan
from gtfs_files import write_feed
from shared_data import shared_file

from siting import InputError
from siting.roads.graph_build import haversine_m
from siting.travel.options import TransitOptions
from siting.travel.timetable import Timetable, load_timetable, walk_seconds
from siting.travel.transit import transit_minutes

DAY = dt.date(2023, 3, 15)
ROOT = Path(__file__).resolve().parents[1]
NORRBOTTEN = shared_file("gtfs_norrbotten_2023.zip")


def test_a_window_of_departures_on_paper(tmp_path: Path) -> None:
    """From 111 m south of S1 to 111 m north of S4 (109 s walks), leaving 07:50, 07:55, 08:00,
    08:05: A1 at 08:00 and B1 reach S4 at 08:35 (46:49 and 41:49 door to door); later
    travellers miss A1 and wait for the next morning's B1 (24:36:49 and 24:31:49)."""
    timetable = load_timetable(write_feed(tmp_path / "feed.zip"), DAY)
    options = TransitOptions(
        window_s=(7 * 3600 + 50 * 60, 8 * 3600 + 10 * 60),
        step_s=300,
        percentiles=(25.0, 50.0, 100.0),
    )
    minutes = transit_minutes(timetable, ([20.0], [64.999]), ([20.15], [65.001]), options)
    expected = {25.0: 41 * 60 + 49, 50.0: 46 * 60 + 49, 100.0: 24 * 3600 + 36 * 60 + 49}
    for percentile, seconds in expected.items():
        assert minutes[percentile][0, 0] == pytest.approx(seconds / 60)


def test_walking_the_whole_way_counts_and_far_points_are_unreachable(tmp_path: Path) -> None:
    """Next door to the destination (80 m) the walk wins; 20 km from any stop nothing does."""
    timetable = load_timetable(write_feed(tmp_path / "feed.zip"), DAY)
    options = TransitOptions(window_s=(8 * 3600, 8 * 3600 + 600))
    minutes = transit_minutes(
        timetable, ([20.10, 20.5], [65.0, 65.0]), ([20.10], [65.0007]), options
    )
    assert minutes[50.0][0, 0] == pytest.approx(76 / 60)
    assert minutes[50.0][1, 0] == np.inf


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"window_s": (36_000, 28_800)}, "departure window must start before it ends"),
        ({"step_s": 0}, "step_s must be > 0"),
        ({"percentiles": (0.0,)}, r"percentiles must be in \(0, 100\]"),
        ({"max_walk_minutes": -1.0}, "max_walk_minutes must be >= 0"),
        ({"max_transfers": -1}, "max_transfers must be >= 0"),
    ],
)
def test_bad_options_are_named(options: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        TransitOptions(**options)  # type: ignore[arg-type]


def _reference_minutes(
    timetable: Timetable,
    reference: ConnectionScan,
    origin: tuple[float, float],
    destinations: tuple[np.ndarray, np.ndarray],
    options: TransitOptions,
) -> np.ndarray:
    """(destinations x departures) door-to-door seconds, one Connection Scan per departure."""
    lon, lat = timetable.stop_lon, timetable.stop_lat
    radius = options.max_walk_m
    to_stops = haversine_m(np.full(lon.size, origin[0]), np.full(lon.size, origin[1]), lon, lat)
    access = np.flatnonzero(to_stops <= radius)
    access_s = walk_seconds(to_stops[access]).astype(np.int64)
    n = destinations[0].size
    direct = haversine_m(np.full(n, origin[0]), np.full(n, origin[1]), *destinations)
    walk = np.where(direct <= radius, walk_seconds(direct), np.inf)
    result = np.empty((n, options.departures_s.size))
    for column, leave in enumerate(options.departures_s):
        arrival = reference.earliest(access, leave + access_s).astype(np.float64)
        arrival[arrival == UNREACHED] = np.inf
        for row in range(n):
            from_stops = haversine_m(
                lon,
                lat,
                np.full(lon.size, destinations[0][row]),
                np.full(lon.size, destinations[1][row]),
            )
            near = from_stops <= radius
            ride = np.min(arrival[near] + walk_seconds(from_stops[near]), initial=np.inf)
            result[row, column] = min(ride - leave, walk[row])
    return result


@pytest.mark.skipif(not NORRBOTTEN.exists(), reason=f"{NORRBOTTEN} is absent (../shared/data)")
def test_window_percentiles_equal_a_connection_scan_at_every_minute() -> None:
    """Six points near Norrbotten stops to the county's 48 towns, leaving every 2 minutes
    08:00-09:00: the 50th and 95th percentile times equal the reference's, to the second."""
    timetable = load_timetable(NORRBOTTEN, DAY)
    towns = pd.read_csv(ROOT / "data" / "orter.csv")
    towns = towns[towns["lan_kod"] == 25]
    destinations = (towns["lon"].to_numpy(), towns["lat"].to_numpy())
    rng = np.random.default_rng(7)
    stops = rng.integers(0, timetable.n_stops, 6)
    origins = (timetable.stop_lon[stops] + 0.002, timetable.stop_lat[stops] + 0.001)
    # the reference knows no transfer limit
    options = TransitOptions(
        window_s=(8 * 3600, 9 * 3600), step_s=120, percentiles=(50.0, 95.0), max_transfers=50
    )
    minutes = transit_minutes(timetable, origins, destinations, options)
    reference = ConnectionScan(timetable)
    reached = 0
    for row, origin in enumerate(zip(*origins, strict=True)):
        seconds = np.sort(
            _reference_minutes(timetable, reference, origin, destinations, options), axis=1
        )
        for percentile in options.percentiles:
            rank = int(np.ceil(percentile / 100 * seconds.shape[1])) - 1
            np.testing.assert_array_equal(np.rint(minutes[percentile][row] * 60), seconds[:, rank])
        reached += int(np.isfinite(seconds[:, 0]).sum())
    assert reached >= 50  # most points reach many towns
