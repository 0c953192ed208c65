"""Every kind of page siting writes, with a script-injection payload in every user field.

Shared by tests/test_page_safety.py (pages parsed) and tests/test_browser.py (pages opened).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from map_fixtures import make_cells, make_sites, make_travel
from scenario_files import scenario_text

import siting.report.maps
from siting.inputs.regions import load_boundaries
from siting.report.compare_pages import OfficePlan
from siting.report.equity_text import PlanEquity
from siting.report.maps import MapOptions, write_map
from siting.report.publish import publish_site
from siting.scenario.compare_runs import compare_runs
from siting.scenario.pipeline import run_scenario

PAYLOAD = "\"'><script>alert(1)</script><img src=x onerror=alert(2)>"
TITLE_PAYLOAD = "</title><script>alert(3)</script>"


def write_payload_scenario(folder: Path) -> Path:
    """The tiny Jämtland scenario with the payload in every name, title and description."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "cells.csv").open("w", newline="") as out:
        rows = csv.writer(out)
        rows.writerow(["id", "population", "lon", "lat", "kommun_kod", "name"])
        for position, town in enumerate("abcd"):
            rows.writerow([town, 100 - 20 * position, 15.0, 63.0 + position / 10, 2380, PAYLOAD])
    with (folder / "sites.csv").open("w", newline="") as out:
        rows = csv.writer(out)
        rows.writerow(["site_id", "name", "status", "lon", "lat"])
        rows.writerow(["office-a", PAYLOAD, "existing", 15.0, 63.0])
        rows.writerow(["cand-c", TITLE_PAYLOAD, "candidate", 15.0, 63.2])
        rows.writerow(["cand-d", PAYLOAD + " D", "candidate", 15.0, 63.3])
    text = json.dumps  # a JSON string is a TOML basic string
    problems = [
        {"name": text(PAYLOAD + " one"), "kind": '"p-median"', "n_sites": "2"},
        {"name": text(TITLE_PAYLOAD + " two"), "kind": '"mclp"', "n_sites": "2",
         "max_minutes": "15"},
        {"name": text(PAYLOAD + " tour"), "kind": '"mobile"', "depots": '["office-a"]',
         "stops": '["cand-c", "cand-d"]', "serve_minutes": "15", "day_minutes": "480",
         "days_per_week": "1", "time_limit_s": "5", "max_iterations": "20"},
    ]  # fmt: skip
    changes: dict[tuple[str, str], str | None] = {
        ("", "name"): text(TITLE_PAYLOAD + PAYLOAD),
        ("", "description"): text(PAYLOAD),
        ("outputs", "map"): "true",
        ("outputs", "title"): text(PAYLOAD + TITLE_PAYLOAD),
    }
    path = folder / "payload.toml"
    path.write_text(scenario_text(changes, problems=problems))
    return path


def write_payload_pages(root: Path) -> dict[str, Path]:
    """Every kind of page, written with the payload under `root`: runs, comparison, site, map.

    Returns the pages by their path under `root`.
    """
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("SITING_CACHE_DIR", str(root / "cache"))
    try:
        run = run_scenario(write_payload_scenario(root / "in"), root / "run", progress=False)
        compared = compare_runs([run.out_dir], root / "compare")
        site = publish_site(
            root / "site", *_payload_inputs(), group_column="kommunkod",
            group_names={"0001": PAYLOAD, "0002": TITLE_PAYLOAD}, model=PAYLOAD,
            options=MapOptions(title=PAYLOAD, boundaries=()),
        )  # fmt: skip
        # municipality names on the map: the bundled outlines, renamed
        kommuner = load_boundaries("kommun").assign(name=PAYLOAD)
        monkeypatch.setattr(siting.report.maps, "load_boundaries", lambda level: kommuner)
        single = _write_single_map(root / "map.html")
    finally:
        monkeypatch.undo()
    found = {str(p.relative_to(root)): p for p in run.out_dir.glob("*.html")}
    found |= {str(p.relative_to(root)): p for p in compared.files if p.suffix == ".html"}
    found |= {str(p.relative_to(root)): p for p in site.files if p.suffix == ".html"}
    return found | {"map.html": single}


def _payload_inputs() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, list[OfficePlan]]:
    demand = make_cells(5).assign(kommunkod=["0001", "0001", "0002", "0002", "0002"])
    sites = make_sites().assign(name=[PAYLOAD, TITLE_PAYLOAD, PAYLOAD + " c"])
    # equity beside coverage on cards, the comparison and each map's panel
    equity = PlanEquity(0.3, 1.5, 0.2, 40.0, 10.0, 0.5)
    scenarios = [
        OfficePlan(PAYLOAD, make_travel(), description=PAYLOAD, equity=equity),
        OfficePlan(TITLE_PAYLOAD, make_travel(), closed=("b",), description=TITLE_PAYLOAD,
                   equity=equity),
    ]  # fmt: skip
    return demand, sites, scenarios


def _write_single_map(path: Path) -> Path:
    """A map of localities (named), a mobile tour and a model named by the user."""
    demand = make_cells(5).drop(columns="cell").assign(name=PAYLOAD)
    line = shapely.LineString([(500_500, 6_700_500), (503_500, 6_700_500)])
    routes = gpd.GeoDataFrame({"name": [PAYLOAD]}, geometry=[line], crs="EPSG:3006")
    stops = gpd.GeoDataFrame(
        {"name": [PAYLOAD], "days": [TITLE_PAYLOAD], "route": [PAYLOAD]},
        geometry=gpd.points_from_xy([500_500], [6_700_500]),
        crs="EPSG:3006",
    )
    return write_map(
        path, demand, make_sites().assign(name=PAYLOAD), make_travel(), model=PAYLOAD,
        routes=routes, stops=stops, options=MapOptions(title=PAYLOAD, boundaries=("kommun",)),
    )  # fmt: skip
