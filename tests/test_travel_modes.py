"""[travel] mode in scenarios: walk and bike on the straight line, transit by timetable."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from gtfs_files import write_feed
from osm_files import write_osm
from scenario_files import scenario_text, write_scenario
from test_walk_bike_networks import NODES as WALK_NODES
from test_walk_bike_networks import WAYS as WALK_WAYS

from siting._core.errors import InputError
from siting.scenario.config import load_scenario
from siting.scenario.pipeline import run_scenario

ROOT = Path(__file__).resolve().parents[1]
#: the bundled scenario reads the feed at ../shared beside the checkout, as CI has it
NORRBOTTEN = ROOT.parent / "shared" / "data" / "gtfs_norrbotten_2023.zip"

#: the tiny scenario's towns, rebuilt along the hand-made feed's line (S1 .. S4 at 65 N)
CELLS = """id,population,lon,lat,kommun_kod,name
near-s1,100,20.0,64.999,2380,Near S1
near-s4,50,20.15,65.001,2380,Near S4
"""
SITES = """site_id,name,status,lon,lat
at-s4,Office at S4,existing,20.15,65.001
"""


def _transit(folder: Path, **travel: str) -> str:
    write_feed(folder / "feed.zip")
    keys = {
        ("travel", "mode"): '"transit"',
        ("travel", "gtfs"): '"feed.zip"',
        ("travel", "date"): '"2023-03-15"',
        ("travel", "departure_window"): '"07:50-08:00"',
        ("travel", "circuity"): None,
        ("travel", "speed_bands"): None,
        ("travel", "max_minutes"): "120",
    }
    keys.update({("travel", key): value for key, value in travel.items()})
    problem = {"name": '"nearest"', "kind": '"p-median"', "n_sites": "1"}
    return scenario_text(keys, problems=[problem])


def test_a_transit_scenario_runs_on_the_timetable(tmp_path: Path) -> None:
    """Near S1 leaving 07:50-07:59: walk 109 s, A1 at 08:00, B1 to S4 08:35, walk 109 s:
    46:49 at 07:50 down to 37:49 at 07:59, median (5th of 10) 42:49."""
    path = write_scenario(tmp_path, _transit(tmp_path))
    (tmp_path / "cells.csv").write_text(CELLS)
    (tmp_path / "sites.csv").write_text(SITES)
    result = run_scenario(path, tmp_path / "out", progress=False)
    rows = pd.read_csv(tmp_path / "out" / "assignments.csv")
    near_s1 = rows[(rows["problem"] == "existing") & (rows["demand_id"] == "near-s1")]
    assert near_s1["minutes"].iloc[0] == pytest.approx((42 * 60 + 49) / 60, abs=1e-3)
    travel = result.summary["travel"]
    assert travel["mode"] == "transit"
    assert travel["model"].startswith("public transport (GTFS timetable), 2023-03-15 07:50-08:00")
    assert travel["transit"]["max_transfers"] == 3


def test_other_modes_measure_the_same_offices(tmp_path: Path) -> None:
    """compare_modes = ["car"]: by bus 50 of 150 people are within 30 min (near S4 walks;
    near S1 takes 42:49), by car (7 km of straight line) all are; the map says so."""
    text = _transit(tmp_path, compare_modes='["car"]')
    path = write_scenario(tmp_path, text.replace("map = false", "map = true"))
    (tmp_path / "cells.csv").write_text(CELLS)
    (tmp_path / "sites.csv").write_text(SITES)
    result = run_scenario(path, tmp_path / "out", progress=False)
    existing = next(p for p in result.summary["problems"] if p["name"] == "existing")
    assert existing["metrics"]["total"]["share_within_30_min"] == pytest.approx(50 / 150)
    car = existing["by_mode"]["car"]
    assert car["share_within_30_min"] == 1.0
    assert car["model"] == "straight-line fallback"
    page = (tmp_path / "out" / "map.html").read_text()
    assert "Same offices by car: 100% within 30 min, 100% within 60 min" in page


def test_walking_over_an_osm_walk_network(tmp_path: Path) -> None:
    """mode = "walk" with an OSM file: the footway counts, the cycleway does not; from node 1
    to node 3 is 1,112 m at 4.8 km/h = 13.9 minutes; the model says walking."""
    write_osm(tmp_path / "town.osm", WALK_NODES, WALK_WAYS)
    text = scenario_text(
        {
            ("inputs", "network"): '"town.osm"',
            ("travel", "mode"): '"walk"',
            ("travel", "circuity"): None,
            ("travel", "speed_bands"): None,
        },
        problems=[{"name": '"nearest"', "kind": '"p-median"', "n_sites": "1"}],
    )
    path = write_scenario(tmp_path, text)
    (tmp_path / "cells.csv").write_text(
        "id,population,lon,lat,kommun_kod,name\nat-1,10,18.0,60.0,0180,One\n"
    )
    (tmp_path / "sites.csv").write_text(
        "site_id,name,status,lon,lat\nat-3,Office,existing,18.02,60.0\n"
    )
    result = run_scenario(path, tmp_path / "out", cache_dir=tmp_path / "cache", progress=False)
    rows = pd.read_csv(tmp_path / "out" / "assignments.csv")
    assert rows["minutes"].iloc[0] == pytest.approx(1111.95 / (4.8 / 3.6) / 60, rel=1e-3)
    assert result.summary["travel"]["model"] == "road network, walking"


def test_walking_is_the_straight_line_at_walking_pace(tmp_path: Path) -> None:
    """mode = "walk": 11.12 km between A and B x 1.3 at 4.8 km/h = 180.7 minutes."""
    text = scenario_text(
        {
            ("travel", "mode"): '"walk"',
            ("travel", "circuity"): None,
            ("travel", "speed_bands"): None,
            ("travel", "max_minutes"): "600",
        }
    )
    result = run_scenario(write_scenario(tmp_path, text), tmp_path / "out", progress=False)
    rows = pd.read_csv(tmp_path / "out" / "assignments.csv")
    b = rows[(rows["problem"] == "existing") & (rows["demand_id"] == "b")]
    assert b["minutes"].iloc[0] == pytest.approx(11.1195 * 1.3 / 4.8 * 60, rel=1e-3)
    assert result.summary["travel"]["model"] == "straight-line walking"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({("travel", "gtfs"): None}, r'\[travel\] gtfs is required with mode = "transit"'),
        ({("travel", "date"): '"2023-02-30"'}, "date.*a date YYYY-MM-DD"),
        ({("travel", "departure_window"): '"8-10"'}, 'a window "HH:MM-HH:MM"'),
        ({("travel", "departure_window"): '"10:00-08:00"'}, "ends after it starts"),
        ({("travel", "percentile"): "0"}, "a percentile above 0"),
        ({("travel", "max_transfers"): "-1"}, "an integer >= 0"),
        ({("travel", "mode"): '"train"'}, "one of 'car', 'walk', 'bike', 'transit'"),
        ({("travel", "mode"): '"car"'}, r'\[travel\] gtfs is only used with mode = "transit"'),
        ({("travel", "gtfs"): '"absent.zip"'}, r"\[travel\] gtfs: no such file 'absent.zip'"),
        ({("inputs", "network"): '"roads.osm.pbf"'}, 'set \\[inputs\\] network = "straight-line"'),
        (
            {("travel", "compare_modes"): '["transit"]'},
            "compare_modes: 'transit' is the mode itself",
        ),
        ({("travel", "compare_modes"): '"car"'}, "compare_modes.*a list of modes"),
        ({("travel", "compare_modes"): '["car", "car"]'}, "each mode once"),
    ],
)
def test_bad_travel_modes_are_named(
    tmp_path: Path, changes: dict[tuple[str, str], str | None], message: str
) -> None:
    text = _transit(tmp_path)
    (tmp_path / "roads.osm.pbf").write_bytes(b"")
    path = write_scenario(tmp_path, scenario_text(_keys(text, changes)))
    with pytest.raises(InputError, match=message):
        load_scenario(path)


def _keys(
    text: str, changes: dict[tuple[str, str], str | None]
) -> dict[tuple[str, str], str | None]:
    """The transit scenario's travel keys with `changes` applied."""
    keys: dict[tuple[str, str], str | None] = {
        ("travel", "mode"): '"transit"',
        ("travel", "gtfs"): '"feed.zip"',
        ("travel", "date"): '"2023-03-15"',
        ("travel", "circuity"): None,
        ("travel", "speed_bands"): None,
    }
    keys.update(changes)
    return keys


def test_a_feed_problem_exits_2_in_one_line(tmp_path: Path) -> None:
    """A date outside the feed's calendar: exit 2, one line naming the feed, no output."""
    path = write_scenario(tmp_path, _transit(tmp_path, date='"2025-01-01"'))
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "siting"),
            "run",
            str(path),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1
    assert "[travel] gtfs: " in errors[0]
    assert "2025-01-01 is outside the feed's calendar 2023-01-01..2023-12-31" in errors[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not NORRBOTTEN.exists(), reason=f"{NORRBOTTEN} is absent (../shared/data)")
def test_the_bundled_norrbotten_scenario_runs(tmp_path: Path) -> None:
    """data/scenarios/norrbotten_transit.toml: people 65+ by bus, compared with car, both
    answers optimal."""
    result = run_scenario(
        ROOT / "data" / "scenarios" / "norrbotten_transit.toml", tmp_path / "out", progress=False
    )
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["travel"]["mode"] == "transit"
    assert summary == result.summary or summary["travel"] == result.summary["travel"]
    assert result.summary["travel"]["transit"]["date"] == str(dt.date(2023, 3, 15))
    elderly = pd.read_csv(ROOT / "data" / "norrbotten_orter_65plus.csv")
    assert summary["inputs"]["people"] == elderly["age_65_plus"].sum()
    assert summary["inputs"]["counted"].startswith("people 65+ (estimated")
    for problem in summary["problems"]:
        assert set(problem["by_mode"]) == {"car"}
        if problem["kind"] != "existing":
            assert problem["gap"] == 0
    page = (tmp_path / "out" / "map.html").read_text()
    assert "Counted: people 65+ (estimated" in page
    assert "Same offices by car:" in page
