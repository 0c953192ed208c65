"""`/api/`: the JSON interface for GIS staff (bearer tokens) and the map page (session
cookie plus CSRF header). Handlers parse, authorise through `Tenancy`, call `projects`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Body,
    Depends,
    Header,
    HTTPException,
    Query,
    Request,
    Response,
    UploadFile,
)
from fastapi.responses import FileResponse, PlainTextResponse

from siting.scenario.export import portable_scenario
from siting.service import jobs, projects
from siting.service.accounts import Caller, add_api_token
from siting.service.deps import (
    DbSession,
    UploadFields,
    check_upload_size,
    loaded,
    run_folder,
    upload_fields,
)
from siting.service.models import User
from siting.service.security import CSRF_HEADER, RUN_PAGE_CSP, api_caller, check_csrf
from siting.service.tenancy import NotFoundError, Tenancy
from siting.service.whatif import Edits

router = APIRouter(prefix="/api", tags=["api"])


def _csrf_header(token: Annotated[str | None, Header(alias=CSRF_HEADER)] = None) -> str | None:
    return token


CsrfHeader = Annotated[str | None, Depends(_csrf_header)]


def _caller(request: Request, session: DbSession) -> Caller:
    return api_caller(request, session)


ApiCaller = Annotated[Caller, Depends(_caller)]


def _acting(caller: Caller, csrf: str | None) -> Caller:
    check_csrf(caller, csrf)
    return caller


@router.get("/projects")
def list_projects(caller: ApiCaller, session: DbSession) -> list[dict[str, Any]]:
    """The organisation's projects."""
    return [_project(p) for p in Tenancy(session, caller).projects()]


@router.get("/scenarios")
def list_bundled(caller: ApiCaller) -> list[str]:
    """Bundled scenarios a project can start from."""
    return sorted(projects.bundled_scenarios())


@router.post("/projects", status_code=201)
def create_project(
    caller: ApiCaller, session: DbSession, csrf: CsrfHeader,
    body: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:  # fmt: skip
    """A project from a bundled scenario: ``{"scenario": "karlstad", "name": "..."}``."""
    _acting(caller, csrf)
    project = projects.create_project(
        session, caller.org_id, str(body.get("scenario", "")), body.get("name")
    )
    return _project(project)


@router.post("/projects/upload", status_code=201)
def upload_project(
    request: Request, caller: ApiCaller, session: DbSession, csrf: CsrfHeader,
    population: UploadFile, sites: UploadFile, network: UploadFile | None = None,
    fields: Annotated[UploadFields | None, Depends(upload_fields)] = None,
) -> dict[str, Any]:  # fmt: skip
    """A project from uploaded files (multipart): ``population`` and ``sites`` (CSV,
    GeoPackage or GeoJSON; SCB grid CSVs too), optionally ``network`` (.osm.pbf), and the
    fields ``name``, ``population_id_column``, ``population_population_column``,
    ``sites_id_column``, ``sites_name_column``, ``sites_status_column``."""
    _acting(caller, csrf)
    check_upload_size(request)
    files = {"population": population, "sites": sites, "network": network}
    project = projects.create_uploaded_project(
        session, request.app.state.settings, caller.org_id,
        {k: (f.file, f.filename) for k, f in files.items() if f is not None and f.filename},
        dict(fields or {}),
    )  # fmt: skip
    return _project(project)


@router.get("/projects/{project_id}")
def get_project(project_id: int, caller: ApiCaller, session: DbSession) -> dict[str, Any]:
    """One project with its plans and runs."""
    tenancy = Tenancy(session, caller)
    project = tenancy.project(project_id)
    return {
        **_project(project),
        "plans": [_plan(p) for p in tenancy.plans(project)],
        "runs": [projects.job_record(j) for j in tenancy.jobs(project)],
    }


@router.get("/projects/{project_id}/map")
def project_map(
    project_id: int, request: Request, caller: ApiCaller, session: DbSession
) -> dict[str, Any]:
    """Demand points, sites and today's offices, as the map page draws them."""
    project = Tenancy(session, caller).project(project_id)
    whatif = loaded(request, project.scenario_path)
    return {**projects.map_data(whatif), "evaluation": whatif.evaluate(Edits())}


@router.post("/projects/{project_id}/whatif")
def what_if(
    project_id: int, request: Request, caller: ApiCaller, session: DbSession,
    csrf: CsrfHeader, body: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:  # fmt: skip
    """Who gains and who loses: ``{"closed": [ids], "opened": [ids], "points": [{lon, lat}]}``."""
    _acting(caller, csrf)
    project = Tenancy(session, caller).project(project_id)
    return loaded(request, project.scenario_path).evaluate(Edits.from_json(body))


@router.post("/projects/{project_id}/plans", status_code=201)
def save_plan(
    project_id: int, request: Request, caller: ApiCaller, session: DbSession,
    csrf: CsrfHeader, body: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:  # fmt: skip
    """Keep a what-if: ``{"name": "...", "edits": {...}}``."""
    _acting(caller, csrf)
    project = Tenancy(session, caller).project(project_id)
    edits = Edits.from_json(body.get("edits", {}))
    loaded(request, project.scenario_path).check(edits)
    return _plan(projects.save_plan(session, project, str(body.get("name", "")), edits))


@router.get("/projects/{project_id}/compare")
def compare_plans(
    project_id: int, request: Request, caller: ApiCaller, session: DbSession,
    plans: Annotated[list[int], Query()],
) -> dict[str, Any]:  # fmt: skip
    """Today and saved plans side by side (`siting compare`'s figures): ``?plans=1&plans=2``."""
    tenancy = Tenancy(session, caller)
    project = tenancy.project(project_id)
    chosen = tenancy.project_plans(project, plans)
    return projects.compare_plans(loaded(request, project.scenario_path), chosen)


@router.get("/plans/{plan_id}/scenario.zip")
def plan_scenario(
    plan_id: int, request: Request, caller: ApiCaller, session: DbSession
) -> Response:
    """The plan as a scenario file and its office table: `siting run plan.toml` gives the
    plan's figures."""
    tenancy = Tenancy(session, caller)
    plan = tenancy.plan(plan_id)
    project = tenancy.project(plan.project_id)
    body = projects.plan_scenario(loaded(request, project.scenario_path), project, plan)
    disposition = f'attachment; filename="plan-{plan.id}.zip"'
    return Response(body, media_type="application/zip",
                    headers={"Content-Disposition": disposition})  # fmt: skip


@router.post("/plans/{plan_id}/publish")
def publish_plan(
    plan_id: int, caller: ApiCaller, session: DbSession, csrf: CsrfHeader
) -> dict[str, Any]:
    """Publish a plan as a read-only public page; returns its address."""
    _acting(caller, csrf)
    plan = Tenancy(session, caller).plan(plan_id)
    projects.publish(plan)
    return _plan(plan)


@router.delete("/plans/{plan_id}/publish")
def unpublish_plan(
    plan_id: int, caller: ApiCaller, session: DbSession, csrf: CsrfHeader
) -> dict[str, Any]:
    """Take a plan's public page down."""
    _acting(caller, csrf)
    plan = Tenancy(session, caller).plan(plan_id)
    projects.unpublish(plan)
    return _plan(plan)


@router.post("/projects/{project_id}/runs", status_code=201)
def queue_run(
    project_id: int, caller: ApiCaller, session: DbSession, csrf: CsrfHeader,
    body: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:  # fmt: skip
    """Queue an optimisation: ``{"kind": "mclp", "n_new": 2, "max_minutes": 30}``."""
    _acting(caller, csrf)
    project = Tenancy(session, caller).project(project_id)
    return projects.job_record(projects.queue_run(session, project, body))


@router.get("/runs/{job_id}")
def get_run(job_id: int, request: Request, caller: ApiCaller, session: DbSession) -> Any:
    """A run's status, progress and, once done, its summary."""
    job = Tenancy(session, caller).job(job_id)
    record = projects.job_record(job)
    if job.status == jobs.DONE:
        record["summary"] = projects.run_summary(run_folder(request, job.id))
    return record


@router.post("/runs/{job_id}/cancel")
def cancel_run(
    job_id: int, caller: ApiCaller, session: DbSession, csrf: CsrfHeader
) -> dict[str, Any]:
    """Cancel a queued run, or ask a running one to stop."""
    _acting(caller, csrf)
    job = Tenancy(session, caller).job(job_id)
    jobs.cancel(session, job)
    return projects.job_record(job)


@router.get("/runs/{job_id}/files/{name}")
def run_file(
    job_id: int, name: str, request: Request, caller: ApiCaller, session: DbSession
) -> FileResponse:
    """A file of a finished run: summary.json, assignments.csv, sites.geojson, map.html,
    accessibility.gpkg (each plan's accessibility indices per cell and group)."""
    job = Tenancy(session, caller).job(job_id)
    path = run_folder(request, job.id) / name
    if name not in projects.RUN_FILES or not path.is_file():
        raise NotFoundError(name)
    headers = {"Content-Security-Policy": RUN_PAGE_CSP}
    return FileResponse(path, headers=headers)


@router.get("/runs/{job_id}/scenario.toml", response_class=PlainTextResponse)
def run_scenario_file(job_id: int, caller: ApiCaller, session: DbSession) -> PlainTextResponse:
    """The run as a scenario file: `siting run` on it gives the same result."""
    tenancy = Tenancy(session, caller)
    job = tenancy.job(job_id)
    project = tenancy.project(job.project_id)
    text = portable_scenario(project.scenario_path, problems=[job.problem])
    disposition = f'attachment; filename="run-{job.id}.toml"'
    return PlainTextResponse(text, headers={"Content-Disposition": disposition})


@router.post("/tokens", status_code=201)
def new_token(
    caller: ApiCaller, session: DbSession, csrf: CsrfHeader,
    body: Annotated[dict[str, Any], Body()],
) -> dict[str, str]:  # fmt: skip
    """A new API token for the caller (shown once): ``{"name": "GIS scripts"}``."""
    if caller.csrf_token is None:
        raise HTTPException(403, "tokens are made from a logged-in browser session")
    _acting(caller, csrf)
    user = session.get(User, caller.user_id)
    assert user is not None
    return {"token": add_api_token(session, user, str(body.get("name", "api"))[:200])}


def _project(project: Any) -> dict[str, Any]:
    return {"id": project.id, "name": project.name, "created_at": project.created_at.isoformat()}


def _plan(plan: Any) -> dict[str, Any]:
    return {
        "id": plan.id, "project_id": plan.project_id, "name": plan.name, "edits": plan.edits,
        "public_url": f"/p/{plan.publish_token}" if plan.publish_token else None,
    }  # fmt: skip
