"""Every read of an organisation's data goes through here, filtered by the caller's
organisation in one place: another organisation's id is simply not found (404)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from siting.service.accounts import Caller
from siting.service.models import Job, Plan, Project


class NotFoundError(LookupError):
    """No such object for this caller (whether it does not exist or belongs to another
    organisation is deliberately not told apart)."""


class Tenancy:
    """The caller's view of the database: their organisation's projects, plans and jobs."""

    def __init__(self, session: Session, caller: Caller) -> None:
        self.session = session
        self.caller = caller

    def projects(self) -> Sequence[Project]:
        """The organisation's projects, newest first."""
        return self.session.scalars(
            select(Project).where(Project.org_id == self.caller.org_id).order_by(Project.id.desc())
        ).all()

    def project(self, project_id: int) -> Project:
        """The organisation's project with this id."""
        project = self.session.scalar(
            select(Project).where(Project.id == project_id, Project.org_id == self.caller.org_id)
        )
        if project is None:
            raise NotFoundError(f"project {project_id}")
        return project

    def plans(self, project: Project) -> Sequence[Plan]:
        """The project's saved plans (the project was checked by `project`)."""
        return self.session.scalars(
            select(Plan).where(Plan.project_id == project.id).order_by(Plan.id)
        ).all()

    def plan(self, plan_id: int) -> Plan:
        """The organisation's plan with this id."""
        plan = self.session.scalar(
            select(Plan)
            .join(Project, Project.id == Plan.project_id)
            .where(Plan.id == plan_id, Project.org_id == self.caller.org_id)
        )
        if plan is None:
            raise NotFoundError(f"plan {plan_id}")
        return plan

    def project_plans(self, project: Project, plan_ids: Sequence[int]) -> list[Plan]:
        """These plans, each the organisation's and of this project (another project's plan
        is not found either)."""
        chosen = [self.plan(plan_id) for plan_id in plan_ids]
        if any(plan.project_id != project.id for plan in chosen):
            raise NotFoundError("plan")
        return chosen

    def jobs(self, project: Project) -> Sequence[Job]:
        """The project's runs, newest first."""
        return self.session.scalars(
            select(Job).where(Job.project_id == project.id).order_by(Job.id.desc())
        ).all()

    def job(self, job_id: int) -> Job:
        """The organisation's run with this id."""
        job = self.session.scalar(
            select(Job)
            .join(Project, Project.id == Job.project_id)
            .where(Job.id == job_id, Project.org_id == self.caller.org_id)
        )
        if job is None:
            raise NotFoundError(f"run {job_id}")
        return job
