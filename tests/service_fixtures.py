"""Fixtures of the service tests: a database on SQLite and on PostgreSQL, an app, users."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pg_cluster import postgres_url

from siting.service.accounts import add_user
from siting.service.app import create_app
from siting.service.database import Database, open_database
from siting.service.settings import ServiceSettings

PASSWORD = "a long enough password"
_numbers = itertools.count()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str | None]:
    """One PostgreSQL cluster for the whole run (None where no server is installed)."""
    with postgres_url() as url:
        if url is None and os.environ.get("CI"):
            raise RuntimeError("CI must install postgresql for the service tests (.ci/run)")
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_server: str | None
) -> Iterator[Database]:
    """A new, migrated database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'siting.db'}"
    else:
        if postgres_server is None:
            pytest.skip("no PostgreSQL server installed (apt-get install postgresql)")
        url = new_postgres_database(postgres_server)
    database = open_database(url)
    yield database
    database.dispose()


def new_postgres_database(server_url: str) -> str:
    """The URL of a new, empty database on the test cluster."""
    name = f"test_{os.getpid()}_{next(_numbers)}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return re.sub(r"/[^/]+$", f"/{name}", server_url)


@pytest.fixture
def settings(tmp_path: Path) -> ServiceSettings:
    """A data folder of its own."""
    return ServiceSettings(data_dir=tmp_path / "data")


@pytest.fixture
def client(settings: ServiceSettings, database: Database) -> Iterator[TestClient]:
    """The app over the test database, no in-process worker (tests run jobs themselves)."""
    with TestClient(create_app(settings, database=database)) as test_client:
        yield test_client


def make_user(database: Database, org: str, email: str) -> None:
    """A user of `org` with `PASSWORD`."""
    with database.session() as session:
        add_user(session, org_slug=org, email=email, password=PASSWORD)


def log_in(client: TestClient, email: str, password: str = PASSWORD) -> int:
    """Log in through the form as a browser does; returns the response's status."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    return response.status_code


def csrf_of(client: TestClient, path: str = "/") -> str:
    """The CSRF token a logged-in page carries."""
    page = client.get(path)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert token is not None, page.text[:300]
    return token.group(1)
