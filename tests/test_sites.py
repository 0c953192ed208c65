"""Tests for siting.inputs.sites: reading offices and candidates, and generating candidates."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import Point

from siting._core.errors import InputError, SitingWarning
from siting.inputs.population import load_population
from siting.inputs.sites import (
    candidates_from_clusters,
    candidates_from_geonames,
    candidates_from_osm,
    combine_sites,
    load_sites,
)

INPUTS = Path(__file__).parent / "data" / "inputs"
LONLAT = INPUTS / "offices_lonlat.csv"
SWEREF = INPUTS / "offices_sweref.csv"
PLACES = INPUTS / "places.osm"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_sites_lonlat_csv() -> None:
    """A lon/lat CSV loads in SWEREF99 TM with statuses normalised and options parsed."""
    sites = load_sites(LONLAT)
    assert sites.crs == "EPSG:3006"
    assert sites["site_id"].tolist() == ["falun", "vansbro", "mora", "malung"]
    assert sites["status"].tolist() == ["existing", "existing", "may_close", "candidate"]
    assert np.isnan(sites["cost"].iloc[0])
    assert sites["cost"].iloc[3] == 120000
    assert sites["capacity"].iloc[3] == 2
    assert sites["municipality"].iloc[3] == "Malung-Sälen"
    falun = gpd.GeoSeries([Point(15.6323, 60.6065)], crs=4326).to_crs(3006).iloc[0]
    assert sites.geometry.iloc[0].distance(falun) < 0.01


def test_load_sites_sweref_csv_with_semicolons() -> None:
    """An e/n CSV is taken as SWEREF99 TM without asking; municipalities found by location."""
    sites = load_sites(SWEREF)
    assert sites.geometry.iloc[0].coords[0] == (534496, 6718957)
    # the file has no municipality column: the towns lie in Falun and Borlänge
    assert sites["municipality"].tolist() == ["Falun", "Borlänge"]


def test_round_trip_geojson_and_geopackage(tmp_path: Path) -> None:
    """Sites written to GeoJSON and GeoPackage load back with the same ids, fields and places."""
    sites = load_sites(LONLAT)
    sites.to_crs(4326).to_file(tmp_path / "sites.geojson")
    sites.to_file(tmp_path / "sites.gpkg", layer="kontor")
    for path in (tmp_path / "sites.geojson", tmp_path / "sites.gpkg"):
        again = load_sites(path)
        assert again["site_id"].tolist() == sites["site_id"].tolist()
        assert again["status"].tolist() == sites["status"].tolist()
        assert again["cost"].iloc[3] == 120000
        assert again.geometry.distance(sites.geometry).max() < 0.01


def test_load_sites_region() -> None:
    """A region keeps only its sites."""
    assert load_sites(LONLAT, region="Falun")["site_id"].tolist() == ["falun"]


def test_default_status_fills_a_missing_column(tmp_path: Path) -> None:
    """Without a status column, default_status applies to every site."""
    path = _write(tmp_path, "c.csv", "site_id,name,lon,lat\na,A,15.6,60.6\n")
    assert load_sites(path, default_status="candidate")["status"].tolist() == ["candidate"]


def test_missing_columns(tmp_path: Path) -> None:
    """Missing id, name or status columns are named with the columns present."""
    path = _write(tmp_path, "c.csv", "id,lon,lat\na,15.6,60.6\n")
    with pytest.raises(InputError, match=r"c\.csv: missing column\(s\) 'site_id', 'name'"):
        load_sites(path)
    path = _write(tmp_path, "d.csv", "site_id,name,lon,lat\na,A,15.6,60.6\n")
    with pytest.raises(InputError, match=r"missing column\(s\) 'status'; columns are site_id"):
        load_sites(path)


def test_duplicate_site_ids(tmp_path: Path) -> None:
    """A repeated site id names the id and both lines."""
    path = _write(
        tmp_path, "c.csv", "site_id,name,status,lon,lat\na,A,existing,15,60\na,B,candidate,15,61\n"
    )
    with pytest.raises(InputError, match=r"id 'a' repeats \(line 2 and line 3\)"):
        load_sites(path)


def test_unknown_status(tmp_path: Path) -> None:
    """An unknown status names the line, the value and the allowed ones."""
    path = _write(tmp_path, "c.csv", "site_id,name,status,lon,lat\na,A,stängd,15,60\n")
    with pytest.raises(InputError, match=r"line 2: status 'stängd' is not one of existing"):
        load_sites(path)


def test_negative_or_text_cost(tmp_path: Path) -> None:
    """Cost must be a non-negative number; the error names line and value."""
    header = "site_id,name,status,cost,lon,lat\n"
    path = _write(tmp_path, "c.csv", header + "a,A,candidate,-5,15,60\n")
    with pytest.raises(InputError, match=r"column 'cost' line 2: value '-5' is below 0"):
        load_sites(path)
    path = _write(tmp_path, "d.csv", header + "a,A,candidate,dyr,15,60\n")
    with pytest.raises(InputError, match=r"column 'cost' line 2: value 'dyr' is not a number"):
        load_sites(path)


def test_nan_coordinates(tmp_path: Path) -> None:
    """A site without coordinates is reported by line."""
    path = _write(tmp_path, "c.csv", "site_id,name,status,lon,lat\na,A,existing,15,\n")
    with pytest.raises(InputError, match=r"column 'lat' line 2: value is missing"):
        load_sites(path)


def test_no_crs_and_crs_mismatch(tmp_path: Path) -> None:
    """x/y without crs= is refused; crs= contradicting a layer's CRS is refused."""
    path = _write(tmp_path, "c.csv", "site_id,name,status,x,y\na,A,existing,534000,6718000\n")
    with pytest.raises(InputError, match="no CRS is stated"):
        load_sites(path)
    frame = gpd.GeoDataFrame(
        {"site_id": ["a"], "name": ["A"], "status": ["existing"]},
        geometry=[Point(15, 60)],
        crs=4326,
    )
    with pytest.raises(InputError, match="CRS mismatch"):
        load_sites(frame, crs="EPSG:3006")


def test_region_matching_nothing_or_no_site() -> None:
    """A region name that matches nothing, or holds no site, is an InputError."""
    with pytest.raises(InputError, match="did you mean"):
        load_sites(LONLAT, region="Faluun")
    with pytest.raises(InputError, match="no row lies in Kiruna"):
        load_sites(LONLAT, region="Kiruna")


def test_combine_sites_refuses_repeated_ids() -> None:
    """Stacking tables that share an id is an error naming the id."""
    sites = load_sites(LONLAT)
    assert len(combine_sites(sites, load_sites(SWEREF))) == 6
    with pytest.raises(InputError, match="'falun' repeats"):
        combine_sites(sites, sites.iloc[:1])


@pytest.mark.slow
def test_candidates_from_geonames_dalarna() -> None:
    """GeoNames gives Dalarna's towns with population and their municipality."""
    towns = candidates_from_geonames(region="Dalarna", min_population=5000)
    by_name = towns.set_index("name")
    assert {"Falun", "Borlänge", "Mora", "Ludvika", "Avesta"} <= set(by_name.index)
    assert by_name.loc["Falun", "kommun_kod"] == "2080"
    assert by_name.loc["Falun", "municipality"] == "Falun"
    assert (towns["population"] >= 5000).all()
    assert (towns["status"] == "candidate").all()
    assert towns["site_id"].is_unique


def test_candidates_from_osm_places() -> None:
    """Named town/village/hamlet nodes become candidates; cities, unnamed, others do not."""
    places = candidates_from_osm(PLACES)
    assert places["site_id"].tolist() == ["osm:node/101", "osm:node/102", "osm:node/103"]
    assert places["place"].tolist() == ["town", "village", "hamlet"]
    assert places["population"].iloc[0] == 37291
    assert np.isnan(places["population"].iloc[2])
    assert places["kommun_kod"].tolist() == ["2080", "2023", "2021"]
    assert candidates_from_osm(PLACES, region="Falun")["name"].tolist() == ["Falun"]


def test_candidates_from_osm_real_extract() -> None:
    """pyrosm's Kotka extract holds one hamlet node."""
    pyrosm = pytest.importorskip("pyrosm")
    path = Path(pyrosm.__file__).parent / "data" / "test.osm.pbf"
    places = candidates_from_osm(path)
    assert places["place"].tolist() == ["hamlet"]


def test_candidates_from_osm_none_found(tmp_path: Path) -> None:
    """An extract with no place of the asked types is an InputError."""
    path = _write(tmp_path, "e.osm", _EMPTY_OSM)
    with pytest.raises(InputError, match="no place node of type city"):
        candidates_from_osm(path, place_types=("city",))


_EMPTY_OSM = '<?xml version="1.0"?><osm version="0.6"><node id="1" lat="60" lon="15"/></osm>'


def _clustered_population() -> gpd.GeoDataFrame:
    # two obvious clusters 50 km apart: 3 points near Falun and 2 near Mora
    points = [
        (534000, 6718000),
        (535000, 6718000),
        (534000, 6719000),
        (483000, 6767000),
        (484000, 6767000),
    ]
    frame = gpd.GeoDataFrame(
        {"population": [100.0, 100.0, 200.0, 50.0, 150.0]},
        geometry=[Point(p) for p in points],
        crs=3006,
    )
    return load_population(frame)


def test_clusters_are_weighted_centres() -> None:
    """Two clusters give the population-weighted means and keep every person."""
    centres = candidates_from_clusters(_clustered_population(), n_sites=2, random_state=1)
    by_people = centres.sort_values("population").reset_index(drop=True)
    assert by_people["population"].tolist() == [200.0, 400.0]
    assert by_people.geometry.iloc[0].coords[0] == pytest.approx((483750, 6767000))
    assert by_people.geometry.iloc[1].coords[0] == pytest.approx((534250, 6718500))
    assert centres["kommun_kod"].isin(["2080", "2062"]).all()


def test_clusters_are_repeatable() -> None:
    """The same seed gives the same centres."""
    demand = load_population(INPUTS / "scb_1km_small.csv")
    first = candidates_from_clusters(demand, n_sites=3, random_state=7)
    second = candidates_from_clusters(demand, n_sites=3, random_state=7)
    assert first.geometry.equals(second.geometry)
    assert first["population"].sum() == demand["population"].sum()


def test_clusters_bad_count() -> None:
    """More centres than populated points is an InputError."""
    with pytest.raises(InputError, match="n_sites must be between 1 and 5"):
        candidates_from_clusters(_clustered_population(), n_sites=6)


def _node_points() -> gpd.GeoSeries:
    # road nodes a few hundred metres from each cluster centre, in lon/lat as osmnx gives them
    return gpd.GeoSeries([Point(534000, 6718000), Point(484000, 6767500)], crs=3006).to_crs(4326)


def _network() -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    for node, point in zip((1, 2), _node_points(), strict=True):
        graph.add_node(node, x=point.x, y=point.y)
    graph.add_edge(1, 2, length=80_000.0)
    graph.add_edge(2, 1, length=80_000.0)
    return graph


def test_clusters_snapped_onto_network_nodes() -> None:
    """With a network each centre moves onto its nearest node, population unchanged."""
    pytest.importorskip("siting.roads.network")
    centres = candidates_from_clusters(
        _clustered_population(), n_sites=2, random_state=1, network=_network(), max_snap_m=5000
    )
    by_node = centres.set_index("node")
    assert by_node.geometry.loc[1].distance(Point(534000, 6718000)) < 0.01
    assert by_node.geometry.loc[2].distance(Point(484000, 6767500)) < 0.01
    assert by_node["population"].to_dict() == {1: 400.0, 2: 200.0}
    assert not centres["too_far"].any()
    assert by_node.loc[2, "snap_distance_m"] == pytest.approx(np.hypot(250, 500), abs=1)


def test_clusters_too_far_from_network_stay_and_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A centre with no node within reach keeps its place, flagged and logged."""
    pytest.importorskip("siting.roads.network")
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    falun_node = _node_points().iloc[0]
    graph.add_node(1, x=falun_node.x, y=falun_node.y)
    with (
        caplog.at_level(logging.WARNING, logger="siting"),
        pytest.warns(SitingWarning, match="no road within reach"),
    ):
        centres = candidates_from_clusters(
            _clustered_population(), n_sites=2, random_state=1, network=graph, max_snap_m=5000
        )
    assert centres["too_far"].sum() == 1
    far = centres[centres["too_far"]]
    assert far.geometry.iloc[0].coords[0] == pytest.approx((483750, 6767000))
    assert "left in place" in caplog.text


DATA = Path(__file__).parent.parent / "data"


def test_bundled_office_sites_load() -> None:
    """data/servicekontor_sites.csv loads as sites; Dalarna's offices are the known three."""
    sites = load_sites(DATA / "servicekontor_sites.csv")
    assert set(sites["status"]) == {"existing", "may_close"}
    dalarna = load_sites(DATA / "servicekontor_sites.csv", region="Dalarna")
    assert sorted(dalarna["municipality"]) == ["Borlänge", "Ludvika", "Vansbro"]
    assert dalarna.set_index("municipality").loc["Ludvika", "status"] == "may_close"


@pytest.mark.slow
def test_demo_data_script_reproduces_bundled_files(tmp_path: Path) -> None:
    """Rebuilding data/ from the packages gives exactly the committed files."""
    import importlib.util
    import shutil

    spec = importlib.util.spec_from_file_location(
        "build_demo_data", DATA.parent / "scripts" / "build_demo_data.py"
    )
    assert spec is not None
    assert spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    for kept_by_hand in ("servicekontor.csv", "scb_65plus_2023_norrbotten.csv"):
        shutil.copy(DATA / kept_by_hand, tmp_path / kept_by_hand)
    assert script.main(["--data", str(tmp_path)]) == 0
    for name in ("orter.csv", "servicekontor_sites.csv", "norrbotten_orter_65plus.csv"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes()
