"""A scenario's [inputs] network may name a saved prepared network (`siting network
--prepared`): same answers as from the OSM file, and refused when built for other options."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from osm_files import write_osm
from scenario_files import scenario_text, write_scenario

from siting._core.errors import InputError
from siting.cli.main import EXIT_BAD_INPUT, EXIT_OK, main
from siting.scenario.pipeline import run_scenario

# a primary road through the base scenario's four places (15.0 E, 63.0-63.3 N), with a spur
# at the two in the middle so that they stay junctions when the network is simplified
_NODES = {1: (15.0, 63.0), 2: (15.0, 63.1), 3: (15.0, 63.2), 4: (15.0, 63.3)}
_NODES |= {5: (15.01, 63.1), 6: (15.01, 63.2)}
_WAYS = [
    (10, [1, 2, 3, 4], {"highway": "primary", "maxspeed": "70"}),
    (11, [2, 5], {"highway": "residential"}),
    (12, [3, 6], {"highway": "residential"}),
]


def _scenario(folder: Path, network: str, **travel: str) -> Path:
    changes: dict[tuple[str, str], str | None] = {
        ("inputs", "network"): json.dumps(network),
        ("travel", "circuity"): None,
        ("travel", "speed_bands"): None,
    }
    changes.update({("travel", key): value for key, value in travel.items()})
    return write_scenario(
        folder, scenario_text(changes), name=f"{len(list(folder.iterdir()))}.toml"
    )


def _saved(tmp_path: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> Path:
    osm = write_osm(tmp_path / "roads.osm", _NODES, _WAYS)
    folder = tmp_path / "roads"
    assert main(["-q", "network", str(osm), "--prepared", str(folder), *flags]) == EXIT_OK
    capsys.readouterr()
    return folder


def test_saved_network_gives_the_osm_files_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _saved(tmp_path, capsys)
    from_osm = run_scenario(_scenario(tmp_path, "roads.osm"), tmp_path / "osm", progress=False)
    from_saved = run_scenario(_scenario(tmp_path, "roads"), tmp_path / "saved", progress=False)
    plan, saved_plan = (r.summary["problems"][-1] for r in (from_osm, from_saved))
    assert saved_plan["name"] == plan["name"] == "one more"
    assert saved_plan["open_sites"] == plan["open_sites"] == ["office-a", "cand-c"]
    assert saved_plan["objective"] == plan["objective"]
    # by road at 70 km/h (11.1 km a step), not straight lines: B 9.5 min from A, C and D
    # 0 and 9.5 min from the new office at C
    assert plan["metrics"]["total"]["p95_minutes"] == pytest.approx(9.53, abs=0.01)
    assert from_saved.summary["travel"]["model"] == "road network"
    record = from_saved.summary["travel"]["network"]
    assert record["path"].endswith("manifest.json")
    assert record["sha256"] == hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()


def test_saved_network_built_for_other_options_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _saved(tmp_path, capsys, "--no-ferries")
    path = _scenario(tmp_path, "roads")
    with pytest.raises(
        InputError, match=r"\[inputs\] network: .*roads was built with ferries = False"
    ):
        run_scenario(path, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
    # the same folder serves a scenario that asks for those roads
    path = _scenario(tmp_path, "roads", ferries="false")
    assert run_scenario(path, tmp_path / "out", progress=False).summary["problems"]


def test_folder_that_is_not_a_saved_network_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "roads").mkdir()
    path = _scenario(tmp_path, "roads")
    assert main(["-q", "run", str(path), "--out", str(tmp_path / "out")]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err.strip()
    assert "[inputs] network: 'roads' is a folder without manifest.json" in error
    assert len(error.splitlines()) == 1
    assert not (tmp_path / "out").exists()
