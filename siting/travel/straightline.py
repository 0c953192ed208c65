"""Estimate travel times from straight-line distance when no road network is available."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from siting._core.errors import InputError

FloatArray = npt.NDArray[np.float64]
EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG); the model's error dwarfs the ellipsoid's

#: Average door-to-door speeds by great-circle distance band, for Swedish roads: short trips
#: run on streets (50 km/h limits, junctions), long ones mostly on 70-110 km/h roads.
DEFAULT_SPEED_BANDS: tuple[tuple[float, float], ...] = (
    (5.0, 35.0),
    (20.0, 55.0),
    (60.0, 70.0),
    (math.inf, 80.0),
)
#: Road distance over great-circle distance; about 1.2-1.4 on rural Nordic networks.
DEFAULT_CIRCUITY = 1.3


@dataclass(frozen=True)
class StraightLineModel:
    """Travel time = great-circle distance x circuity / speed of the distance band.

    Attributes
    ----------
    circuity
        Factor from great-circle to road distance (>= 1).
    speed_bands
        ``(upper_km, speed_kph)`` pairs, ascending, the last with ``upper_km = inf``: a trip
        whose great-circle distance is at most ``upper_km`` (and above the previous band's)
        is driven at ``speed_kph`` over its whole length.

    Notes
    -----
    For great-circle distance :math:`d` (km), circuity :math:`c` and band speed :math:`v(d)`
    (km/h), the time in seconds is :math:`t = 3600 \\, c \\, d / v(d)`. The model is a rough
    fallback: it ignores ferries, lakes and one-way streets, and is labelled as such.
    """

    circuity: float = DEFAULT_CIRCUITY
    speed_bands: tuple[tuple[float, float], ...] = DEFAULT_SPEED_BANDS

    def __post_init__(self) -> None:
        if not (math.isfinite(self.circuity) and self.circuity >= 1.0):
            msg = f"circuity must be a finite number >= 1, got {self.circuity!r}"
            raise InputError(msg)
        _check_bands(self.speed_bands)

    def seconds(
        self, lon1: FloatArray, lat1: FloatArray, lon2: FloatArray, lat2: FloatArray
    ) -> FloatArray:
        """Return (len(lon1), len(lon2)) travel times in seconds between two point sets."""
        distance_km = great_circle_m(lon1, lat1, lon2, lat2) / 1000.0
        uppers = np.array([upper for upper, _ in self.speed_bands])
        speeds = np.array([speed for _, speed in self.speed_bands])
        band = np.searchsorted(uppers, distance_km, side="left")
        result: FloatArray = 3600.0 * self.circuity * distance_km / speeds[band]
        return result


def _check_bands(bands: Sequence[tuple[float, float]]) -> None:
    if not bands:
        msg = "speed_bands must not be empty"
        raise InputError(msg)
    uppers = [float(upper) for upper, _ in bands]
    if uppers != sorted(uppers) or len(set(uppers)) != len(uppers) or uppers[-1] != math.inf:
        msg = f"speed_bands upper limits must ascend strictly and end with inf, got {uppers}"
        raise InputError(msg)
    for _, speed in bands:
        if not (math.isfinite(speed) and speed > 0):
            msg = f"speed_bands speeds must be positive km/h, got {speed!r}"
            raise InputError(msg)


def great_circle_m(
    lon1: FloatArray, lat1: FloatArray, lon2: FloatArray, lat2: FloatArray
) -> FloatArray:
    """Return the (len(lon1), len(lon2)) haversine distances in metres on a spherical Earth."""
    # haversine on whole blocks: pyproj.Geod is exact on the ellipsoid but works pair by pair
    # (no outer product), and 0.5 % of accuracy is irrelevant next to a circuity factor
    phi1, phi2 = np.radians(lat1)[:, None], np.radians(lat2)[None, :]
    dphi = phi2 - phi1
    dlambda = np.radians(lon2)[None, :] - np.radians(lon1)[:, None]
    h = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlambda / 2) ** 2
    result: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return result
