"""The web application: `create_app(settings)` wires storage, the what-if cache, pages,
`/api/`, static files and (for `siting serve`) an in-process worker."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from siting._core.errors import InputError
from siting.report.assets import find_leaflet
from siting.service import api, jobs, pages
from siting.service.database import Database, open_database
from siting.service.security import LoginRequiredError, security_headers
from siting.service.settings import ServiceSettings
from siting.service.tenancy import NotFoundError
from siting.service.uploads import TooLargeError
from siting.service.whatif import WhatIfCache
from siting.service.worker import Worker

logger = logging.getLogger(__name__)

PACKAGE = resources.files("siting.service")


def create_app(
    settings: ServiceSettings, *, database: Database | None = None, workers: int = 0
) -> FastAPI:
    """The service's ASGI application.

    Parameters
    ----------
    settings
        Data folder, database URL and limits.
    database
        An open database (tests share one); None opens and migrates ``settings.url``.
    workers
        In-process workers started with the app (`siting serve` starts one; `siting worker`
        runs more in their own processes).
    """
    settings.prepare()
    database = database or open_database(settings.url)
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        jobs.recover_stale(database)
        threads = [
            threading.Thread(target=Worker(database, settings).run_forever, args=(stop,),
                             name=f"siting-worker-{i}", daemon=True)
            for i in range(workers)
        ]  # fmt: skip
        for thread in threads:
            thread.start()
        yield
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    app = FastAPI(
        title="siting", lifespan=lifespan, docs_url="/api/docs", redoc_url=None,
        openapi_url="/api/openapi.json",
    )  # fmt: skip
    app.state.settings = settings
    app.state.database = database
    app.state.whatifs = WhatIfCache()
    app.state.templates = Jinja2Templates(directory=str(PACKAGE / "templates"))
    app.middleware("http")(security_headers)
    leaflet = find_leaflet()
    if leaflet is not None:  # before /static, which would otherwise answer for it
        app.mount("/static/leaflet", StaticFiles(directory=str(leaflet)), name="leaflet")
    app.mount("/static", StaticFiles(directory=str(PACKAGE / "static")), name="static")
    _add_error_handlers(app)
    app.include_router(pages.router)
    app.include_router(api.router)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequiredError)
    async def to_login(request: Request, _error: LoginRequiredError) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, _error: NotFoundError) -> Response:
        if request.url.path.startswith("/api/") or "json" in request.headers.get("accept", ""):
            return JSONResponse({"detail": "not found"}, status_code=404)
        return PlainTextResponse("not found", status_code=404)

    @app.exception_handler(InputError)
    async def bad_input(request: Request, error: InputError) -> Response:
        status = 413 if isinstance(error, TooLargeError) else 422
        return JSONResponse({"detail": str(error)}, status_code=status)
