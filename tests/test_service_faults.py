"""Runs are never lost: a worker killed mid-run, a server restarted with queued runs, a
database another writer holds (SQLite and PostgreSQL)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from service_fixtures import database, postgres_server, settings

from siting.service import jobs, projects
from siting.service.accounts import add_organisation
from siting.service.database import Database, open_database
from siting.service.models import Job
from siting.service.settings import ServiceSettings
from siting.service.worker import Worker

__all__ = ["database", "postgres_server", "settings"]  # fixtures used by name

pytestmark = pytest.mark.slow  # starts worker processes


def _queue(database: Database, problem: dict[str, object]) -> int:
    with database.session() as session:
        org = add_organisation(session, "fault-org")
        project = projects.create_project(session, org.id, "karlstad", None)
        return jobs.enqueue(session, project, problem).id


def _job(database: Database, job_id: int) -> Job:
    with database.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_a_worker_killed_mid_run_loses_nothing(
    database: Database, settings: ServiceSettings
) -> None:
    """SIGKILL a `siting worker` while it runs a job: the job is queued again (with the
    reason) and the next worker finishes it."""
    job_id = _queue(database, {"name": "c", "kind": "closures", "n_close": 2, "max_minutes": 15})
    url = database.engine.url.render_as_string(hide_password=False)
    command = [sys.executable, "-m", "siting", "worker", "--data-dir", str(settings.data_dir),
               "--database-url", url]  # fmt: skip
    worker = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while _job(database, job_id).status != jobs.RUNNING and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _job(database, job_id).status == jobs.RUNNING
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    time.sleep(1.0)  # the run's own process ends with its worker (PR_SET_PDEATHSIG)
    assert jobs.recover_stale(database, stale_s=0) == 1
    requeued = _job(database, job_id)
    assert requeued.status == jobs.QUEUED
    assert "stopped answering" in str(requeued.error)
    assert Worker(database, settings).run_once()
    assert _job(database, job_id).status == jobs.DONE
    assert (settings.runs_dir / f"job-{job_id}" / "summary.json").is_file()


def test_a_job_whose_workers_keep_dying_fails_with_the_reason(database: Database) -> None:
    """After the last attempt a stale job is marked failed, saying why; it is not lost."""
    job_id = _queue(database, {"name": "l", "kind": "lscp", "max_minutes": 30})
    for _ in range(jobs.MAX_ATTEMPTS):
        assert jobs.claim(database, "doomed") is not None
        assert jobs.recover_stale(database, stale_s=0) == 1
    failed = _job(database, job_id)
    assert failed.status == jobs.FAILED
    assert f"tried {jobs.MAX_ATTEMPTS} times" in str(failed.error)


def test_queued_runs_survive_a_restart(database: Database, settings: ServiceSettings) -> None:
    """Runs queued before the server stopped are run by a worker of the next start."""
    job_id = _queue(database, {"name": "l", "kind": "lscp", "max_minutes": 30})
    url = database.engine.url.render_as_string(hide_password=False)
    database.dispose()
    restarted = open_database(url)
    try:
        assert Worker(restarted, settings).run_once()
        assert _job(restarted, job_id).status == jobs.DONE, _job(restarted, job_id).error
    finally:
        restarted.dispose()


def test_two_workers_never_run_one_job(database: Database) -> None:
    """Claims racing from many threads hand each queued job to exactly one worker."""
    ids = [_queue(database, {"name": f"l{i}", "kind": "lscp", "max_minutes": 30}) for i in range(6)]
    claimed: list[int] = []
    lock = threading.Lock()

    def take(name: str) -> None:
        while (job := jobs.claim(database, name)) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=take, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(claimed) == sorted(ids)


def test_a_locked_sqlite_database_is_waited_for(tmp_path: Path) -> None:
    """Another process holding SQLite's write lock for a second delays a write, not fails it."""
    url = f"sqlite:///{tmp_path / 'siting.db'}"
    database = open_database(url)
    holder = sqlite3.connect(tmp_path / "siting.db", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(1.0, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        started = time.monotonic()
        job_id = _queue(database, {"name": "l", "kind": "lscp", "max_minutes": 30})
        assert time.monotonic() - started >= 0.9
        assert _job(database, job_id).status == jobs.QUEUED
    finally:
        release.join()
        holder.close()
        database.dispose()


def test_a_worker_shutting_down_gives_its_run_back(
    database: Database, settings: ServiceSettings
) -> None:
    """Stopping a worker (the server shutting down) mid-run queues the run again, the
    interrupted attempt not counted; the next worker finishes it."""
    job_id = _queue(database, {"name": "c", "kind": "closures", "n_close": 2, "max_minutes": 15})
    stop = threading.Event()
    thread = threading.Thread(target=Worker(database, settings).run_once, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 60
    while _job(database, job_id).status != jobs.RUNNING and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    thread.join(timeout=60)
    given_back = _job(database, job_id)
    assert given_back.status == jobs.QUEUED
    assert given_back.attempts == 0
    assert Worker(database, settings).run_once()
    assert _job(database, job_id).status == jobs.DONE
