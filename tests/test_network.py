"""load_network: checked against osmnx on real extracts and against hand-worked small networks."""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pytest
from osm_files import drive_xml, write_osm

from siting._core.errors import InputError
from siting.roads.filters import is_drive_way
from siting.roads.graph_build import sorted_unique
from siting.roads.network import bundled_osm_extract, load_network, network_summary, save_network
from siting.roads.speeds import SpeedModel

# 0.01 degree of latitude, or of longitude on the equator, on osmnx's sphere (R = 6,371,009 m)
STEP_M = 6_371_009.0 * math.radians(0.01)


def _build(path: Path, **options: object) -> nx.MultiDiGraph:
    return load_network(path, cache=False, **options)  # type: ignore[arg-type]


def _osmnx_filter(tags: dict[str, str]) -> bool:
    """osmnx's own drive filter string, evaluated clause by clause (an independent reading)."""
    clauses = re.findall(
        r'\["([^"]+)"(?:(!~)"([^"]*)")?\]', ox._overpass._get_network_filter("drive")
    )
    for key, operator, pattern in clauses:
        if not operator and key not in tags:
            return False
        if operator and key in tags and re.search(pattern, tags[key]):
            return False
    return True


@pytest.fixture(scope="module", params=["test.osm.pbf", "Helsinki.osm.pbf"])
def extract_xml(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = bundled_osm_extract(request.param)
    return drive_xml(source, tmp_path_factory.mktemp("osm") / "drive.osm", _osmnx_filter)


def test_drive_filter_matches_osmnx_on_every_way_of_helsinki() -> None:
    import osmium

    verdicts: Counter[bool] = Counter()
    for way in osmium.FileProcessor(str(bundled_osm_extract("Helsinki.osm.pbf"))).with_filter(
        osmium.filter.EntityFilter(osmium.osm.WAY)
    ):
        tags = {tag.k: tag.v for tag in way.tags}
        assert is_drive_way(tags) == _osmnx_filter(tags), tags
        verdicts[is_drive_way(tags)] += 1
    assert verdicts[True] > 500
    assert verdicts[False] > 2000


def test_same_graph_as_osmnx_on_real_extracts(extract_xml: Path) -> None:
    """Nodes, edges and lengths equal osmnx's strongly connected, simplified graph."""
    ours = _build(extract_xml)
    theirs = ox.simplify_graph(
        ox.truncate.largest_component(
            ox.graph_from_xml(extract_xml, simplify=False, retain_all=True), strongly=True
        )
    )
    assert set(ours.nodes) == set(theirs.nodes)
    assert Counter((u, v) for u, v, _ in ours.edges) == Counter((u, v) for u, v, _ in theirs.edges)
    ours_km = sum(d["length"] for *_, d in ours.edges(data=True)) / 1000
    theirs_km = sum(d["length"] for *_, d in theirs.edges(data=True)) / 1000
    assert ours_km == pytest.approx(theirs_km, rel=1e-9)
    assert ours.number_of_nodes() > 100
    for node, data in theirs.nodes(data=True):
        assert ours.nodes[node]["x"] == pytest.approx(data["x"], abs=1e-7)
        assert ours.nodes[node]["y"] == pytest.approx(data["y"], abs=1e-7)


def test_pbf_and_its_xml_give_the_same_graph(tmp_path: Path) -> None:
    """Reading the PBF (with ways cut where nodes are missing) equals reading the cut XML."""
    source = bundled_osm_extract("test.osm.pbf")
    from_pbf = _build(source)
    from_xml = _build(drive_xml(source, tmp_path / "drive.osm", is_drive_way))
    assert Counter((u, v) for u, v, _ in from_pbf.edges) == Counter(
        (u, v) for u, v, _ in from_xml.edges
    )
    assert from_pbf.graph["build_report"]["missing_locations"] > 0
    assert from_xml.graph["build_report"]["missing_locations"] == 0


def test_tagged_speeds_equal_tag_values() -> None:
    graph = _build(bundled_osm_extract("Helsinki.osm.pbf"))
    checked = 0
    for _, _, data in graph.edges(data=True):
        maxspeed = data.get("maxspeed")
        if isinstance(maxspeed, str) and maxspeed.isdigit() and not isinstance(data["osmid"], list):
            assert data["speed_kph"] == pytest.approx(float(maxspeed), rel=1e-9)
            assert data["travel_time"] == pytest.approx(data["length"] / (float(maxspeed) / 3.6))
            checked += 1
    assert checked > 50


def _loop(tmp_path: Path, oneway_tags: dict[str, str], reverse: bool) -> Path:
    # A(0,0) -> B(0.01,0) -> C(0.02,0) one-way at 60 km/h; C - F - G - A two-way residential
    nodes = {1: (0.0, 0.0), 2: (0.01, 0.0), 3: (0.02, 0.0), 4: (0.02, 0.01), 5: (0.0, 0.01)}
    refs = [3, 2, 1] if reverse else [1, 2, 3]
    ways = [
        (10, refs, {"highway": "primary", "maxspeed": "60", **oneway_tags}),
        (11, [3, 4, 5, 1], {"highway": "residential"}),
    ]
    return write_osm(tmp_path / "loop.osm", nodes, ways)


@pytest.mark.parametrize(
    ("oneway_tags", "reverse"),
    [
        ({"oneway": "yes"}, False),
        ({"oneway": "-1"}, True),
        ({"oneway": "reverse"}, True),
        ({"junction": "roundabout"}, False),
    ],
)
def test_one_way_times_worked_by_hand(
    tmp_path: Path, oneway_tags: dict[str, str], reverse: bool
) -> None:
    graph = _build(_loop(tmp_path, oneway_tags, reverse))
    # one way A -> C: 2 steps at 60 km/h; back C -> A: 4 steps at the urban default 50 km/h
    forward_s = 2 * STEP_M / (60 / 3.6)
    back_s = 4 * STEP_M / (50 / 3.6)
    assert forward_s == pytest.approx(133.434, abs=1e-3)
    assert back_s == pytest.approx(320.242, abs=1e-3)
    a_to_c = nx.shortest_path_length(graph, 1, 3, weight="travel_time")
    c_to_a = nx.shortest_path_length(graph, 3, 1, weight="travel_time")
    assert a_to_c == pytest.approx(forward_s, rel=1e-6)
    assert c_to_a == pytest.approx(back_s, rel=1e-6)
    assert sorted((u, v) for u, v, _ in graph.edges) == [(1, 3), (1, 3), (3, 1)]


def _star(tmp_path: Path, spokes: list[dict[str, str]]) -> Path:
    nodes = {1: (15.0, 60.0)}
    ways = []
    for i, tags in enumerate(spokes):
        angle = 2 * math.pi * i / len(spokes)
        nodes[100 + i] = (15.0 + 0.01 * math.cos(angle), 60.0 + 0.01 * math.sin(angle))
        ways.append((200 + i, [1, 100 + i], tags))
    return write_osm(tmp_path / "star.osm", nodes, ways)


MAXSPEED_CASES = [
    ({"highway": "primary", "maxspeed": "30 mph"}, 48.28032, 48.28032),
    ({"highway": "primary", "maxspeed": "SE:rural"}, 70.0, 70.0),
    ({"highway": "primary", "maxspeed": "SE:urban"}, 50.0, 50.0),
    ({"highway": "motorway", "maxspeed": "SE:motorway"}, 110.0, 110.0),
    ({"highway": "primary", "maxspeed": "50;70"}, 60.0, 60.0),
    ({"highway": "motorway", "maxspeed": "none"}, 110.0, 110.0),
    ({"highway": "residential", "maxspeed": "walk"}, 7.0, 7.0),
    ({"highway": "primary", "maxspeed": "fast"}, 70.0, 70.0),
    ({"highway": "residential"}, 50.0, 50.0),
    ({"highway": "unclassified"}, 70.0, 70.0),
    ({"highway": "primary", "maxspeed:type": "SE:urban"}, 50.0, 50.0),
    ({"highway": "primary", "maxspeed": "50", "maxspeed:forward": "30"}, 30.0, 50.0),
]


def test_maxspeed_variants_give_the_speeds_worked_by_hand(tmp_path: Path) -> None:
    graph = _build(_star(tmp_path, [tags for tags, _, _ in MAXSPEED_CASES]))
    for i, (tags, outward_kph, inward_kph) in enumerate(MAXSPEED_CASES):
        leaf = 100 + i
        for u, v, kph in ((1, leaf, outward_kph), (leaf, 1, inward_kph)):
            data = graph.edges[u, v, 0]
            assert data["speed_kph"] == pytest.approx(kph, rel=1e-9), (tags, u, v)
            assert data["travel_time"] == pytest.approx(data["length"] / (kph / 3.6), rel=1e-9)


def test_speed_scenario_overrides_tags_and_defaults(tmp_path: Path) -> None:
    # a third spoke keeps the centre a junction, so the two spokes stay separate edges
    cases = [
        {"highway": "primary", "maxspeed": "90"},
        {"highway": "unclassified"},
        {"highway": "residential"},
    ]
    scenario = SpeedModel(
        overrides_kph={"primary": 80.0}, default_speeds_kph={"unclassified": (40, 60)}
    )
    graph = _build(_star(tmp_path, cases), speeds=scenario)
    assert graph.edges[1, 100, 0]["speed_kph"] == pytest.approx(80.0)
    assert graph.edges[1, 101, 0]["speed_kph"] == pytest.approx(60.0)


def _island(tmp_path: Path, ferry_tags: dict[str, str]) -> Path:
    # mainland road A(0,0)-B(0.01,0); ferry B-C(0.02,0) ... with a midpoint; island road C-D
    nodes = {1: (0.0, 0.0), 2: (0.01, 0.0), 3: (0.015, 0.0), 4: (0.02, 0.0), 5: (0.03, 0.0)}
    ways = [
        (10, [1, 2], {"highway": "secondary"}),
        (11, [2, 3, 4], {"route": "ferry", **ferry_tags}),
        (12, [4, 5], {"highway": "tertiary", "maxspeed": "50"}),
    ]
    return write_osm(tmp_path / "island.osm", nodes, ways)


def test_ferry_uses_its_duration_plus_the_wait(tmp_path: Path) -> None:
    graph = _build(_island(tmp_path, {"motor_vehicle": "yes", "duration": "00:20"}))
    road_s = STEP_M / (70 / 3.6) + STEP_M / (50 / 3.6)
    for start, end in ((1, 5), (5, 1)):
        total = nx.shortest_path_length(graph, start, end, weight="travel_time")
        assert total == pytest.approx(20 * 60 + 10 * 60 + road_s, rel=1e-9)


def test_untimed_ferry_uses_the_assumed_speed(tmp_path: Path) -> None:
    graph = _build(
        _island(tmp_path, {"motorcar": "yes"}), ferry_speed_kph=20.0, ferry_wait_minutes=5.0
    )
    road_s = STEP_M / (70 / 3.6) + STEP_M / (50 / 3.6)
    ferry_s = STEP_M / (20 / 3.6) + 5 * 60
    total = nx.shortest_path_length(graph, 1, 5, weight="travel_time")
    assert total == pytest.approx(ferry_s + road_s, rel=1e-9)


def test_without_ferries_the_island_is_dropped_and_reported(tmp_path: Path) -> None:
    path = _island(tmp_path, {"motor_vehicle": "yes", "duration": "00:20"})
    graph = _build(path, ferries=False)
    report = graph.graph["build_report"]
    # the mainland and the island are equal parts; whichever is kept, the other is reported
    assert graph.number_of_nodes() == 2
    assert report["dropped_nodes"] == 2
    assert report["dropped_km"] == pytest.approx(STEP_M / 1000, abs=1e-3)
    assert report["components"] == 2


def test_passenger_ferry_is_not_used(tmp_path: Path) -> None:
    graph = _build(_island(tmp_path, {"foot": "yes", "duration": "00:20"}))
    assert graph.graph["build_report"]["ferry_ways"] == 0
    assert graph.number_of_nodes() == 2


def _track(tmp_path: Path, track_tags: dict[str, str]) -> Path:
    nodes = {1: (0.0, 0.0), 2: (0.01, 0.0), 3: (0.01, 0.01)}
    ways = [
        (10, [1, 2], {"highway": "tertiary"}),
        (11, [2, 3], {"highway": "track", **track_tags}),
    ]
    return write_osm(tmp_path / "track.osm", nodes, ways)


@pytest.mark.parametrize(
    ("track_tags", "usable"),
    [
        ({"tracktype": "grade2"}, True),
        ({}, True),
        ({"motor_vehicle": "forestry"}, False),
        ({"access": "private"}, False),
        ({"tracktype": "grade5"}, False),
    ],
)
def test_tracks_join_only_when_asked_and_open_to_cars(
    tmp_path: Path, track_tags: dict[str, str], usable: bool
) -> None:
    path = _track(tmp_path, track_tags)
    assert 3 not in _build(path)
    with_tracks = _build(path, include_tracks=True)
    assert (3 in with_tracks) == usable
    if usable:
        time_s = nx.shortest_path_length(with_tracks, 1, 3, weight="travel_time")
        assert time_s == pytest.approx(STEP_M / (70 / 3.6) + STEP_M / (30 / 3.6), rel=1e-6)


def test_merged_edges_carry_geometry_through_their_nodes(tmp_path: Path) -> None:
    graph = _build(_loop(tmp_path, {"oneway": "yes"}, reverse=False))
    by_length = sorted(graph.edges(keys=True, data=True), key=lambda e: e[3]["length"])
    line = by_length[0][3]["geometry"]
    assert list(line.coords) == [(0.0, 0.0), (0.01, 0.0), (0.02, 0.0)]
    assert by_length[0][3]["length"] == pytest.approx(2 * STEP_M, rel=1e-9)


def test_cache_returns_the_same_graph_and_tracks_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _loop(tmp_path, {"oneway": "yes"}, reverse=False)
    first = load_network(path, cache_dir=tmp_path / "cache")
    import siting.roads.network

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("built again instead of read from the cache")

    monkeypatch.setattr(siting.roads.network, "read_osm_ways", refuse)
    again = load_network(path, cache_dir=tmp_path / "cache")
    assert nx.utils.edges_equal(first.edges(data="travel_time"), again.edges(data="travel_time"))
    with pytest.raises(AssertionError, match="built again"):
        load_network(path, cache_dir=tmp_path / "cache", speeds=SpeedModel(speed_factor=0.9))


def test_graphml_round_trip_and_osmnx_files_without_times(tmp_path: Path) -> None:
    graph = _build(_loop(tmp_path, {"oneway": "yes"}, reverse=False))
    saved = save_network(graph, tmp_path / "net.graphml")
    loaded = load_network(saved)
    assert network_summary(loaded) == network_summary(graph)
    assert nx.shortest_path_length(loaded, 3, 1, weight="travel_time") == pytest.approx(
        nx.shortest_path_length(graph, 3, 1, weight="travel_time")
    )
    plain = ox.graph_from_xml(_loop(tmp_path, {"oneway": "yes"}, reverse=False))
    ox.save_graphml(plain, tmp_path / "osmnx.graphml")
    from_osmnx = load_network(tmp_path / "osmnx.graphml")
    assert nx.shortest_path_length(from_osmnx, 1, 3, weight="travel_time") == pytest.approx(
        2 * STEP_M / (60 / 3.6), rel=1e-6
    )


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("missing.osm.pbf", None, "no such file"),
        ("truncated.osm.pbf", "half", "cannot read as OpenStreetMap data"),
        ("corrupt.osm.pbf", b"\x00\x00\x00\x0fnot a pbf at all", "cannot read"),
        ("roads.shp", b"", "unknown network format"),
        ("broken.graphml", b"<graphml", "cannot read as a GraphML network"),
    ],
)
def test_bad_files_raise_input_errors_naming_the_file(
    tmp_path: Path, name: str, content: bytes | str | None, problem: str
) -> None:
    path = tmp_path / name
    if content == "half":
        data = bundled_osm_extract("test.osm.pbf").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(InputError, match=re.escape(name) + ".*" + problem):
        load_network(path, cache=False)


def test_bundled_extract_by_its_scenario_name_is_the_same_graph(tmp_path: Path) -> None:
    """`pyrosm:<extract>` works in Python and on the command line as in scenarios."""
    named = load_network("pyrosm:test.osm.pbf", cache_dir=tmp_path)
    by_path = load_network(bundled_osm_extract("test.osm.pbf"), cache_dir=tmp_path)
    assert network_summary(named) == network_summary(by_path)
    with pytest.raises(InputError, match=r"bundled extract Nowhere\.osm\.pbf is missing"):
        load_network("pyrosm:Nowhere.osm.pbf", cache_dir=tmp_path)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("straightline", "'straightline': no such file; did you mean 'straight-line'?"),
        ("Straight line", "'Straight line': no such file; did you mean 'straight-line'?"),
        ("straight-line", "'straight-line' is the straight-line model, not roads"),
    ],
)
def test_straight_line_is_not_looked_up_as_a_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, message: str
) -> None:
    """A slip for the straight-line model fails at once; it never reaches the geocoder."""

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("went online")

    monkeypatch.setattr("siting.download.overpass.download_place_osm", no_download)
    with pytest.raises(InputError, match=re.escape(message)):
        load_network(source, cache_dir=tmp_path)


@pytest.mark.parametrize(
    ("refs", "tags"),
    [
        ([1, 2], {"highway": "footway"}),
        ([1, 2, 3, 1], {"highway": "primary", "junction": "roundabout"}),
    ],
)
def test_area_without_drivable_roads_is_an_input_error(
    tmp_path: Path, refs: list[int], tags: dict[str, str]
) -> None:
    nodes = {1: (0.0, 0.0), 2: (0.01, 0.0), 3: (0.01, 0.01)}
    path = write_osm(tmp_path / "paths.osm", nodes, [(1, refs, tags)])
    with pytest.raises(InputError, match=r"paths\.osm: no drivable roads"):
        load_network(path, cache=False)


class _RecordedResponse:
    """What `requests.post` returns, holding an Overpass XML answer."""

    def __init__(self, content: bytes) -> None:
        self.content = content
        self.text = content.decode()

    def raise_for_status(self) -> None:
        return None


def test_place_is_geocoded_downloaded_once_and_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import geopandas as gpd
    import requests
    from shapely.geometry import box

    # an Overpass answer in its XML format, for the loop network
    answer = _loop(tmp_path, {"oneway": "yes"}, reverse=False).read_bytes()
    queries: list[str] = []

    def post(url: str, data: dict[str, str], **kwargs: object) -> _RecordedResponse:
        queries.append(data["data"])
        return _RecordedResponse(answer)

    def geocode(place: str) -> gpd.GeoDataFrame:
        assert place == "Testby, Sverige"
        return gpd.GeoDataFrame(geometry=[box(-0.01, -0.01, 0.03, 0.02)], crs="EPSG:4326")

    monkeypatch.setattr(requests, "post", post)
    monkeypatch.setattr(ox, "geocode_to_gdf", geocode)
    graph = load_network("Testby, Sverige", cache_dir=tmp_path / "cache")
    assert sorted(graph.nodes) == [1, 3]
    assert len(queries) == 1
    assert queries[0].startswith("[out:xml]")
    assert 'way["highway"](poly:"' in queries[0]
    assert 'way["route"="ferry"](poly:"' in queries[0]
    again = load_network("Testby, Sverige", cache_dir=tmp_path / "cache")
    assert len(queries) == 1
    assert again.number_of_edges() == graph.number_of_edges()
    by_polygon = load_network(box(-0.01, -0.01, 0.03, 0.02), cache_dir=tmp_path / "cache")
    assert by_polygon.number_of_edges() == graph.number_of_edges()


def test_place_that_resolves_to_nothing_is_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def geocode(place: str) -> None:
        raise ox._errors.InsufficientResponseError("Nominatim geocoder returned 0 results")

    monkeypatch.setattr(ox, "geocode_to_gdf", geocode)
    with pytest.raises(InputError, match="'Ingenstans utan vägar' resolves to no area"):
        load_network("Ingenstans utan vägar", cache_dir=tmp_path)


@pytest.mark.internet
def test_real_download_of_a_swedish_village(tmp_path: Path) -> None:
    graph = load_network("Ramsele, Sollefteå kommun, Sverige", cache_dir=tmp_path)
    assert graph.number_of_nodes() > 20


@pytest.mark.parametrize("size", [0, 1, 1000])
def test_sorted_unique_equals_numpy_unique(size: int) -> None:
    """The build's sort-based unique gives numpy's answer, empty arrays included."""
    values = np.random.default_rng(size).integers(-50, 50, size)
    np.testing.assert_array_equal(sorted_unique(values), np.unique(values))
