"""Accessibility indices of each plan in a run's outputs: summary.json, accessibility.gpkg
and the map's layer, checked against the formulas worked by hand on the line of towns."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import folium
import numpy as np
import pandas as pd
import pyogrio
import pytest
from map_fixtures import make_cells, make_sites, make_travel
from scenario_files import scenario_text, write_scenario

from siting._core.errors import InputError
from siting.report.access_layer import ACCESS_COLORS, access_classes, access_labels
from siting.report.layers import HtmlControl
from siting.report.maps import MapOptions, build_map
from siting.scenario.pipeline import run_scenario
from siting.scenario.plan_access import INDICES, write_access_geopackage
from siting.scenario.problems import ProblemResult

#: one step of 0.1 degree of latitude on the mean-radius sphere, in km (= minutes at 60 km/h)
STEP = 6_371.0088 * math.pi / 1800
PEOPLE = np.array([100.0, 50.0, 30.0, 20.0])
LINEAR = '{ kind = "linear", max_minutes = 60 }'

pytestmark = pytest.mark.usefixtures("private_cache")


def _pull(steps: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    return np.maximum(0.0, 1 - steps * STEP / 60)


def _by_hand(offices: list[int]) -> dict[str, np.ndarray]:  # type: ignore[type-arg]
    """Gravity, 2SFCA (catchment 60 min: every town) and E2SFCA (linear) per town."""
    towns = np.arange(4)
    pulls = np.array([_pull(np.abs(towns - office)) for office in offices])  # offices x towns
    reached = (np.abs(towns[None, :] - np.array(offices)[:, None]) * STEP <= 60).astype(float)
    return {
        "gravity": pulls.sum(axis=0),
        "2sfca": (reached / (reached @ PEOPLE)[:, None]).sum(axis=0),
        "e2sfca": (pulls / (pulls @ PEOPLE)[:, None]).sum(axis=0),
    }


def _run(folder: Path, with_map: bool = False) -> dict[str, Any]:
    problem = {"name": '"two offices"', "kind": '"p-median"', "n_sites": "2"}
    changes = {("travel", "decay"): LINEAR, ("outputs", "map"): "true" if with_map else "false"}
    path = write_scenario(folder, scenario_text(changes, problems=[problem]))
    return run_scenario(path, folder / "out", progress=False).summary


def test_summary_gives_each_plans_indices_by_hand(tmp_path: Path) -> None:
    """Today (A) and the plan (A and C): population-weighted means of the three indices."""
    summary = _run(tmp_path)
    today, plan = summary["problems"]
    assert plan["open_sites"] == ["office-a", "cand-c"]
    for record, offices in ((today, [0]), (plan, [0, 2])):
        access = record["accessibility"]
        expected = _by_hand(offices)
        for index, values in expected.items():
            assert access["total"][index] == pytest.approx(PEOPLE @ values / PEOPLE.sum())
        assert access["decay"] == {"kind": "linear", "max_minutes": 60.0}
        assert (access["catchment_minutes"], access["capacity"]) == (60.0, "1 per office")
        [group] = access["by_group"]  # one municipality: its means are the totals
        assert group["e2sfca"] == pytest.approx(access["total"]["e2sfca"])
    # one office for everyone: 2SFCA is 1 office per 200 people at every town
    assert today["accessibility"]["total"]["2sfca"] == pytest.approx(1 / 200)
    assert "accessibility.gpkg" in summary["files"]


def test_geopackage_can_be_left_out(tmp_path: Path) -> None:
    """[outputs] geopackage = false: no file, the same means in summary.json."""
    problem = {"name": '"two offices"', "kind": '"p-median"', "n_sites": "2"}
    changes = {("travel", "decay"): LINEAR, ("outputs", "map"): "false",
               ("outputs", "geopackage"): "false"}  # fmt: skip
    path = write_scenario(tmp_path, scenario_text(changes, problems=[problem]))
    summary = run_scenario(path, tmp_path / "out", progress=False).summary
    assert not (tmp_path / "out" / "accessibility.gpkg").exists()
    assert "accessibility.gpkg" not in summary["files"]
    with_file = _run(tmp_path / "with")
    assert [p["accessibility"] for p in summary["problems"]] == [
        p["accessibility"] for p in with_file["problems"]
    ]


def test_geopackage_holds_cells_and_groups_per_plan(tmp_path: Path) -> None:
    """A layer of towns and one of groups per plan, with the indices worked by hand."""
    _run(tmp_path)
    path = tmp_path / "out" / "accessibility.gpkg"
    layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    assert sorted(layers) == ["existing", "existing-by-group", "two-offices",
                              "two-offices-by-group"]  # fmt: skip
    towns = pyogrio.read_dataframe(path, layer="two-offices")
    expected = _by_hand([0, 2])
    for index, values in expected.items():
        np.testing.assert_allclose(towns[index], values, rtol=1e-6)  # float32 minutes
    # B lies as near A as C: the tie goes to the first office
    assert towns["site_id"].tolist() == ["office-a", "office-a", "cand-c", "cand-c"]
    np.testing.assert_allclose(towns["minutes"], [0, STEP, 0, STEP], rtol=1e-6)
    groups = pyogrio.read_dataframe(path, layer="two-offices-by-group")
    assert groups["population"].tolist() == [200.0]
    assert groups["gravity"].iloc[0] == pytest.approx(PEOPLE @ expected["gravity"] / 200)


def test_map_draws_the_e2sfca_layer(tmp_path: Path) -> None:
    """The run's map has the accessibility layer, hidden at first, and its legend."""
    _run(tmp_path, with_map=True)
    page = (tmp_path / "out" / "map.html").read_text(encoding="utf-8")
    assert "Accessibility (E2SFCA, per 10,000 people)" in page
    assert "no office in reach" in page


def test_access_classes_are_quintiles_of_the_reached() -> None:
    """0 is its own class; the rest fall into quintiles, labelled per 10,000 people."""
    values = [0.0, 0.0001, 0.0002, 0.0003, 0.0004, 0.0005]
    found = access_classes(values, 6)
    assert found.classes.tolist() == [0, 1, 2, 3, 4, 5]
    assert access_labels(found.breaks, "en") == ["no office in reach", "≤ 1.8", "1.8–2.6",
                                                 "2.6–3.4", "3.4–4.2", "> 4.2"]  # fmt: skip
    assert access_labels(found.breaks, "sv")[1] == "≤ 1,8"
    assert access_classes([0.0, 0.0], 2).breaks == ()


def _layer_names(figure: folium.Map) -> list[str]:
    return [c.layer_name for c in figure._children.values() if isinstance(c, folium.map.Layer)]


@pytest.mark.parametrize("max_cells", [5_000, 2])
def test_map_layer_as_vectors_and_as_an_image(max_cells: int) -> None:
    """Five cells as vectors (class per feature) or as an image: one more layer, a legend."""
    options = MapOptions(tiles=None, boundaries=(), language="en", max_vector_cells=max_cells)
    figure = build_map(make_cells(5), make_sites(), make_travel(), model="road network",
                       access=[0.0, 1.0, 2.0, 3.0, 4.0], options=options)  # fmt: skip
    name = "Accessibility (E2SFCA, per 10,000 people)"
    assert name in _layer_names(figure)
    legend = next(c.html for c in figure._children.values()
                  if isinstance(c, HtmlControl) and "siting-legend" in c.css_class)  # fmt: skip
    assert all(color in legend for color in ACCESS_COLORS)
    if max_cells == 2:
        assert figure.get_root().render().count("L.imageOverlay(") == 4
    else:
        shared = next(c for c in figure._children.values() if type(c).__name__ == "SharedData")
        assert [f["properties"]["a"] for f in shared.data["features"]] == [0, 1, 2, 4, 5]


def test_map_refuses_access_of_the_wrong_length() -> None:
    """An index per demand point or nothing: one clear message."""
    with pytest.raises(InputError, match="access: expected 5 finite values"):
        build_map(make_cells(5), make_sites(), make_travel(), model="road network",
                  access=[1.0, 2.0], options=MapOptions(tiles=None, boundaries=()))  # fmt: skip


def test_summary_json_is_plain(tmp_path: Path) -> None:
    """The accessibility record survives JSON (no NaN) as written."""
    _run(tmp_path)
    text = (tmp_path / "out" / "summary.json").read_text(encoding="utf-8")
    assert json.loads(text)["problems"][1]["accessibility"]["by_group"][0]["name"]


def test_grid_groups_merge_their_cells(tmp_path: Path) -> None:
    """Cells of a grid: each group's shape is its cells merged (2 and 3 km²), and its
    indices are population-weighted means of its cells'."""
    demand = make_cells(5).assign(group=["x", "x", "y", "y", "y"])
    table = pd.DataFrame({index: [1.0, 2.0, 3.0, 4.0, 5.0] for index in INDICES})
    plan = ProblemResult("plan", "p-median", make_travel(), ("a", "b"))
    path = write_access_geopackage(tmp_path / "a.gpkg", demand, [plan], {"plan": table}, {})
    cells = pyogrio.read_dataframe(path, layer="plan")
    assert cells.geom_type.unique().tolist() == ["Polygon"]
    groups = pyogrio.read_dataframe(path, layer="plan-by-group").set_index("group")
    assert groups.area.round().to_dict() == {"x": 2e6, "y": 3e6}
    # people 10, 20 in x and 30, 40, 50 in y
    assert groups.loc["x", "e2sfca"] == pytest.approx((10 * 1 + 20 * 2) / 30)
    assert groups.loc["y", "gravity"] == pytest.approx((30 * 3 + 40 * 4 + 50 * 5) / 120)
