"""The web service over its routes (ASGI test client), on SQLite and on PostgreSQL: accounts,
organisations kept apart, CSRF, what-if figures, queued runs, publishing, the API."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from service_fixtures import (
    PASSWORD,
    client,
    csrf_of,
    database,
    log_in,
    make_user,
    postgres_server,
    settings,
)
from starlette.types import Message, Receive, Scope, Send

import siting
from siting.scenario.config import load_scenario
from siting.scenario.pipeline import load_inputs
from siting.service.app import create_app
from siting.service.database import Database
from siting.service.models import Base, LoginSession, Plan
from siting.service.settings import LOGIN_ATTEMPTS, ServiceSettings
from siting.service.worker import Worker

__all__ = ["client", "database", "postgres_server", "settings"]  # fixtures used by name

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _project(client: TestClient, scenario: str = "karlstad", name: str | None = None) -> int:
    token = csrf_of(client)
    response = client.post(
        "/api/projects", json={"scenario": scenario, "name": name}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@pytest.fixture
def alice(client: TestClient, database: Database) -> TestClient:
    """Alice of Karlstad, logged in."""
    make_user(database, "karlstad", "alice@karlstad.example")
    assert log_in(client, "alice@karlstad.example") == 303
    return client


def test_migrations_make_the_models_schema(database: Database) -> None:
    """The Alembic migrations build exactly the tables the models describe."""
    with database.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_login_sets_a_fresh_http_only_cookie(client: TestClient, database: Database) -> None:
    """Login: a wrong password is 401; the right one a new HttpOnly, SameSite=Lax session,
    and a session token planted before login is worthless after it."""
    make_user(database, "org", "bo@example.org")
    client.cookies.set("siting_session", "planted-by-an-attacker")
    assert log_in(client, "bo@example.org", "wrong password!") == 401
    page = client.get("/login")
    token = page.cookies.get("siting_login_csrf") or client.cookies.get("siting_login_csrf")
    response = client.post(
        "/login",
        data={"email": "bo@example.org", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "siting_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "planted-by-an-attacker" not in cookie
    assert client.get("/", follow_redirects=False).status_code == 200
    client.cookies.clear()
    client.cookies.set("siting_session", "planted-by-an-attacker")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_logout_ends_the_session_on_the_server(alice: TestClient) -> None:
    """After logout the old cookie no longer opens anything."""
    old = alice.cookies.get("siting_session")
    token = csrf_of(alice)
    assert alice.post("/logout", data={"csrf_token": token}).status_code == 200
    alice.cookies.clear()
    alice.cookies.set("siting_session", str(old))
    assert alice.get("/api/projects").status_code == 401


def test_writes_are_committed_before_the_response_is_sent(
    settings: ServiceSettings, database: Database
) -> None:
    """A login session and a saved plan are in the database when their response starts: a
    browser that follows the login redirect at once (uvicorn answers before a dependency's
    clean-up otherwise) finds its session, and a failed commit cannot follow a 2xx."""
    make_user(database, "karlstad", "ed@karlstad.example")
    app = create_app(settings, database=database)
    rows_at_response: list[tuple[str, int]] = []

    async def checked(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_checked(message: Message) -> None:
            if message["type"] == "http.response.start" and scope["method"] == "POST":
                table = {"/login": LoginSession}.get(scope["path"], Plan)
                with database.session() as session:
                    count = session.scalar(sa.select(sa.func.count()).select_from(table))
                rows_at_response.append((scope["path"], int(count or 0)))
            await send(message)

        await app(scope, receive, send_checked)

    with TestClient(checked) as client:
        assert log_in(client, "ed@karlstad.example") == 303
        project = _project(client)
        saved = client.post(f"/api/projects/{project}/plans", json={"name": "p", "edits": {}},
                            headers={"X-CSRF-Token": csrf_of(client)})  # fmt: skip
        assert saved.status_code == 201
    assert rows_at_response[0] == ("/login", 1)
    assert rows_at_response[-1] == (f"/api/projects/{project}/plans", 1)


def test_login_is_rate_limited(client: TestClient, database: Database) -> None:
    """After repeated failures even the right password is refused for a while (429)."""
    make_user(database, "org", "cy@example.org")
    for _ in range(LOGIN_ATTEMPTS):
        assert log_in(client, "cy@example.org", "guess guess guess") == 401
    assert log_in(client, "cy@example.org") == 429


def test_login_form_needs_its_csrf_token(client: TestClient, database: Database) -> None:
    """A login posted from elsewhere (no token from the form) is refused."""
    make_user(database, "org", "di@example.org")
    response = client.post(
        "/login", data={"email": "di@example.org", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 403


def test_state_changes_need_the_csrf_token(alice: TestClient) -> None:
    """A browser's POST without, or with a wrong, CSRF token is refused with 403."""
    project = _project(alice)
    url = f"/api/projects/{project}/whatif"
    assert alice.post(url, json={}).status_code == 403
    assert alice.post(url, json={}, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    token = csrf_of(alice)
    assert alice.post(url, json={}, headers={"X-CSRF-Token": token}).status_code == 200


def test_anonymous_callers_get_401_from_the_api(client: TestClient) -> None:
    """Every /api/ route asks anonymous callers to authenticate; pages send them to login."""
    for method, path in [
        ("GET", "/api/projects"), ("POST", "/api/projects"), ("GET", "/api/projects/1"),
        ("GET", "/api/projects/1/map"), ("POST", "/api/projects/1/whatif"),
        ("POST", "/api/projects/1/plans"), ("POST", "/api/plans/1/publish"),
        ("DELETE", "/api/plans/1/publish"), ("POST", "/api/projects/1/runs"),
        ("GET", "/api/runs/1"), ("POST", "/api/runs/1/cancel"),
        ("GET", "/api/runs/1/files/summary.json"), ("GET", "/api/runs/1/scenario.toml"),
        ("POST", "/api/tokens"), ("POST", "/api/projects/upload"),
        ("GET", "/api/projects/1/compare?plans=1"), ("GET", "/api/plans/1/scenario.zip"),
        ("GET", "/api/scenarios"),
    ]:  # fmt: skip
        assert client.request(method, path, json={}).status_code == 401, path
    assert client.get("/projects/1", follow_redirects=False).headers["location"] == "/login"


def test_other_organisations_ids_are_not_found(
    client: TestClient, database: Database, settings: ServiceSettings
) -> None:
    """A user never sees, edits or runs another organisation's project, plan or run: 404."""
    make_user(database, "karlstad", "alice@karlstad.example")
    make_user(database, "huddinge", "eve@huddinge.example")
    log_in(client, "alice@karlstad.example")
    project = _project(client)
    token = csrf_of(client)
    headers = {"X-CSRF-Token": token}
    plan = client.post(f"/api/projects/{project}/plans", json={"name": "p", "edits": {}},
                       headers=headers).json()["id"]  # fmt: skip
    run = client.post(f"/api/projects/{project}/runs",
                      json={"kind": "closures", "n_close": 1, "max_minutes": 30},
                      headers=headers).json()["id"]  # fmt: skip
    client.cookies.clear()
    log_in(client, "eve@huddinge.example")
    headers = {"X-CSRF-Token": csrf_of(client)}
    assert client.get("/api/projects").json() == []
    for method, path in [
        ("GET", f"/api/projects/{project}"), ("GET", f"/api/projects/{project}/map"),
        ("POST", f"/api/projects/{project}/whatif"), ("POST", f"/api/projects/{project}/plans"),
        ("POST", f"/api/plans/{plan}/publish"), ("DELETE", f"/api/plans/{plan}/publish"),
        ("POST", f"/api/projects/{project}/runs"), ("GET", f"/api/runs/{run}"),
        ("POST", f"/api/runs/{run}/cancel"), ("GET", f"/api/runs/{run}/files/summary.json"),
        ("GET", f"/api/runs/{run}/scenario.toml"), ("GET", f"/projects/{project}"),
        ("GET", f"/api/projects/{project}/compare?plans={plan}"),
        ("GET", f"/projects/{project}/compare?plans={plan}"),
        ("GET", f"/api/plans/{plan}/scenario.zip"),
    ]:  # fmt: skip
        response = client.request(method, path, json={"kind": "lscp"}, headers=headers)
        assert response.status_code == 404, (method, path, response.text)


def _nearest_minutes(od: siting.ODMatrix, open_ids: list[str]) -> np.ndarray:
    dense = od.to_dense().astype(np.float64)  # inf where no pair
    columns = [list(od.destination_ids).index(s) for s in open_ids]
    return np.round(dense[:, columns].min(axis=1), 3)


def test_what_if_figures_equal_a_separate_computation(alice: TestClient) -> None:
    """Closing an office: people within 15/30 min and the mean equal numpy over the same
    straight-line matrix, and the losers are those whose nearest office was the closed one."""
    project = _project(alice)
    headers = {"X-CSRF-Token": csrf_of(alice)}
    scenario = load_scenario("data/scenarios/karlstad.toml")
    demand, sites = load_inputs(scenario)
    od = siting.travel_times(None, demand, sites, straight_line=scenario.travel.straight_line)
    today = [str(s) for s, status in zip(sites["site_id"], sites["status"], strict=True)
             if status in ("existing", "may_close")]  # fmt: skip
    closed = today[0]
    answer = alice.post(
        f"/api/projects/{project}/whatif", json={"closed": [closed]}, headers=headers
    ).json()
    before = _nearest_minutes(od, today)
    after = _nearest_minutes(od, [s for s in today if s != closed])
    people = demand["population"].to_numpy(dtype=np.float64)
    assert answer["plan"]["within_15_min"] == pytest.approx(people[after <= 15].sum())
    assert answer["plan"]["mean_minutes"] == pytest.approx((people * after).sum() / people.sum())
    losing = people[(after - before) >= 1.0].sum()
    assert answer["change"]["people_losing"] == pytest.approx(losing)
    assert losing > 0
    assert answer["minutes"] == pytest.approx(list(np.round(after, 1)))


def test_a_new_point_on_a_candidate_counts_as_opening_it(alice: TestClient) -> None:
    """An office placed at a candidate's coordinates gives that candidate's figures."""
    project = _project(alice, "solleftea")
    headers = {"X-CSRF-Token": csrf_of(alice)}
    data = alice.get(f"/api/projects/{project}/map").json()
    for candidate in (s for s in data["sites"] if s["status"] == "candidate"):
        by_id = alice.post(f"/api/projects/{project}/whatif", json={"opened": [candidate["id"]]},
                           headers=headers).json()  # fmt: skip
        if by_id["change"]["people_gaining"] > 0:
            break
    point = {"lon": candidate["lon"], "lat": candidate["lat"], "name": "här"}
    by_point = alice.post(f"/api/projects/{project}/whatif", json={"points": [point]},
                          headers=headers).json()  # fmt: skip
    assert by_point["plan"]["within_30_min"] == pytest.approx(by_id["plan"]["within_30_min"])
    assert by_point["change"]["people_gaining"] == pytest.approx(
        by_id["change"]["people_gaining"], rel=1e-3
    )
    assert by_id["change"]["people_gaining"] > 0


def test_bad_edits_are_one_clear_message(alice: TestClient) -> None:
    """Unknown ids, closing a candidate, points outside Sweden: 422 naming field and value."""
    project = _project(alice)
    headers = {"X-CSRF-Token": csrf_of(alice)}
    url = f"/api/projects/{project}/whatif"
    cases = [
        ({"closed": ["nowhere"]}, "edits.closed: no site 'nowhere'"),
        ({"points": [{"lon": 100.0, "lat": 10.0}]}, "outside Sweden"),
        ({"points": [{"lon": "a", "lat": 59}]}, "edits.points[0].lon must be a number"),
        ({"moved": []}, "unknown field 'moved'"),
    ]
    for body, message in cases:
        response = alice.post(url, json=body, headers=headers)
        assert response.status_code == 422
        assert message in response.json()["detail"]


def test_a_queued_run_writes_the_run_contract_and_its_toml_reruns_alike(
    alice: TestClient, database: Database, settings: ServiceSettings, tmp_path
) -> None:
    """A run from the page is worked by a worker into a `siting run` folder; the downloaded
    scenario file, run again with `siting run`, gives the same answer."""
    project = _project(alice)
    headers = {"X-CSRF-Token": csrf_of(alice)}
    job = alice.post(f"/api/projects/{project}/runs",
                     json={"kind": "closures", "n_close": 2, "max_minutes": 15},
                     headers=headers).json()  # fmt: skip
    assert job["status"] == "queued"
    assert Worker(database, settings).run_once()
    done = alice.get(f"/api/runs/{job['id']}").json()
    assert done["status"] == "done", done
    problem = done["summary"]["problems"][-1]
    toml = alice.get(f"/api/runs/{job['id']}/scenario.toml").text
    (tmp_path / "again.toml").write_text(toml, encoding="utf-8")
    again = siting.run_scenario(tmp_path / "again.toml", tmp_path / "again", progress=False)
    assert again.summary["problems"][-1]["closed_sites"] == problem["closed_sites"]
    assert again.summary["problems"][-1]["objective"] == problem["objective"]
    page = alice.get(f"/api/runs/{job['id']}/files/map.html")
    assert page.status_code == 200
    assert "leaflet" in page.text.lower()
    gpkg = alice.get(f"/api/runs/{job['id']}/files/accessibility.gpkg")
    assert gpkg.status_code == 200
    assert gpkg.content.startswith(b"SQLite format 3")  # a GeoPackage is an SQLite file
    assert alice.get(f"/api/runs/{job['id']}/files/..%2Fsiting.db").status_code == 404


def test_a_bad_run_is_refused_with_the_cli_message(alice: TestClient) -> None:
    """A problem `siting run` would refuse is refused when queued, with its message."""
    project = _project(alice)
    headers = {"X-CSRF-Token": csrf_of(alice)}
    response = alice.post(f"/api/projects/{project}/runs",
                          json={"kind": "mclp", "n_new": 2, "max_minutes": -5},
                          headers=headers)  # fmt: skip
    assert response.status_code == 422
    assert "max_minutes" in response.json()["detail"]


def test_cancelling_a_queued_run_stops_it_before_it_starts(
    alice: TestClient, database: Database, settings: ServiceSettings
) -> None:
    """A cancelled queued run is never picked up by a worker."""
    project = _project(alice)
    headers = {"X-CSRF-Token": csrf_of(alice)}
    job = alice.post(f"/api/projects/{project}/runs", json={"kind": "lscp", "max_minutes": 30},
                     headers=headers).json()  # fmt: skip
    assert alice.post(f"/api/runs/{job['id']}/cancel", headers=headers).json()["status"] == (
        "cancelled"
    )
    assert not Worker(database, settings).run_once()


def test_publishing_makes_a_read_only_public_page(alice: TestClient) -> None:
    """A published plan opens logged out, escapes its name and sends the security headers;
    unpublished, its address is gone."""
    project = _project(alice)
    headers = {"X-CSRF-Token": csrf_of(alice)}
    plan = alice.post(f"/api/projects/{project}/plans",
                      json={"name": XSS, "edits": {"closed": ["skare"]}},
                      headers=headers).json()  # fmt: skip
    url = alice.post(f"/api/plans/{plan['id']}/publish", headers=headers).json()["public_url"]
    assert url.startswith("/p/")
    assert len(url) > 30
    cookies = dict(alice.cookies)
    alice.cookies.clear()
    page = alice.get(url)
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    data = alice.get(url + "/data").json()
    assert data["edits"]["closed"] == ["skare"]
    assert data["evaluation"]["change"]["people_losing"] > 0
    for name, value in cookies.items():
        alice.cookies.set(name, value)
    alice.request("DELETE", f"/api/plans/{plan['id']}/publish", headers=headers)
    alice.cookies.clear()
    assert alice.get(url).status_code == 404


def test_user_text_is_escaped_in_pages(alice: TestClient) -> None:
    """A project named with a script payload shows as text on every page."""
    project = _project(alice, name=XSS)
    for path in ("/", f"/projects/{project}"):
        text = alice.get(path).text
        assert "<script>alert" not in text
        assert "<img src=x" not in text
        assert "&lt;script&gt;alert" in text


def test_api_tokens_work_without_cookies(alice: TestClient) -> None:
    """A token made in the browser lets a script use /api/ with no cookie or CSRF token."""
    project = _project(alice)
    token = alice.post("/api/tokens", json={"name": "gis"},
                       headers={"X-CSRF-Token": csrf_of(alice)}).json()["token"]  # fmt: skip
    alice.cookies.clear()
    bearer = {"Authorization": f"Bearer {token}"}
    assert [p["id"] for p in alice.get("/api/projects", headers=bearer).json()] == [project]
    answer = alice.post(f"/api/projects/{project}/whatif", json={}, headers=bearer)
    assert answer.status_code == 200
    bad = {"Authorization": "Bearer st_not-a-token"}
    assert alice.get("/api/projects", headers=bad).status_code == 401


def test_openapi_documents_the_api(client: TestClient) -> None:
    """GIS staff find every /api/ route in the OpenAPI document."""
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/api/projects/{project_id}/whatif" in paths
    assert "/api/runs/{job_id}" in paths
    assert not any(p.startswith("/login") for p in paths)


def test_same_figures_as_siting_run_for_today(alice: TestClient, tmp_path) -> None:
    """Today's figures on the page equal the `existing` problem of `siting run`."""
    project = _project(alice)
    today = alice.get(f"/api/projects/{project}/map").json()["evaluation"]["today"]
    run = siting.run_scenario("data/scenarios/karlstad.toml", tmp_path / "run", progress=False)
    existing = next(p for p in run.summary["problems"] if p["kind"] == "existing")
    total = existing["metrics"]["total"]
    for key in ("within_15_min", "within_30_min", "mean_minutes"):
        assert today[key] == pytest.approx(total[key]), key


def _saved_plan(client: TestClient, project: int, name: str, edits: dict) -> int:
    response = client.post(f"/api/projects/{project}/plans", json={"name": name, "edits": edits},
                           headers={"X-CSRF-Token": csrf_of(client)})  # fmt: skip
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_plans_compare_side_by_side_with_today(alice: TestClient) -> None:
    """Two saved plans and today in one table, in total and by municipality, with the
    what-if figures; the page shows it with names escaped."""
    project = _project(alice)
    one = _saved_plan(alice, project, XSS, {"closed": ["skare"]})
    two = _saved_plan(alice, project, "utan Molkom", {"closed": ["molkom"]})
    table = alice.get(f"/api/projects/{project}/compare", params={"plans": [one, two]}).json()
    assert table["scenarios"] == ["today", XSS, "utan Molkom"]
    totals = {r["scenario"]: r for r in table["metrics"] if r["group"] == "total"}
    evaluated = alice.post(f"/api/projects/{project}/whatif", json={"closed": ["molkom"]},
                           headers={"X-CSRF-Token": csrf_of(alice)}).json()  # fmt: skip
    assert totals["utan Molkom"]["mean_minutes"] == pytest.approx(evaluated["plan"]["mean_minutes"])
    assert totals["today"]["mean_minutes"] == pytest.approx(evaluated["today"]["mean_minutes"])
    losers = {r["scenario"]: r for r in table["changes"] if r["group"] == "total"}
    assert losers["utan Molkom"]["people_losing"] == pytest.approx(
        evaluated["change"]["people_losing"]
    )
    page = alice.get(f"/projects/{project}/compare", params={"plans": [one, two]})
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "utan Molkom" in page.text
    assert 'id="equity"' in page.text


def test_compare_gives_each_plans_equity_as_siting_run_does(
    alice: TestClient, tmp_path: Path
) -> None:
    """Today's equity and expected visitors on the compare table equal `siting run`'s
    summary of the same scenario; closing an office changes them."""
    project = _project(alice)
    plan = _saved_plan(alice, project, "utan Molkom", {"closed": ["molkom"]})
    table = alice.get(f"/api/projects/{project}/compare", params={"plans": [plan]}).json()
    today, closed = table["equity"]
    assert (today["scenario"], closed["scenario"]) == ("today", "utan Molkom")
    scenario = Path(siting.__file__).parent.parent / "data" / "scenarios" / "karlstad.toml"
    run = siting.run_scenario(scenario, tmp_path / "run", progress=False)
    existing = run.summary["problems"][0]
    assert existing["name"] == "existing"
    # the what-if rounds minutes to assignments.csv's 3 decimals; the run measures them whole
    for key in ("gini", "theil", "worst_decile_minutes", "mean_minutes"):
        assert today[key] == pytest.approx(existing["equity"]["total"][key], rel=1e-4)
    assert today["attendance"] == pytest.approx(existing["attendance"]["people"], rel=1e-4)
    assert closed["worst_decile_minutes"] >= today["worst_decile_minutes"]
    assert closed["attendance"] < today["attendance"]


def test_a_plan_downloads_as_a_scenario_siting_run_agrees_with(
    alice: TestClient, tmp_path: Path
) -> None:
    """A plan (an office closed, a candidate and a new point opened) as a zip: `siting run`
    on its plan.toml gives the what-if figures of the plan."""
    project = _project(alice, "solleftea")
    data = alice.get(f"/api/projects/{project}/map").json()
    candidate = next(s["id"] for s in data["sites"] if s["status"] == "candidate")
    point = {"name": "Ny", "lon": 17.3, "lat": 63.4}
    edits = {"closed": [data["today"][0]], "opened": [candidate], "points": [point]}
    plan = _saved_plan(alice, project, "plan", edits)
    archive = alice.get(f"/api/plans/{plan}/scenario.zip")
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as files:
        files.extractall(tmp_path)
    run = siting.run_scenario(tmp_path / "plan.toml", tmp_path / "run", progress=False)
    existing = next(p for p in run.summary["problems"] if p["kind"] == "existing")
    metrics = (
        existing["metrics"]["total"] if "total" in existing["metrics"] else existing["metrics"]
    )
    evaluated = alice.post(f"/api/projects/{project}/whatif", json=edits,
                           headers={"X-CSRF-Token": csrf_of(alice)}).json()  # fmt: skip
    for key in ("within_15_min", "within_30_min", "mean_minutes", "unreached"):
        assert metrics[key] == pytest.approx(evaluated["plan"][key], rel=1e-6), key


def test_comparing_another_projects_plan_is_not_found(alice: TestClient) -> None:
    """A plan id from another project (even of the same organisation) is 404 in a comparison."""
    first, second = _project(alice), _project(alice)
    plan = _saved_plan(alice, first, "p", {})
    response = alice.get(f"/api/projects/{second}/compare", params={"plans": [plan]})
    assert response.status_code == 404


def test_every_page_kind_queues_as_siting_run_reads_it(alice: TestClient) -> None:
    """Each problem kind the page offers is accepted with its own count field, and a field
    another kind needs is not sent along."""
    project = _project(alice)
    headers = {"X-CSRF-Token": csrf_of(alice)}
    form = {"n_new": "1", "n_close": "1", "max_n_sites": "3", "max_minutes": "15"}
    kinds = ["mclp", "p-median", "p-center", "lscp", "attendance", "closures", "closure-impact",
             "tradeoff"]  # fmt: skip
    for kind in kinds:
        response = alice.post(f"/api/projects/{project}/runs", json={**form, "kind": kind},
                              headers=headers)  # fmt: skip
        assert response.status_code == 201, (kind, response.text)
        problem = response.json()["problem"]
        assert ("n_close" in problem) == (kind == "closures")
        assert ("max_n_sites" in problem) == (kind == "tradeoff")
