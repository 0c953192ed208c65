"""Maps in a real browser: headless Chromium (Debian), served on 127.0.0.1 or opened as files.

Most tests give each page a probe script that records console errors and alerts, pokes the
map (opens a popup, reads the layer control) and writes what it saw as JSON into the DOM,
which Chromium's ``--dump-dom`` prints. The probe goes first in ``<head>``, before the page's
Content-Security-Policy, which would refuse it (a policy in a meta tag covers only what
follows). The pages with a script-injection payload and the offline demo are opened as they
are, through Selenium and Debian's chromium-driver, with the network off: the browser's own
console then tells policy violations and failed loads, and an alert is a real dialog.
CI installs chromium and chromium-driver (.ci/run); elsewhere these tests skip when either is
missing, and fail under CI=true."""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from map_fixtures import XSS, make_cells, make_sites, make_travel
from payload_pages import PAYLOAD, TITLE_PAYLOAD, write_payload_pages
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, UnexpectedAlertPresentException
from selenium.webdriver.chrome.service import Service

from siting.cli.main import EXIT_OK, main
from siting.report.assets import copy_leaflet, find_leaflet
from siting.report.compare_pages import OfficePlan
from siting.report.maps import MapOptions, write_map
from siting.report.publish import publish_site

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
LEAFLET = find_leaflet(Path(__file__).resolve().parent.parent)
_MISSING = [
    name
    for name, found in (("chromium", CHROMIUM), ("chromium-driver", CHROMEDRIVER),
                        ("leaflet", LEAFLET))
    if not found
]  # fmt: skip
if _MISSING and os.environ.get("CI"):
    raise RuntimeError(f"CI must install {', '.join(_MISSING)} for the browser tests (.ci/run)")
pytestmark = [
    pytest.mark.skipif(bool(_MISSING), reason=f"needs {', '.join(_MISSING)}"),
    pytest.mark.slow,  # starts Chromium
]

# runs first in <head>: catch errors and alerts before any map code
_CATCH = """<script>
window.__errors = []; window.__alerts = [];
window.addEventListener("error", function (e) { window.__errors.push(String(e.message)); });
var __consoleError = console.error;
console.error = function () { window.__errors.push(Array.from(arguments).join(" "));
  __consoleError.apply(console, arguments); };
window.alert = function (text) { window.__alerts.push(String(text)); };
</script>"""

# runs after the page's scripts: open the popup of every office marker in turn, then report
_PROBE = """<script>
window.addEventListener("load", function () { setTimeout(function () {
  var report = {errors: window.__errors, alerts: window.__alerts};
  report.overlays = Array.from(document.querySelectorAll(
    ".leaflet-control-layers-overlays label")).map(function (s) { return s.textContent.trim(); });
  report.checked = Array.from(document.querySelectorAll(
    ".leaflet-control-layers-overlays input")).map(function (i) { return i.checked; });
  report.icons = document.querySelectorAll(".siting-icon").length;
  report.canvases = document.querySelectorAll(".leaflet-overlay-pane canvas").length;
  report.images = document.querySelectorAll(".leaflet-overlay-pane img.leaflet-image-layer").length;
  report.legend = (document.querySelector(".siting-legend") || {}).textContent || "";
  report.model = (document.querySelector(".siting-model") || {}).textContent || "";
  report.tabindex = Array.from(document.querySelectorAll(".siting-icon")).map(
    function (icon) { return icon.getAttribute("tabindex"); });
  var first = document.querySelector(".siting-icon");
  if (first) {
    first.focus();
    first.dispatchEvent(new KeyboardEvent("keypress", {bubbles: true, key: "Enter", keyCode: 13}));
    var opened = document.querySelector(".leaflet-popup-content");
    report.keyboardPopup = opened ? opened.textContent : null;
    report.focused = document.activeElement === first;
  }
  report.popups = [];
  document.querySelectorAll(".siting-icon").forEach(function (icon) {
    icon.dispatchEvent(new MouseEvent("click", {bubbles: true}));
    var open = document.querySelectorAll(".leaflet-popup-content");
    var content = open[open.length - 1];
    report.popups.push(content ? {text: content.textContent,
      images: content.querySelectorAll("img").length} : null);
  });
  var out = document.createElement("pre"); out.id = "probe";
  out.textContent = JSON.stringify(report); document.body.appendChild(out);
}, 300); });
</script>"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A static file server on 127.0.0.1 for one folder, with Leaflet in leaflet/."""
    root = tmp_path_factory.mktemp("served")
    assert LEAFLET is not None
    copy_leaflet(root / "leaflet", source=LEAFLET)
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


def _instrument(page: Path, probe: str) -> None:
    """Put the error catcher and `probe` first in the page's ``<head>``, before its policy."""
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace("<head>", "<head>" + _CATCH + probe, 1), encoding="utf-8")


def _probe(page: Path, url: str) -> dict[str, Any]:
    _instrument(page, _PROBE)
    assert CHROMIUM is not None
    answer = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,900",
         "--virtual-time-budget=5000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    found = re.search(r'<pre id="probe">(.*?)</pre>', answer.stdout, re.DOTALL)
    assert found, f"no probe output; chromium said: {answer.stderr[-2000:]}"
    report: dict[str, Any] = json.loads(_unescape(found.group(1)))
    return report


def _unescape(text: str) -> str:
    return (
        text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    )


def test_map_renders_layers_and_escaped_popups(server: tuple[Path, str]) -> None:
    """Layers listed and drawn, each office popup opens, the XSS name is text, no errors."""
    root, base = server
    write_map(
        root / "map.html",
        make_cells(5),
        make_sites(),
        make_travel(),
        model="road network",
        options=MapOptions(tiles=None, boundaries=("lan",), leaflet_url="leaflet"),
    )
    report = _probe(root / "map.html", f"{base}/map.html")
    assert report["errors"] == []
    assert report["alerts"] == []
    assert report["overlays"] == [
        "Befolkning", "Restid till närmaste kontor", "Upptagningsområden", "Länsgränser",
        "Kontor", "Kandidatorter",
    ]  # fmt: skip
    assert report["checked"] == [False, True, False, True, True, False]
    assert report["canvases"] >= 1  # cells and boundaries are drawn on the canvas
    assert report["icons"] == 2  # two offices; the candidate layer starts hidden
    # keyboard: offices are in the tab order and Enter opens their popup
    assert report["tabindex"] == ["0", "0"]
    assert report["focused"]
    assert report["keyboardPopup"].startswith("Kontor Å")
    popups = report["popups"]
    assert popups[0]["text"].startswith("Kontor Å")
    assert XSS in popups[1]["text"]  # shown as text...
    assert popups[1]["images"] == 0  # ...not as an element
    assert "0–15 min" in report["legend"]
    assert "vägnät" in report["model"]


def test_large_grid_renders_as_images(server: tuple[Path, str]) -> None:
    """22,500 cells: the travel-time image is on the map, kommuner hover, no errors."""
    root, base = server
    side = 150
    east, north = np.meshgrid(np.arange(side) * 1000.0 + 400_500, np.arange(side) * 1000.0 +
                              6_600_500)  # fmt: skip
    east, north = east.ravel(), north.ravel()
    demand = gpd.GeoDataFrame(
        {"demand_id": np.arange(east.size).astype(str), "population": np.ones(east.size),
         "cell": gpd.GeoSeries(shapely.box(east - 500, north - 500, east + 500, north + 500),
                               crs="EPSG:3006")},
        geometry=gpd.points_from_xy(east, north), crs="EPSG:3006",
    )  # fmt: skip
    travel = pd.DataFrame({"demand_id": demand["demand_id"], "minutes": east % 70})
    write_map(
        root / "big.html",
        demand,
        make_sites(),
        travel,
        model="straight-line fallback",
        options=MapOptions(tiles=None, boundaries=("kommun",), leaflet_url="leaflet"),
    )
    report = _probe(root / "big.html", f"{base}/big.html")
    assert report["errors"] == []
    assert report["images"] == 1  # travel time shown; population starts hidden
    assert "UPPSKATTNING" in report["model"]


def test_published_site_loads_without_errors(
    server: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The self-contained index and a scenario map load from the local server cleanly."""
    root, base = server
    monkeypatch.setenv("SITING_LEAFLET_DIR", str(LEAFLET))
    publish_site(
        root / "site",
        make_cells(5),
        make_sites(),
        [OfficePlan("I dag", make_travel()), OfficePlan("Utan b", make_travel(), closed=("b",))],
        model="road network",
        self_contained=True,
        options=MapOptions(boundaries=(), tiles=None),
    )
    index = _probe(root / "site" / "index.html", f"{base}/site/index.html")
    assert index["errors"] == []
    scenario = _probe(root / "site" / "utan-b.html", f"{base}/site/utan-b.html")
    assert scenario["errors"] == []
    assert any("stängt kontor" in popup["text"] for popup in scenario["popups"])


_SYNC_PROBE = """<script>
window.addEventListener("load", function () { setTimeout(function () {
  function leafletMap(frame) {
    var w = frame.contentWindow;
    var name = Object.keys(w).find(function (k) { return k.indexOf("map_") === 0 && w[k] &&
      typeof w[k].setView === "function"; });
    return w[name];
  }
  var frames = document.querySelectorAll(".maps iframe");
  leafletMap(frames[0]).setView([61.0, 15.5], 9, {animate: false});
  setTimeout(function () {
    var centre = leafletMap(frames[1]).getCenter();
    var out = document.createElement("pre"); out.id = "probe";
    out.textContent = JSON.stringify({errors: window.__errors, frames: frames.length,
      lat: centre.lat, lng: centre.lng, zoom: leafletMap(frames[1]).getZoom()});
    document.body.appendChild(out);
  }, 500);
}, 500); });
</script>"""


def test_comparison_maps_follow_each_other(server: tuple[Path, str]) -> None:
    """Moving the first map of the comparison moves the second to the same view."""
    root, base = server
    publish_site(
        root / "compare",
        make_cells(5),
        make_sites(),
        [OfficePlan("I dag", make_travel()), OfficePlan("Utan b", make_travel(), closed=("b",))],
        model="road network",
        self_contained=False,
        options=MapOptions(boundaries=(), tiles=None),
    )
    _instrument(root / "compare" / "compare.html", _SYNC_PROBE)
    assert CHROMIUM is not None
    answer = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,900",
         "--virtual-time-budget=8000", "--dump-dom", f"{base}/compare/compare.html"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    found = re.search(r'<pre id="probe">(.*?)</pre>', answer.stdout, re.DOTALL)
    assert found, answer.stderr[-2000:]
    report = json.loads(_unescape(found.group(1)))
    assert report["errors"] == []
    assert report["frames"] == 2
    assert report["zoom"] == 9
    assert report["lat"] == pytest.approx(61.0, abs=1e-6)
    assert report["lng"] == pytest.approx(15.5, abs=1e-6)


# --- pages opened as they are, offline (Selenium) -------------------------------------------

#: the background map's tiles: the one thing a page may fail to load offline
TILES = "https://tile.openstreetmap.org/"

# what a map page drew: Leaflet, its map, the layers on it and the canvas pixels painted;
# with arguments[0], every popup and tooltip is opened (their HTML put into the page)
_MAP_STATS = """
var openAll = arguments[0];
var counts = {leaflet: typeof L, map: false, polygons: 0, lines: 0, circles: 0, popups: 0,
  tooltips: 0, painted: 0, icons: document.querySelectorAll(".siting-icon").length};
var name = Object.keys(window).find(function (k) { return k.indexOf("map_") === 0 &&
  window[k] && typeof window[k].eachLayer === "function"; });
if (typeof L === "object" && name) {
  counts.map = true;
  window[name].eachLayer(function (layer) {
    if (layer instanceof L.Polygon) { counts.polygons++; }
    else if (layer instanceof L.Polyline) { counts.lines++; }
    else if (layer instanceof L.CircleMarker) { counts.circles++; }
    if (openAll && layer.getPopup && layer.getPopup()) { layer.openPopup(); counts.popups++; }
    if (openAll && layer.getTooltip && layer.getTooltip()) {
      layer.openTooltip(); counts.tooltips++; }
  });
}
document.querySelectorAll(".leaflet-overlay-pane canvas").forEach(function (canvas) {
  var data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  for (var i = 3; i < data.length; i += 4) { if (data[i] > 0) { counts.painted++; } }
});
return counts;
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    """Headless Chromium through chromedriver, its console kept, no network at all."""
    assert CHROMIUM is not None
    assert CHROMEDRIVER is not None
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1200,900",
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ):  # no name resolves
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # an alert stays open for the test to see, instead of being dismissed unseen
    options.set_capability("unhandledPromptBehavior", "ignore")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    try:
        yield driver
    finally:
        driver.quit()


def _alerts(driver: webdriver.Chrome) -> list[str]:
    """Text of every dialog open now, each accepted in turn."""
    seen = []
    while True:
        try:
            dialog = driver.switch_to.alert
            seen.append(dialog.text)
            dialog.accept()
        except NoAlertPresentException:
            return seen


def _open(driver: webdriver.Chrome, page: Path, *, open_all: bool) -> dict[str, Any]:
    """Open `page` as a file; what it drew, its alerts and its console errors but tiles'."""
    driver.get_log("browser")  # what earlier pages left
    driver.get(page.as_uri())
    time.sleep(0.3)  # an image's onerror, a late script
    alerts = _alerts(driver)
    for _ in range(5):
        try:
            report: dict[str, Any] = driver.execute_script(_MAP_STATS, open_all)
            time.sleep(0.2)  # what the opened popups' HTML may run
            report["alerts"] = alerts + _alerts(driver)
            break
        except UnexpectedAlertPresentException:
            alerts += _alerts(driver)
    report["errors"] = [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE"
        and not (entry["source"] == "network" and entry["message"].startswith(TILES))
    ]
    return report


@pytest.fixture(scope="module")
def payload_pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every kind of page with the injection payload in every user field."""
    return write_payload_pages(tmp_path_factory.mktemp("payload"))


def test_payload_pages_run_no_injected_script(
    browser: webdriver.Chrome, payload_pages: dict[str, Path]
) -> None:
    """Runs, comparison, site and map pages: no alert, no policy violation, no error."""
    for name, page in payload_pages.items():
        report = _open(browser, page, open_all=True)
        assert report["alerts"] == [], name
        assert report["errors"] == [], name
        if report["map"]:
            assert report["icons"] >= 1, name  # offices drawn...
            assert report["popups"] >= 1, name  # ...and their popups opened
    opened = [p for n, p in payload_pages.items() if n.startswith("run/map")]
    assert len(opened) == 4
    browser.get(opened[0].as_uri())
    assert PAYLOAD in browser.title
    assert TITLE_PAYLOAD in browser.title


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`siting demo` as the README runs it, into a folder of its own (own cache too)."""
    root = tmp_path_factory.mktemp("demo")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("SITING_CACHE_DIR", str(root / "cache"))
    # only the Leaflet that siting's own install brings, as on a fresh machine
    monkeypatch.delenv("SITING_LEAFLET_DIR", raising=False)
    monkeypatch.chdir(root)
    try:
        assert main(["-q", "demo", "--out", str(root / "demo")]) == EXIT_OK
    finally:
        monkeypatch.undo()
    return root / "demo"


@pytest.mark.parametrize(
    ("page", "drawn"),
    [
        # Sweden: the 1,323 localities of data/orter.csv, 290 kommun and 21 län outlines, the
        # 67 offices open today and the 4 announced for closure (shown as closing)
        ("sverige/map.html", {"circles": 1323, "polygons": 311, "icons": 71}),
        # central Helsinki: its 480 buildings, the town hall and two new offices; no outlines
        ("helsingfors/map.html", {"circles": 480, "polygons": 0, "icons": 3}),
        # a map of the comparison: today's 71 offices over the same localities and outlines
        ("jamforelse/servicekontor-existing.html", {"circles": 1323, "polygons": 311, "icons": 71}),
    ],
)
def test_demo_maps_draw_offline(
    browser: webdriver.Chrome, demo: Path, page: str, drawn: dict[str, int]
) -> None:
    """No network: Leaflet is in the page, markers and areas are drawn, only tiles fail."""
    report = _open(browser, demo / page, open_all=False)
    assert report["leaflet"] == "object"
    assert report["map"]
    assert report["errors"] == []
    assert report["alerts"] == []
    assert {key: report[key] for key in drawn} == drawn
    assert report["painted"] > 10_000  # the canvas shows them: pixels, not only objects


def test_demo_comparison_opens_offline(browser: webdriver.Chrome, demo: Path) -> None:
    """The comparison page and its index load without errors, with a frame per scenario."""
    for page in ("jamforelse/index.html", "jamforelse/compare.html"):
        report = _open(browser, demo / page, open_all=False)
        assert report["errors"] == [], page
    frames = browser.find_elements("css selector", ".maps iframe")
    assert len(frames) == 4
