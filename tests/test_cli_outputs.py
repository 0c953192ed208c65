"""Where the commands write: bad paths and other people's folders fail before any work."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from scenario_files import DEMAND_CSV, SITES_CSV, scenario_text, write_scenario

import siting.inputs.population
import siting.scenario.compare_runs
import siting.scenario.demo
import siting.scenario.pipeline
from siting._core.errors import InputError
from siting._core.outfolders import DEMO_KIND, RUN_KIND, check_out_dir
from siting.cli.main import EXIT_BAD_INPUT, EXIT_OK, main
from siting.inputs.population import load_population
from siting.inputs.sites import load_sites
from siting.travel.odmatrix import ODMatrix, travel_times
from siting.travel.straightline import StraightLineModel

# every test here writes through the cache: give each its own
pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any reading of inputs fails the test: the path checks must come first."""

    def work(*args: object, **kwargs: object) -> None:
        raise AssertionError("work began before the output path was checked")

    monkeypatch.setattr(siting.scenario.pipeline, "load_inputs", work)
    monkeypatch.setattr(siting.scenario.demo, "run_scenario", work)
    monkeypatch.setattr(siting.scenario.compare_runs, "read_run", work)
    monkeypatch.setattr(siting.inputs.population, "load_population", work)


def _error_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run `argv`, expect exit 2 and return the single error line."""
    assert main(["-q", *argv]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("siting: error: ")
    assert captured.out == ""
    return lines[0]


def _folder_listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# --- bad paths: a file where a folder must go ----------------------------------------------


def _commands(tmp_path: Path, out: Path) -> dict[str, list[str]]:
    scenario = write_scenario(tmp_path)
    for name, text in (("cells.csv", DEMAND_CSV), ("sites.csv", SITES_CSV)):
        (tmp_path / name).write_text(text)
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    publish = ["publish", str(tmp_path / "cells.csv"), str(tmp_path / "sites.csv")]
    return {
        "run": ["run", str(scenario), "--out", str(out)],
        "demo": ["demo", "--out", str(out)],
        "compare": ["compare", str(run), "--out", str(out)],
        "publish": [*publish, "--out", str(out)],
    }


@pytest.mark.parametrize("command", ["run", "demo", "compare", "publish"])
@pytest.mark.parametrize("under", [False, True])
@pytest.mark.usefixtures("no_work")
def test_out_that_is_or_lies_under_a_file_fails_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, under: bool
) -> None:
    """`--out FILE` and `--out FILE/sub`: exit 2 naming the option and the path; file intact."""
    file = tmp_path / "notes.txt"
    file.write_text("mine")
    out = file / "sub" if under else file
    line = _error_line(_commands(tmp_path, out)[command], capsys)
    assert "(--out)" in line
    assert str(out) in line
    assert "is a file, not a folder" in line
    assert file.read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.usefixtures("no_work")
def test_cache_dir_that_is_a_file_fails_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write_scenario(tmp_path)
    cache = tmp_path / "cache.txt"
    cache.write_text("mine")
    argv = ["run", str(scenario), "--out", str(tmp_path / "out"), "--cache-dir", str(cache)]
    line = _error_line(argv, capsys)
    assert f"cache_dir (--cache-dir): {cache} is a file, not a folder" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option", ["od", "network"])
def test_od_and_network_out_under_a_file_fail_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("mine")
    out = file / "matrix.npz"
    (tmp_path / "cells.csv").write_text(DEMAND_CSV)
    (tmp_path / "sites.csv").write_text(SITES_CSV)
    argv = (
        ["od", str(tmp_path / "cells.csv"), str(tmp_path / "sites.csv"),
         "--network", "straight-line", "--out", str(out)]
        if option == "od"
        else ["network", "pyrosm:test.osm.pbf", "--out", str(out)]
    )  # fmt: skip
    line = _error_line(argv, capsys)
    assert f"--out: {out} lies under {file}, which is a file" in line
    assert file.read_text() == "mine"


# --- folders that take no new file: read-only, no permission --------------------------------


@pytest.fixture
def read_only(tmp_path: Path, tmpfs: Callable[[str, str], Path]) -> Iterator[Path]:
    """A folder no file can be made in: a read-only mount (for root), else mode 0o555."""
    if os.geteuid() == 0:  # root writes into a 0o555 folder: only a read-only mount stops it
        yield tmpfs("ro", "ro,size=64k")
        return
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    yield folder
    folder.chmod(0o755)


@pytest.mark.parametrize("command", ["run", "demo", "compare", "publish"])
@pytest.mark.parametrize("missing", [False, True])
@pytest.mark.usefixtures("no_work")
def test_out_in_a_read_only_folder_fails_at_once(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    read_only: Path,
    command: str,
    missing: bool,
) -> None:
    """`--out RO/out` and `--out RO/missing/out`: exit 2 before any work, naming both paths."""
    out = read_only / "missing" / "out" if missing else read_only / "out"
    line = _error_line(_commands(tmp_path, out)[command], capsys)
    reason = "Read-only file system" if os.geteuid() == 0 else "Permission denied"
    assert line == f"siting: error: out_dir (--out): cannot write {out}: {read_only}: {reason}"
    assert list(read_only.iterdir()) == []


@pytest.mark.parametrize("command", ["od", "network", "fetch place", "fetch grid"])
def test_file_out_in_a_read_only_folder_fails_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], read_only: Path, command: str
) -> None:
    """The single-file outputs too: the matrix, the GraphML, the downloads (before going online)."""
    (tmp_path / "cells.csv").write_text(DEMAND_CSV)
    (tmp_path / "sites.csv").write_text(SITES_CSV)
    argv, out = {
        "od": (["od", str(tmp_path / "cells.csv"), str(tmp_path / "sites.csv"),
                "--network", "straight-line"], read_only / "od.npz"),
        "network": (["network", "pyrosm:test.osm.pbf"], read_only / "roads.graphml"),
        "fetch place": (["fetch", "place", "Sollefteå kommun"], read_only / "roads.osm"),
        "fetch grid": (["fetch", "grid", "--region", "Dalarnas län"], read_only / "grid.gpkg"),
    }[command]  # fmt: skip
    line = _error_line([*argv, "--out", str(out)], capsys)
    assert line.startswith(f"siting: error: --out: cannot write {out}: {read_only}: ")
    assert list(read_only.iterdir()) == []


@pytest.mark.slow
def test_out_in_a_folder_without_permission_fails_at_once(tmp_path: Path) -> None:
    """Mode 0o555 for a user who is not root (root runs the command as `nobody`): exit 2."""
    as_user: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot run the command as another user")
        as_user = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    # the user must reach the scenario: a folder of its own under /tmp, open to everyone
    shared = Path(tempfile.mkdtemp(prefix="siting-permission-"))
    try:
        shared.chmod(0o755)
        scenario = write_scenario(shared / "inputs")
        (shared / "inputs").chmod(0o755)
        locked = shared / "locked"
        locked.mkdir(mode=0o555)
        locked.chmod(0o555)
        out = locked / "out"
        env = {**os.environ, "SITING_CACHE_DIR": str(shared / "cache")}
        (shared / "cache").mkdir(mode=0o777)
        (shared / "cache").chmod(0o777)
        command = [*as_user, sys.executable, "-m", "siting.cli.main", "-q", "run",
                   str(scenario), "--out", str(out)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        assert done.returncode == EXIT_BAD_INPUT, done.stderr
        assert done.stderr == (
            f"siting: error: out_dir (--out): cannot write {out}: {locked}: Permission denied\n"
        )
        assert list(locked.iterdir()) == []
    finally:
        shutil.rmtree(shared)


# --- folders siting did not write ------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "demo", "compare", "publish"])
@pytest.mark.usefixtures("no_work")
def test_foreign_folder_is_refused_and_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """A folder of the user's own files (even a summary.json) is never written into."""
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "summary.json").write_text('{"mine": true}')
    (foreign / "notes.txt").write_text("mine")
    before = _folder_listing(foreign)
    line = _error_line(_commands(tmp_path, foreign)[command], capsys)
    assert f"(--out): {foreign} holds files siting did not write" in line
    assert _folder_listing(foreign) == before


def test_an_earlier_demo_is_replaced_only_by_the_demo(tmp_path: Path) -> None:
    """Known by its files: summary.json beside the comparison folder (no assignments.csv)."""
    demo = tmp_path / "demo"
    (demo / "jamforelse").mkdir(parents=True)
    (demo / "summary.json").write_text("{}")
    check_out_dir(demo, kind=DEMO_KIND)
    with pytest.raises(InputError, match="holds the output of `siting demo`, not `siting run`"):
        check_out_dir(demo, kind=RUN_KIND)
    check_out_dir(tmp_path / "new" / "folder", kind=DEMO_KIND)  # made when written


def test_run_into_a_comparison_folder_says_what_it_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write_scenario(tmp_path)
    run, site = tmp_path / "run", tmp_path / "site"
    assert main(["-q", "run", str(scenario), "--out", str(run)]) == EXIT_OK
    assert main(["-q", "compare", str(run), "--out", str(site)]) == EXIT_OK
    capsys.readouterr()
    before = _folder_listing(site)
    line = _error_line(["run", str(scenario), "--out", str(site)], capsys)
    assert "holds the output of `siting compare / publish`, not `siting run`" in line
    assert _folder_listing(site) == before
    # the comparison itself may be redone in place
    assert main(["-q", "compare", str(run), "--out", str(site)]) == EXIT_OK


def test_publish_writes_a_whole_folder_and_replaces_only_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cells.csv").write_text(DEMAND_CSV)
    (tmp_path / "sites.csv").write_text(SITES_CSV)
    out = tmp_path / "maps"
    argv = ["-q", "publish", str(tmp_path / "cells.csv"), str(tmp_path / "sites.csv"),
            "--out", str(out), "--open", "cand-c", "--language", "en"]  # fmt: skip
    assert main(argv) == EXIT_OK
    printed = capsys.readouterr().out
    assert f"wrote {out / 'index.html'}" in printed
    assert json.loads((out / "site.json").read_text())["model"] == "straight-line fallback"
    (out / "stale.html").write_text("from an earlier site")
    assert main(argv) == EXIT_OK
    assert not (out / "stale.html").exists()  # replaced as a whole, not file by file
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --- what the commands say -------------------------------------------------------------------


def test_run_without_a_map_does_not_point_to_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write_scenario(tmp_path)  # the base scenario has [outputs] map = false
    out = tmp_path / "out"
    assert main(["-q", "run", str(scenario), "--out", str(out)]) == EXIT_OK
    printed = capsys.readouterr().out
    assert not (out / "map.html").exists()
    assert "map.html" not in printed
    assert f"to {out}\n" in printed


def test_input_file_errors_start_with_the_scenario_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A population without its column: the scenario file, the key, the option to set."""
    scenario = write_scenario(tmp_path)
    (tmp_path / "cells.csv").write_text(DEMAND_CSV.replace("population", "folk"))
    line = _error_line(["run", str(scenario), "--out", str(tmp_path / "out")], capsys)
    assert line.startswith(f"siting: error: {scenario.resolve()}: [inputs] population: ")
    assert line.endswith("name it with the option population_column")
    bad_group = scenario_text({("inputs", "group_column"): '"lan"'})
    scenario.write_text(bad_group)
    (tmp_path / "cells.csv").write_text(DEMAND_CSV)
    line = _error_line(["run", str(scenario), "--out", str(tmp_path / "out")], capsys)
    assert line == (
        f"siting: error: {scenario.resolve()}: [inputs] group_column: "
        "the population has no column 'lan'"
    )


# --- siting od: the straight-line model and named columns -----------------------------------


def test_od_over_straight_line_with_named_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--network straight-line` gives the model's times; the column options are used."""
    cells = tmp_path / "cells.csv"
    cells.write_text(DEMAND_CSV.replace("id,population", "cell,folk"))
    (tmp_path / "sites.csv").write_text(SITES_CSV)
    out = tmp_path / "od.npz"
    argv = ["-q", "od", str(cells), str(tmp_path / "sites.csv"), "--network", "straight-line",
            "--out", str(out)]  # fmt: skip
    line = _error_line(argv[1:], capsys)
    assert "name it with the option population_column" in line
    assert not out.exists()
    named = ["--population-column", "folk", "--id-column", "cell"]
    assert main([*argv, *named]) == EXIT_OK
    od = ODMatrix.load(out)
    assert od.metadata["model"] == "straight-line fallback"
    demand = load_population(cells, population_column="folk", id_column="cell")
    expected = travel_times(
        None, demand, load_sites(tmp_path / "sites.csv"), straight_line=StraightLineModel()
    )
    assert list(od.origin_ids) == ["a", "b", "c", "d"]
    np.testing.assert_allclose(od.minutes.toarray(), expected.minutes.toarray())
    # office A and cell b are 0.1 degree of latitude apart: about 11.1 km, so minutes > 0
    assert od.minutes[1, 0] > 0


@pytest.mark.parametrize("command", ["od", "network"])
def test_network_typo_fails_offline_with_a_suggestion(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("went online")

    monkeypatch.setattr("siting.download.overpass.download_place_osm", no_download)
    (tmp_path / "cells.csv").write_text(DEMAND_CSV)
    (tmp_path / "sites.csv").write_text(SITES_CSV)
    argv = (
        ["od", str(tmp_path / "cells.csv"), str(tmp_path / "sites.csv"),
         "--network", "straightline", "--out", str(tmp_path / "od.npz")]
        if command == "od"
        else ["network", "straightline"]
    )  # fmt: skip
    line = _error_line(argv, capsys)
    assert line.endswith("'straightline': no such file; did you mean 'straight-line'?")


def test_network_command_takes_a_bundled_extract(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "network", "pyrosm:test.osm.pbf"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["nodes"] > 100
