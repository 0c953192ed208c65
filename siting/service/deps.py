"""What route handlers share from the application's state: a database session per request,
loaded what-if projects, run folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request
from sqlalchemy.orm import Session

from siting.service.database import Database
from siting.service.settings import ServiceSettings
from siting.service.whatif import WhatIf, WhatIfCache
from siting.service.worker import job_folder


def database_session(request: Request) -> Iterator[Session]:
    """One unit of work per request, committed when the handler returns. Routes take it with
    ``scope="function"``: the commit comes before the response, so a client that is told
    "created" finds the row at its next request."""
    database: Database = request.app.state.database
    with database.session() as session:
        yield session


#: a route's session, committed before the response is sent (FastAPI's default ends it
#: after): a browser that follows a redirect at once sees what the request wrote, and a
#: failed commit is no 2xx
DbSession = Annotated[Session, Depends(database_session, scope="function")]


def loaded(request: Request, scenario_path: str) -> WhatIf:
    """The project's inputs and matrix, kept in memory after the first use."""
    cache: WhatIfCache = request.app.state.whatifs
    return cache.get(scenario_path)


def run_folder(request: Request, job_id: int) -> Path:
    """The run folder of job `job_id` (the caller checked the job through `Tenancy`)."""
    settings: ServiceSettings = request.app.state.settings
    return job_folder(settings, job_id)


#: the text fields an upload form may carry beside its files
UploadFields = dict[str, str]
_UPLOAD_FIELDS = (
    "name", "population_id_column", "population_population_column", "population_crs",
    "sites_id_column", "sites_name_column", "sites_status_column", "sites_crs",
)  # fmt: skip


def upload_fields(
    name: Annotated[str, Form()] = "",
    population_id_column: Annotated[str, Form()] = "",
    population_population_column: Annotated[str, Form()] = "",
    population_crs: Annotated[str, Form()] = "",
    sites_id_column: Annotated[str, Form()] = "",
    sites_name_column: Annotated[str, Form()] = "",
    sites_status_column: Annotated[str, Form()] = "",
    sites_crs: Annotated[str, Form()] = "",
) -> UploadFields:
    """The upload form's text fields (empty ones left out)."""
    values = dict(zip(_UPLOAD_FIELDS, (
        name, population_id_column, population_population_column, population_crs,
        sites_id_column, sites_name_column, sites_status_column, sites_crs,
    ), strict=True))  # fmt: skip
    return {k: v.strip()[:200] for k, v in values.items() if v.strip()}


def check_upload_size(request: Request) -> None:
    """413 before the files are read when the request says it is too large (three files at
    the limit each, plus the form)."""
    settings: ServiceSettings = request.app.state.settings
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > 3 * settings.max_upload_bytes + 65536:
        raise HTTPException(413, f"uploads are limited to {settings.max_upload_bytes:,} bytes")
