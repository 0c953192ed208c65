"""The service's HTML pages: login, projects, the what-if map, and published plans.

Pages are server-rendered (Jinja2, autoescaped); the map page's script talks to `/api/`
with the session cookie and the CSRF token it reads from a meta tag."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from siting._core.errors import InputError
from siting.service import accounts, projects
from siting.service.deps import (
    DbSession,
    UploadFields,
    check_upload_size,
    loaded,
    upload_fields,
)
from siting.service.models import Plan, Project
from siting.service.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    cookie_secure,
    login_csrf,
    page_caller,
    session_caller,
)
from siting.service.settings import SESSION_S, ServiceSettings
from siting.service.tenancy import NotFoundError, Tenancy
from siting.service.uploads import TooLargeError
from siting.service.whatif import Edits

router = APIRouter(include_in_schema=False)


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(request, name, context, status_code=status)
    return response


@router.get("/login")
def login_page(request: Request, session: DbSession) -> Response:
    """The login form (straight to the projects when already logged in)."""
    if session_caller(request, session) is not None:
        return RedirectResponse("/", status_code=303)
    return _login_form(request, None, 200)


def _login_form(request: Request, error: str | None, status: int) -> Response:
    token = login_csrf(request)
    response = _render(request, "login.html", status, csrf_token=token, error=error)
    settings: ServiceSettings = request.app.state.settings
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax",
        secure=cookie_secure(request, settings.secure_cookies),
    )  # fmt: skip
    return response


@router.post("/login")
def login(
    request: Request, session: DbSession, email: Annotated[str, Form()],
    password: Annotated[str, Form()], csrf_token: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    """Check the password (rate-limited by address and client), then a fresh session."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not expected or csrf_token != expected:
        return _login_form(request, "The form expired; please try again.", 403)
    client = request.client.host if request.client else "?"
    keys = (f"email:{email.strip().lower()}", f"client:{client}")
    if accounts.login_blocked(session, keys):
        return _login_form(request, "Too many failed logins; wait 15 minutes.", 429)
    user = accounts.check_password(session, email, password, keys=keys)
    if user is None:
        return _login_form(request, "Wrong e-mail address or password.", 401)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        accounts.end_session(session, old)  # no session survives a login: no fixation
    token = accounts.start_session(session, user)
    response = RedirectResponse("/", status_code=303)
    settings: ServiceSettings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE, token, max_age=SESSION_S, httponly=True, samesite="lax",
        secure=cookie_secure(request, settings.secure_cookies),
    )  # fmt: skip
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(
    request: Request, session: DbSession, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """End the session (the token stops working on the server too)."""
    caller = page_caller(request, session)
    check_csrf(caller, csrf_token)
    accounts.end_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
def home(request: Request, session: DbSession) -> Response:
    """The organisation's projects and a form to start one from a bundled scenario."""
    caller = page_caller(request, session)
    return _render(
        request, "projects.html", caller=caller, projects=Tenancy(session, caller).projects(),
        bundled=sorted(projects.bundled_scenarios()), csrf_token=caller.csrf_token, error=None,
    )  # fmt: skip


@router.post("/projects")
def create_project(
    request: Request, session: DbSession, scenario: Annotated[str, Form()],
    name: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    """Start a project from a bundled scenario; its validation messages shown on the page."""
    caller = page_caller(request, session)
    check_csrf(caller, csrf_token)
    try:
        project = projects.create_project(session, caller.org_id, scenario, name or None)
    except InputError as error:
        return _render(
            request, "projects.html", 422, caller=caller,
            projects=Tenancy(session, caller).projects(),
            bundled=sorted(projects.bundled_scenarios()), csrf_token=caller.csrf_token,
            error=str(error),
        )  # fmt: skip
    return RedirectResponse(f"/projects/{project.id}", status_code=303)


@router.post("/projects/upload")
def upload_project(
    request: Request, session: DbSession, population: UploadFile, sites: UploadFile,
    network: UploadFile | None = None, csrf_token: Annotated[str, Form()] = "",
    fields: Annotated[UploadFields | None, Depends(upload_fields)] = None,
) -> Response:  # fmt: skip
    """A project from uploaded files; what `siting run` would say of them shown on the page."""
    caller = page_caller(request, session)
    check_csrf(caller, csrf_token)
    check_upload_size(request)
    files = {"population": population, "sites": sites, "network": network}
    try:
        project = projects.create_uploaded_project(
            session, request.app.state.settings, caller.org_id,
            {k: (f.file, f.filename) for k, f in files.items() if f is not None and f.filename},
            dict(fields or {}),
        )  # fmt: skip
    except InputError as error:
        return _render(
            request, "projects.html", 413 if isinstance(error, TooLargeError) else 422,
            caller=caller, projects=Tenancy(session, caller).projects(),
            bundled=sorted(projects.bundled_scenarios()), csrf_token=caller.csrf_token,
            error=str(error),
        )  # fmt: skip
    return RedirectResponse(f"/projects/{project.id}", status_code=303)


@router.get("/projects/{project_id}")
def project_page(project_id: int, request: Request, session: DbSession) -> Response:
    """The what-if map: click offices to close them, candidates or the map to open one."""
    caller = page_caller(request, session)
    tenancy = Tenancy(session, caller)
    project = tenancy.project(project_id)
    return _render(
        request, "project.html", caller=caller, project=project,
        plans=tenancy.plans(project), runs=tenancy.jobs(project),
        kinds=projects.RUN_KINDS, csrf_token=caller.csrf_token,
    )  # fmt: skip


@router.get("/projects/{project_id}/compare")
def compare_page(
    project_id: int, request: Request, session: DbSession,
    plans: Annotated[list[int] | None, Query()] = None,
) -> Response:  # fmt: skip
    """Today and the chosen plans side by side, in total and by municipality."""
    caller = page_caller(request, session)
    tenancy = Tenancy(session, caller)
    project = tenancy.project(project_id)
    chosen = tenancy.project_plans(project, plans or [])
    table: dict[str, Any] | None = None
    message: str | None = None
    try:
        table = projects.compare_plans(loaded(request, project.scenario_path), chosen)
    except InputError as error:
        message = str(error)
    return _render(request, "compare.html", caller=caller, project=project, table=table,
                   error=message, csrf_token=caller.csrf_token)  # fmt: skip


@router.get("/p/{token}")
def public_page(token: str, request: Request, session: DbSession) -> Response:
    """A published plan, read-only, for anyone with the address."""
    plan, project = _published(session, token)
    return _render(request, "public.html", plan=plan, project=project, token=token)


@router.get("/p/{token}/data")
def public_data(token: str, request: Request, session: DbSession) -> Response:
    """The published plan's map data and figures (no login)."""
    plan, project = _published(session, token)
    whatif = loaded(request, project.scenario_path)
    edits = Edits.from_json(plan.edits)
    data = {**projects.map_data(whatif), "evaluation": whatif.evaluate(edits),
            "edits": edits.to_json(), "plan": plan.name}  # fmt: skip
    return JSONResponse(data)


def _published(session: Session, token: str) -> tuple[Plan, Project]:
    row = session.execute(
        select(Plan, Project)
        .join(Project, Project.id == Plan.project_id)
        .where(Plan.publish_token == token)
    ).first()
    if row is None or not token:
        raise NotFoundError("published plan")
    return row[0], row[1]
