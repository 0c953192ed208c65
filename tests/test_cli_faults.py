"""Faults while `siting run` writes: a full disk, SIGKILL, Ctrl-C and SIGTERM, concurrent runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest
from scenario_files import write_scenario

from siting.cli.main import EXIT_BAD_INPUT, EXIT_OK, main

# every test here writes through the cache: give each its own
pytestmark = pytest.mark.usefixtures("private_cache")

#: a real offline scenario whose write phase (seven maps of 1,323 places) takes over a second
SLOW_TO_WRITE = Path(__file__).resolve().parents[1] / "data" / "scenarios" / "servicekontor.toml"
#: the longest wait for a started run to reach the phase a test interrupts
BOUND_S = 60.0


def _listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _earlier_run(tmp_path: Path, out: Path) -> dict[str, bytes]:
    """Write a small run to `out` (in this process) and return its files."""
    scenario = write_scenario(tmp_path / "tiny")
    assert main(["-q", "run", str(scenario), "--out", str(out)]) == EXIT_OK
    return _listing(out)


def _start_run(
    scenario: Path, out: Path, stderr: IO[bytes], *, quiet: bool = True
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "siting.cli.main", *(["-q"] if quiet else []),
               "run", str(scenario), "--out", str(out)]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)


def _wait_for(found: Callable[[], object], process: subprocess.Popen[bytes], what: str) -> None:
    """Poll until `found()` is true; fail if the process ends first or after `BOUND_S`."""
    deadline = time.monotonic() + BOUND_S
    while not found():
        if process.poll() is not None:
            pytest.fail(f"the run ended (exit {process.returncode}) before {what}")
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            pytest.fail(f"no {what} within {BOUND_S:g} s")
        time.sleep(0.005)


def _temporaries(out: Path, pid: int) -> list[Path]:
    return list(out.parent.glob(f".{out.name}.{pid}.*.tmp"))


def _half_written(out: Path, pid: int) -> bool:
    """Whether the run `pid` has begun filling its temporary folder."""
    return any(any(folder.iterdir()) for folder in _temporaries(out, pid))


# --- a full disk -----------------------------------------------------------------------------


def test_a_full_disk_says_so_and_keeps_the_earlier_run(
    tmp_path: Path, tmpfs: Callable[[str, str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A real full file system (tmpfs): one line, exit 2, earlier run as it was, no temporary."""
    disk = tmpfs("disk", "size=1m")
    out = disk / "run"
    before = _earlier_run(tmp_path, out)
    stat = os.statvfs(disk)
    (disk / "filler").write_bytes(b"\0" * (stat.f_bavail * stat.f_frsize - 4096))  # one page
    capsys.readouterr()
    scenario = tmp_path / "tiny" / "tiny.toml"
    assert main(["-q", "run", str(scenario), "--out", str(out)]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert captured.err == f"siting: error: disk full while writing {out}\n"
    assert _listing(out) == before
    assert _hidden(disk) == []


# --- SIGKILL ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_run_killed_while_writing_is_cleaned_up_by_the_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SIGKILL runs no cleanup; the next run to the same folder removes and names its temporary."""
    out = tmp_path / "out"
    before = _earlier_run(tmp_path, out)
    with (tmp_path / "stderr.txt").open("wb") as stderr:
        process = _start_run(SLOW_TO_WRITE, out, stderr)
        _wait_for(lambda: _half_written(out, process.pid), process, "half-written folder")
        process.kill()
        process.wait()
    (temporary,) = _temporaries(out, process.pid)  # what a killed run leaves: it says who
    assert any(temporary.iterdir())
    assert _listing(out) == before
    capsys.readouterr()
    scenario = tmp_path / "tiny" / "tiny.toml"
    assert main(["run", str(scenario), "--out", str(out)]) == EXIT_OK
    logged = capsys.readouterr().err
    assert f"removed {temporary}, left by process {process.pid} that no longer runs" in logged
    assert _hidden(tmp_path) == []
    assert _listing(out).keys() == before.keys()  # the same tiny run again (other timings)


# --- Ctrl-C and SIGTERM ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("number", "code", "phase"),
    [(signal.SIGINT, 130, "writing"), (signal.SIGTERM, 143, "writing"),
     (signal.SIGINT, 130, "solving"), (signal.SIGTERM, 143, "solving")],
)  # fmt: skip
def test_a_signal_leaves_the_earlier_run_and_says_so(
    tmp_path: Path, number: int, code: int, phase: str
) -> None:
    """SIGINT/SIGTERM while solving or writing: one line, 130/143, earlier run, no temporary."""
    out = tmp_path / "out"
    before = _earlier_run(tmp_path, out)
    errors = tmp_path / "stderr.txt"
    with errors.open("wb") as stderr:
        # while solving: after the first problem's log line (so not -q), before any writing
        process = _start_run(SLOW_TO_WRITE, out, stderr, quiet=phase == "writing")
        if phase == "writing":
            _wait_for(lambda: _temporaries(out, process.pid), process, "temporary folder")
        else:
            _wait_for(lambda: b"problem " in errors.read_bytes(), process, "problem solved")
        process.send_signal(number)
        process.wait(timeout=BOUND_S)
    lines = errors.read_text().splitlines()
    assert process.returncode == code, lines
    assert lines[-1] == f"interrupted; {out} unchanged"
    assert not any("Traceback" in line for line in lines)
    if phase == "writing":
        assert lines == [lines[-1]]
    assert _listing(out) == before
    assert _hidden(tmp_path) == []


# --- concurrent runs -------------------------------------------------------------------------


@pytest.mark.slow
def test_concurrent_runs_to_one_folder_each_leave_a_whole_run(tmp_path: Path) -> None:
    """4 `siting run` processes, 2 runs each, one folder: all land whole, nothing left over."""
    out = tmp_path / "out"
    scenario = write_scenario(tmp_path / "tiny")
    loop = (
        "import sys; from siting.cli.main import main\n"
        "codes = [main(['-q', 'run', sys.argv[1], '--out', sys.argv[2]]) for _ in range(2)]\n"
        "sys.exit(max(codes))\n"
    )
    runs = [
        subprocess.Popen([sys.executable, "-c", loop, str(scenario), str(out)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(4)
    ]  # fmt: skip
    results = [(run.wait(timeout=BOUND_S), run.communicate()[1].decode()) for run in runs]
    for returncode, stderr in results:
        assert (returncode, stderr) == (EXIT_OK, "") or stderr.startswith(
            "siting: error: another run"
        ), stderr
    summary = json.loads((out / "summary.json").read_text())
    assert sorted(summary["files"]) == sorted(p.name for p in out.iterdir())
    assert _hidden(tmp_path) == []
