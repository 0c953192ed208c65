"""Speeds from maxspeed tags, Swedish defaults, and ferry durations."""

from __future__ import annotations

import pytest

from siting._core.errors import InputError
from siting.roads.filters import directions, parse_duration_s
from siting.roads.speeds import SpeedModel, parse_maxspeed


@pytest.mark.parametrize(
    ("value", "kph"),
    [
        ("50", 50.0),
        ("50 km/h", 50.0),
        ("20 mph", 32.18688),
        ("10 knots", 18.52),
        ("SE:urban", 50.0),
        ("se:rural", 70.0),
        ("SE:motorway", 110.0),
        ("walk", 7.0),
        ("50;70", 60.0),
        ("30;50;70", 50.0),
        ("none", None),
        ("signals", None),
        ("fast", None),
        ("50;fast", None),
        ("0", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_maxspeed(value: str | None, kph: float | None) -> None:
    assert parse_maxspeed(value) == (pytest.approx(kph) if kph is not None else None)


def test_untagged_roads_get_swedish_legal_defaults() -> None:
    model = SpeedModel()
    assert model.speed_kph({"highway": "motorway"}) == 110.0
    assert model.speed_kph({"highway": "primary"}) == 70.0  # rural unless told otherwise
    assert model.speed_kph({"highway": "residential"}) == 50.0
    assert model.speed_kph({"highway": "living_street"}) == 7.0
    assert model.speed_kph({"highway": "tertiary", "source:maxspeed": "SE:urban"}) == 50.0


def test_scenario_factor_and_defaults_apply() -> None:
    model = SpeedModel(default_speeds_kph={"primary": (40.0, 80.0)}, speed_factor=0.5)
    assert model.speed_kph({"highway": "primary"}) == 40.0
    assert model.speed_kph({"highway": "primary", "maxspeed": "100"}) == 50.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"speed_factor": 0.0},
        {"speed_factor": float("nan")},
        {"overrides_kph": {"primary": -5.0}},
        {"default_speeds_kph": {"primary": (50.0,)}},
    ],
)
def test_bad_speed_models_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(InputError):
        SpeedModel(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("00:20", 1200.0),
        ("1:05", 3900.0),
        ("01:00:30", 3630.0),
        ("45", 2700.0),
        ("PT1H30M", 5400.0),
        ("PT20M", 1200.0),
        ("PT90S", 90.0),
        ("00:00", None),
        ("about an hour", None),
        ("PT", None),
        (None, None),
    ],
)
def test_parse_ferry_duration(value: str | None, seconds: float | None) -> None:
    assert parse_duration_s(value) == seconds


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({}, (True, True)),
        ({"oneway": "no"}, (True, True)),
        ({"oneway": "yes"}, (True, False)),
        ({"oneway": "-1"}, (False, True)),
        ({"junction": "roundabout"}, (True, False)),
        ({"junction": "roundabout", "oneway": "no"}, (True, False)),
    ],
)
def test_directions_follow_osmnx(tags: dict[str, str], expected: tuple[bool, bool]) -> None:
    assert directions(tags) == expected
