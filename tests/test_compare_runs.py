"""Tests for siting.scenario.compare_runs: each run keeps its own sites and demand points."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from scenario_files import DEMAND_CSV, scenario_text, write_scenario

from siting.cli.main import EXIT_BAD_INPUT, EXIT_OK, main

# the other person's run: its "office-a" is another office, one step north of A's; no D
OTHER_SITES_CSV = """site_id,name,status,cost,lon,lat
office-a,Office B,existing,,15.0,63.1
cand-c,Candidate C,candidate,1.0,15.0,63.2
"""


def _run(folder: Path, *, name: str, sites_csv: str | None = None,
         demand_csv: str | None = None) -> Path:  # fmt: skip
    """`siting run` of the tiny scenario named `name` in `folder`, with other inputs if given."""
    scenario = write_scenario(folder, scenario_text({("", "name"): f'"{name}"'}))
    if sites_csv is not None:
        (folder / "sites.csv").write_text(sites_csv)
    if demand_csv is not None:
        (folder / "cells.csv").write_text(demand_csv)
    out = folder / "run"
    assert main(["-q", "run", str(scenario), "--out", str(out)]) == EXIT_OK
    return out


def _site_features(path: Path) -> dict[str, tuple[str, float]]:
    """Site id -> (name, latitude to 6 decimals) of a published sites GeoJSON."""
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    return {
        f["properties"]["site_id"]: (
            f["properties"]["name"],
            round(f["geometry"]["coordinates"][1], 6),
        )
        for f in features
    }


def test_each_run_shows_its_own_sites_when_ids_collide(tmp_path: Path) -> None:
    """Two people's runs both call an office "office-a": each page shows that run's office."""
    first = _run(tmp_path / "a", name="tiny")
    second = _run(tmp_path / "b", name="other", sites_csv=OTHER_SITES_CSV)
    site = tmp_path / "site"
    assert main(["-q", "compare", str(first), str(second), "--out", str(site)]) == EXIT_OK
    mine = {"office-a": ("Office A", 63.0), "cand-c": ("Candidate C", 63.2),
            "cand-d": ("Candidate D", 63.3)}  # fmt: skip
    theirs = {"office-a": ("Office B", 63.1), "cand-c": ("Candidate C", 63.2)}
    for slug, expected in (("tiny-existing", mine), ("tiny-one-more", mine),
                           ("other-existing", theirs), ("other-one-more", theirs)):  # fmt: skip
        assert _site_features(site / "data" / f"{slug}-sites.geojson") == expected
    other_map = (site / "other-existing.html").read_text(encoding="utf-8")
    assert "Office B" in other_map
    assert "Office A" not in other_map
    assert "Candidate D" not in other_map
    assert "Office B" not in (site / "tiny-existing.html").read_text(encoding="utf-8")
    # the figures are each run's own: B's office at 63.1 has a, b and c within 15 min
    # (11.12, 0 and 11.12 min: 180 people), A's office at 63.0 only a and b (150)
    totals = pd.read_csv(site / "comparison.csv").query("group == 'total'")
    assert totals.set_index("scenario")["within_15_min"].to_dict() == {
        "tiny: existing": 150, "tiny: one more": 200,
        "other: existing": 180, "other: one more": 200,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("line", "changed", "fault"),
    [
        ("b,50,15.0,63.1,2380", "b,60,15.0,63.1,2380",
         "demand point 'b' has population 60, but 50"),
        ("c,30,15.0,63.2,2380", "c,30,15.0,63.2,2361",
         "demand point 'c' has group '2361', but '2380'"),
        ("d,20,15.0,63.3,2380", "d,20,15.0,63.35,2380",
         "demand point 'd' has position (lon, lat) (15, 63.35), but (15, 63.3)"),
    ],
)  # fmt: skip
def test_runs_over_other_people_at_the_same_ids_are_refused(
    line: str, changed: str, fault: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Same demand ids with other people, municipality or place: one line naming both runs."""
    assert line in DEMAND_CSV
    first = _run(tmp_path / "a", name="tiny")
    second = _run(tmp_path / "b", name="other", demand_csv=DEMAND_CSV.replace(line, changed))
    capsys.readouterr()
    site = tmp_path / "site"
    argv = ["-q", "compare", str(first), str(second), "--out", str(site)]
    assert main(argv) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert error == (
        f"siting: error: {second}: {fault} in {first}; "
        "only runs over the same population can be compared\n"
    )
    assert not site.exists()
