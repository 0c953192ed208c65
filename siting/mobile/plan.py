"""The answer of a mobile office plan: tours per vehicle and day, stops, paths and people."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from siting.locate.solution import _plain

WGS84 = "EPSG:4326"


@dataclass(frozen=True)
class Leg:
    """One drive between two locations of a tour.

    Attributes
    ----------
    from_id, to_id
        Depot or stop ids.
    minutes
        Travel time from the travel matrix (the time the plan is built on).
    kind
        ``"road"`` (a path over the graph) or ``"straight segment (no road path)"``.
    nodes
        Graph nodes of the road path, in order; empty for a straight segment.
    geometry
        The line in WGS84 longitude/latitude.
    """

    from_id: Any
    to_id: Any
    minutes: float
    kind: str
    nodes: tuple[int, ...]
    geometry: shapely.LineString


@dataclass(frozen=True)
class Visit:
    """A stop of a tour: when the office is there and whom it serves.

    Attributes
    ----------
    stop_id
        Id of the stop.
    arrival_minutes, departure_minutes
        Minutes from the start of the day (leaving the depot at 0).
    people
        People served at this stop: those newly within reach of the plan whose nearest
        visited stop this is (each person counted at one stop only).
    lon, lat
        Where the stop is (WGS84).
    """

    stop_id: Any
    arrival_minutes: float
    departure_minutes: float
    people: float
    lon: float
    lat: float


@dataclass(frozen=True)
class DayRoute:
    """What one vehicle does on one day: leave its depot, visit stops, come back.

    Attributes
    ----------
    depot_id
        Where the tour starts and ends.
    vehicle, day
        Vehicle number at its depot and day of the week, both from 1.
    visits
        The stops in visiting order.
    legs
        Drives from the depot through the stops and back (one more than the visits).
    driving_minutes
        Time on the road.
    end_minutes
        Return to the depot: driving plus time at the stops.
    """

    depot_id: Any
    vehicle: int
    day: int
    visits: tuple[Visit, ...]
    legs: tuple[Leg, ...]
    driving_minutes: float
    end_minutes: float

    @property
    def people(self) -> float:
        """People served at the stops of this tour."""
        return float(sum(visit.people for visit in self.visits))

    def slot(self) -> dict[str, Any]:
        """Depot, vehicle and day, as table columns."""
        return {"depot_id": self.depot_id, "vehicle": self.vehicle, "day": self.day}

    @property
    def name(self) -> str:
        """Label for maps and tables, e.g. ``"mora vehicle 1 day 2"``."""
        return f"{self.depot_id} vehicle {self.vehicle} day {self.day}"


@dataclass(frozen=True, eq=False)
class MobilePlan:
    """The weekly plan of mobile offices, with the people it serves.

    Attributes
    ----------
    routes
        Non-empty tours, ordered by day, depot and vehicle.
    total_people
        Demand weight in the matrix.
    served_by_fixed
        People already within reach of the fixed offices.
    newly_served
        People the mobile stops bring within reach who no fixed office reaches.
    reachable_people
        People whom some stop within a day's round trip could serve (the most any plan could
        newly serve).
    status
        ``"local optimum"`` (no move of the local search improves the plan) or ``"time
        limit"`` (the limit stopped the search; more time may find more), followed by how many
        PyVRP rounds found no feasible answer when some did not. A heuristic either way: no
        bound is proven.
    seed, runtime_s, rounds
        Seed of PyVRP, seconds spent, prize rounds run.
    parameters
        The options of the plan (vehicles, days, day and stop minutes, thresholds, model).
    """

    routes: tuple[DayRoute, ...]
    total_people: float
    served_by_fixed: float
    newly_served: float
    reachable_people: float
    status: str
    seed: int
    runtime_s: float
    rounds: int
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))

    @property
    def served_total(self) -> float:
        """People within reach of a fixed office or a mobile stop."""
        return self.served_by_fixed + self.newly_served

    @property
    def driving_minutes(self) -> float:
        """Driving time of all tours in the week."""
        return float(sum(route.driving_minutes for route in self.routes))

    def visits_table(self) -> pd.DataFrame:
        """One row per visit: route, depot, vehicle, day, order, stop, times, people."""
        rows = [
            {
                "route": route.name,
                **route.slot(),
                "order": order,
                "stop_id": visit.stop_id,
                "arrival_minutes": visit.arrival_minutes,
                "departure_minutes": visit.departure_minutes,
                "people": visit.people,
            }
            for route in self.routes
            for order, visit in enumerate(route.visits, start=1)
        ]
        return pd.DataFrame(rows, columns=_VISIT_COLUMNS)

    def routes_frame(self) -> gpd.GeoDataFrame:
        """Tours as lines (``name``, depot, vehicle, day, driving, people, path kind) in WGS84."""
        rows = [
            {
                "name": route.name,
                **route.slot(),
                "stops": len(route.visits),
                "driving_minutes": route.driving_minutes,
                "end_minutes": route.end_minutes,
                "people": route.people,
                "path": route.legs[0].kind,
                "geometry": _joined(route.legs),
            }
            for route in self.routes
        ]
        return gpd.GeoDataFrame(rows, columns=[*_ROUTE_COLUMNS, "geometry"], crs=WGS84)

    def stops_frame(self) -> gpd.GeoDataFrame:
        """Visited stops as points (``name``, ``route``, ``days`` text, times, people) in WGS84."""
        rows = [
            {
                "name": str(visit.stop_id),
                "route": route.name,
                "days": (
                    f"vehicle {route.vehicle}, day {route.day}, "
                    f"{_clock(visit.arrival_minutes)}-{_clock(visit.departure_minutes)}"
                ),
                "arrival_minutes": visit.arrival_minutes,
                "departure_minutes": visit.departure_minutes,
                "people": visit.people,
                "geometry": shapely.Point(visit.lon, visit.lat),
            }
            for route in self.routes
            for visit in route.visits
        ]
        return gpd.GeoDataFrame(rows, columns=[*_STOP_COLUMNS, "geometry"], crs=WGS84)

    def summary(self) -> dict[str, Any]:
        """Plain values for ``summary.json``."""
        return {
            "problem": "mobile",
            "total_people": self.total_people,
            "served_by_fixed": self.served_by_fixed,
            "newly_served": self.newly_served,
            "served_total": self.served_total,
            "reachable_people": self.reachable_people,
            "driving_minutes": round(self.driving_minutes, 3),
            "routes": [
                {
                    "name": route.name,
                    **{key: _plain(value) for key, value in route.slot().items()},
                    "stops": [_plain(visit.stop_id) for visit in route.visits],
                    "driving_minutes": round(route.driving_minutes, 3),
                    "end_minutes": round(route.end_minutes, 3),
                    "people": route.people,
                }
                for route in self.routes
            ],
            "status": self.status,
            "seed": self.seed,
            "runtime_s": round(self.runtime_s, 3),
            "rounds": self.rounds,
            "parameters": {key: _plain(value) for key, value in self.parameters.items()},
        }


_VISIT_COLUMNS = [
    "route",
    "depot_id",
    "vehicle",
    "day",
    "order",
    "stop_id",
    "arrival_minutes",
    "departure_minutes",
    "people",
]
_ROUTE_COLUMNS = [
    "name",
    "depot_id",
    "vehicle",
    "day",
    "stops",
    "driving_minutes",
    "end_minutes",
    "people",
    "path",
]
_STOP_COLUMNS = ["name", "route", "days", "arrival_minutes", "departure_minutes", "people"]


def _joined(legs: tuple[Leg, ...]) -> shapely.LineString:
    coordinates: list[tuple[float, float]] = []
    for leg in legs:
        points = list(leg.geometry.coords)
        coordinates.extend(points if not coordinates else points[1:])
    return shapely.LineString(coordinates)


def _clock(minutes: float) -> str:
    """Minutes from the start of the day as h:mm."""
    whole = round(minutes)
    return f"{whole // 60}:{whole % 60:02d}"
