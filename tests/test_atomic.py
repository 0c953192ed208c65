"""Atomic outputs under faults: a full disk, leftovers of killed writers, concurrent writers."""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import multiprocessing
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from siting._core.atomic import atomic_directory, atomic_path, write_text_atomic
from siting._core.errors import InputError, OutputError, SitingWarning
from siting._core.outfolders import RUN_KIND, check_out_dir
from siting._core.outlock import lock_path

needs_dev_full = pytest.mark.skipif(
    not Path("/dev/full").exists(), reason="no /dev/full (it answers every write with ENOSPC)"
)


def _hidden(folder: Path) -> list[str]:
    """Names of hidden entries: temporaries, folders set aside, locks, probes."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _write_folder(target: Path, text: str) -> None:
    with atomic_directory(target) as work:
        (work / "result.txt").write_text(text)


def _write_folder_waiting(target: Path, text: str, seconds: float) -> None:
    with atomic_directory(target, lock_timeout_s=seconds) as work:
        (work / "result.txt").write_text(text)


def _fill(path: Path) -> None:
    """Write 100 kB to `path` through /dev/full: the kernel answers ENOSPC."""
    path.unlink(missing_ok=True)
    path.symlink_to("/dev/full")
    path.write_bytes(b"x" * 100_000)


def _write_too_much_folder(target: Path) -> None:
    with atomic_directory(target, lock_timeout_s=10) as work:
        (work / "small.txt").write_text("fits")
        _fill(work / "map.html")


def _write_too_much_file(target: Path) -> None:
    with atomic_path(target) as temporary:
        _fill(temporary)


def _write_too_much_nested(target: Path) -> None:
    with atomic_directory(target) as work, atomic_path(work / "run" / "map.html") as temporary:
        _fill(temporary)


def _dead_pid() -> int:
    """The pid of a process that has ended (and been waited for)."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    return int(child.stdout)


# --- a full disk -----------------------------------------------------------------------------


@needs_dev_full
@pytest.mark.parametrize("kind", ["folder", "file"])
def test_disk_full_names_the_output_and_keeps_the_earlier_one(tmp_path: Path, kind: str) -> None:
    """ENOSPC from the kernel (/dev/full): OutputError naming it, earlier output, no temporary."""
    folder = kind == "folder"
    target = tmp_path / ("out" if folder else "matrix.npz")
    (_write_folder if folder else write_text_atomic)(target, "earlier")
    with pytest.raises(OutputError, match=f"^disk full while writing {re.escape(str(target))}$"):
        (_write_too_much_folder if folder else _write_too_much_file)(target)
    assert (target / "result.txt" if folder else target).read_text() == "earlier"
    if folder:
        assert sorted(p.name for p in target.iterdir()) == ["result.txt"]
    assert _hidden(tmp_path) == []


@needs_dev_full
def test_disk_full_in_a_nested_output_names_the_outer_one(tmp_path: Path) -> None:
    """A map written atomically inside a run folder: the user's folder is named, not a temporary."""
    out = tmp_path / "demo"
    with pytest.raises(OutputError, match=f"^disk full while writing {re.escape(str(out))}$"):
        _write_too_much_nested(out)
    assert not out.exists()
    assert _hidden(tmp_path) == []


# --- leftovers of killed writers -------------------------------------------------------------


def test_temporaries_carry_the_writers_pid(tmp_path: Path) -> None:
    """While the block runs, the temporary's name says which process writes it."""
    with atomic_directory(tmp_path / "out") as work:
        assert re.fullmatch(rf"\.out\.{os.getpid()}\.[a-z0-9_]{{8}}\.tmp", work.name)
    with atomic_path(tmp_path / "file.csv") as temporary:
        assert temporary.name.startswith(f".file.csv.{os.getpid()}.")


def test_leftovers_of_a_dead_writer_are_removed_and_named(tmp_path: Path) -> None:
    """A killed writer's temporary and set-aside folder go at the next write, with a warning."""
    out = tmp_path / "out"
    _write_folder(out, "earlier")
    pid = _dead_pid()
    temporary = tmp_path / f".out.{pid}.abcd1234.tmp"
    (temporary / "sub").mkdir(parents=True)
    (temporary / "sub" / "half.html").write_text("<html")
    old = tmp_path / f".out.{pid}.efgh5678.old"
    old.mkdir()
    file_temporary = tmp_path / f".out.{pid}.ijkl9012.tmp"
    file_temporary.write_text("half")  # a temporary file, such as atomic_path leaves
    with pytest.warns(SitingWarning, match=f"left by process {pid} that no longer runs") as told:
        _write_folder(out, "new")
    lines = [str(w.message) for w in told]
    assert sorted(lines) == sorted(
        f"removed {path}, left by process {pid} that no longer runs"
        for path in (temporary, old, file_temporary)
    )
    assert (out / "result.txt").read_text() == "new"
    assert _hidden(tmp_path) == []


def test_a_live_writers_temporary_is_left_alone(tmp_path: Path) -> None:
    """Leftover-shaped folders of a running process, or of one holding its flock, stay."""
    out = tmp_path / "out"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".out.{sleeper.pid}.abcd1234.tmp"
        live.mkdir()
        # a dead pid whose temporary is still flocked: a writer in another pid namespace
        foreign = tmp_path / f".out.{_dead_pid()}.efgh5678.tmp"
        foreign.mkdir()
        held = os.open(foreign, os.O_RDONLY)
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            _write_folder(out, "new")  # warnings are errors here: none may be raised
        finally:
            os.close(held)
        assert live.is_dir()
        assert foreign.is_dir()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert (out / "result.txt").read_text() == "new"


def test_an_earlier_result_set_aside_by_a_killed_swap_is_put_back(tmp_path: Path) -> None:
    """Killed between the swap's two renames: the run folder is missing, its earlier self aside."""
    out = tmp_path / "out"
    pid = _dead_pid()
    old = tmp_path / f".out.{pid}.abcd1234.old"
    old.mkdir()
    for name in ("summary.json", "assignments.csv"):
        (old / name).write_text("earlier")
    (tmp_path / f".out.{pid}.efgh5678.tmp").mkdir()  # its finished, never swapped-in folder
    with pytest.warns(SitingWarning) as told:
        check_out_dir(out, kind=RUN_KIND)  # the check before any work puts it back
    assert str(told[0].message) == (
        f"restored {out} from {old}, set aside by process {pid} that was killed"
    )
    assert (out / "summary.json").read_text() == "earlier"
    assert _hidden(tmp_path) == []


# --- the lock around the swap ----------------------------------------------------------------


def test_a_held_lock_refuses_after_the_timeout_and_keeps_the_output(tmp_path: Path) -> None:
    """Another process holding the output's lock: a clear refusal; nothing lost or left."""
    out = tmp_path / "out"
    _write_folder(out, "earlier")
    command = [sys.executable, "-c", _HOLD_LOCK, str(lock_path(out))]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline() == "locked\n"
            message = rf"another run \(pid {holder.pid}\) is writing {re.escape(str(out))}; waited"
            with pytest.raises(OutputError, match=message):
                _write_folder_waiting(out, "new", 0.2)
        finally:
            holder.kill()
    assert (out / "result.txt").read_text() == "earlier"
    assert _hidden(tmp_path) == [".out.lock"]  # the holder's, left as a killed holder leaves it
    _write_folder(out, "new")  # the kernel dropped the dead holder's flock
    assert _hidden(tmp_path) == []


_HOLD_LOCK = """
import fcntl, os, sys, time
descriptor = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(descriptor, fcntl.LOCK_EX)
os.write(descriptor, f"{os.getpid()}\\n".encode())
print("locked", flush=True)
time.sleep(60)
"""


def test_a_writer_waits_for_the_lock_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A lock released within the timeout: the write waits, logs one line, then succeeds."""
    out = tmp_path / "out"
    descriptor = os.open(lock_path(out), os.O_RDWR | os.O_CREAT)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    releaser = threading.Timer(0.3, os.close, args=(descriptor,))
    releaser.start()
    with caplog.at_level(logging.INFO, logger="siting._core.outlock"):
        _write_folder(out, "new")
    releaser.join()
    assert [r.getMessage() for r in caplog.records] == [f"waiting for another run writing {out}"]
    assert (out / "result.txt").read_text() == "new"


def _write_many(target: str, writer: int, times: int) -> list[str]:
    """Write `target` `times` times: five parts and a manifest of their hashes, all of one write."""
    outcomes = []
    for attempt in range(times):
        stamp = f"writer {writer}, write {attempt}\n"
        try:
            with atomic_directory(target) as work:
                parts = {f"part-{n}.txt": stamp * (1 + 200 * n) for n in range(5)}
                for name, text in parts.items():
                    (work / name).write_text(text)
                manifest = {name: hashlib.sha256(text.encode()).hexdigest()
                            for name, text in parts.items()}  # fmt: skip
                (work / "manifest.json").write_text(json.dumps({"stamp": stamp, **manifest}))
        except OutputError as error:
            outcomes.append(f"refused: {error}")
        else:
            outcomes.append("written")
    return outcomes


def _consistent(folder: Path) -> bool:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.pop("stamp")
    names = sorted(p.name for p in folder.iterdir())
    hashes = {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in manifest}
    return names == sorted([*manifest, "manifest.json"]) and hashes == manifest


@pytest.mark.slow
def test_four_processes_writing_one_folder_never_break_it(tmp_path: Path) -> None:
    """4 processes x 25 writes of one folder: each write lands or is refused; no leftovers."""
    out = tmp_path / "out"
    _write_folder(out, "earlier")
    started = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        jobs = [pool.apply_async(_write_many, (str(out), writer, 25)) for writer in range(4)]
        outcomes = [outcome for job in jobs for outcome in job.get(timeout=60)]
    seconds = time.monotonic() - started
    assert len(outcomes) == 100
    refused = [o for o in outcomes if o != "written"]
    assert all(o.startswith("refused: another run") for o in refused), refused
    assert len(refused) < 100
    assert _consistent(out)
    assert _hidden(tmp_path) == []
    print(f"100 writes by 4 processes in {seconds:.2f} s, {len(refused)} refused")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("o" * 300, "is 300 bytes long, over the limit of 223"),
        ("o" * 230, "is 230 bytes long, over the limit of 223"),  # room for the temporary
        ("/".join(["o" * 200] * 25), "over the limit of 4063"),
        ("a\0b", "the path contains a NUL byte"),
    ],
    ids=["name over 255 bytes", "no room for the temporary", "path over 4096 bytes", "NUL"],
)
def test_an_out_path_no_file_system_takes_is_refused_at_once(
    tmp_path: Path, name: str, reason: str
) -> None:
    with pytest.raises(InputError, match=re.escape(reason)) as refused:
        check_out_dir(tmp_path / name, kind=RUN_KIND)
    assert str(refused.value).startswith("out_dir (--out): ")
    assert list(tmp_path.iterdir()) == []


def test_an_out_name_that_leaves_room_for_the_temporary_is_written(tmp_path: Path) -> None:
    out = tmp_path / ("o" * 223)
    check_out_dir(out, kind=RUN_KIND)
    with atomic_directory(out) as building:
        (building / "summary.json").write_text("{}")
    assert (out / "summary.json").read_text() == "{}"


def test_an_interruption_while_the_temporary_is_made_leaves_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C right after the temporary folder exists (before its lock is held) removes it."""
    import siting._core.atomic as atomic

    def interrupted(_path: Path) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic, "hold", interrupted)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt), atomic.atomic_directory(out):
        pass
    assert list(tmp_path.iterdir()) == []
