"""`siting worker`: take queued runs one at a time and run each as `siting run` in a child
process, reporting its progress and stopping it when cancelled.

A child process (not a thread) because a run can be cancelled only by stopping it, and a
crash in a solver must not take the worker down. The child dies with its worker (Linux
``PR_SET_PDEATHSIG``), and a worker that dies leaves a job whose heartbeat goes stale, which
`jobs.recover_stale` requeues.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path

from siting.scenario.export import portable_scenario
from siting.service import jobs
from siting.service.database import Database
from siting.service.models import Job, Project
from siting.service.settings import ServiceSettings

logger = logging.getLogger(__name__)

#: seconds between heartbeats (and checks for a cancel) while a run is going
BEAT_S = 1.0
#: progress read from the run's log lines: (text in the line, step shown, percent)
_MILESTONES = (
    ("OD matrix", "travel times", 50),
    ("transit times", "travel times", 50),
    ("problem ", "solving", 85),
    ("wrote", "writing results", 95),
)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    # not Linux (no prctl): a killed worker's run then finishes on its own
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def job_folder(settings: ServiceSettings, job_id: int) -> Path:
    """Where job `job_id` writes its run (the `siting run --out` contract)."""
    return settings.runs_dir / f"job-{job_id}"


class Worker:
    """One worker: polls the queue, runs a job, repeats until told to stop."""

    def __init__(self, database: Database, settings: ServiceSettings, *, poll_s: float = 1.0):
        self.database = database
        self.settings = settings
        self.poll_s = poll_s
        self.name = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"

    def run_forever(self, stop: threading.Event) -> None:
        """Work until `stop` is set (between jobs, or at the next beat of a running one)."""
        logger.info("worker %s: waiting for runs", self.name)
        while not stop.is_set():
            jobs.recover_stale(self.database)
            if not self.run_once(stop):
                stop.wait(self.poll_s)

    def run_once(self, stop: threading.Event | None = None) -> bool:
        """Claim and run one job; False when the queue was empty."""
        job = jobs.claim(self.database, self.name)
        if job is None:
            return False
        logger.info("worker %s: run %d", self.name, job.id)
        stop = stop or threading.Event()
        status, error = self._run(job, stop)
        if status == jobs.QUEUED:
            jobs.release(self.database, job.id, self.name)
        else:
            jobs.finish(self.database, job.id, self.name, status, error)
        logger.info("worker %s: run %d %s", self.name, job.id, status)
        return True

    def _run(self, job: Job, stop: threading.Event) -> tuple[str, str | None]:
        with self.database.session() as session:
            project = session.get(Project, job.project_id)
            scenario_path = project.scenario_path if project else None
        if scenario_path is None:
            return jobs.FAILED, "the project was deleted"
        folder = job_folder(self.settings, job.id)
        toml = folder.with_suffix(".toml")
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            toml.write_text(portable_scenario(scenario_path, problems=[job.problem]), "utf-8")
        except Exception as error:  # an unreadable scenario file: the run fails, named
            return jobs.FAILED, str(error)
        return self._watch(job.id, self._start(toml, folder), stop)

    def _start(self, toml: Path, folder: Path) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "siting", "run", str(toml), "--out", str(folder)]
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, preexec_fn=_die_with_parent,
        )  # fmt: skip

    def _watch(
        self, job_id: int, child: subprocess.Popen[str], stop: threading.Event
    ) -> tuple[str, str | None]:
        lines: deque[str] = deque(maxlen=50)
        reader = threading.Thread(target=_read_lines, args=(child, lines), daemon=True)
        reader.start()
        cancelled = False
        while child.poll() is None:
            step, percent = _progress(lines)
            if jobs.beat(self.database, job_id, self.name, step=step, percent=percent) or (
                stop.is_set()
            ):
                cancelled = cancelled or not stop.is_set()
                child.terminate()  # the CLI removes its temporary and exits 143
                child.wait()
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(BEAT_S)
        reader.join(timeout=5)
        if child.stderr is not None:
            child.stderr.close()
        if child.returncode == 0:
            return jobs.DONE, None
        if cancelled:
            return jobs.CANCELLED, None
        if stop.is_set():
            return jobs.QUEUED, None  # the next worker runs it from the start
        return jobs.FAILED, _failure(lines, child.returncode)


def _read_lines(child: subprocess.Popen[str], lines: deque[str]) -> None:
    assert child.stderr is not None
    for line in child.stderr:
        if line.strip():
            lines.append(line.rstrip())


def _progress(lines: deque[str]) -> tuple[str, int]:
    step, percent = "loading inputs", 10
    for line in list(lines):
        for marker, name, value in _MILESTONES:
            if marker in line and value >= percent:
                step, percent = name, value
    return step, percent


def _failure(lines: deque[str], code: int) -> str:
    """The run's own one-line error (`siting run` prints one), else its last line."""
    errors = [line for line in lines if line.startswith("siting: error")]
    last = errors[-1] if errors else (lines[-1] if lines else "")
    return f"exit code {code}: {last}" if last else f"exit code {code}"
