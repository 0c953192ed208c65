"""Benchmark the planning service (`siting serve`, issue 15): what-if edits, new points on a
large road graph, and a bounded load test, on SQLite and on PostgreSQL.

Three measurements, each bounded in count and time, every server on 127.0.0.1 only:

- ``edits``: server time per what-if edit on the Dalarna SCB 1 km grid (4,004 cells, from
  ``../shared/data``, read where it lies) x the Dalarna towns of ``data/orter.csv`` as sites
  (the largest town of each municipality an office open today, the rest candidates), with
  the straight-line model. A temporary scenario TOML names these files. Each repeat starts a
  real ``uvicorn`` in a child process (one in-process worker, as ``siting serve``) over a
  fresh SQLite database, logs in through the login form, times the first request (which
  loads the project: inputs and matrix) and then ``--edits`` seeded random edits (close 1-3
  offices, open 1-3 candidates, one new point, or all three at once) through
  ``POST /api/projects/N/whatif`` with an httpx client. The server time is measured inside
  the server process by an ASGI wrapper (request in to response start, so JSON encoding is
  counted) and sent back as a ``Server-Timing`` header; the round trip is measured by the
  client. Baseline in the same run: the same edits through ``WhatIf.evaluate`` in this
  process, no HTTP.
- ``point``: a new office at an arbitrary point on a county-sized road graph: pyrosm's real
  ``test.osm.pbf`` tiled to about ``--target-nodes`` nodes (``scripts/tiled_extract.py``; no
  Swedish extract installs offline), ``--graph-points`` demand points and 60 sites at
  seeded nodes, loaded as the service loads a project (``WhatIf.load``), then
  ``WhatIf.point_minutes`` for ``--new-points`` seeded random points (each new, so no cache
  hit), and where the time goes (snapping, engine, the rest). Baseline in the same run: one
  column of the project's own matrix through ``travel_times`` with a prepared network.
- ``load-sqlite`` / ``load-postgresql``: ``--planners`` simulated planners at once, each its
  own user: log in, open the projects page and the map data, then what-if edits (and every
  ``--save-every``-th a saved plan), pausing 0 to 2 x ``--think-s`` between clicks (0: back
  to back, the server's capacity), until ``--duration-s`` has passed or ``--max-requests``
  requests were sent in all. Requests, errors (must be 0), p50/p95 latency. PostgreSQL is a
  throw-away cluster of Debian's server (``tests/pg_cluster.py``); skipped when none is
  installed.
- ``browser``: page to update in headless Chromium (Debian's): log in, open the Dalarna
  map, then click ``--clicks`` offices in turn (closing, then opening again); from the click
  to the moment the page has drawn the new figures and recoloured every cell (it stamps
  ``data-updated``). Goal: 300 ms.

Latencies are medians over ``--repeats`` where repeated; the machine is shared (2 cores, others
at work), so the JSON records the load average before and after each part and the server's
CPU seconds. Prints one JSON document.

    .venv/bin/python scripts/bench_serve.py [--repeats 3] [--edits 200] [--planners 20]
        [--duration-s 60] [--max-requests 4000] [--target-nodes 330000] [--skip point ...]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import logging
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, not an installed copy
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))  # pg_cluster: the tests' throw-away PostgreSQL

logger = logging.getLogger("bench_serve")

POPULATION = ROOT.parent / "shared" / "data" / "scb_befolkning_1km_2025_dalarna.csv"
TOWNS = ROOT / "data" / "orter.csv"
REGION = "Dalarnas län"
CACHE_DIR = Path.home() / ".cache" / "siting-bench"
PASSWORD = "bench password, long enough"
PARTS = ("edits", "point", "load-sqlite", "load-postgresql", "browser")
#: the issue's goals (issue 15, "What users can do", 3)
GOALS = {"edit_p95_ms": 100.0, "new_point_s": 1.0}
SEED = 2026

SCENARIO = """name = "Dalarna: SCB grid x towns (bench_serve)"
seed = 1

[inputs]
network = {network}
population = {population}
existing = {{ path = "{sites}", status_column = "status" }}
{region}

[travel]
max_minutes = {max_minutes}

[[problems]]
kind = "closure-impact"
"""


# --- the server, in its own process ----------------------------------------------------


class _ServerTiming:
    """ASGI wrapper: the time from a request's arrival to its response's start, sent back as
    ``Server-Timing: app;dur=<ms>`` (the handler, the database and JSON encoding)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(
        self, scope: MutableMapping[str, Any], receive: Any, send: Callable[..., Awaitable[None]]
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                took = f"app;dur={(time.perf_counter() - started) * 1000:.3f}".encode()
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"server-timing", took)]}  # fmt: skip
            await send(message)

        await self.app(scope, receive, timed)


def _serve(data_dir: Path, database_url: str, port: int) -> None:
    """Run the service as `siting serve` does (one in-process worker), timing each request."""
    import uvicorn

    from siting.service.app import create_app
    from siting.service.settings import ServiceSettings

    settings = ServiceSettings(data_dir=data_dir, database_url=database_url)
    app = create_app(settings, workers=1)
    uvicorn.run(_ServerTiming(app), host="127.0.0.1", port=port, log_level="warning")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A `uvicorn` child process serving the app on 127.0.0.1."""

    url: str
    process: subprocess.Popen[bytes]

    def cpu_s(self) -> float:
        """CPU seconds the server process has used so far."""
        import psutil

        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)


@contextlib.contextmanager
def running_server(data_dir: Path, database_url: str) -> Iterator[Server]:
    """Start the server, wait until it answers (at most 60 s), stop it afterwards."""
    import httpx2 as httpx

    port = _free_port()
    command = [sys.executable, __file__, "--serve", "--data-dir", str(data_dir)]
    command += ["--database-url", database_url, "--port", str(port)]
    process = subprocess.Popen(command)
    server = Server(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server stopped at start (exit {process.returncode})")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(server.url + "/login", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer within 60 s")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()  # only the server this benchmark started
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- inputs ------------------------------------------------------------------------------


def write_dalarna_inputs(folder: Path, max_minutes: float) -> tuple[Path, dict[str, Any]]:
    """A scenario over the shared SCB grid and the Dalarna towns (one office per
    municipality: its largest town; the others candidates), written into `folder`."""
    with TOWNS.open(encoding="utf-8") as stream:
        towns = [row for row in csv.DictReader(stream) if row["lan_namn"] == REGION]
    largest: dict[str, dict[str, str]] = {}
    for row in towns:
        best = largest.get(row["kommun_kod"])
        if best is None or int(row["population"]) > int(best["population"]):
            largest[row["kommun_kod"]] = row
    sites = folder / "dalarna_towns.csv"
    with sites.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["site_id", "name", "lon", "lat", "status"])
        for row in towns:
            status = "may_close" if largest[row["kommun_kod"]] is row else "candidate"
            writer.writerow([row["geonameid"], row["name"], row["lon"], row["lat"], status])
    population = f'{{ path = "{POPULATION}", population_column = "befolkning_2025" }}'
    text = SCENARIO.format(
        network='"straight-line"', population=population, sites=sites,
        region=f'region = "{REGION}"', max_minutes=max_minutes,
    )  # fmt: skip
    scenario = folder / "dalarna.toml"
    scenario.write_text(text, encoding="utf-8")
    return scenario, {"towns": len(towns), "offices_today": len(largest)}


def prepare_database(url: str, scenario: Path, n_users: int) -> int:
    """Migrate, add `n_users` planners of one organisation and a project over `scenario`;
    returns the project's id."""
    from siting.service.accounts import add_user
    from siting.service.database import open_database
    from siting.service.models import Organisation, Project

    database = open_database(url)
    try:
        with database.session() as session:
            for number in range(n_users):
                add_user(session, org_slug="region-dalarna", email=_email(number),
                         password=PASSWORD)  # fmt: skip
            session.flush()
            org = session.query(Organisation).filter_by(slug="region-dalarna").one()
            project = Project(org_id=org.id, name="Dalarna", scenario_path=str(scenario))
            session.add(project)
            session.flush()
            return int(project.id)
    finally:
        database.dispose()


def _email(number: int) -> str:
    return f"planner{number}@dalarna.example"


# --- a planner's session over HTTP -------------------------------------------------------


@dataclass
class Planner:
    """One logged-in planner: an httpx client holding the session cookie and CSRF token."""

    client: Any
    csrf: str
    timings: list[tuple[str, float, float | None, int]] = field(default_factory=list)

    def request(self, kind: str, method: str, path: str, **options: Any) -> Any:
        """Send, record (kind, round trip ms, server ms, status) and return the response."""
        started = time.perf_counter()
        response = self.client.request(method, path, **options)
        took = (time.perf_counter() - started) * 1000
        match = re.search(r"dur=([0-9.]+)", response.headers.get("server-timing", ""))
        server = float(match.group(1)) if match else None
        self.timings.append((kind, took, server, response.status_code))
        return response

    def what_if(self, project_id: int, edits: dict[str, Any]) -> Any:
        """One what-if edit through the JSON API, as the map page sends it."""
        return self.request(
            "whatif", "POST", f"/api/projects/{project_id}/whatif", json=edits,
            headers={"X-CSRF-Token": self.csrf},
        )  # fmt: skip


def log_in(server: Server, email: str) -> Planner:
    """Log in through the form as a browser does and read the page's CSRF token."""
    import httpx2 as httpx

    planner = Planner(httpx.Client(base_url=server.url, timeout=120), "")
    form = planner.request("login", "GET", "/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if token is None:
        raise RuntimeError(f"no CSRF token on the login page ({form.status_code})")
    data = {"email": email, "password": PASSWORD, "csrf_token": token.group(1)}
    done = planner.request("login", "POST", "/login", data=data, follow_redirects=False)
    if done.status_code != 303:
        raise RuntimeError(f"login of {email} answered {done.status_code}")
    page = planner.request("page", "GET", "/")
    meta = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    if meta is None:
        raise RuntimeError("no CSRF token on the projects page")
    planner.csrf = meta.group(1)
    return planner


# --- random edits ------------------------------------------------------------------------

EDIT_KINDS = ("close", "open", "point", "mixed")


@dataclass(frozen=True)
class Project:
    """What random edits are drawn from: today's offices, the candidates, demand points."""

    today: tuple[str, ...]
    candidates: tuple[str, ...]
    lon: np.ndarray
    lat: np.ndarray


def project_of(whatif: Any) -> Project:
    """Offices, candidates and demand coordinates of a loaded `WhatIf`."""
    demand = whatif.demand.to_crs("EPSG:4326")
    today = tuple(whatif.today)
    candidates = tuple(s for s in whatif.site_ids() if s not in set(today))
    return Project(today, candidates, demand.geometry.x.to_numpy(), demand.geometry.y.to_numpy())


def random_edits(project: Project, rng: np.random.Generator, kind: str) -> dict[str, Any]:
    """An edit of `kind`: close 1-3 offices, open 1-3 candidates, one new point near a
    populated cell (up to ~5 km off), or one of each at once."""
    edits: dict[str, Any] = {"closed": [], "opened": [], "points": []}
    if kind in ("close", "mixed"):
        k = int(rng.integers(1, 4)) if kind == "close" else 1
        edits["closed"] = [str(s) for s in rng.choice(project.today, k, replace=False)]
    if kind in ("open", "mixed"):
        k = int(rng.integers(1, 4)) if kind == "open" else 1
        edits["opened"] = [str(s) for s in rng.choice(project.candidates, k, replace=False)]
    if kind in ("point", "mixed"):
        cell = int(rng.integers(project.lon.size))
        lon = float(project.lon[cell] + rng.uniform(-0.09, 0.09))
        lat = float(project.lat[cell] + rng.uniform(-0.045, 0.045))
        edits["points"] = [{"name": "Ny plats", "lon": round(lon, 6), "lat": round(lat, 6)}]
    return edits


def _percentiles(values: Sequence[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    array = np.asarray(values, dtype=np.float64)
    return {
        "n": int(array.size),
        "p50": round(float(np.percentile(array, 50)), 2),
        "p95": round(float(np.percentile(array, 95)), 2),
        "max": round(float(array.max()), 2),
    }


def _load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --- 1. edit latency ---------------------------------------------------------------------


def measure_edits(args: argparse.Namespace) -> dict[str, Any]:
    """Edit latency over HTTP on the Dalarna grid x towns, and in process as the baseline."""
    repeats = []
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="bench-serve-") as scratch:
            repeats.append(_edits_once(Path(scratch), args))
        logger.info("edits, repeat %d: %s", repeat + 1, repeats[-1]["http_server_ms"]["all"])
    first = repeats[0]
    return {
        "instance": first["instance"],
        "edits_per_repeat": args.edits,
        "first_request_s_median": _median(r["first_request_s"] for r in repeats),
        "in_process_load_s_median": _median(r["in_process_load_s"] for r in repeats),
        "http_server_ms_median": _median_of(repeats, "http_server_ms"),
        "http_round_trip_ms_median": _median_of(repeats, "http_round_trip_ms"),
        "in_process_evaluate_ms_median": _median_of(repeats, "in_process_evaluate_ms"),
        "errors": sum(r["errors"] for r in repeats),
        "figures_match_in_process": all(r["figures_match_in_process"] for r in repeats),
        "repeats": repeats,
    }


def _edits_once(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One repeat: the same seeded edits in process (the baseline), then over HTTP."""
    from siting.service.whatif import WhatIf

    scenario, towns = write_dalarna_inputs(folder, args.max_minutes)
    started = time.perf_counter()
    whatif = WhatIf.load(scenario)
    load_s = time.perf_counter() - started
    rng = np.random.default_rng(SEED)  # the same edits in every repeat
    project = project_of(whatif)
    edits = [random_edits(project, rng, EDIT_KINDS[i % len(EDIT_KINDS)]) for i in range(args.edits)]
    baseline, expected = _in_process(whatif, edits)
    over_http = _over_http(folder, scenario, edits, expected)
    return {
        "instance": {
            "demand_cells": len(whatif.demand),
            "sites": len(whatif.sites),
            **towns,
            "model": whatif.model_name,
            "matrix_pairs_stored": int(whatif.by_site.nnz),
            "max_minutes": args.max_minutes,
        },
        "in_process_load_s": round(load_s, 3),
        "in_process_evaluate_ms": _by_kind(baseline),
        **over_http,
    }


def _in_process(
    whatif: Any, edits: list[dict[str, Any]]
) -> tuple[dict[str, list[float]], list[dict[str, Any]]]:
    """Milliseconds of `WhatIf.evaluate` per edit kind, and each edit's plan figures."""
    from siting.service.whatif import Edits

    took: dict[str, list[float]] = {kind: [] for kind in EDIT_KINDS}
    expected = []
    for number, edit in enumerate(edits):
        started = time.perf_counter()
        result = whatif.evaluate(Edits.from_json(edit))
        took[EDIT_KINDS[number % len(EDIT_KINDS)]].append((time.perf_counter() - started) * 1000)
        expected.append(result["plan"])
    return took, expected


def _over_http(
    folder: Path, scenario: Path, edits: list[dict[str, Any]], expected: list[dict[str, Any]]
) -> dict[str, Any]:
    """The edits through a fresh server on SQLite: the first request (which loads the
    project), then server and round-trip milliseconds per edit kind."""
    url = f"sqlite:///{folder / 'siting.db'}"
    project_id = prepare_database(url, scenario, 1)
    with running_server(folder / "data", url) as server:
        planner = log_in(server, _email(0))
        started = time.perf_counter()
        first = planner.what_if(project_id, {})
        first_s = time.perf_counter() - started
        answers = [planner.what_if(project_id, edit) for edit in edits]
    server_ms: dict[str, list[float]] = {kind: [] for kind in EDIT_KINDS}
    round_trip: dict[str, list[float]] = {kind: [] for kind in EDIT_KINDS}
    for number, (_, took, on_server, _) in enumerate(planner.timings[-len(edits) :]):
        kind = EDIT_KINDS[number % len(EDIT_KINDS)]
        round_trip[kind].append(took)
        server_ms[kind].append(on_server if on_server is not None else float("nan"))
    errors = sum(a.status_code != 200 for a in [first, *answers])
    match = errors == 0 and all(
        a.json()["plan"] == e for a, e in zip(answers, expected, strict=True)
    )
    return {
        "first_request_s": round(first_s, 3),
        "http_server_ms": _by_kind(server_ms),
        "http_round_trip_ms": _by_kind(round_trip),
        "errors": errors,
        "figures_match_in_process": match,
        "response_kb": round(len(answers[-1].content) / 1024, 1) if answers else None,
    }


def _by_kind(values: dict[str, list[float]]) -> dict[str, Any]:
    every = [v for kind in EDIT_KINDS for v in values[kind]]
    return {"all": _percentiles(every), **{kind: _percentiles(values[kind]) for kind in EDIT_KINDS}}


def _median(values: Iterator[float] | Sequence[float]) -> float:
    return round(statistics.median(list(values)), 3)


def _median_of(repeats: list[dict[str, Any]], key: str) -> dict[str, dict[str, float]]:
    """Per edit kind, the median over repeats of each percentile."""
    kinds = repeats[0][key]
    return {
        kind: {stat: _median(r[key][kind][stat] for r in repeats) for stat in ("p50", "p95")}
        for kind in kinds
    }


# --- 2. a new point on a county-sized road graph ------------------------------------------

#: the parts of one `point_minutes` call timed apart (module, function)
_STAGES = (
    ("siting.travel.odmatrix", "_snap"),
    ("siting.travel.odmatrix", "_choose_engine"),
    ("siting.travel.blocks", "run_blocks"),
    ("siting.travel.blocks", "assemble"),
)


def measure_point(args: argparse.Namespace) -> dict[str, Any]:
    """`WhatIf.point_minutes` for new random points on the tiled county graph."""
    from siting.service.whatif import NewPoint, WhatIf

    pbf, graph_info = _county_graph(args.target_nodes)
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as scratch:
        scenario, nodes = _write_graph_inputs(Path(scratch), pbf, args.graph_points)
        started = time.perf_counter()
        whatif = WhatIf.load(scenario)
        load_s = time.perf_counter() - started
    rng = np.random.default_rng(SEED)
    picked = rng.choice(nodes[0].size, args.new_points, replace=False)
    jitter = rng.uniform(-0.002, 0.002, (2, args.new_points))  # up to ~200 m off the road
    lon, lat = nodes[0][picked] + jitter[0], nodes[1][picked] + jitter[1]
    points = [NewPoint(f"p{i}", float(lon[i]), float(lat[i])) for i in range(lon.size)]
    times_s, rest_s = [], []
    stages: dict[str, list[float]] = {f"{m.rsplit('.', 1)[1]}.{f}": [] for m, f in _STAGES}
    for point in points:
        before = sum(sum(v) for v in stages.values())
        with _stage_timers(stages):
            started = time.perf_counter()
            column = whatif.point_minutes(point)
            times_s.append(time.perf_counter() - started)
        rest_s.append(times_s[-1] - (sum(sum(v) for v in stages.values()) - before))
    reached = float(np.isfinite(column).mean())
    return {
        "graph": graph_info,
        "demand_points": len(whatif.demand),
        "sites": len(whatif.sites),
        "max_minutes": whatif.scenario.travel.max_minutes,
        "what_if_load_s": round(load_s, 2),
        "new_points": len(points),
        "point_minutes_s": _percentiles(times_s),
        "point_minutes_s_each": [round(t, 3) for t in times_s],
        # per call (snapping runs twice a point: the demand, then the new point)
        "stages_s_median": {k: _median(v) for k, v in stages.items() if v},
        "stages_s_total_per_point": {k: round(sum(v) / len(points), 3) for k, v in stages.items()},
        "other_s_per_point_median": _median(rest_s),
        "stage_calls_per_point": {k: len(v) / len(points) for k, v in stages.items()},
        "share_of_demand_reached_last_point": round(reached, 3),
        "baseline_scipy_dijkstra_s": _scipy_baseline(whatif, points),
    }


def _county_graph(target_nodes: int) -> tuple[Path, dict[str, Any]]:
    """pyrosm's real test extract tiled to about `target_nodes` nodes (cached)."""
    import pyrosm
    import tiled_extract

    source = Path(pyrosm.__file__).parent / "data" / "test.osm.pbf"
    tiles = tiled_extract.grid_for_target_nodes(source, target_nodes=target_nodes)
    pbf = tiled_extract.make_tiled_extract(source, tiles_x=tiles[0], tiles_y=tiles[1])
    return pbf, {"tiles": list(tiles), "extract": pbf.name, "target_nodes": target_nodes}


def _write_graph_inputs(
    folder: Path, pbf: Path, n_points: int
) -> tuple[Path, tuple[np.ndarray, np.ndarray]]:
    """Demand at `n_points` seeded nodes (jittered) and 60 sites (15 open today) on the
    graph; returns the scenario and every node's coordinates."""
    from siting.scenario.config import load_scenario
    from siting.scenario.pipeline import TravelModel

    scenario = folder / "county.toml"
    population = (f'{{ path = "{folder / "demand.csv"}", id_column = "id", crs = "EPSG:4326" }}'
                  '\ngroup_column = "area"')  # fmt: skip
    text = SCENARIO.format(network=f'"{pbf}"', population=population,
                           sites=folder / "sites.csv", region="", max_minutes=60)  # fmt: skip
    scenario.write_text(text, encoding="utf-8")
    _write_table(folder / "demand.csv", ["id", "population", "lon", "lat", "area"], [])
    _write_table(folder / "sites.csv", ["site_id", "name", "lon", "lat", "status"], [])
    started = time.perf_counter()
    # the network as the what-if load reads it (the same options, so the same cache entry)
    arrays = TravelModel(load_scenario(scenario)).network.arrays  # type: ignore[union-attr]
    logger.info("county graph: %d nodes in %.1f s", arrays.lon.size, time.perf_counter() - started)
    lon, lat = np.asarray(arrays.lon), np.asarray(arrays.lat)
    rng = np.random.default_rng(SEED)
    chosen = rng.choice(lon.size, n_points + 60, replace=False)
    jitter = rng.uniform(-0.001, 0.001, (2, n_points))  # up to ~110 m: cells off the road
    people = rng.integers(1, 200, n_points)
    demand, sites = chosen[:n_points], chosen[n_points:]
    _write_table(folder / "demand.csv", ["id", "population", "lon", "lat", "area"], [
        [f"d{i}", people[i], f"{lon[n] + jitter[0, i]:.6f}", f"{lat[n] + jitter[1, i]:.6f}",
         f"A{i % 15}"] for i, n in enumerate(demand)
    ])  # fmt: skip
    _write_table(folder / "sites.csv", ["site_id", "name", "lon", "lat", "status"], [
        [f"s{j}", f"Site {j}", f"{lon[n]:.6f}", f"{lat[n]:.6f}",
         "may_close" if j < 15 else "candidate"] for j, n in enumerate(sites)
    ])  # fmt: skip
    return scenario, (lon, lat)


def _write_table(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)


@contextlib.contextmanager
def _stage_timers(stages: dict[str, list[float]]) -> Iterator[None]:
    """Time the functions of `_STAGES` while the block runs (wrapped, then restored)."""
    import importlib

    saved = []
    for module_name, name in _STAGES:
        module = importlib.import_module(module_name)
        original = getattr(module, name)
        key = f"{module_name.rsplit('.', 1)[1]}.{name}"

        def timed(*a: Any, _original: Any = original, _key: str = key, **k: Any) -> Any:
            started = time.perf_counter()
            try:
                return _original(*a, **k)
            finally:
                stages[_key].append(time.perf_counter() - started)

        setattr(module, name, timed)
        saved.append((module, name, original))
    try:
        yield
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


def _scipy_baseline(whatif: Any, points: list[Any]) -> dict[str, Any]:
    """One-to-all Dijkstra (scipy) from each new point's nearest node on the reversed graph,
    cut off as the matrix is: the plain way to get one column, snapping not counted."""
    from scipy.sparse import csgraph

    network = whatif.model.network
    arrays = network.arrays
    backward = arrays.backward_csr
    limit = 60.0 * whatif.scenario.travel.max_minutes
    snapped = network.node_index.snap(
        np.array([p.lon for p in points]), np.array([p.lat for p in points]), crs="EPSG:4326"
    )
    sources = arrays.positions(snapped.node)
    times = []
    for source in sources:
        started = time.perf_counter()
        csgraph.dijkstra(backward, indices=int(source), limit=limit)
        times.append(time.perf_counter() - started)
    return _percentiles(times)


# --- 3. bounded load test ----------------------------------------------------------------


class Budget:
    """Requests may go on while both the time and the count last (shared by all planners)."""

    def __init__(self, duration_s: float, max_requests: int) -> None:
        self.deadline = time.monotonic() + duration_s
        self.left = max_requests
        self._lock = threading.Lock()

    def take(self) -> bool:
        """One more request, if the budget allows it."""
        with self._lock:
            if self.left <= 0 or time.monotonic() >= self.deadline:
                return False
            self.left -= 1
            return True


def measure_load(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    """`--planners` planners at once on SQLite or PostgreSQL, bounded by time and count."""
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as scratch:
        folder = Path(scratch)
        scenario, _ = write_dalarna_inputs(folder, args.max_minutes)
        if backend == "sqlite":
            return _load_test(folder, f"sqlite:///{folder / 'siting.db'}", scenario, args)
        from pg_cluster import postgres_url  # type: ignore[import-not-found]

        with postgres_url() as url:
            if url is None:
                return {"skipped": "no PostgreSQL server installed (apt-get install postgresql)"}
            return _load_test(folder, url, scenario, args)


def _load_test(folder: Path, url: str, scenario: Path, args: argparse.Namespace) -> dict[str, Any]:
    project_id = prepare_database(url, scenario, args.planners + 1)
    with running_server(folder / "data", url) as server:
        warm = log_in(server, _email(args.planners))
        started = time.perf_counter()
        warm.what_if(project_id, {})  # the project loads once, before the planners come
        warm_s = time.perf_counter() - started
        cpu_before, load_before = server.cpu_s(), _load_average()
        budget = Budget(args.duration_s, args.max_requests)
        planners: list[Planner] = []
        failures: list[str] = []
        threads = [
            threading.Thread(target=_plan, args=(server, n, project_id, budget, args, planners,
                                                 failures), daemon=True)
            for n in range(args.planners)
        ]  # fmt: skip
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.duration_s + 300)
        wall_s = time.perf_counter() - started
        cpu_s = server.cpu_s() - cpu_before
    return _load_report(planners, failures, wall_s, cpu_s, warm_s, load_before, args)


def _plan(
    server: Server,
    number: int,
    project_id: int,
    budget: Budget,
    args: argparse.Namespace,
    planners: list[Planner],
    failures: list[str],
) -> None:
    """One planner: log in, open the map, then edit (sometimes saving a plan) while the
    budget lasts."""
    try:
        planner = log_in(server, _email(number))
        planners.append(planner)
        answer = planner.request("map", "GET", f"/api/projects/{project_id}/map")
        project = _project_from_map(answer.json())
        rng = np.random.default_rng(SEED + number)
        sent = 0
        while budget.take():
            if args.think_s:  # a planner looks at the map between clicks
                time.sleep(float(rng.uniform(0, 2 * args.think_s)))
            edit = random_edits(project, rng, EDIT_KINDS[sent % len(EDIT_KINDS)])
            sent += 1
            if args.save_every and sent % args.save_every == 0:
                planner.request(
                    "save", "POST", f"/api/projects/{project_id}/plans",
                    json={"name": f"plan {number}-{sent}", "edits": edit},
                    headers={"X-CSRF-Token": planner.csrf},
                )  # fmt: skip
            else:
                planner.what_if(project_id, edit)
    except Exception as error:  # counted as an error of the run, with its text
        failures.append(f"planner {number}: {type(error).__name__}: {error}")


def _project_from_map(data: dict[str, Any]) -> Project:
    today = tuple(data["today"])
    candidates = tuple(s["id"] for s in data["sites"] if s["id"] not in set(today))
    demand = data["demand"]
    return Project(today, candidates, np.asarray(demand["lon"]), np.asarray(demand["lat"]))


def _load_report(
    planners: list[Planner],
    failures: list[str],
    wall_s: float,
    cpu_s: float,
    warm_s: float,
    load_before: list[float],
    args: argparse.Namespace,
) -> dict[str, Any]:
    timings = [t for planner in planners for t in planner.timings]
    errors = [t for t in timings if t[3] >= 400]
    by_kind: dict[str, Any] = {}
    for kind in sorted({t[0] for t in timings}):
        chosen = [t for t in timings if t[0] == kind]
        by_kind[kind] = {
            "round_trip_ms": _percentiles([t[1] for t in chosen]),
            "server_ms": _percentiles([t[2] for t in chosen if t[2] is not None]),
        }
    return {
        "planners": args.planners,
        "think_s_mean": args.think_s,
        "bounds": {"duration_s": args.duration_s, "max_requests": args.max_requests},
        "wall_s": round(wall_s, 2),
        "requests": len(timings),
        "requests_per_s": round(len(timings) / wall_s, 1) if wall_s else None,
        "errors": len(errors) + len(failures),
        "error_statuses": sorted({t[3] for t in errors}),
        "failures": failures[:5],
        "round_trip_ms": _percentiles([t[1] for t in timings]),
        "by_kind": by_kind,
        "project_load_s": round(warm_s, 3),
        "server_cpu_s": round(cpu_s, 2),
        "server_cpu_ms_per_request": round(1000 * cpu_s / len(timings), 2) if timings else None,
        "load_average_before": load_before,
        "load_average_after": _load_average(),
    }


# --- the report --------------------------------------------------------------------------


def measure_browser(args: argparse.Namespace) -> dict[str, Any]:
    """Page to update in headless Chromium: from a click on an office of the Dalarna map to
    the figures and the 4,004 cells redrawn (the page stamps the moment it is done)."""
    import shutil

    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        return {"skipped": "needs Debian's chromium and chromium-driver"}
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with tempfile.TemporaryDirectory(prefix="siting-bench-browser-") as name:
        folder = Path(name)
        scenario, _ = write_dalarna_inputs(folder, args.max_minutes)
        url = f"sqlite:///{folder / 'siting.db'}"
        project = prepare_database(url, scenario, 1)
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                         "--window-size=1300,900",
                         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):  # fmt: skip
            options.add_argument(argument)
        with running_server(folder / "data", url) as server:
            driver = webdriver.Chrome(service=Service(driver_path), options=options)
            try:
                return _page_to_update(driver, server.url, project, args.clicks, By, WebDriverWait)
            finally:
                driver.quit()


def _page_to_update(
    driver: Any, url: str, project: int, clicks: int, by: Any, wait_for: Any
) -> dict[str, Any]:
    wait = wait_for(driver, 120)
    driver.get(url + "/login")
    driver.find_element(by.ID, "email").send_keys(_email(0))
    driver.find_element(by.ID, "password").send_keys(PASSWORD)
    driver.find_element(by.ID, "login").click()
    started = time.perf_counter()
    driver.get(f"{url}/projects/{project}")
    wait.until(lambda d: d.find_elements(by.CSS_SELECTOR, "#figures td[data-key]"))
    first_s = time.perf_counter() - started
    offices = [m for m in driver.find_elements(by.CSS_SELECTOR, "path.leaflet-interactive")
               if m.get_attribute("fill") == "#1d3557"]  # fmt: skip
    times_ms = []
    for click in range(clicks):
        marker = offices[click % len(offices)]  # closes it, the next round opens it again
        stamp = driver.find_element(by.ID, "figures").get_attribute("data-updated")
        # dispatched in the page: markers overlap at this zoom, so a pointer could hit another
        before = driver.execute_script(
            "const t = Date.now(); arguments[0].dispatchEvent(new MouseEvent('click', "
            "{bubbles: true, cancelable: true, view: window})); return t;",
            marker,
        )
        wait.until(lambda d, s=stamp: d.find_element(by.ID, "figures").get_attribute(
            "data-updated") != s)  # fmt: skip
        done = int(driver.find_element(by.ID, "figures").get_attribute("data-updated"))
        times_ms.append(float(done - before))
    return {
        "offices_clicked": len(offices),
        "clicks": clicks,
        "first_load_s": round(first_s, 2),
        "page_to_update_ms": _percentiles(times_ms),
        "goal_ms": 300,
    }


def _goals(report: dict[str, Any]) -> dict[str, Any]:
    edits = report.get("edits", {})
    point = report.get("point", {})
    p95 = edits.get("http_server_ms_median", {}).get("all", {}).get("p95")
    point_p95 = point.get("point_minutes_s", {}).get("p95")
    loads = [report[k] for k in ("load-sqlite", "load-postgresql") if k in report]
    ran = [x for x in loads if "skipped" not in x]
    return {
        "edit_server_p95_ms": p95,
        "edit_server_p95_at_most_100_ms": None if p95 is None else p95 <= GOALS["edit_p95_ms"],
        "new_point_p95_s": point_p95,
        "new_point_p95_at_most_1_s": None if point_p95 is None else point_p95 <= 1.0,
        "load_tests_without_errors": all(x["errors"] == 0 for x in ran) if ran else None,
        "page_to_update_p95_ms": report.get("browser", {}).get("page_to_update_ms", {}).get("p95"),
    }


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="edit-latency repeats")
    parser.add_argument("--edits", type=int, default=200, help="random edits per repeat")
    parser.add_argument("--max-minutes", type=float, default=90.0, help="matrix cut-off")
    parser.add_argument("--target-nodes", type=int, default=330_000)
    parser.add_argument("--graph-points", type=int, default=4_000)
    parser.add_argument("--new-points", type=int, default=30)
    parser.add_argument("--planners", type=int, default=20)
    parser.add_argument("--duration-s", type=float, default=60.0)
    parser.add_argument("--max-requests", type=int, default=4_000, help="in all, per backend")
    parser.add_argument("--save-every", type=int, default=10, help="0: never save a plan")
    parser.add_argument(
        "--think-s", type=float, default=1.0, help="mean pause between a planner's clicks"
    )
    parser.add_argument("--clicks", type=int, default=40, help="browser: offices clicked")
    parser.add_argument("--skip", nargs="*", default=[], choices=PARTS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its JSON."""
    args = _parse_args(argv)
    if args.serve:
        _serve(args.data_dir, args.database_url, args.port)
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    for noisy in ("siting", "httpx", "httpx2", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    report: dict[str, Any] = {
        "benchmark": "planning service: what-if edits, new points, load (issue 15)",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            # the machine is shared: other work inflates every figure alike
            "load_average_1_5_15_min_at_start": _load_average(),
        },
    }
    parts: dict[str, Callable[[], dict[str, Any]]] = {
        "edits": lambda: measure_edits(args),
        "point": lambda: measure_point(args),
        "load-sqlite": lambda: measure_load("sqlite", args),
        "load-postgresql": lambda: measure_load("postgresql", args),
        "browser": lambda: measure_browser(args),
    }
    for name, measure in parts.items():
        if name in args.skip:
            continue
        logger.info("measuring %s", name)
        started = time.perf_counter()
        report[name] = {**measure(), "part_s": round(time.perf_counter() - started, 1)}
        report[name]["load_average_at_end"] = _load_average()
    report["machine"]["load_average_1_5_15_min_at_end"] = _load_average()
    report["goals"] = _goals(report)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
