"""Public transport travel times from points to points over a departure window, by range RAPTOR.

Each origin walks to the stops near it, rides (`siting.travel.raptor`), and walks from a
stop near the destination; walking the whole way counts too. Every minute of the window
(`step_s`) is a departure; the times are reported at percentiles over those departures, as
Conveyal's regional analyses do (the 50th: a typical trip; the 95th: nearly always
reachable by then). Range RAPTOR (Delling, Pajor, Werneck 2012, section 3.3) runs once per
departure minute, latest first, keeping the labels of later departures, so each run only
searches what leaving earlier gains. (Running only at the minutes where a trip can just be
caught, as the paper does, would leave the walk-only legs at the wrong minute.)
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from siting.roads.graph_build import haversine_m
from siting.travel.odmatrix import ODMatrix, row_pointers
from siting.travel.options import TransitOptions
from siting.travel.points import as_points
from siting.travel.raptor import UNREACHED, range_arrivals
from siting.travel.timetable import (
    Timetable,
    sphere_metres,
    walk_seconds,
)

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def transit_minutes(
    timetable: Timetable,
    origins: tuple[FloatArray, FloatArray],
    destinations: tuple[FloatArray, FloatArray],
    options: TransitOptions | None = None,
) -> dict[float, FloatArray]:
    """Per percentile, the (origins x destinations) travel time in minutes; inf where no
    journey within the walking and transfer limits arrives.

    `origins` and `destinations` are ``(lon, lat)`` arrays in degrees (WGS84).
    """
    options = options or TransitOptions()
    started = time.perf_counter()
    stops = _StopIndex(timetable)
    egress = stops.near(*destinations, options.max_walk_m)
    minutes = options.departures_s
    shape = (len(origins[0]), len(destinations[0]))
    result = {p: np.empty(shape) for p in options.percentiles}
    for origin, (lon, lat) in enumerate(zip(*origins, strict=True)):
        access = stops.near(np.array([lon]), np.array([lat]), options.max_walk_m)
        arrivals = _arrivals(timetable, access, egress, minutes, options)
        walked = _walk_whole_way(lon, lat, destinations, options.max_walk_m)
        travel = np.minimum(arrivals - minutes[None, :], walked[:, None]) / 60.0
        for percentile, table in result.items():
            table[origin] = _percentile(travel, percentile)
    logger.info(
        "transit times: %d x %d over %d departures in %.2f s",
        *shape,
        minutes.size,
        time.perf_counter() - started,
    )
    return result


@dataclass(frozen=True)
class _Near:
    """Point-stop pairs within walking distance, grouped by point (``ptr``)."""

    ptr: IntArray
    stops: IntArray
    walk_s: IntArray


class _StopIndex:
    """The timetable's stops in a k-d tree, to find those near points."""

    def __init__(self, timetable: Timetable) -> None:
        self.lon, self.lat = timetable.stop_lon, timetable.stop_lat
        self.tree = cKDTree(sphere_metres(self.lat, self.lon))

    def near(self, lon: FloatArray, lat: FloatArray, radius_m: float) -> _Near:
        lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
        found = self.tree.query_ball_point(sphere_metres(lat, lon), radius_m)
        point = np.repeat(np.arange(lon.size), [len(f) for f in found])
        stop = np.concatenate(
            [np.asarray(f, dtype=np.int64) for f in found] + [np.zeros(0, np.int64)]
        )
        distance = haversine_m(lon[point], lat[point], self.lon[stop], self.lat[stop])
        keep = distance <= radius_m
        return _Near(
            row_pointers(point[keep], lon.size),
            stop[keep],
            walk_seconds(distance[keep]).astype(np.int64),
        )


def _arrivals(
    timetable: Timetable,
    access: _Near,
    egress: _Near,
    minutes: IntArray,
    options: TransitOptions,
) -> FloatArray:
    """(destinations x minutes) arrival times by transit (inf: none)."""
    n_destinations = egress.ptr.size - 1
    if access.stops.size == 0:
        return np.full((n_destinations, minutes.size), np.inf)
    runs = minutes[::-1].copy()
    at_stops = range_arrivals(
        timetable, access.stops, access.walk_s, runs, max_transfers=options.max_transfers
    ).astype(np.float64)
    at_stops[at_stops == UNREACHED] = np.inf
    # a destination's arrival: its best stop plus the walk from it
    reached = at_stops[:, egress.stops] + egress.walk_s[None, :]
    by_destination = np.full((runs.size, n_destinations), np.inf)
    if egress.stops.size:
        owner = np.repeat(np.arange(n_destinations), np.diff(egress.ptr))
        np.minimum.at(by_destination.T, owner, reached.T)
    return by_destination[::-1].T


def _walk_whole_way(
    lon: float, lat: float, destinations: tuple[FloatArray, FloatArray], radius_m: float
) -> FloatArray:
    """Seconds walking straight to each destination (inf beyond the walking limit)."""
    distance = haversine_m(
        np.full(len(destinations[0]), lon), np.full(len(destinations[0]), lat), *destinations
    )
    seconds = walk_seconds(distance).astype(np.float64)
    seconds[distance > radius_m] = np.inf
    return seconds


def _percentile(travel: FloatArray, percentile: float) -> FloatArray:
    """The smallest time that `percentile` % of the departures do not exceed (an observed
    time, so unreachable departures count as inf rather than being averaged)."""
    rank = max(math.ceil(percentile / 100 * travel.shape[1]) - 1, 0)
    chosen: FloatArray = np.partition(travel, rank, axis=1)[:, rank]
    return chosen


#: The `ODMatrix` model of transit matrices (maps and summaries show it).
TRANSIT_MODEL = "public transport (GTFS timetable)"


def transit_times(
    timetable: Timetable,
    origins: Any,
    destinations: Any,
    *,
    options: TransitOptions | None = None,
    percentile: float = 50.0,
    max_minutes: float | None = None,
) -> ODMatrix:
    """Transit travel times as an `ODMatrix`: the `percentile` over the departure window.

    `origins` and `destinations` as `siting.travel_times` takes them (GeoDataFrames with
    ids, or ``(ids, x, y)``); pairs over `max_minutes` or never reached are left out.
    """
    options = options or TransitOptions(percentiles=(percentile,))
    if percentile not in options.percentiles:
        options = replace(options, percentiles=(*options.percentiles, percentile))
    start = time.perf_counter()
    demand = as_points(origins, argument="origins")
    sites = as_points(destinations, argument="destinations")
    minutes = transit_minutes(timetable, (demand.lon, demand.lat), (sites.lon, sites.lat), options)
    od = ODMatrix.from_dense(
        minutes[percentile],
        origin_ids=demand.ids,
        destination_ids=sites.ids,
        max_minutes=max_minutes,
    )
    window = "-".join(f"{s // 3600:02d}:{s % 3600 // 60:02d}" for s in options.window_s)
    metadata = {
        "model": f"{TRANSIT_MODEL}, {timetable.date} {window}, {percentile:g}th percentile",
        "mode": "transit",
        "engine": "range RAPTOR",
        "feed": str(timetable.feed),
        "date": str(timetable.date),
        "departure_window": window,
        "percentile": percentile,
        "max_walk_minutes": options.max_walk_minutes,
        "max_transfers": options.max_transfers,
        "max_minutes": max_minutes,
        "seconds": time.perf_counter() - start,
    }
    return replace(od, metadata=metadata)
