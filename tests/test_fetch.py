"""`siting fetch`: Geofabrik extracts, Overpass places and SCB grids against a local HTTP server.

The server (http.server in a thread, on 127.0.0.1) answers with recorded responses in the
services' own wire formats from tests/data/fetch: Geofabrik's `.md5` line, Nominatim's JSON,
Overpass's OSM XML, GeoServer's WFS capabilities, GeoJSON pages and exception reports. It
honours range requests as Geofabrik's server does, and can cut a response short.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from gtfs_files import write_feed

from siting._core.errors import DownloadError, InputError, SitingError
from siting.cli.main import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, main
from siting.download import http as fetch_http
from siting.download.gtfs import fetch_gtfs
from siting.download.http import CHUNK_BYTES
from siting.download.osm import extract_url, fetch_osm_extract, fetch_place
from siting.inputs.population import load_population
from siting.inputs.scb_grid import fetch_population_grid
from siting.travel.timetable import load_timetable

DATA = Path(__file__).parent / "data" / "fetch"
SWEDEN = "/europe/sweden-latest.osm.pbf"
WFS = "/geoserver/stat/wfs"


@dataclass
class Answer:
    """One recorded response; `cuts` responses in a row stop after `cut_after` bytes."""

    body: bytes
    status: int = 200
    content_type: str = "application/octet-stream"
    etag: str | None = None
    cut_after: int = 0
    cuts: int = 0


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


Route = Answer | Callable[[dict[str, str]], Answer]


@dataclass
class LocalServer:
    url: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


def _handler(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet test output
            pass

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            self.rfile.read(length)
            self._answer()

        def _answer(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            server.requests.append(Request(self.command, parts.path, query, dict(self.headers)))
            route = server.routes.get(parts.path)
            if route is None:
                self._send(Answer(b"<html>Not Found</html>", status=404, content_type="text/html"))
                return
            self._send(route(query) if callable(route) else route)

        def _send(self, answer: Answer) -> None:
            body, start = answer.body, self._range_start(answer)
            self.send_response(206 if start else answer.status)
            self.send_header("Content-Type", answer.content_type)
            if answer.etag:
                self.send_header("ETag", answer.etag)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                body = body[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if answer.cuts > 0:  # announce the whole body, send a part, hang up
                answer.cuts -= 1
                self.wfile.write(body[: answer.cut_after])
                self.close_connection = True
                return
            self.wfile.write(body)

        def _range_start(self, answer: Answer) -> int:
            wanted = self.headers.get("Range", "")
            if not (answer.etag and wanted.startswith("bytes=")):
                return 0
            if self.headers.get("If-Range", answer.etag) != answer.etag:
                return 0  # the file changed: the whole new file, as RFC 9110 says
            return int(wanted.removeprefix("bytes=").partition("-")[0])

    return Handler


@pytest.fixture
def server() -> Iterator[LocalServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    local = LocalServer(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.RequestHandlerClass = _handler(local)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield local
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def _private_cache_and_no_backoff(private_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch_http, "BACKOFF_S", 0.0)  # retries at once: tests stay fast


def _extract(seed: int = 1, size: int = 4 * CHUNK_BYTES + 1234) -> bytes:
    return random.Random(seed).randbytes(size)


def _publish_extract(server: LocalServer, body: bytes, *, etag: str = '"v1"') -> Answer:
    """Serve an extract and its `.md5` line exactly as Geofabrik writes it (md5sum's format)."""
    answer = Answer(body, etag=etag)
    server.routes[SWEDEN] = answer
    md5_line = f"{hashlib.md5(body).hexdigest()}  sweden-latest.osm.pbf\n"
    server.routes[SWEDEN + ".md5"] = Answer(md5_line.encode(), content_type="text/plain")
    return answer


# --- Geofabrik extracts ---------------------------------------------------------------


def test_region_names_and_urls_resolve_to_geofabrik_extracts() -> None:
    """Swedish and English names give the same extract; a full URL is taken as it is."""
    expected = "https://download.geofabrik.de/europe/sweden-latest.osm.pbf"
    assert extract_url("sweden") == extract_url(" Sverige ") == expected
    assert extract_url("Faroe Islands").endswith("/europe/faroe-islands-latest.osm.pbf")
    url = "https://download.geofabrik.de/europe/norway/trondelag-latest.osm.pbf"
    assert extract_url(url) == url
    with pytest.raises(InputError, match="did you mean 'sweden'"):
        extract_url("swedn")
    with pytest.raises(InputError, match=r"does not end in \.osm\.pbf"):
        extract_url("https://example.org/sweden.html")


def test_extract_is_downloaded_verified_and_then_reused_offline(server: LocalServer) -> None:
    """The extract is saved whole after its MD5 matched; later calls do not go online."""
    body = _extract()
    _publish_extract(server, body)
    path = fetch_osm_extract("sweden", base_url=server.url)
    assert path.read_bytes() == body
    assert path.name == "sweden-latest.osm.pbf"
    assert server.paths() == [SWEDEN + ".md5", SWEDEN]
    assert fetch_osm_extract("sweden", base_url=server.url) == path
    assert len(server.requests) == 2
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, path.name + ".md5"]


def test_cut_connection_is_resumed_with_a_range_request(server: LocalServer) -> None:
    """A connection that drops mid-file is resumed after the bytes already saved."""
    body = _extract()
    answer = _publish_extract(server, body)
    answer.cut_after, answer.cuts = 2 * CHUNK_BYTES + 500, 1  # the half-read chunk is lost
    path = fetch_osm_extract("sweden", base_url=server.url)
    assert path.read_bytes() == body
    first, second = [r for r in server.requests if r.path == SWEDEN]
    assert "Range" not in first.headers
    assert second.headers["Range"] == f"bytes={2 * CHUNK_BYTES}-"
    assert second.headers["If-Range"] == '"v1"'


def test_download_that_keeps_failing_leaves_no_file_and_resumes_next_time(
    server: LocalServer,
) -> None:
    """After repeated cuts the error says so, no extract exists, and the next run resumes."""
    body = _extract()
    answer = _publish_extract(server, body)
    answer.cut_after, answer.cuts = CHUNK_BYTES, 3
    with pytest.raises(DownloadError, match="run the same command again to resume"):
        fetch_osm_extract("sweden", base_url=server.url)
    cached = Path(fetch_http.cache_root()) / "osm" / "europe" / "sweden-latest.osm.pbf"
    assert not cached.exists()
    ranges = [r.headers.get("Range") for r in server.requests if r.path == SWEDEN]
    assert ranges == [None, f"bytes={CHUNK_BYTES}-", f"bytes={2 * CHUNK_BYTES}-"]
    assert fetch_osm_extract("sweden", base_url=server.url).read_bytes() == body
    assert server.requests[-1].headers["Range"] == f"bytes={3 * CHUNK_BYTES}-"


def test_partial_file_of_an_older_extract_is_restarted_not_resumed(server: LocalServer) -> None:
    """If the extract changed since the cut (new ETag), the new file is downloaded whole."""
    answer = _publish_extract(server, _extract(seed=1))
    answer.cut_after, answer.cuts = CHUNK_BYTES, 3
    with pytest.raises(DownloadError):
        fetch_osm_extract("sweden", base_url=server.url)
    newer = _extract(seed=2)
    _publish_extract(server, newer, etag='"v2"')
    assert fetch_osm_extract("sweden", base_url=server.url).read_bytes() == newer
    assert server.requests[-1].headers["If-Range"] == '"v1"'


def test_md5_mismatch_deletes_the_download(server: LocalServer) -> None:
    """Data that does not match the published MD5 is not kept under any name."""
    _publish_extract(server, _extract())
    server.routes[SWEDEN].body = _extract(seed=9)  # type: ignore[union-attr]
    with pytest.raises(DownloadError, match="does not match the published"):
        fetch_osm_extract("sweden", base_url=server.url)
    folder = Path(fetch_http.cache_root()) / "osm" / "europe"
    assert list(folder.iterdir()) == []


def test_refresh_downloads_a_newer_extract_only_when_one_was_published(
    server: LocalServer,
) -> None:
    """--refresh compares the published MD5 with the cached one before downloading."""
    _publish_extract(server, _extract(seed=1))
    path = fetch_osm_extract("sweden", base_url=server.url)
    fetch_osm_extract("sweden", base_url=server.url, refresh=True)
    assert server.paths()[-1] == SWEDEN + ".md5"  # same MD5: nothing downloaded
    _publish_extract(server, _extract(seed=2), etag='"v2"')
    assert fetch_osm_extract("sweden", base_url=server.url, refresh=True) == path
    assert path.read_bytes() == _extract(seed=2)


def test_unverified_extract_is_checked_once_verification_is_wanted(
    server: LocalServer,
) -> None:
    """An extract fetched with --no-verify is hashed against the published MD5 later."""
    body = _extract()
    _publish_extract(server, body)
    path = fetch_osm_extract("sweden", base_url=server.url, verify=False)
    assert server.paths() == [SWEDEN]
    assert fetch_osm_extract("sweden", base_url=server.url) == path
    assert server.paths() == [SWEDEN, SWEDEN + ".md5"]  # matched: not downloaded again
    assert path.with_name(path.name + ".md5").read_text().startswith(hashlib.md5(body).hexdigest())


def test_damaged_cached_extract_is_downloaded_again(server: LocalServer) -> None:
    """A cached extract whose bytes no longer match its MD5 is not used."""
    body = _extract()
    _publish_extract(server, body)
    path = fetch_osm_extract("sweden", base_url=server.url)
    path.write_bytes(body[:1000])
    assert fetch_osm_extract("sweden", base_url=server.url).read_bytes() == body
    assert server.paths().count(SWEDEN) == 2


def test_missing_extract_is_bad_input_and_server_failure_is_a_download_error(
    server: LocalServer,
) -> None:
    """HTTP 404 names the URL as bad input; a failing server is a download error."""
    with pytest.raises(InputError, match=r"sweden-latest\.osm\.pbf\.md5 answered HTTP 404"):
        fetch_osm_extract("sweden", base_url=server.url)
    _publish_extract(server, _extract())
    server.routes[SWEDEN] = Answer(b"busy", status=503)
    with pytest.raises(DownloadError, match="HTTP 503"):
        fetch_osm_extract("sweden", base_url=server.url)
    assert server.paths().count(SWEDEN) == 1 + fetch_http.RETRIES


def test_unasked_range_error_is_a_download_error(server: LocalServer) -> None:
    """HTTP 416 to a request for the whole file is the server's fault: no crash, no loop."""
    server.routes[SWEDEN] = Answer(b"", status=416)
    with pytest.raises(DownloadError, match="HTTP 416"):
        fetch_osm_extract(server.url + SWEDEN, verify=False)
    assert server.paths().count(SWEDEN) == 1


# --- places through Overpass -------------------------------------------------------------


@pytest.fixture
def overpass(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> LocalServer:
    """Point osmnx's geocoder and siting's Overpass download at the local server."""
    import osmnx as ox

    monkeypatch.setattr(ox.settings, "nominatim_url", f"{server.url}/nominatim")
    monkeypatch.setattr(ox.settings, "overpass_url", f"{server.url}/api")
    monkeypatch.setattr(ox.settings, "use_cache", False)
    search = (DATA / "nominatim_search.json").read_bytes()
    server.routes["/nominatim/search"] = Answer(search, content_type="application/json")
    roads = (DATA / "overpass_roads.osm").read_bytes()
    server.routes["/api/interpreter"] = Answer(roads, content_type="application/osm3s+xml")
    return server


@pytest.mark.slow
def test_place_roads_are_saved_and_reused_by_load_network(
    overpass: LocalServer, tmp_path: Path
) -> None:
    """The place's .osm is written to --out, and building the place's network reuses it."""
    from siting.roads.network import load_network

    out = fetch_place("Testby", out=tmp_path / "testby.osm")
    assert out.read_bytes() == (DATA / "overpass_roads.osm").read_bytes()
    query = next(r for r in overpass.requests if r.path == "/api/interpreter")
    assert query.method == "POST"
    graph = load_network("Testby")
    # simplified: the junction and the spur's end; the spur is 0.003° of latitude long
    assert sorted(graph.nodes) == [7100003, 7100005]
    spur = graph.get_edge_data(7100003, 7100005)[0]
    assert spur["length"] == pytest.approx(0.003 * 111_195, rel=1e-3)
    assert overpass.paths().count("/api/interpreter") == 1


@pytest.mark.slow
def test_place_download_also_gives_the_walk_network(overpass: LocalServer) -> None:
    """One download serves every mode: walking adds the footway the car network leaves out."""
    from siting.roads.network import load_network

    fetch_place("Testby")
    walk = load_network("Testby", mode="walk")
    drive = load_network("Testby")
    # spur north 0.003° of latitude, footway west 0.006° of longitude at 63.438°N, south 0.003°
    over_footway = 0.006 * 111_195 * math.cos(math.radians(63.438)) + 2 * 0.003 * 111_195
    for a, b in ((7100003, 7100004), (7100004, 7100003)):  # walked both ways
        lengths = [d["length"] for d in walk.get_edge_data(a, b).values()]
        assert min(abs(length - over_footway) for length in lengths) < 1e-3 * over_footway
    assert sorted(drive.nodes) == [7100003, 7100005]  # the car network has no footway
    assert overpass.paths().count("/api/interpreter") == 1


@pytest.mark.slow
def test_overpass_failure_is_one_error_line_with_exit_1(
    overpass: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A busy Overpass server gives exit code 1 and one line naming the place."""
    overpass.routes["/api/interpreter"] = Answer(b"rate limited", status=429)
    assert main(["-q", "fetch", "place", "Testby"]) == EXIT_INTERNAL
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "Overpass download for 'Testby' failed" in error


# --- SCB population grids ------------------------------------------------------------------


def _wfs(server: LocalServer, *, pages: str = "scb_befolkning_1km_2025_start{}.json") -> None:
    """Serve SCB's WFS: capabilities, and GetFeature pages chosen by startIndex."""

    def answer(query: dict[str, str]) -> Answer:
        if query.get("request") == "GetCapabilities":
            return Answer((DATA / "scb_capabilities.xml").read_bytes(), content_type="text/xml")
        if query.get("typeName") != "stat:befolkning_1km_2025":
            report = (DATA / "scb_unknown_layer.xml").read_bytes()
            return Answer(report, status=400, content_type="application/xml")
        page = DATA / pages.format(query["startIndex"])
        return Answer(page.read_bytes(), content_type="application/json;charset=UTF-8")

    server.routes[WFS] = answer


def _feature_requests(server: LocalServer) -> list[dict[str, str]]:
    return [r.query for r in server.requests if r.query.get("request") == "GetFeature"]


@pytest.mark.parametrize("suffix", [".gpkg", ".csv"])
def test_grid_pages_are_joined_clipped_and_load_as_population(
    server: LocalServer, tmp_path: Path, suffix: str
) -> None:
    """Two pages of cells, clipped to Falun, load as demand with ids, people and cell centres."""
    _wfs(server)
    out = tmp_path / f"falun{suffix}"
    path = fetch_population_grid(
        region="Falun", year=2025, page_size=3, out=out, base_url=server.url + WFS
    )
    assert path == out
    pages = _feature_requests(server)
    assert [p["startIndex"] for p in pages] == ["0", "3"]
    assert {p["maxFeatures"] for p in pages} == {"3"}
    assert pages[0]["sortBy"] == "rutid_scb"
    assert pages[0]["srsName"] == "EPSG:3006"
    # Falun's bounds (514324, 6702411, 576273, 6769727) widened by 2 km, east before north
    assert pages[0]["bbox"] == "512324,6700411,578273,6771727,EPSG:3006"
    demand = load_population(out)
    # the Borlänge cell (5220006703000, 37 people) lies in the box but not in Falun
    assert sorted(demand["demand_id"]) == [
        "5450006735000",
        "5450006736000",
        "5460006735000",
        "5470006737000",
    ]
    assert demand["population"].sum() == 12 + 4 + 140 + 9
    centre = demand.set_index("demand_id").geometry["5460006735000"]
    assert (centre.x, centre.y) == (546_500, 6_735_500)


def test_grid_year_defaults_to_the_newest_layer_and_is_cached(server: LocalServer) -> None:
    """Without --year the newest befolkning_1km layer is used; a second call is offline."""
    _wfs(server)
    path = fetch_population_grid(region="Falun", base_url=server.url + WFS)
    assert path.name == "befolkning_1km_2025_kommun-2080.gpkg"
    assert {p["typeName"] for p in _feature_requests(server)} == {"stat:befolkning_1km_2025"}
    count = len(server.requests)
    assert fetch_population_grid(region="Falun", year=2025, base_url=server.url + WFS) == path
    assert len(server.requests) == count
    assert load_population(path, region="Falun")["population"].sum() == 165


def test_unknown_grid_layer_lists_the_layers_offered(server: LocalServer) -> None:
    """A layer SCB does not have is bad input naming the population layers it does have."""
    _wfs(server)
    with pytest.raises(
        InputError,
        match=r"no layer stat:befolkning_250m_2025; it offers "
        r"stat:befolkning_1km_2024, stat:befolkning_1km_2025",
    ):
        fetch_population_grid(size="250m", year=2025, region="Falun", base_url=server.url + WFS)
    with pytest.raises(InputError, match="offers no stat:befolkning_250m_<year> layer"):
        fetch_population_grid(size="250m", region="Falun", base_url=server.url + WFS)


def test_region_without_cells_is_bad_input(server: LocalServer) -> None:
    """An empty answer is an error naming the layer and the region, not an empty file."""
    _wfs(server, pages="scb_empty.json")
    with pytest.raises(InputError, match=r"no populated cells in Falun \(kommun 2080\)"):
        fetch_population_grid(region="Falun", year=2025, base_url=server.url + WFS)
    assert not (Path(fetch_http.cache_root()) / "scb").exists()


def test_grid_server_errors_and_short_pages_are_download_errors(server: LocalServer) -> None:
    """A failing server and pages that do not add up to numberMatched raise DownloadError."""
    server.routes[WFS] = Answer(b"<html>Service Unavailable</html>", status=503)
    with pytest.raises(DownloadError, match="HTTP 503"):
        fetch_population_grid(region="Falun", year=2025, base_url=server.url + WFS)
    first = (DATA / "scb_befolkning_1km_2025_start0.json").read_bytes()
    empty = (DATA / "scb_empty.json").read_text().replace('"numberMatched":0', '"numberMatched":5')
    server.routes[WFS] = lambda q: Answer(first if q["startIndex"] == "0" else empty.encode())
    with pytest.raises(DownloadError, match="announced 5 cells but sent 3"):
        fetch_population_grid(region="Falun", year=2025, page_size=3, base_url=server.url + WFS)


def test_bad_grid_options_fail_before_any_request(server: LocalServer, tmp_path: Path) -> None:
    """Size, year, output suffix and region are checked before going online."""
    url = server.url + WFS
    with pytest.raises(InputError, match="grid size must be one of 1km, 250m, got '2km'"):
        fetch_population_grid(size="2km", base_url=url)
    with pytest.raises(InputError, match="year must be a year"):
        fetch_population_grid(year=25, base_url=url)
    with pytest.raises(InputError, match=r"must end in \.gpkg or \.csv"):
        fetch_population_grid(out=tmp_path / "grid.shp", base_url=url)
    with pytest.raises(InputError, match="region 'Atlantis'"):
        fetch_population_grid(region="Atlantis", base_url=url)
    assert server.requests == []


# --- the command line ----------------------------------------------------------------------


def test_fetch_help_names_every_kind_and_the_exit_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`siting fetch --help` and each kind's help exist and say what the exit codes mean."""
    kinds = (["fetch"], ["fetch", "osm"], ["fetch", "place"], ["fetch", "grid"], ["fetch", "gtfs"])
    for argv in kinds:
        with pytest.raises(SystemExit) as stop:
            main([*argv, "--help"])
        assert stop.value.code == 0
        text = " ".join(capsys.readouterr().out.split())
        assert "1 download failed" in text
        assert "2 bad input" in text


def test_fetch_commands_print_the_path_and_exit_0(
    server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """osm and grid print the file they wrote, one line on stdout."""
    _publish_extract(server, _extract())
    assert main(["-q", "fetch", "osm", "sweden", "--server", server.url]) == EXIT_OK
    printed = Path(capsys.readouterr().out.strip())
    assert printed.read_bytes() == _extract()
    _wfs(server)
    out = tmp_path / "falun.csv"
    argv = ["-q", "fetch", "grid", "--region", "Falun", "--year", "2025", "--out", str(out)]
    assert main([*argv, "--server", server.url + WFS]) == EXIT_OK
    assert capsys.readouterr().out.strip() == str(out)
    assert len(load_population(out)) == 4


def test_fetch_errors_are_one_line_with_exit_2_or_1(
    server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad input exits 2, an unreachable server exits 1; each with one line on stderr."""
    assert main(["-q", "fetch", "osm", "atlantis"]) == EXIT_BAD_INPUT
    assert main(["-q", "fetch", "grid", "--year", "next"]) == EXIT_BAD_INPUT
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens there
    assert main(["-q", "fetch", "osm", "sweden", "--server", closed]) == EXIT_INTERNAL
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3
    assert all(line.startswith("siting: error: ") for line in lines)
    assert "cannot reach http://127.0.0.1:9" in lines[2]


def test_unreachable_server_is_one_error_without_retry_warnings(
    server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without -q, urllib3's warning per retry stays out; -v shows the retries."""
    closed = "http://127.0.0.1:9"
    assert main(["fetch", "osm", "sweden", "--server", closed]) == EXIT_INTERNAL
    lines = capsys.readouterr().err.splitlines()
    assert [line for line in lines if "Retrying" in line] == []
    assert lines[-1].startswith("siting: error: ")
    assert main(["-v", "fetch", "osm", "sweden", "--server", closed]) == EXIT_INTERNAL
    assert "Retrying" in capsys.readouterr().err


def test_errors_are_siting_errors() -> None:
    """Download errors are SitingErrors, which the command line turns into exit code 1."""
    assert issubclass(DownloadError, SitingError)
    assert not issubclass(DownloadError, InputError)


# --- the real services (skipped by default: `pytest -m internet`) ------------------------


@pytest.mark.internet
def test_real_scb_grid_of_a_small_municipality(tmp_path: Path) -> None:
    """SCB's WFS gives Orsa's 1 km grid, which loads as a few thousand people."""
    path = fetch_population_grid(region="Orsa", out=tmp_path / "orsa.csv")
    demand = load_population(path)
    assert 4_000 < demand["population"].sum() < 10_000


@pytest.mark.internet
def test_real_geofabrik_md5_is_published() -> None:
    """Geofabrik publishes an MD5 line beside the Sweden extract."""
    session = fetch_http.http_session()
    url = extract_url("sweden") + ".md5"
    text = fetch_http.get_response(session, url, what="md5").text
    assert text.split()[1] == "sweden-latest.osm.pbf"
    assert len(text.split()[0]) == 32


@pytest.mark.internet
def test_real_place_download(tmp_path: Path) -> None:
    """Overpass gives the roads of a small place as OSM XML."""
    out = fetch_place("Näsåker, Sollefteå kommun", out=tmp_path / "nasaker.osm")
    assert b"<osm" in out.read_bytes()[:500]


# --- GTFS from Trafiklab --------------------------------------------------------------------

NORRBOTTEN_GTFS = "/gtfs/norrbotten/norrbotten.zip"
KEY = "secret-key-123"


def _feed_bytes(tmp_path: Path) -> bytes:
    return write_feed(tmp_path / "recorded.zip").read_bytes()


def test_gtfs_is_fetched_with_the_key_checked_and_then_reused(
    server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key goes in the query; the zip is checked, cached, and reused without a request."""
    monkeypatch.setenv("TRAFIKLAB_API_KEY", KEY)
    feed = _feed_bytes(tmp_path)  # once: a zip written again may carry another time stamp
    server.routes[NORRBOTTEN_GTFS] = Answer(feed, content_type="application/zip")
    path = fetch_gtfs("Norrbotten", base_url=server.url + "/gtfs")
    assert path.read_bytes() == feed
    assert [r.query for r in server.requests] == [{"key": KEY}]
    assert fetch_gtfs("norrbotten", base_url=server.url + "/gtfs") == path
    assert len(server.requests) == 1
    fetch_gtfs("norrbotten", base_url=server.url + "/gtfs", refresh=True)
    assert len(server.requests) == 2
    assert load_timetable(path, dt.date(2023, 3, 15)).n_stops == 5


def test_gtfs_without_a_key_or_with_a_refused_one_is_bad_input(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No key: say which variable; HTTP 403: the key was refused, and the key is not shown."""
    monkeypatch.delenv("TRAFIKLAB_API_KEY", raising=False)
    with pytest.raises(InputError, match="set TRAFIKLAB_API_KEY"):
        fetch_gtfs("norrbotten", base_url=server.url + "/gtfs")
    monkeypatch.setenv("TRAFIKLAB_API_KEY", KEY)
    server.routes[NORRBOTTEN_GTFS] = Answer(b"forbidden", status=403, content_type="text/plain")
    with pytest.raises(InputError, match="API key was refused") as refused:
        fetch_gtfs("norrbotten", base_url=server.url + "/gtfs")
    assert KEY not in str(refused.value)
    assert "***" in str(refused.value)


def test_gtfs_answer_that_is_no_feed_leaves_nothing(
    server: LocalServer, tmp_path: Path, private_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An HTML page, or a zip without stop_times.txt: a download error, no file kept."""
    monkeypatch.setenv("TRAFIKLAB_API_KEY", KEY)
    server.routes[NORRBOTTEN_GTFS] = Answer(b"<html>maintenance</html>", content_type="text/html")
    with pytest.raises(DownloadError, match="not a zip"):
        fetch_gtfs("norrbotten", base_url=server.url + "/gtfs")
    partial = write_feed(tmp_path / "partial.zip", leave_out=("stop_times",)).read_bytes()
    server.routes[NORRBOTTEN_GTFS] = Answer(partial, content_type="application/zip")
    with pytest.raises(DownloadError, match=r"not a GTFS feed \(no stop_times\.txt\)"):
        fetch_gtfs("norrbotten", base_url=server.url + "/gtfs")
    assert [p.name for p in (private_cache / "gtfs").iterdir()] == []


def test_gtfs_operator_names_are_checked() -> None:
    with pytest.raises(InputError, match="did you mean 'norrbotten'"):
        fetch_gtfs("norrboten")
    with pytest.raises(InputError, match="letters and digits only"):
        fetch_gtfs("../etc")


def test_fetch_gtfs_command_prints_the_feed_it_wrote(
    server: LocalServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRAFIKLAB_API_KEY", KEY)
    feed = _feed_bytes(tmp_path)  # once: a zip written again may carry another time stamp
    server.routes[NORRBOTTEN_GTFS] = Answer(feed, content_type="application/zip")
    out = tmp_path / "norrbotten.zip"
    argv = ["-q", "fetch", "gtfs", "--operator", "norrbotten", "--out", str(out)]
    assert main([*argv, "--server", server.url + "/gtfs"]) == EXIT_OK
    assert capsys.readouterr().out.strip() == str(out)
    assert out.read_bytes() == feed
    assert main(["-q", "fetch", "gtfs", "--operator", "atlantis"]) == EXIT_BAD_INPUT
