"""Projects from uploaded files: checked as `siting run` checks them, refused whole when too
large, of the wrong kind or malformed, stored by hash whatever name they came with."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from scenario_files import DEMAND_CSV, SITES_CSV
from service_fixtures import client, csrf_of, database, log_in, make_user, postgres_server

import siting
from siting.service.app import create_app
from siting.service.database import Database
from siting.service.settings import ServiceSettings

__all__ = ["client", "database", "postgres_server"]  # fixtures used by name

FIELDS = {"name": "Jämtland", "population_id_column": "id", "population_crs": "EPSG:4326",
          "sites_crs": "EPSG:4326"}  # fmt: skip


@pytest.fixture
def settings(tmp_path: Path) -> ServiceSettings:
    """A small upload limit, so that 'too large' is cheap to reach."""
    return ServiceSettings(data_dir=tmp_path / "data", max_upload_bytes=4096)


@pytest.fixture
def planner(client: TestClient, database: Database) -> TestClient:
    """A logged-in planner."""
    make_user(database, "jamtland", "planner@jamtland.example")
    assert log_in(client, "planner@jamtland.example") == 303
    return client


def _upload(client: TestClient, files: dict[str, tuple[str, bytes]]) -> tuple[int, dict]:
    response = client.post(
        "/api/projects/upload", data=FIELDS, headers={"X-CSRF-Token": csrf_of(client)},
        files={field: (name, body, "application/octet-stream")
               for field, (name, body) in files.items()},
    )  # fmt: skip
    return response.status_code, response.json()


def _leftovers(settings: ServiceSettings) -> list[str]:
    folders = (settings.uploads_dir, settings.data_dir / "projects")
    return sorted(p.name for f in folders if f.exists() for p in f.rglob("*") if p.is_file())


def test_an_uploaded_project_answers_what_ifs(planner: TestClient) -> None:
    """Population and offices uploaded as CSV become a project whose map and what-if work:
    closing the one office leaves its 100 + 50 + 30 + 20 people unreached within 15 min."""
    status, project = _upload(
        planner, {"population": ("cells.csv", DEMAND_CSV.encode()),
                  "sites": ("sites.csv", SITES_CSV.encode())},
    )  # fmt: skip
    assert status == 201, project
    data = planner.get(f"/api/projects/{project['id']}/map").json()
    assert data["today"] == ["office-a"]
    assert sum(data["demand"]["population"]) == 200
    answer = planner.post(f"/api/projects/{project['id']}/whatif", json={"closed": ["office-a"]},
                          headers={"X-CSRF-Token": csrf_of(planner)}).json()  # fmt: skip
    assert answer["plan"]["unreached"] == 200
    # today: each cell's time to office A by the default straight-line model
    cells = pd.read_csv(io.StringIO(DEMAND_CSV))
    od = siting.travel_times(
        None, (cells["id"], cells["lon"], cells["lat"]), (["office-a"], [15.0], [63.0])
    )
    minutes = od.to_dense()[:, 0]
    assert answer["today"]["within_15_min"] == cells["population"][minutes <= 15].sum()
    assert answer["today"]["within_30_min"] == cells["population"][minutes <= 30].sum()


def test_too_large_uploads_are_refused_and_leave_nothing(
    planner: TestClient, settings: ServiceSettings
) -> None:
    """An upload over the limit is 413 and no file or project stays behind."""
    big = DEMAND_CSV.encode() + b"".join(f"x{i},1,15.0,63.0,2380,X\n".encode() for i in range(400))
    status, body = _upload(
        planner, {"population": ("cells.csv", big), "sites": ("sites.csv", SITES_CSV.encode())}
    )
    assert status == 413
    assert "larger than 4,096 bytes" in body["detail"]
    assert _leftovers(settings) == []
    assert planner.get("/api/projects").json() == []


def test_content_decides_the_kind_not_the_name(
    planner: TestClient, settings: ServiceSettings
) -> None:
    """A PNG named .csv is refused by its content, naming the field and the file."""
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    status, body = _upload(
        planner, {"population": ("cells.csv", png), "sites": ("sites.csv", SITES_CSV.encode())}
    )
    assert status == 422
    expected = "population: cells.csv is not .csv or .gpkg or .geojson (judged by its content)"
    assert body["detail"] == expected
    assert _leftovers(settings) == []


def test_malformed_tables_get_the_cli_message_with_the_uploaded_name(
    planner: TestClient, settings: ServiceSettings
) -> None:
    """A population without its id column: the loader's message, naming the uploaded file
    (not a server path), and nothing kept."""
    status, body = _upload(
        planner, {"population": ("befolkning.csv", b"name,population\nA,10\n"),
                  "sites": ("sites.csv", SITES_CSV.encode())},
    )  # fmt: skip
    assert status == 422
    assert "befolkning.csv" in body["detail"]
    assert "id" in body["detail"]
    assert str(settings.data_dir) not in body["detail"]
    assert _leftovers(settings) == []


def test_names_never_become_paths(planner: TestClient, settings: ServiceSettings) -> None:
    """A file named with '../' is stored under its hash inside the uploads folder."""
    status, project = _upload(
        planner, {"population": ("../../../etc/cron.d/evil.csv", DEMAND_CSV.encode()),
                  "sites": ("..\\..\\sites.csv", SITES_CSV.encode())},
    )  # fmt: skip
    assert status == 201, project
    stored = sorted(p.name for p in settings.uploads_dir.iterdir())
    assert len(stored) == 2
    assert all(len(name.split(".")[0]) == 64 and name.endswith(".csv") for name in stored)
    assert not (settings.data_dir.parent / "etc").exists()


def test_the_upload_form_shows_the_message_on_the_page(planner: TestClient) -> None:
    """The page's form shows what went wrong, escaped, and keeps the planner on the page."""
    response = planner.post(
        "/projects/upload",
        data={**FIELDS, "csrf_token": csrf_of(planner)},
        files={"population": ("<b>x</b>.csv", b"\x00\x01", "text/csv"),
               "sites": ("sites.csv", SITES_CSV.encode(), "text/csv")},
    )  # fmt: skip
    assert response.status_code == 422
    assert 'role="alert"' in response.text
    assert "<b>x</b>" not in response.text


def test_uploads_need_the_csrf_token(planner: TestClient) -> None:
    """An upload posted without the page's token is refused."""
    response = planner.post(
        "/api/projects/upload", data=FIELDS,
        files={"population": ("c.csv", DEMAND_CSV.encode()), "sites": ("s.csv", b"a,b\n")},
    )  # fmt: skip
    assert response.status_code == 403


def test_create_app_makes_its_folders(tmp_path: Path, database: Database) -> None:
    """A new data folder gets its runs and uploads folders at start."""
    settings = ServiceSettings(data_dir=tmp_path / "fresh")
    create_app(settings, database=database)
    assert settings.runs_dir.is_dir()
    assert settings.uploads_dir.is_dir()
