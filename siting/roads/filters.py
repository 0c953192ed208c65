"""Which OpenStreetMap ways a car (or a walker, or a cyclist) can use, in which direction, and
how long ferries take."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum

# The drive filter of osmnx 2.x (`network_type="drive"` with its default access filter),
# as Overpass regular expressions: `!~` means "matches nowhere in the value", so the patterns
# are searched, not anchored, exactly as Overpass does.
_DRIVE_EXCLUDE: Mapping[str, re.Pattern[str]] = {
    "area": re.compile("yes"),
    "access": re.compile("private"),
    "highway": re.compile(
        "abandoned|bridleway|bus_guideway|construction|corridor|cycleway|elevator|escalator|"
        "footway|no|path|pedestrian|planned|platform|proposed|raceway|razed|rest_area|service|"
        "services|steps|track"
    ),
    "motor_vehicle": re.compile("no"),
    "motorcar": re.compile("no"),
    "service": re.compile("alley|driveway|emergency_access|parking|parking_aisle|private"),
}
_TRACK_EXCLUDE = {key: rule for key, rule in _DRIVE_EXCLUDE.items() if key != "highway"}

# osmnx 2.x's "walk" and "bike" filters with its default access filter, the same way: walkers
# keep off motorways and cycleways, cyclists off motorways, footways and steps.
_WALK_EXCLUDE: Mapping[str, re.Pattern[str]] = {
    "area": re.compile("yes"),
    "access": re.compile("private"),
    "highway": re.compile(
        "abandoned|bus_guideway|construction|cycleway|motor|no|planned|platform|proposed|"
        "raceway|razed"
    ),
    "foot": re.compile("no"),
    "service": re.compile("private"),
}
_BIKE_EXCLUDE: Mapping[str, re.Pattern[str]] = {
    "area": re.compile("yes"),
    "access": re.compile("private"),
    "highway": re.compile(
        "abandoned|bus_guideway|construction|corridor|elevator|escalator|footway|motor|no|"
        "planned|platform|proposed|raceway|razed|steps"
    ),
    "bicycle": re.compile("no"),
    "service": re.compile("private"),
}
#: networks a way may belong to: by car (osmnx's "drive"), on foot, by bike
NETWORK_MODES = ("drive", "walk", "bike")

# A track is usable by car unless motor traffic is forbidden or reserved (Swedish private
# roads are open to traffic unless signed otherwise), or it is graded as passable only by
# tractors and off-road vehicles.
_MOTOR_ACCESS_KEYS = ("access", "vehicle", "motor_vehicle", "motorcar")
_NO_MOTOR_ACCESS = frozenset(
    {"no", "private", "forestry", "agricultural", "agricultural;forestry", "delivery", "permit"}
)
_IMPASSABLE_TRACKTYPES = frozenset({"grade4", "grade5"})

_CAR_FERRY_KEYS = ("motorcar", "motor_vehicle")
_CAR_FERRY_VALUES = frozenset({"yes", "designated", "permissive", "destination"})

# osmnx's one-way rules (`_is_path_one_way`, `_is_path_reversed`), mirrored so that the same
# ways carry traffic in the same directions.
ONEWAY_VALUES = frozenset({"yes", "true", "1", "-1", "reverse", "T", "F"})
REVERSED_VALUES = frozenset({"-1", "reverse", "T"})

_DURATION = re.compile(r"^(?:(\d+):)?(\d+)(?::(\d+))?$")
_ISO_DURATION = re.compile(r"^PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$")


class WayKind(Enum):
    """How a way joins the drive network."""

    ROAD = "road"
    TRACK = "track"
    FERRY = "ferry"
    FOOT = "foot"  # walked both ways, one-way streets included
    CYCLE = "cycle"  # cycled as one-way tags allow (oneway:bicycle=no lifts them)


def is_drive_way(tags: Mapping[str, str]) -> bool:
    """Return whether a way passes osmnx's `network_type="drive"` filter.

    Examples
    --------
    >>> is_drive_way({"highway": "residential"})
    True
    >>> is_drive_way({"highway": "service", "service": "driveway"})
    False
    """
    return "highway" in tags and not _excluded(tags, _DRIVE_EXCLUDE)


def is_motor_track(tags: Mapping[str, str]) -> bool:
    """Return whether a way is a `highway=track` that cars may and can use."""
    if tags.get("highway") != "track" or _excluded(tags, _TRACK_EXCLUDE):
        return False
    if any(tags.get(key) in _NO_MOTOR_ACCESS for key in _MOTOR_ACCESS_KEYS):
        return False
    return tags.get("tracktype") not in _IMPASSABLE_TRACKTYPES


def is_car_ferry(tags: Mapping[str, str]) -> bool:
    """Return whether a way is a ferry route that takes cars (tagged so explicitly)."""
    if tags.get("route") != "ferry":
        return False
    return any(tags.get(key) in _CAR_FERRY_VALUES for key in _CAR_FERRY_KEYS)


def may_be_drivable(
    highway: str | None, route: str | None, *, include_tracks: bool, mode: str = "drive"
) -> bool:
    """A cheap first test on two tags, to skip most non-drivable ways before reading the rest."""
    if mode != "drive":
        return highway is not None
    if highway is None:
        return route == "ferry"
    if include_tracks and highway == "track":
        return True
    return _DRIVE_EXCLUDE["highway"].search(highway) is None or route == "ferry"


def classify_way(
    tags: Mapping[str, str], *, include_tracks: bool, ferries: bool, mode: str = "drive"
) -> WayKind | None:
    """Return how a way joins the network of `mode`, or None if it is not part of it.

    Examples
    --------
    >>> classify_way({"highway": "footway"}, include_tracks=False, ferries=False, mode="walk")
    <WayKind.FOOT: 'foot'>
    >>> classify_way({"highway": "motorway"}, include_tracks=False, ferries=False, mode="bike")
    """
    if mode == "walk":
        ok = "highway" in tags and not _excluded(tags, _WALK_EXCLUDE)
        return WayKind.FOOT if ok else None
    if mode == "bike":
        ok = "highway" in tags and not _excluded(tags, _BIKE_EXCLUDE)
        return WayKind.CYCLE if ok else None
    if is_drive_way(tags):
        return WayKind.ROAD
    if include_tracks and is_motor_track(tags):
        return WayKind.TRACK
    if ferries and is_car_ferry(tags):
        return WayKind.FERRY
    return None


def directions(tags: Mapping[str, str]) -> tuple[bool, bool]:
    """Return whether cars may drive the way (forward, backward) along its node order.

    Examples
    --------
    >>> directions({"highway": "primary", "oneway": "-1"})
    (False, True)
    >>> directions({"highway": "primary", "junction": "roundabout"})
    (True, False)
    """
    oneway = tags.get("oneway")
    if oneway in ONEWAY_VALUES:
        reverse = oneway in REVERSED_VALUES
        return (not reverse, reverse)
    if tags.get("junction") == "roundabout":
        return (True, False)
    return (True, True)


def parse_duration_s(value: str | None) -> float | None:
    """Return an OSM `duration` in seconds (`HH:MM`, `HH:MM:SS`, `MM`, ISO 8601 `PT1H30M`).

    Returns None for values that state no usable duration.

    Examples
    --------
    >>> parse_duration_s("00:25")
    1500.0
    >>> parse_duration_s("PT1H5M")
    3900.0
    """
    if value is None:
        return None
    text = value.strip()
    match = _DURATION.match(text)
    if match is not None:
        hours, minutes, seconds = match.groups()
        if hours is None and seconds is None:  # a bare number is minutes
            total = 60.0 * int(minutes)
        elif seconds is None:
            total = 3600.0 * int(hours) + 60.0 * int(minutes)
        else:
            total = 3600.0 * int(hours or 0) + 60.0 * int(minutes) + int(seconds)
        return total if total > 0 else None
    match = _ISO_DURATION.match(text.upper())
    if match is None or not any(match.groups()):
        return None
    hours_f, minutes_f, seconds_f = (float(g) if g else 0.0 for g in match.groups())
    total = 3600.0 * hours_f + 60.0 * minutes_f + seconds_f
    return total if total > 0 else None


def _excluded(tags: Mapping[str, str], rules: Mapping[str, re.Pattern[str]]) -> bool:
    return any(key in tags and pattern.search(tags[key]) for key, pattern in rules.items())
