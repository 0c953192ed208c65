"""Fixtures shared by the test modules."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of this test's own (`$SITING_CACHE_DIR`), so runs never share results."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("SITING_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str, str], Path]]:
    """Mount a small tmpfs as `tmp_path/name` with mount options (such as "ro" or "size=1m").

    A real file system that is full or read-only even for root. Mounting needs root (or
    CAP_SYS_ADMIN): without it the test is skipped, saying so. Unmounted after the test.
    """
    mounted: list[Path] = []

    def mount(name: str, options: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        command = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)]
        done = (
            subprocess.run(command, capture_output=True, text=True, check=False)
            if shutil.which("mount")
            else None
        )
        if done is None or done.returncode != 0:
            why = "no mount command" if done is None else done.stderr.strip()
            pytest.skip(f"cannot mount a tmpfs ({why}): needs root or CAP_SYS_ADMIN")
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False)
