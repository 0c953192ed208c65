"""The persistent run queue: enqueue, claim (one worker per job), progress, heartbeats,
cancel, and recovery of runs whose worker died.

Claiming takes the oldest queued job with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL;
SQLite has one writer at a time, so a conditional UPDATE (``WHERE status = 'queued'``) is the
claim there. Either way two workers never run one job.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siting.service.database import Database
from siting.service.models import Job, Project, utc_now

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)
#: a running job whose worker has not beaten for this long is taken as orphaned
STALE_S = 30.0
#: a job is tried this many times in all before it is marked failed
MAX_ATTEMPTS = 2


def enqueue(session: Session, project: Project, problem: dict[str, Any]) -> Job:
    """Queue a run of `problem` (a ``[[problems]]`` table) over the project's scenario."""
    job = Job(
        project_id=project.id, problem=problem, status=QUEUED, step="queued", percent=0,
        attempts=0, cancel_requested=False,
    )  # fmt: skip
    session.add(job)
    session.flush()
    return job


def claim(database: Database, worker: str) -> Job | None:
    """The oldest queued job, now running under `worker`; None when the queue is empty."""
    with database.session() as session:
        query = select(Job.id).where(Job.status == QUEUED).order_by(Job.id).limit(1)
        if database.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        job_id = session.scalar(query)
        if job_id is None:
            return None
        claimed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == QUEUED)
            .values(status=RUNNING, worker=worker, heartbeat_at=utc_now(),
                    attempts=Job.attempts + 1, step="starting", percent=0)
        )  # fmt: skip
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None  # another worker was first; the caller polls again
        return session.get(Job, job_id)


def beat(database: Database, job_id: int, worker: str, *, step: str, percent: int) -> bool:
    """Record progress; returns whether the job asks to be cancelled (or is no longer ours)."""
    with database.session() as session:
        job = session.get(Job, job_id)
        if job is None or job.worker != worker or job.status != RUNNING:
            return True
        job.heartbeat_at = utc_now()
        job.step, job.percent = step[:200], max(0, min(100, percent))
        return job.cancel_requested


def finish(database: Database, job_id: int, worker: str, status: str, error: str | None) -> None:
    """End a job this worker runs: done, failed (with the reason) or cancelled."""
    with database.session() as session:
        job = session.get(Job, job_id)
        if job is None or job.worker != worker or job.status != RUNNING:
            return  # taken over after this worker was presumed dead: the newer run decides
        job.status, job.error, job.finished_at = status, error, utc_now()
        job.step = status
        job.percent = 100 if status == DONE else job.percent


def release(database: Database, job_id: int, worker: str) -> None:
    """Give a running job back to the queue (its worker is shutting down), not counting the
    interrupted attempt."""
    with database.session() as session:
        job = session.get(Job, job_id)
        if job is None or job.worker != worker or job.status != RUNNING:
            return
        job.status, job.step, job.percent, job.worker = QUEUED, "queued again", 0, None
        job.attempts = max(0, job.attempts - 1)


def cancel(session: Session, job: Job) -> None:
    """Cancel a queued job at once, or ask its worker to stop a running one."""
    if job.status == QUEUED:
        job.status, job.step, job.finished_at = CANCELLED, CANCELLED, utc_now()
    elif job.status == RUNNING:
        job.cancel_requested = True


def recover_stale(database: Database, *, stale_s: float = STALE_S) -> int:
    """Requeue (or, after `MAX_ATTEMPTS`, fail) running jobs whose worker stopped beating.

    Returns how many jobs were recovered; never loses one.
    """
    cutoff = utc_now() - dt.timedelta(seconds=stale_s)
    with database.session() as session:
        stale = session.scalars(
            select(Job).where(Job.status == RUNNING, Job.heartbeat_at < cutoff)
        ).all()
        for job in stale:
            reason = f"worker {job.worker} stopped answering during '{job.step}'"
            if job.cancel_requested:
                job.status, job.step, job.finished_at = CANCELLED, CANCELLED, utc_now()
            elif job.attempts >= MAX_ATTEMPTS:
                job.status, job.step, job.finished_at = FAILED, FAILED, utc_now()
                job.error = f"{reason}; tried {job.attempts} times"
            else:
                job.status, job.step, job.percent, job.worker = QUEUED, "queued again", 0, None
                job.error = f"{reason}; queued again"
        return len(stale)
