"""Projects: made from a bundled scenario, shown as map data, planned, queued, published.

The same functions serve the pages and `/api/`; each takes objects `tenancy` already
checked belong to the caller's organisation.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import secrets
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from siting._core.errors import InputError
from siting.scenario.checks import check_scenario_inputs
from siting.scenario.config import load_scenario
from siting.scenario.demo import DATA_DIR
from siting.scenario.export import portable_scenario
from siting.scenario.parameters import KINDS
from siting.scenario.pipeline import GROUP, finite, load_inputs
from siting.scenario.plan_measures import plan_measures
from siting.service import jobs
from siting.service.models import Job, Plan, Project
from siting.service.settings import ServiceSettings
from siting.service.uploads import StoredUpload, store_upload, write_project_scenario
from siting.service.whatif import Edits, WhatIf

#: the scenario files a project can start from (data/scenarios of the checkout)
BUNDLED_DIR = DATA_DIR / "scenarios"
#: problem kinds a run from the page may ask for (those with no site lists or depots to give)
RUN_KINDS = (
    "mclp", "p-median", "p-center", "lscp", "attendance", "closures", "closure-impact", "tradeoff",
)  # fmt: skip
#: numeric fields the page sends; each kind takes those its parameters have
_RUN_FIELDS = ("max_minutes", "n_new", "n_sites", "n_close", "max_n_sites")
#: run files a caller may open (what `siting run` writes)
RUN_FILES = ("summary.json", "assignments.csv", "sites.geojson", "map.html", "accessibility.gpkg")


def bundled_scenarios() -> dict[str, Path]:
    """Bundled scenario files by name (the file's stem), those that exist here."""
    return {path.stem: path for path in sorted(BUNDLED_DIR.glob("*.toml"))}


def create_project(session: Session, org_id: int, bundled: str, name: str | None) -> Project:
    """A project from the bundled scenario `bundled` (validated as `siting run` would)."""
    scenarios = bundled_scenarios()
    if bundled not in scenarios:
        msg = f"scenario: no bundled scenario {bundled!r}; choose one of {sorted(scenarios)}"
        raise InputError(msg)
    scenario = load_scenario(scenarios[bundled])
    project = Project(
        org_id=org_id, name=(name or scenario.name).strip()[:200] or bundled,
        scenario_path=str(scenarios[bundled]),
    )  # fmt: skip
    session.add(project)
    session.flush()
    return project


def map_data(whatif: WhatIf) -> dict[str, Any]:
    """What the map page draws: demand points, sites with their status, today's figures."""
    demand = whatif.demand.to_crs("EPSG:4326")
    sites = whatif.sites.to_crs("EPSG:4326")
    names = sites["name"] if "name" in sites.columns else sites["site_id"]
    return {
        "title": whatif.scenario.name,
        "counted": whatif.scenario.inputs.counted or "people",
        "model": whatif.model_name,
        "demand": {
            "lon": [round(x, 5) for x in demand.geometry.x],
            "lat": [round(y, 5) for y in demand.geometry.y],
            "population": [float(p) for p in whatif.population],
        },
        "sites": [
            {
                "id": str(site),
                "name": str(name),
                "status": str(status),
                "lon": round(x, 5),
                "lat": round(y, 5),
            }
            for site, name, status, x, y in zip(
                sites["site_id"],
                names,
                sites["status"],
                sites.geometry.x,
                sites.geometry.y,
                strict=True,
            )
        ],
        "today": list(whatif.today),
    }


def save_plan(session: Session, project: Project, name: str, edits: Edits) -> Plan:
    """Keep a what-if under a name."""
    name = name.strip()[:200]
    if not name:
        msg = "name: a plan needs a name"
        raise InputError(msg)
    plan = Plan(project_id=project.id, name=name, edits=edits.to_json())
    session.add(plan)
    session.flush()
    return plan


def publish(plan: Plan) -> str:
    """Publish a plan read-only; returns the non-guessable token of its public address."""
    if plan.publish_token is None:
        plan.publish_token = secrets.token_urlsafe(24)
    return plan.publish_token


def unpublish(plan: Plan) -> None:
    """The public address stops working at once."""
    plan.publish_token = None


def queue_run(session: Session, project: Project, form: dict[str, Any]) -> Job:
    """Queue a run of one problem from the page's or the API's fields (checked here, and
    again by `siting run` when the worker starts it)."""
    kind = str(form.get("kind", ""))
    if kind not in RUN_KINDS:
        msg = f"kind: {kind!r} is not one of {sorted(RUN_KINDS)}"
        raise InputError(msg)
    problem: dict[str, Any] = {"name": str(form.get("name") or kind)[:100], "kind": kind}
    takes = {field.name for field in dataclasses.fields(KINDS[kind])}
    for key in (k for k in _RUN_FIELDS if k in takes):
        value = form.get(key)
        if value in (None, ""):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            msg = f"{key}: not a number: {value!r}"
            raise InputError(msg) from None
        problem[key] = number if key == "max_minutes" else int(number)
    check_problem(project, problem)
    return jobs.enqueue(session, project, problem)


def check_problem(project: Project, problem: dict[str, Any]) -> None:
    """The problem as `siting run` will read it: the same checks and messages, now."""
    text = portable_scenario(project.scenario_path, problems=[problem])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.toml"
        path.write_text(text, encoding="utf-8")
        try:
            load_scenario(path)
        except InputError as error:
            raise InputError(str(error).replace(f"{path}: ", "")) from None


def job_record(job: Job) -> dict[str, Any]:
    """A run's state as the page and the API show it."""
    return {
        "id": job.id, "project_id": job.project_id, "problem": job.problem,
        "status": job.status, "step": job.step, "percent": job.percent, "error": job.error,
        "attempts": job.attempts,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }  # fmt: skip


def run_summary(folder: Path) -> dict[str, Any] | None:
    """A finished run's summary.json, or None."""
    path = folder / "summary.json"
    if not path.is_file():
        return None
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def create_uploaded_project(
    session: Session,
    settings: ServiceSettings,
    org_id: int,
    files: dict[str, tuple[BinaryIO, str | None]],
    form: dict[str, Any],
) -> Project:
    """A project from uploaded population and sites (and an optional OSM extract), read and
    checked now as `siting run` would; nothing is kept when they fail.

    Raises
    ------
    InputError
        A missing, oversized or unrecognised file, or input `siting run` would refuse, with
        its message (server paths replaced by the uploaded names).
    """
    for field in ("population", "sites"):
        if field not in files:
            msg = f"{field}: no file uploaded"
            raise InputError(msg)
    stored: dict[str, StoredUpload] = {}
    project = Project(org_id=org_id, name=str(form.get("name") or "Uppladdat")[:200],
                      scenario_path="")  # fmt: skip
    try:
        for field, (stream, filename) in files.items():
            stored[field] = store_upload(
                stream, filename, field=field, folder=settings.uploads_dir,
                max_bytes=settings.max_upload_bytes,
            )  # fmt: skip
        session.add(project)
        session.flush()
        folder = settings.data_dir / "projects" / str(project.id)
        path = write_project_scenario(
            folder, name=project.name, population=stored["population"], sites=stored["sites"],
            network=stored.get("network"), options=form,
        )  # fmt: skip
        project.scenario_path = str(path)
        _check_inputs(path, stored)
    except BaseException:
        for upload in stored.values():
            if upload.new:
                upload.path.unlink(missing_ok=True)
        if project.id is not None:  # a refused upload leaves no project behind
            shutil.rmtree(settings.data_dir / "projects" / str(project.id), ignore_errors=True)
            session.delete(project)
            session.flush()
        raise
    return project


def _check_inputs(path: Path, stored: dict[str, StoredUpload]) -> None:
    try:
        scenario = load_scenario(path)
        demand, sites = load_inputs(scenario)
        check_scenario_inputs(scenario, demand, sites)
    except InputError as error:
        text = str(error).replace(f"{path}: ", "")
        for upload in stored.values():
            text = text.replace(str(upload.path), upload.shown_name)
        raise InputError(text) from None


def compare_plans(whatif: WhatIf, plans: list[Plan]) -> dict[str, Any]:
    """Today and the plans side by side (`siting compare`'s tables) as JSON records."""
    if not plans:
        msg = "plans: choose at least one saved plan to compare with today"
        raise InputError(msg)
    names = [plan.name for plan in plans]
    if len(set(names)) != len(names) or "today" in names:
        names = [f"{plan.name} (#{plan.id})" for plan in plans]
    edited = [(name, Edits.from_json(plan.edits)) for name, plan in zip(names, plans, strict=True)]
    comparison = whatif.compare(edited)
    return {
        "scenarios": ["today", *names],
        "group_names": whatif.group_names,
        "metrics": _records(comparison.metrics),
        "changes": _records(comparison.changes),
        "equity": [_plan_equity(whatif, name, edits) for name, edits in
                   [("today", Edits()), *edited]],
    }  # fmt: skip


def _plan_equity(whatif: WhatIf, name: str, edits: Edits) -> dict[str, Any]:
    """A plan's equity and expected visitors in all: `siting run`'s ``equity.total`` and
    ``attendance`` (the scenario's decay; unreached people count at its cut-off)."""
    travel = whatif.scenario.travel
    measures = plan_measures(
        whatif.minutes(edits)[0], whatif.population, whatif.demand[GROUP].to_numpy(),
        decay=travel.decay, cut_off_minutes=travel.max_minutes, names=whatif.group_names,
    )  # fmt: skip
    attendance = measures["attendance"]
    record = {
        "scenario": name, **measures["equity"]["total"],
        "attendance": attendance["people"], "attendance_share": attendance["share"],
    }  # fmt: skip
    plain: dict[str, Any] = finite(record)  # an infinite Palma ratio is null, as in summary.json
    return plain


def _records(table: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(table.to_json(orient="records"))
    return rows


def plan_scenario(whatif: WhatIf, project: Project, plan: Plan) -> bytes:
    """The plan as a zip of a scenario file and its office table: `siting run` on it gives
    the plan's figures as its `existing` answer (new points are offices there too)."""
    edits = Edits.from_json(plan.edits)
    sites = whatif.sites.to_crs("EPSG:4326")
    open_ids = [s for s in whatif.today if s not in edits.closed] + list(edits.opened)
    rows = [
        {"site_id": str(site), "name": str(name), "lon": x, "lat": y,
         "status": "existing" if str(site) in open_ids else "candidate"}
        for site, name, x, y in zip(
            sites["site_id"], sites.get("name", sites["site_id"]), sites.geometry.x,
            sites.geometry.y, strict=True,
        )
    ]  # fmt: skip
    rows += [
        {"site_id": f"new-{i + 1}", "name": p.name, "lon": p.lon, "lat": p.lat,
         "status": "existing"}
        for i, p in enumerate(edits.points)
    ]  # fmt: skip
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    problem = {"name": plan.name, "kind": "p-median", "n_sites": len(open_ids) + len(edits.points)}
    text = portable_scenario(project.scenario_path, problems=[problem], sites="plan_sites.csv")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("plan.toml", text)
        archive.writestr("plan_sites.csv", table.getvalue())
    return buffer.getvalue()
