"""Road speeds: parse OSM `maxspeed` tags and fill untagged roads with Swedish defaults."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from siting._core.errors import InputError

KPH_PER_MPH = 1.609344

# Swedish legal defaults (Trafikförordningen; as recorded for OSM's legal default speeds):
# 50 km/h in built-up areas, 70 km/h outside them, 110 km/h on motorways, walking pace on
# living streets ("gångfart", taken as 7 km/h).
SE_URBAN_KPH = 50.0
SE_RURAL_KPH = 70.0
SE_MOTORWAY_KPH = 110.0
WALKING_PACE_KPH = 7.0

# Zone values that OSM uses in maxspeed, maxspeed:type, source:maxspeed and zone:maxspeed.
_ZONE_KPH = {
    "se:urban": SE_URBAN_KPH,
    "se:rural": SE_RURAL_KPH,
    "se:motorway": SE_MOTORWAY_KPH,
    "se:living_street": WALKING_PACE_KPH,
    "se:walk": WALKING_PACE_KPH,
    "walk": WALKING_PACE_KPH,
}

# Default speeds for roads with no usable maxspeed, by highway class: (urban, rural) km/h.
# The legal defaults where the class has no lower practical speed; ramps, living streets and
# gravel tracks are slower in practice than the legal limit that applies to them.
DEFAULT_SPEEDS_KPH: Mapping[str, tuple[float, float]] = {
    "motorway": (SE_MOTORWAY_KPH, SE_MOTORWAY_KPH),
    "motorway_link": (50.0, 70.0),
    "trunk": (SE_URBAN_KPH, SE_RURAL_KPH),
    "trunk_link": (40.0, 50.0),
    "primary": (SE_URBAN_KPH, SE_RURAL_KPH),
    "primary_link": (40.0, 50.0),
    "secondary": (SE_URBAN_KPH, SE_RURAL_KPH),
    "secondary_link": (40.0, 50.0),
    "tertiary": (SE_URBAN_KPH, SE_RURAL_KPH),
    "tertiary_link": (40.0, 50.0),
    "unclassified": (SE_URBAN_KPH, SE_RURAL_KPH),
    "residential": (SE_URBAN_KPH, SE_URBAN_KPH),
    "living_street": (WALKING_PACE_KPH, WALKING_PACE_KPH),
    "road": (SE_URBAN_KPH, SE_RURAL_KPH),
    "busway": (SE_URBAN_KPH, SE_RURAL_KPH),
    "service": (20.0, 30.0),
    "track": (20.0, 30.0),
}
_FALLBACK_KPH = (SE_URBAN_KPH, SE_RURAL_KPH)
_URBAN_CLASSES = frozenset({"residential", "living_street"})
_NUMBER = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(km/h|kmh|kph|mph|knots)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class SpeedModel:
    """How fast a car drives on each road, in km/h.

    Parameters
    ----------
    default_speeds_kph
        Speed for roads without a usable `maxspeed` tag, by highway class: (urban, rural).
        Classes not given here keep `DEFAULT_SPEEDS_KPH`.
    overrides_kph
        Speed by highway class that replaces even tagged speeds (for example winter speeds,
        or a scenario that assumes 60 km/h on every unclassified road).
    speed_factor
        Multiplier applied to every road speed (for example 0.9 for an allowance for
        junctions and curves). Ferries are not affected.
    """

    default_speeds_kph: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    overrides_kph: Mapping[str, float] = field(default_factory=dict)
    speed_factor: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.speed_factor) and self.speed_factor > 0):
            msg = f"speed_factor must be a positive number, got {self.speed_factor!r}"
            raise InputError(msg)
        for highway, pair in self.default_speeds_kph.items():
            if len(pair) != 2 or not all(_is_speed(s) for s in pair):
                msg = f"default_speeds_kph[{highway!r}] must be (urban, rural) > 0, got {pair!r}"
                raise InputError(msg)
        for highway, speed in self.overrides_kph.items():
            if not _is_speed(speed):
                msg = f"overrides_kph[{highway!r}] must be a speed in km/h > 0, got {speed!r}"
                raise InputError(msg)

    def key(self) -> dict[str, object]:
        """Return the model as plain data, for cache keys and summaries."""
        return {
            "default_speeds_kph": {k: list(v) for k, v in sorted(self.default_speeds_kph.items())},
            "overrides_kph": dict(sorted(self.overrides_kph.items())),
            "speed_factor": self.speed_factor,
        }

    def speed_kph(self, tags: Mapping[str, str], *, maxspeed_key: str = "maxspeed") -> float:
        """Return the driving speed for a road with these OSM tags.

        Parameters
        ----------
        tags
            The way's tags (at least `highway`; `maxspeed` and zone tags where present).
        maxspeed_key
            The tag to read first: `maxspeed:forward` or `maxspeed:backward` for one direction
            of travel; `maxspeed` is used where that tag is absent or unusable.
        """
        highway = tags.get("highway", "")
        override = self.overrides_kph.get(highway)
        if override is not None:
            return override * self.speed_factor
        tagged = parse_maxspeed(tags.get(maxspeed_key))
        if tagged is None and maxspeed_key != "maxspeed":
            tagged = parse_maxspeed(tags.get("maxspeed"))
        if tagged is None:
            tagged = self._default_kph(highway, tags)
        return tagged * self.speed_factor

    def _default_kph(self, highway: str, tags: Mapping[str, str]) -> float:
        zone = _zone_speed(tags)
        if zone is not None:
            return zone
        urban, rural = self.default_speeds_kph.get(
            highway, DEFAULT_SPEEDS_KPH.get(highway, _FALLBACK_KPH)
        )
        # OSM has no urban flag; residential streets are taken as inside built-up areas
        return urban if highway in _URBAN_CLASSES else rural


def parse_maxspeed(value: str | None) -> float | None:
    """Return the speed in km/h that an OSM `maxspeed` value states, or None if it states none.

    Understands plain numbers (`50`), units (`50 km/h`, `30 mph`, `20 knots`), Swedish zone
    values (`SE:urban`, `SE:rural`, `SE:motorway`, `SE:living_street`), `walk`, and lists
    (`50;70`, averaged as osmnx does). `none`, `signals`, `variable` and garbage give None, so
    the highway-class default applies.

    Examples
    --------
    >>> parse_maxspeed("30 mph")
    48.28032
    >>> parse_maxspeed("SE:rural")
    70.0
    >>> parse_maxspeed("50;70")
    60.0
    """
    if value is None:
        return None
    speeds = [_parse_one(part) for part in value.split(";") if part.strip()]
    found = [s for s in speeds if s is not None]
    if not found or len(found) != len(speeds):
        return None
    return sum(found) / len(found)


def _parse_one(value: str) -> float | None:
    text = value.strip()
    zone = _ZONE_KPH.get(text.lower())
    if zone is not None:
        return zone
    match = _NUMBER.match(text)
    if match is None:
        return None
    number = float(match.group(1).replace(",", "."))
    unit = (match.group(2) or "").lower()
    if unit == "mph":
        number *= KPH_PER_MPH
    elif unit == "knots":
        number *= 1.852
    return number if number > 0 else None


def _zone_speed(tags: Mapping[str, str]) -> float | None:
    for key in ("maxspeed:type", "source:maxspeed", "zone:maxspeed"):
        zone = tags.get(key)
        if zone is not None and zone.strip().lower() in _ZONE_KPH:
            return _ZONE_KPH[zone.strip().lower()]
    return None


def _is_speed(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


@dataclass(frozen=True)
class ConstantSpeed:
    """One speed on every way: walking or cycling networks (a walker ignores `maxspeed`)."""

    kph: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.kph) and self.kph > 0):
            raise InputError(f"speed must be a positive number of km/h, got {self.kph!r}")

    def key(self) -> dict[str, object]:
        """The model as plain data, for cache keys and summaries."""
        return {"constant_kph": self.kph}

    def speed_kph(self, tags: Mapping[str, str], *, maxspeed_key: str = "maxspeed") -> float:
        """The same speed whatever the tags."""
        return self.kph


#: Speeds of the walk and bike networks (km/h): common planning figures.
MODE_SPEEDS_KPH = {"walk": 4.8, "bike": 15.0}
