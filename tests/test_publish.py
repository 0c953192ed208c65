"""Tests for siting.report.publish and `siting publish`: the static site a planner hands out."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from map_fixtures import XSS, make_cells, make_sites, make_travel

import siting
from siting._core.names import slugify
from siting.cli.main import EXIT_BAD_INPUT, EXIT_OK, main
from siting.report.compare_pages import OfficePlan
from siting.report.maps import MapOptions
from siting.report.publish import publish_site, scenarios_from_matrix

SCB_SMALL = Path(__file__).parent / "data" / "inputs" / "scb_1km_small.csv"


@pytest.fixture
def fake_leaflet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for npm's leaflet/dist, found through SITING_LEAFLET_DIR."""
    dist = tmp_path / "leaflet-dist"
    (dist / "images").mkdir(parents=True)
    (dist / "leaflet.js").write_text("/* leaflet */")
    (dist / "leaflet.css").write_text("/* css */")
    (dist / "images" / "layers.png").write_bytes(b"png")
    monkeypatch.setenv("SITING_LEAFLET_DIR", str(dist))
    return dist


def _publish(out: Path, *, self_contained: bool = False) -> siting.report.publish.PublishedSite:
    scenarios = [
        OfficePlan("I dag", make_travel(), description="Som i dag."),
        OfficePlan(XSS, make_travel().assign(minutes=[5.0, 20.0, 40.0, 61.0, 90.0]), closed=("b",)),
    ]
    return publish_site(
        out,
        make_cells(5),
        make_sites(),
        scenarios,
        model="road network",
        self_contained=self_contained,
        options=MapOptions(boundaries=(), tiles=None),
    )


def test_slugs_are_ascii_file_names() -> None:
    """Scenario names become safe file names: Swedish letters folded, symbols dropped."""
    assert slugify("Utan Åsele & Storuman") == "utan-asele-storuman"
    assert slugify(XSS) == "img-src-x-onerror-alert-1"
    assert slugify("!!!") == "scenario"


def test_site_has_index_maps_comparison_and_downloads(tmp_path: Path) -> None:
    """Every link on the index points to a written file; cards show each scenario."""
    site = _publish(tmp_path / "maps")
    index = site.index.read_text(encoding="utf-8")
    links = re.findall(r'href="([^"#]+)"', index)
    assert "compare.html" in links
    assert "i-dag.html" in links
    assert "data/i-dag-assignments.csv" in links
    assert "data/img-src-x-onerror-alert-1-sites.geojson" in links
    for link in links:
        assert (tmp_path / "maps" / link).is_file(), link
    assert index.count('class="card"') == 2
    # 20 people of 150 within 15 min in scenario 1: cells 0 and 1 (10 + 20 people)
    assert "20,0 %" in index


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (("I dag", "i dag!"), "'i dag!' gets the file name i-dag.html, as 'I dag' does"),
        (("I dag", "Index"), "'Index' gets the file name index.html, as the site's index.html"),
    ],
)
def test_scenarios_of_one_file_name_are_refused(
    tmp_path: Path, names: tuple[str, str], message: str
) -> None:
    """Maps are <slug>.html: a clash would overwrite a map or the site's index, so none is."""
    scenarios = [OfficePlan(name, make_travel()) for name in names]
    with pytest.raises(siting.InputError, match=re.escape(message)):
        publish_site(
            tmp_path / "maps",
            make_cells(5),
            make_sites(),
            scenarios,
            model="road network",
            options=MapOptions(boundaries=(), tiles=None),
        )
    assert not (tmp_path / "maps").exists()


def test_pages_escape_scenario_names(tmp_path: Path) -> None:
    """A scenario named <img src=x onerror=alert(1)> shows as text on every page."""
    site = _publish(tmp_path / "maps")
    for page in (site.index, tmp_path / "maps" / "compare.html"):
        text = page.read_text(encoding="utf-8")
        assert "<img" not in text
        assert "&lt;img src=x onerror=alert(1)&gt;" in text


def test_pages_are_readable_on_a_phone_and_by_keyboard(tmp_path: Path) -> None:
    """Language, viewport, a skip link to the content, focus outlines, table headers."""
    site = _publish(tmp_path / "maps")
    for page in (site.index, tmp_path / "maps" / "compare.html"):
        text = page.read_text(encoding="utf-8")
        assert '<html lang="sv">' in text
        assert 'name="viewport" content="width=device-width, initial-scale=1"' in text
        assert '<a class="skip" href="#main">' in text
        assert 'id="main"' in text
        assert ":focus-visible" in text
    compare = (tmp_path / "maps" / "compare.html").read_text(encoding="utf-8")
    assert compare.count("<iframe") == 2
    assert '<th scope="col">' in compare
    assert "sitingSetView" in compare  # the maps follow each other


def test_published_files_are_world_readable(tmp_path: Path) -> None:
    """A web server (another user) can read the pages: 0644 under the usual umask."""
    old = os.umask(0o022)
    try:
        site = _publish(tmp_path / "maps")
    finally:
        os.umask(old)
    for path in site.files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_self_contained_site_copies_leaflet(tmp_path: Path, fake_leaflet: Path) -> None:
    """With self_contained, maps load assets/leaflet/leaflet.js copied into the site."""
    _publish(tmp_path / "maps", self_contained=True)
    assert (tmp_path / "maps" / "assets" / "leaflet" / "leaflet.js").read_text() == (
        "/* leaflet */"
    )
    assert (tmp_path / "maps" / "assets" / "leaflet" / "images" / "layers.png").is_file()
    page = (tmp_path / "maps" / "i-dag.html").read_text(encoding="utf-8")
    assert '<script src="assets/leaflet/leaflet.js">' in page
    assert "cdn.jsdelivr" not in page


def test_self_contained_without_leaflet_is_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No installed Leaflet: a clear error naming npm's package."""
    monkeypatch.setattr(siting.report.assets, "find_leaflet", lambda start=None: None)
    with pytest.raises(siting.InputError, match="npm install leaflet"):
        _publish(tmp_path / "maps", self_contained=True)


def test_scenarios_from_one_matrix() -> None:
    """Today, without the may_close sites, and with the user's closures and openings."""
    od = siting.ODMatrix.from_dense(
        [[1.0, 5.0, 2.0], [9.0, 3.0, 4.0]],
        origin_ids=["d0", "d1"],
        destination_ids=["a", "b", "c"],
    )
    sites = make_sites()
    sites.loc[1, "status"] = "may_close"
    today, announced, changed = scenarios_from_matrix(
        od, sites, close=["a"], opened=["c"], close_announced=True
    )
    assert today.travel["site_id"].tolist() == ["a", "b"]
    assert announced.closed == ("b",)
    assert announced.travel["site_id"].tolist() == ["a", "a"]
    assert changed.travel["site_id"].tolist() == ["c", "b"]
    assert changed.travel["minutes"].tolist() == [2.0, 3.0]


def test_cli_publish_writes_the_site(tmp_path: Path) -> None:
    """`siting publish` on a small SCB grid writes the index and exits 0."""
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "site_id,name,status,e,n\nfalun,Falun,existing,535000,6725000\n"
        "mora,Mora,may_close,472000,6761000\n"
    )
    out = tmp_path / "maps"
    code = main(["-q", "publish", str(SCB_SMALL), str(sites), "--out", str(out),
                 "--close-announced"])  # fmt: skip
    assert code == EXIT_OK
    assert (out / "index.html").is_file()
    assert (out / "compare.html").is_file()
    assert main(["-q", "publish", str(SCB_SMALL), str(sites), "--out", str(out),
                 "--close", "nowhere"]) == EXIT_BAD_INPUT  # fmt: skip


def test_comparison_breaks_gains_and_losses_down_by_area(tmp_path: Path) -> None:
    """With a group column, the comparison lists each area's losers under its (escaped) name."""
    demand = make_cells(5)
    demand["kommunkod"] = ["0001", "0001", "0002", "0002", "0002"]
    later = make_travel().assign(minutes=[5.0, 20.0, 40.0, 61.0, 90.0])  # cell 1: +5 min
    publish_site(
        tmp_path / "maps",
        demand,
        make_sites(),
        [OfficePlan("I dag", make_travel()), OfficePlan("Sedan", later)],
        model="road network",
        group_column="kommunkod",
        group_names={"0001": "Å<by", "0002": "Berg"},
        options=MapOptions(boundaries=(), tiles=None),
    )
    page = (tmp_path / "maps" / "compare.html").read_text(encoding="utf-8")
    by_area = page.split("per område")[-1]
    assert "<td>Å&lt;by</td><td>0</td><td>–</td><td>20</td><td>5,0 min</td>" in by_area
    assert "<td>Berg</td>" in by_area
