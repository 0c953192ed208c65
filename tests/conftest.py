"""Fixtures shared by the test modules."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of this test's own (`$SITING_CACHE_DIR`), so runs never share results."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("SITING_CACHE_DIR", str(folder))
    return folder
