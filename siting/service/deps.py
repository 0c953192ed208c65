"""What route handlers share from the application's state: a database session per request,
loaded what-if projects, run folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from fastapi import Request
from sqlalchemy.orm import Session

from siting.service.database import Database
from siting.service.settings import ServiceSettings
from siting.service.whatif import WhatIf, WhatIfCache
from siting.service.worker import job_folder


def database_session(request: Request) -> Iterator[Session]:
    """One unit of work per request, committed when the handler returns."""
    database: Database = request.app.state.database
    with database.session() as session:
        yield session


def loaded(request: Request, scenario_path: str) -> WhatIf:
    """The project's inputs and matrix, kept in memory after the first use."""
    cache: WhatIfCache = request.app.state.whatifs
    return cache.get(scenario_path)


def run_folder(request: Request, job_id: int) -> Path:
    """The run folder of job `job_id` (the caller checked the job through `Tenancy`)."""
    settings: ServiceSettings = request.app.state.settings
    return job_folder(settings, job_id)
