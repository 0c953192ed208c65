"""Maps in a real browser: headless Chromium (Debian), pages served on 127.0.0.1, local Leaflet.

Each page gets a probe script appended that records console errors and alerts, pokes the map
(opens a popup, reads the layer control) and writes what it saw as JSON into the DOM, which
Chromium's ``--dump-dom`` prints. CI installs chromium and npm's leaflet (.ci/run); elsewhere
these tests skip when either is missing, and fail under CI=true.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from map_fixtures import XSS, make_cells, make_sites, make_travel

from siting.report.assets import copy_leaflet, find_leaflet
from siting.report.compare_pages import OfficePlan
from siting.report.maps import MapOptions, write_map
from siting.report.publish import publish_site

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LEAFLET = find_leaflet(Path(__file__).resolve().parent.parent)
_MISSING = [name for name, found in (("chromium", CHROMIUM), ("npm leaflet", LEAFLET)) if not found]
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


def _probe(page: Path, url: str) -> dict[str, Any]:
    text = page.read_text(encoding="utf-8")
    text = text.replace("<head>", "<head>" + _CATCH, 1).replace("</html>", _PROBE + "</html>")
    page.write_text(text, encoding="utf-8")
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
    for page in (root / "compare").glob("*.html"):  # the maps load Leaflet from the server
        text = page.read_text(encoding="utf-8")
        page.write_text(re.sub(r"https://cdn[^\"']*/dist", "../leaflet", text), encoding="utf-8")
    page = root / "compare" / "compare.html"
    text = page.read_text(encoding="utf-8").replace("<head>", "<head>" + _CATCH, 1)
    page.write_text(text.replace("</html>", _SYNC_PROBE + "</html>"), encoding="utf-8")
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
