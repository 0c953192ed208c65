"""Tests for siting.report.maps: what a user sees on a map (layers, classes, names, size)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from map_fixtures import CELL_CLASSES, XSS, make_cells, make_sites, make_travel

import siting
from siting.report.cellraster import render_cells
from siting.report.layers import HtmlControl
from siting.report.maps import (
    MAX_VECTOR_CELLS,
    TIME_COLORS,
    MapOptions,
    build_map,
    nearest_office,
    population_class,
    time_class,
    time_class_labels,
    write_map,
)

BARE = MapOptions(tiles=None, boundaries=())  # offline and without region boundaries
NO_TILES = MapOptions(tiles=None)


def _layers(figure: folium.Map) -> dict[str, Any]:
    return {
        child.layer_name: child
        for child in figure._children.values()
        if isinstance(child, folium.map.Layer) and child.control
    }


def _shared_features(figure: folium.Map) -> list[dict[str, Any]]:
    shared = [c for c in figure._children.values() if type(c).__name__ == "SharedData"]
    assert len(shared) == 1
    features: list[dict[str, Any]] = shared[0].data["features"]
    return features


def test_time_classes_by_hand() -> None:
    """Class bounds are inclusive above: 15 min is 0-15, 15.1 is 15-30, inf is unreached."""
    minutes = [0, 14.9, 15, 15.1, 30, 45, 45.01, 60, 60.01, 300, math.inf, math.nan]
    assert time_class(minutes).tolist() == [0, 0, 0, 1, 1, 2, 3, 3, 4, 4, 5, 5]


def test_population_classes_by_hand() -> None:
    """Population classes start at 1, 5, 20, 100, 500 and 2,000 people."""
    assert population_class([0, 1, 4, 5, 19, 20, 99, 100, 1999, 2000, 90_000]).tolist() == [
        0, 0, 0, 1, 1, 2, 2, 3, 4, 5, 5,
    ]  # fmt: skip


def test_map_has_the_layers_a_planner_switches() -> None:
    """Population, travel time, catchments, offices, candidates and boundaries are layers."""
    figure = build_map(
        make_cells(5), make_sites(), make_travel(), model="road network", options=NO_TILES
    )
    names = set(_layers(figure))
    assert names == {
        "Befolkning",
        "Restid till närmaste kontor",
        "Upptagningsområden",
        "Kontor",
        "Kandidatorter",
        "Kommungränser",
        "Länsgränser",
    }
    layers = _layers(figure)
    # the travel-time layer opens visible; population, catchments and candidates do not
    assert layers["Restid till närmaste kontor"].show
    assert not layers["Befolkning"].show
    assert not layers["Upptagningsområden"].show
    assert not layers["Kandidatorter"].show


def test_cells_carry_their_time_class() -> None:
    """Each cell's class follows its hand-given travel time, unreached cells get class 5."""
    figure = build_map(
        make_cells(5), make_sites(), make_travel(), model="road network", options=BARE
    )
    features = _shared_features(figure)
    assert [feature["properties"]["c"] for feature in features] == CELL_CLASSES
    assert [feature["properties"]["q"] for feature in features] == [
        1,
        2,
        2,
        2,
        2,
    ]  # 10 people: 5-19; 20-50: 20-99
    assert features[0]["geometry"]["type"] == "Polygon"
    assert "15,0 min" in features[1]["properties"]["t"]
    assert "ej nådd" in features[4]["properties"]["t"]


def test_legend_lists_the_time_classes_in_swedish_and_english() -> None:
    """The legend shows 0-15 ... > 60 min and 'not reached', in the chosen language."""
    assert time_class_labels("sv") == [
        "0–15 min", "15–30 min", "30–45 min", "45–60 min", "> 60 min", "ej nådd inom gränsen",
    ]  # fmt: skip
    for language, word in (("sv", "Teckenförklaring"), ("en", "Legend")):
        figure = build_map(
            make_cells(5),
            make_sites(),
            make_travel(),
            model="road network",
            options=MapOptions(tiles=None, boundaries=(), language=language),
        )
        legend = [c for c in figure._children.values() if isinstance(c, HtmlControl)]
        html = next(c.html for c in legend if "siting-legend" in c.css_class)
        assert word in html
        for label in time_class_labels(language):  # type: ignore[arg-type]
            assert label.replace(">", "&gt;") in html
        for color in TIME_COLORS:
            assert color in html
    english = build_map(
        make_cells(5),
        make_sites(),
        make_travel(),
        model="road network",
        options=MapOptions(language="en", tiles=None, boundaries=()),
    )
    assert "Travel time to nearest office" in _layers(english)


def test_names_are_escaped_everywhere(tmp_path: Path) -> None:
    """A site called <img src=x onerror=alert(1)> shows as text in popups and tooltips."""
    page_path = write_map(
        tmp_path / "map.html",
        make_cells(5),
        make_sites(),
        make_travel(),
        model="road network",
        options=NO_TILES,
    )
    page = page_path.read_text(encoding="utf-8")
    assert "<img" not in page
    assert "${alert" not in page
    figure = build_map(
        make_cells(5), make_sites(), make_travel(), model="road network", options=BARE
    )
    offices = _layers(figure)["Kontor"].data["features"]
    popup_b = offices[1]["properties"]["p"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in popup_b
    assert "<img" not in popup_b
    candidate = _layers(figure)["Kandidatorter"].data["features"][0]["properties"]
    assert "&#96;&#36;{alert(2)}&#96;" in candidate["t"]
    # and the cell tooltips name the nearest office escaped too
    assert "&lt;img" in _shared_features(figure)[2]["properties"]["t"]


def test_office_popup_shows_people_served_mean_and_worst_time() -> None:
    """Office a serves cells 0-1 (10 + 20 people at 5 and 15 min): mean 11.7, worst 15."""
    figure = build_map(
        make_cells(5), make_sites(), make_travel(), model="road network", options=BARE
    )
    popup = _layers(figure)["Kontor"].data["features"][0]["properties"]["p"]
    assert "Kontor Å" in popup
    assert "30</td>" in popup  # people served
    assert "11,7 min" in popup  # (10*5 + 20*15) / 30
    assert "15,0 min" in popup


def test_catchments_merge_the_cells_of_each_office() -> None:
    """Two offices serve two cells each: two catchment polygons of 2 km² each."""
    figure = build_map(
        make_cells(5), make_sites(), make_travel(), model="road network", options=BARE
    )
    features = _layers(figure)["Upptagningsområden"].data["features"]
    assert len(features) == 2
    areas = (
        gpd.GeoSeries([shapely.geometry.shape(f["geometry"]) for f in features], crs="EPSG:4326")
        .to_crs("EPSG:3006")
        .area
    )
    assert np.allclose(areas, 2e6, rtol=0.01)


def test_closed_and_new_offices_get_their_own_symbols() -> None:
    """Marking a closed and an opened site changes their class and popup status."""
    figure = build_map(
        make_cells(5),
        make_sites(),
        make_travel(),
        model="road network",
        closed=["b"],
        opened=["c"],
        options=BARE,
    )
    offices = _layers(figure)["Kontor"].data["features"]
    statuses = [feature["properties"]["t"].rsplit("(", 1)[1] for feature in offices]
    assert statuses == ["befintligt kontor)", "stängt kontor)", "nytt kontor)"]
    assert "Kandidatorter" not in _layers(figure)


def test_straight_line_model_is_named_as_an_estimate() -> None:
    """A straight-line matrix is labelled an estimate; a road matrix is not."""
    demand, sites = make_cells(5), make_sites()
    od = siting.travel_times(None, demand, sites.iloc[:2], max_minutes=90)
    assert od.metadata["model"] == "straight-line fallback"
    figure = build_map(demand, sites, od, options=BARE)
    banner = next(
        c.html for c in figure._children.values() if isinstance(c, HtmlControl) and
        "siting-model" in c.css_class
    )  # fmt: skip
    assert "UPPSKATTNING" in banner
    assert "fågelvägen" in banner
    legend = next(
        c.html for c in figure._children.values() if isinstance(c, HtmlControl) and
        "siting-legend" in c.css_class
    )  # fmt: skip
    assert "ej nådd inom gränsen (90 min)" in legend  # the matrix's cut-off
    road = build_map(demand, sites, make_travel(), model="road network", options=BARE)
    road_banner = next(
        c.html for c in road._children.values() if isinstance(c, HtmlControl) and
        "siting-model" in c.css_class
    )  # fmt: skip
    assert "vägnät" in road_banner
    assert "UPPSKATTNING" not in road_banner


def test_nearest_office_matches_solution_table_columns() -> None:
    """The table from an OD matrix has the columns of Solution.assignment_table."""
    od = siting.ODMatrix.from_dense(
        [[3.0, 9.0], [np.inf, 4.0], [np.inf, np.inf]],
        origin_ids=["d0", "d1", "d2"],
        destination_ids=["a", "b"],
    )
    table = nearest_office(od)
    assert table.columns.tolist() == ["demand_id", "site_id", "minutes"]
    assert table["site_id"].iloc[:2].tolist() == ["a", "b"]
    assert pd.isna(table["site_id"].iloc[2])
    assert table["minutes"].iloc[:2].tolist() == [3.0, 4.0]
    assert math.isnan(table["minutes"].iloc[2])


def test_a_solution_feeds_the_map() -> None:
    """A p-median Solution's assignment table draws catchments without conversion."""
    demand, sites = make_cells(5), make_sites()
    od = siting.ODMatrix.from_dense(
        [[1.0, 8.0, 5.0], [2.0, 6.0, 4.0], [3.0, 4.0, 3.0], [4.0, 2.0, 2.0], [5.0, 1.0, 3.0]],
        origin_ids=demand["demand_id"],
        destination_ids=sites["site_id"],
    )
    solution = siting.solve(od, problem="p-median", n_sites=2)
    figure = build_map(
        demand,
        sites,
        solution.assignment_table(),
        model="road network",
        opened=[s for s in solution.site_ids if s == "c"],
        options=BARE,
    )
    assert len(_layers(figure)["Upptagningsområden"].data["features"]) == 2


def test_localities_are_drawn_as_circles_sized_by_population() -> None:
    """Point demand (no cells) becomes circle markers; bigger places get bigger circles."""
    demand = make_cells(5)
    demand["cell"] = None  # as load_population gives for points
    demand["name"] = ["By", "Ort", XSS, "Stad", "Fjäll"]
    figure = build_map(demand, make_sites(), make_travel(), model="road network", options=BARE)
    features = _shared_features(figure)
    assert features[0]["geometry"]["type"] == "Point"
    radii = [feature["properties"]["r"] for feature in features]
    assert radii == sorted(radii)
    assert features[2]["properties"]["t"].startswith("<b>&lt;img")
    assert len(_layers(figure)["Upptagningsområden"].data["features"]) == 2


@pytest.mark.slow
def test_large_grid_is_an_image_and_stays_small(tmp_path: Path) -> None:
    """A 100,000-cell grid is drawn as two images and the page stays within 3 MB."""
    side = 320  # 320 x 320 = 102,400 cells, the size of a national 1 km grid
    east, north = np.meshgrid(np.arange(side) * 1000.0 + 400_500, np.arange(side) * 1000.0 +
                              6_600_500)  # fmt: skip
    east, north = east.ravel(), north.ravel()
    rng = np.random.default_rng(7)
    demand = gpd.GeoDataFrame(
        {
            "demand_id": np.arange(east.size).astype(str),
            "population": rng.integers(1, 3000, east.size),
            "cell": gpd.GeoSeries(
                shapely.box(east - 500, north - 500, east + 500, north + 500), crs="EPSG:3006"
            ),
        },
        geometry=gpd.points_from_xy(east, north),
        crs="EPSG:3006",
    )
    travel = pd.DataFrame(
        {"demand_id": demand["demand_id"], "minutes": rng.uniform(0, 90, east.size)}
    )
    path = write_map(
        tmp_path / "big.html", demand, make_sites(), travel, model="road network", options=BARE
    )
    page = path.read_text(encoding="utf-8")
    assert len(page.encode("utf-8")) < 3_000_000
    assert page.count("L.imageOverlay(") == 2
    assert "102\\u202f400 rutor visas som bild" in page  # JSON-escaped thin space
    assert east.size > MAX_VECTOR_CELLS


def test_render_cells_puts_each_cell_in_its_colour() -> None:
    """Two cells side by side: the image shows both colours and is transparent elsewhere."""
    image = render_cells(
        [500_500.0, 501_500.0], [6_700_500.0, 6_700_500.0], [0, 1],
        cell_size_m=1000.0, colors=["#ff0000", "#0000ff"],
    )  # fmt: skip
    from io import BytesIO

    from PIL import Image

    picture = Image.open(BytesIO(image.png)).convert("RGBA")
    pixels = np.asarray(picture)
    left, right = pixels[:, : image.width_px // 2], pixels[:, image.width_px // 2 :]
    assert (left[..., :3] == [255, 0, 0]).all(axis=-1).sum() > left[..., 0].size * 0.8
    assert (right[..., :3] == [0, 0, 255]).all(axis=-1).sum() > right[..., 0].size * 0.8
    (south, west), (north, east) = image.bounds
    assert 60.0 < south < north < 60.5
    assert 14.99 < west < east < 15.1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": None}, "model"),
        ({"opened": ["zz"]}, "opened"),
        ({"travel": pd.DataFrame({"demand_id": ["d0"], "minutes": [1.0]})}, "demand_id 'd1'"),
        ({"travel": pd.DataFrame({"demand_id": ["d0"]})}, "minutes"),
    ],
)
def test_bad_input_names_the_argument(change: dict[str, Any], message: str) -> None:
    """No model, unknown sites or missing travel times raise InputError."""
    arguments: dict[str, Any] = {"travel": make_travel(), "model": "road network", **change}
    travel = arguments.pop("travel")
    with pytest.raises(siting.InputError, match=re.escape(message)):
        build_map(make_cells(5), make_sites(), travel, **arguments, options=BARE)


def test_map_options_refuse_an_unknown_language() -> None:
    """A language the labels are not written in is refused when the options are made."""
    with pytest.raises(siting.InputError, match="language"):
        MapOptions(language="fi")  # type: ignore[arg-type]


def test_page_uses_only_leaflet_from_the_given_folder(tmp_path: Path) -> None:
    """The page loads Leaflet from `leaflet_url` and no jQuery, Bootstrap or icon fonts."""
    path = write_map(
        tmp_path / "m.html",
        make_cells(5),
        make_sites(),
        make_travel(),
        model="road network",
        options=MapOptions(tiles=None, boundaries=(), leaflet_url="assets/leaflet"),
    )
    page = path.read_text(encoding="utf-8")
    assert '<html lang="sv">' in page
    sources = re.findall(r'<script src="([^"]+)"', page)
    assert sources == ["assets/leaflet/leaflet.js"]
    assert re.findall(r'<link rel="stylesheet" href="([^"]+)"', page) == [
        "assets/leaflet/leaflet.css"
    ]
    assert json.loads("[1]") == [1]


def test_mobile_tours_and_stops_form_one_layer() -> None:
    """A tour line and its two stops (days escaped) share the tour's colour in one layer."""
    routes = gpd.GeoDataFrame(
        {"name": ["Tur <norr>"]},
        geometry=[shapely.LineString([(500_500, 6_700_500), (503_500, 6_700_500)])],
        crs="EPSG:3006",
    )
    stops = gpd.GeoDataFrame(
        {"name": ["Byn", "Fjället"], "days": ["tisdagar", "<b>torsdagar</b>"],
         "route": ["Tur <norr>", "Tur <norr>"]},
        geometry=gpd.points_from_xy([500_500, 503_500], [6_700_500, 6_700_500]),
        crs="EPSG:3006",
    )  # fmt: skip
    figure = build_map(
        make_cells(5),
        make_sites(),
        make_travel(),
        model="road network",
        routes=routes,
        stops=stops,
        options=BARE,
    )
    features = _layers(figure)["Mobila kontor"].data["features"]
    assert [f["geometry"]["type"] for f in features] == ["LineString", "Point", "Point"]
    assert {f["properties"]["c"] for f in features} == {0}
    assert features[0]["properties"]["t"] == "<b>Tur &lt;norr&gt;</b>"
    assert features[2]["properties"]["t"] == "<b>Fjället</b><br>&lt;b&gt;torsdagar&lt;/b&gt;"


def test_image_maps_show_access_per_municipality_on_hover() -> None:
    """Cells drawn as images: the kommun under them tells its 150 people, 20 % within 30 min."""
    figure = build_map(
        make_cells(5),
        make_sites(),
        make_travel(),
        model="road network",
        options=MapOptions(tiles=None, boundaries=("kommun", "lan"), max_vector_cells=2),
    )
    kommuner = _layers(figure)["Kommungränser"]
    assert kommuner.tooltips
    assert kommuner.path_style["fill"] is True
    assert kommuner.path_style["fillOpacity"] == 0
    texts = [f["properties"]["t"] for f in kommuner.data["features"]]
    holding = [t for t in texts if "Befolkning: 150" in t]
    assert len(holding) == 1  # all five cells lie in one kommun
    assert "Inom 30 min: 20 %" in holding[0]  # 10 + 20 of 150 people
    assert not _layers(figure)["Länsgränser"].tooltips  # only the finest level


def test_page_holds_the_installed_leaflet_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No leaflet_url: Leaflet 1.9.4 and its CSS (icons as data: URLs) are in the page itself."""
    monkeypatch.delenv("SITING_LEAFLET_DIR", raising=False)
    monkeypatch.chdir(tmp_path)  # no node_modules here or above: the Python package's copy
    found = siting.report.assets.find_leaflet()
    assert found is not None
    assert found.parts[-3:] == ("js_lib_leaflet", "static", "js_lib_leaflet")
    path = write_map(
        tmp_path / "m.html", make_cells(5), make_sites(), make_travel(), model="road network",
        options=NO_TILES,
    )  # fmt: skip
    page = path.read_text(encoding="utf-8")
    assert re.findall(r"<script src=", page) == []
    assert re.findall(r'<link rel="stylesheet"', page) == []
    assert "Leaflet 1.9.4, a JS library for interactive maps" in page
    assert "url(images/" not in page
    assert "url(data:image/png;base64," in page


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/javascript,1", 'x"><b'])
def test_leaflet_url_must_be_http_or_relative(url: str) -> None:
    """A Leaflet folder that is not an http(s) or plain relative URL is refused by name."""
    with pytest.raises(siting.InputError, match="URL"):
        MapOptions(leaflet_url=url)
