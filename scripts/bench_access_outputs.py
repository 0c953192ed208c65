"""What a plan's accessibility outputs add to a run: indices, GeoPackage and map layer.

Instances: the SCB 1 km grid of Dalarna (4,004 cells, ``../shared/data``) x its 73 towns
(straight-line times, cut off at 120 minutes), and a national-size synthetic grid (about
100,000 1 km cells, random populations, fixed seed) x 2,000 random sites cut off at 45
minutes. A plan opens `--open` sites (seeded). Baseline in the same run: the map the plan
gets anyway (`write_map` without the layer); the figures are the indices (`plan_access`),
the GeoPackage (`write_access_geopackage`, cells and groups) and the map with the layer,
each a median of `--repeat` runs, with their ratio to the baseline map, and the sizes of
the GeoPackage and of the page without and with the layer.

    .venv/bin/python scripts/bench_access_outputs.py [--repeat 3] [--open 20] [--no-scale]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, not an installed copy
sys.path.insert(0, str(ROOT / "scripts"))

import bench_solve  # noqa: E402  (the Dalarna grid and towns)

import siting  # noqa: E402
from siting.locate.decay import DEFAULT_DECAY  # noqa: E402
from siting.report.maps import MapOptions, nearest_office, write_map  # noqa: E402
from siting.scenario.plan_access import plan_access, write_access_geopackage  # noqa: E402
from siting.scenario.problems import ProblemResult, od_to_sites  # noqa: E402

BARE = MapOptions(tiles=None, boundaries=())


def _dalarna() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, siting.ODMatrix]:
    demand = siting.load_population(bench_solve.POPULATION, population_column="befolkning_2025")
    sites = siting.load_sites(
        bench_solve.TOWNS, id_column="geonameid", default_status="candidate",
        region=bench_solve.REGION,
    )  # fmt: skip
    demand["group"] = demand["kommunkod"].astype(str)
    return demand, sites, siting.travel_times(None, demand, sites, max_minutes=120)


def _synthetic(seed: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, siting.ODMatrix]:
    """About 100,000 1 km cells in a 320 km square and 2,000 sites among them."""
    rng = np.random.default_rng(seed)
    side = 316
    east, north = np.meshgrid(np.arange(side) * 1000.0 + 400_500, np.arange(side) * 1000.0 +
                              6_600_500)  # fmt: skip
    east, north = east.ravel(), north.ravel()
    demand = gpd.GeoDataFrame(
        {"demand_id": np.arange(east.size).astype(str),
         "population": rng.integers(1, 3000, east.size).astype(float),
         "group": (east // 40_000).astype(int).astype(str),
         "cell": gpd.GeoSeries(shapely.box(east - 500, north - 500, east + 500, north + 500),
                               crs="EPSG:3006")},
        geometry=gpd.points_from_xy(east, north), crs="EPSG:3006",
    )  # fmt: skip
    chosen = rng.choice(east.size, 2000, replace=False)
    sites = gpd.GeoDataFrame(
        {"site_id": [f"s{i}" for i in range(chosen.size)], "name": "site",
         "status": "candidate", "capacity": np.nan},
        geometry=gpd.points_from_xy(east[chosen], north[chosen]), crs="EPSG:3006",
    )  # fmt: skip
    return demand, sites, siting.travel_times(None, demand, sites, max_minutes=45)


def _median_s(run: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 3)


def _case(name: str, instance: tuple[Any, ...], n_open: int, repeat: int) -> dict[str, Any]:
    demand, sites, od = instance
    if "capacity" not in sites.columns:
        sites["capacity"] = np.nan
    rng = np.random.default_rng(7)
    open_sites = [str(s) for s in rng.choice(sites["site_id"].astype(str), n_open, replace=False)]
    travel = nearest_office(od_to_sites(od, open_sites))
    result = ProblemResult("plan", "p-median", travel, tuple(open_sites))
    decay = DEFAULT_DECAY
    cut_off = float(od.metadata.get("max_minutes", 120))

    def indices() -> pd.DataFrame:
        return plan_access(od, demand, sites, open_sites, decay=decay, catchment_minutes=cut_off)

    table = indices()
    e2sfca = table["e2sfca"].to_numpy()
    with tempfile.TemporaryDirectory() as folder:

        def geopackage() -> None:
            path = Path(folder) / "a.gpkg"
            path.unlink(missing_ok=True)
            write_access_geopackage(path, demand, [result], {"plan": table}, {})

        def page(access: Any) -> Callable[[], Any]:
            path = Path(folder) / "m.html"
            return lambda: write_map(path, demand, sites, travel, model="straight-line",
                                     options=BARE, access=access)  # fmt: skip

        figures = {
            "map_without_layer_s": _median_s(page(None), repeat),
            "indices_s": _median_s(indices, repeat),
            "geopackage_s": _median_s(geopackage, repeat),
            "map_with_layer_s": _median_s(page(e2sfca), repeat),
        }
        gpkg_mb = (Path(folder) / "a.gpkg").stat().st_size / 1e6
        sizes = {}
        for key, access in (("map_without_layer_mb", None), ("map_with_layer_mb", e2sfca)):
            page(access)()
            sizes[key] = round((Path(folder) / "m.html").stat().st_size / 1e6, 2)
    base = figures.pop("map_without_layer_s")
    return {
        "case": name, "cells": len(demand), "sites": len(sites), "open": n_open,
        "stored_pairs": int(od.minutes.nnz), "map_without_layer_s": base, **figures,
        "geopackage_mb": round(gpkg_mb, 2), **sizes,
        "ratios_to_map": {k: round(v / base, 3) for k, v in figures.items()},
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--open", type=int, default=20)
    parser.add_argument("--no-scale", action="store_true", help="Dalarna only")
    args = parser.parse_args()
    rows = [_case("dalarna", _dalarna(), args.open, args.repeat)]
    if not args.no_scale:
        rows.append(_case("synthetic-100k-x-2k", _synthetic(3), args.open * 10, args.repeat))
    print(json.dumps({"load_average": os.getloadavg(), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
