"""The `siting` command: demo, network and od sub-commands, exit codes and error lines."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from osm_files import write_osm
from scenario_files import scenario_text, write_scenario

import siting.scenario.pipeline
from siting.cli.main import EXIT_BAD_INPUT, EXIT_OK, _problem_line, main
from siting.roads.network import bundled_osm_extract, load_network
from siting.travel.odmatrix import ODMatrix

# every test here writes through the cache: give each its own
pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.mark.slow
def test_demo_runs_both_examples_and_compares_offline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Sweden on the straight-line model, Helsinki on real roads, a comparison: all named."""
    out = tmp_path / "demo"
    assert main(["-q", "demo", "--out", str(out)]) == EXIT_OK
    summary = json.loads((out / "summary.json").read_text())
    sweden, helsinki = summary["sverige"], summary["helsingfors"]
    assert sweden["travel_model"] == "straight-line fallback"
    assert helsinki["travel_model"] == "road network"
    assert "UPPSKATTNING" in (out / "sverige" / "map.html").read_text(encoding="utf-8")
    assert "UPPSKATTNING" not in (out / "helsingfors" / "map.html").read_text(encoding="utf-8")
    kinds = [problem["kind"] for problem in sweden["problems"]]
    assert kinds == ["existing", "closure-impact", "mclp", "mobile"]
    today, closures, new_offices, _ = sweden["problems"]
    assert len(closures["closed"]) == 4  # the offices data/servicekontor_sites.csv marks may_close
    assert closures["share_within_30_min"] <= today["share_within_30_min"]
    assert new_offices["status"] == "optimal"
    assert len(new_offices["opened"]) == 5
    assert new_offices["share_within_30_min"] > closures["share_within_30_min"]
    assert all(p["status"] == "optimal" for p in helsinki["problems"][1:])
    assert (out / "jamforelse" / "compare.html").is_file()
    printed = capsys.readouterr().out
    for page in (out / "sverige" / "map.html", out / "helsingfors" / "map.html"):
        assert str(page) in printed
        assert page.is_file()
    assert summary["comparison"] == str(out / "jamforelse" / "index.html")
    assert summary["comparison"] in printed
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_network_command_summarises_and_saves_graphml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "kotka.graphml"
    source = str(bundled_osm_extract("test.osm.pbf"))
    assert main(["-q", "network", source, "--out", str(out)]) == EXIT_OK
    summary = json.loads(capsys.readouterr().out)
    assert summary["nodes"] > 100
    assert summary["build_report"]["dropped_nodes"] > 0
    assert out.is_file()
    assert main(["-q", "network", str(out)]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["edges"] == summary["edges"]


def test_prepared_network_folder_serves_siting_od(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`siting network --prepared DIR` writes a folder that `siting od --network` reads alike."""
    network, origins, sites = _od_inputs(tmp_path)
    folder = tmp_path / "roads"
    assert main(["-q", "network", str(network), "--prepared", str(folder)]) == EXIT_OK
    summary = json.loads(capsys.readouterr().out)
    assert summary["nodes"] == summary["build_report"]["nodes"] == 4
    assert (folder / "manifest.json").is_file()
    matrices = []
    for name, source in (("osm", network), ("saved", folder)):
        out = tmp_path / f"{name}.npz"
        argv = ["-q", "od", str(origins), str(sites), "--network", str(source), "--out", str(out)]
        assert main(argv) == EXIT_OK
        matrices.append(ODMatrix.load(out).to_dense())
    np.testing.assert_array_equal(*matrices)


def test_bad_network_file_exits_2_with_one_line_and_no_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "cut.osm.pbf"
    bad.write_bytes(bundled_osm_extract("test.osm.pbf").read_bytes()[:5000])
    out = tmp_path / "net.graphml"
    assert main(["-q", "network", str(bad), "--out", str(out)]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert error.startswith("siting: error: ")
    assert "cut.osm.pbf" in error
    assert len(error.strip().splitlines()) == 1
    assert not out.exists()
    assert list(tmp_path.glob("*.tmp")) == []


def _od_inputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A T-junction in Sweden (primary road 1-2-3, residential spur 2-4), three cells, two sites."""
    nodes = {1: (17.00, 62.00), 2: (17.01, 62.00), 3: (17.02, 62.00), 4: (17.01, 62.01)}
    ways = [
        (10, [1, 2, 3], {"highway": "primary", "maxspeed": "70"}),
        (11, [2, 4], {"highway": "residential"}),
    ]
    network = write_osm(tmp_path / "t.osm", nodes, ways)
    origins = tmp_path / "cells.csv"
    origins.write_text(
        "id,population,lon,lat\na,10,17.00,62.00\nb,20,17.02,62.00\nc,5,17.01,62.01\n"
    )
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "site_id,name,status,lon,lat\ns1,Mid,existing,17.01,62.00\ns2,Spur,candidate,17.01,62.01\n"
    )
    return network, origins, sites


def test_od_command_saves_the_matrix_networkx_gives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`siting od` stores exactly the pairs within the cut-off, with networkx's times."""
    network, origins, sites = _od_inputs(tmp_path)
    graph = load_network(network, cache=False)
    at = {1: "a", 3: "b", 4: "c"}  # the cells and sites lie on these nodes (no access time)
    expected = {
        (at[o], s): nx.shortest_path_length(graph, o, n, weight="travel_time") / 60.0
        for o in at
        for s, n in (("s1", 2), ("s2", 4))
    }
    out = tmp_path / "od" / "matrix.npz"
    argv = ["-q", "od", str(origins), str(sites), "--network", str(network), "--out", str(out)]
    assert main([*argv, "--max-minutes", "1"]) == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    od = ODMatrix.load(out)
    within = {pair: minutes for pair, minutes in expected.items() if minutes <= 1.0}
    assert 0 < len(within) < len(expected)  # the cut-off drops some pairs, keeps others
    assert report["stored_pairs"] == len(within) == od.summary.stored_pairs
    assert report["unreachable_pairs"] == len(expected) - len(within)
    assert report["matrix"] == str(out)
    rows = np.repeat(np.arange(od.shape[0]), np.diff(od.minutes.indptr))
    stored = {
        (str(od.origin_ids[i]), str(od.destination_ids[j])): float(minutes)
        for i, j, minutes in zip(rows, od.minutes.indices, od.minutes.data, strict=True)
    }
    assert stored.keys() == within.keys()  # the zero-minute pair (cell c at site s2) included
    for pair, minutes in within.items():
        assert stored[pair] == pytest.approx(minutes, abs=1e-4)
    assert list(tmp_path.glob("od/*.tmp")) == []


def test_od_command_with_blocks_resumes_and_refuses_other_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`siting od --blocks DIR` saves the same matrix; the store refuses another cut-off."""
    network, origins, sites = _od_inputs(tmp_path)
    argv = ["-q", "od", str(origins), str(sites), "--network", str(network)]
    assert main([*argv, "--out", str(tmp_path / "plain.npz"), "--max-minutes", "1"]) == EXIT_OK
    blocks = tmp_path / "blocks"
    stored = [*argv, "--out", str(tmp_path / "stored.npz"), "--blocks", str(blocks)]
    assert main([*stored, "--max-minutes", "1"]) == EXIT_OK
    plain, through = ODMatrix.load(tmp_path / "plain.npz"), ODMatrix.load(tmp_path / "stored.npz")
    # to the last bit, whichever engine "auto"'s timed probe picked for each run
    np.testing.assert_array_equal(plain.minutes.indices, through.minutes.indices)
    np.testing.assert_array_equal(plain.minutes.indptr, through.minutes.indptr)
    np.testing.assert_array_equal(
        plain.minutes.data.view(np.uint32), through.minutes.data.view(np.uint32)
    )
    assert list(blocks.glob("block-*.npz"))
    capsys.readouterr()
    assert main([*stored, "--max-minutes", "2"]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert f"{blocks}: an OD block store for other inputs" in error
    assert len(error.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"--max-minutes": "0"}, "--max-minutes"),
        ({"--max-minutes": "soon"}, "--max-minutes"),
        ({"--workers": "two"}, "--workers"),
        ({"origins": "id,population,lon,lat\na,10,17.00,\n"}, "cells.csv"),
        (
            {"sites": "site_id,name,status,lon,lat\ns1,A,existing,17,62\ns1,B,existing,17,62\n"},
            "'s1'",
        ),
        (
            {
                "--max-snap-m": "10",
                "sites": "site_id,name,status,lon,lat\nfar,Far,candidate,17.5,62.5\n",
            },
            "'far'",
        ),
    ],
)
def test_od_bad_input_exits_2_with_one_line_and_no_matrix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, str], named: str
) -> None:
    """Bad options, files or far points: exit 2, one line naming the culprit, nothing written."""
    network, origins, sites = _od_inputs(tmp_path)
    if "origins" in change:
        origins.write_text(change["origins"])
    if "sites" in change:
        sites.write_text(change["sites"])
    out = tmp_path / "matrix.npz"
    argv = ["-q", "od", str(origins), str(sites), "--network", str(network), "--out", str(out)]
    for option, value in change.items():
        if option.startswith("--"):
            argv += [option, value]
    assert main(argv) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert error.startswith("siting: error: ")
    assert named in error
    assert len(error.strip().splitlines()) == 1
    assert not out.exists()


def test_run_writes_the_outputs_and_says_what_it_chose(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`siting run` prints one line per problem and where the files are."""
    path = write_scenario(tmp_path, scenario_text({("outputs", "map"): "true"}))
    out = tmp_path / "out"
    assert main(["-q", "run", str(path), "--out", str(out)]) == EXIT_OK
    printed = capsys.readouterr().out
    # A and C open: B (50 people) and D (20) are 0.1 degree (11.12 km = min) away
    assert (
        "one more (p-median): optimal, gap 0.00%, 2 open, 1 new (Candidate C), "
        "100.0% within 30 min, mean 3.9 min (over 60 counted as 60)" in printed
    )
    assert f"open {out / 'map.html'}" in printed
    assert {"summary.json", "assignments.csv", "sites.geojson", "map.html"} <= {
        p.name for p in out.iterdir()
    }


def test_run_line_of_a_problem_with_unknown_gap_or_no_people() -> None:
    """Nulls in summary.json (no solver bound, no people) give a line, not a traceback."""
    no_bound = {"name": "p", "kind": "p-median", "status": "time limit", "gap": None}
    assert _problem_line(no_bound) == "p (p-median): time limit"
    total = {"population": 0.0, "share_within_30_min": None, "mean_minutes_capped": None}
    no_people = {"name": "m", "kind": "mclp", "status": "optimal", "gap": 0.0}
    line = _problem_line({**no_people, "metrics": {"total": total}})
    assert line == "m (mclp): optimal, gap 0.00%"


def _fails_with_one_line(argv: list[str], capsys: pytest.CaptureFixture[str], text: str) -> None:
    assert main(["-q", *argv]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert error.startswith("siting: error: ")
    assert len(error.strip().splitlines()) == 1, error
    assert text in error, error


def test_run_bad_scenario_files_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Missing, unreadable and half-written scenario files: one line, exit 2, no output."""
    out = tmp_path / "out"
    _fails_with_one_line(["run", str(tmp_path / "none.toml"), "--out", str(out)], capsys,
                         "none.toml: no such scenario file")  # fmt: skip
    _fails_with_one_line(["run", str(tmp_path), "--out", str(out)], capsys,
                         "is a folder, not a file")  # fmt: skip
    text = scenario_text()
    cut = write_scenario(tmp_path, text[: len(text) // 2], name="cut.toml")
    _fails_with_one_line(["run", str(cut), "--out", str(out)], capsys, "cut.toml: not valid TOML")
    typo = write_scenario(tmp_path, text.replace("seed =", "sed ="), name="typo.toml")
    _fails_with_one_line(["run", str(typo), "--out", str(out)], capsys, "did you mean 'seed'")
    assert not out.exists()


def test_run_bad_input_files_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing or half-written population file: one line naming it, no output folder."""
    out = tmp_path / "out"
    path = write_scenario(tmp_path)
    (tmp_path / "cells.csv").unlink()
    _fails_with_one_line(["run", str(path), "--out", str(out)], capsys,
                         "[inputs] population.path: no such file 'cells.csv'")  # fmt: skip
    write_scenario(tmp_path)
    cells = tmp_path / "cells.csv"
    text = cells.read_text()
    cells.write_text(text[: text.index("c,30") + 7])  # cut inside the third row: no latitude
    _fails_with_one_line(["run", str(path), "--out", str(out)], capsys, "cells.csv")
    assert not out.exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_compare_two_runs_writes_the_comparison(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two runs over the same people: every problem is a scenario, today's offices first."""
    first = write_scenario(tmp_path)
    centre = [{"name": '"centre"', "kind": '"p-center"', "n_sites": "2"}]
    second = write_scenario(
        tmp_path, scenario_text({("", "name"): '"other"'}, problems=centre), name="b.toml"
    )
    for path, out in ((first, "run-a"), (second, "run-b")):
        assert main(["-q", "run", str(path), "--out", str(tmp_path / out)]) == EXIT_OK
    site = tmp_path / "site"
    argv = ["-q", "compare", str(tmp_path / "run-a"), str(tmp_path / "run-b"), "--out", str(site)]
    assert main(argv) == EXIT_OK
    assert "index.html" in capsys.readouterr().out
    metrics = pd.read_csv(site / "comparison.csv")
    totals = metrics[metrics["group"] == "total"].set_index("scenario")
    assert list(totals.index) == ["tiny: existing", "tiny: one more", "other: existing",
                                  "other: centre"]  # fmt: skip
    # today: A and B within 15 min (150 of 200); with C: all
    assert totals["within_15_min"].tolist() == [150, 200, 150, 200]
    changes = pd.read_csv(site / "changes.csv")
    assert set(changes["baseline"]) == {"tiny: existing"}
    assert (site / "compare.html").is_file()
    assert (site / "index.html").is_file()


def test_compare_refuses_runs_over_different_people(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Runs over other demand points cannot be compared; not a run folder is bad input."""
    write_scenario(tmp_path / "a")
    main(["-q", "run", str(tmp_path / "a" / "tiny.toml"), "--out", str(tmp_path / "run-a")])
    write_scenario(tmp_path / "b")
    cells = tmp_path / "b" / "cells.csv"
    cells.write_text(cells.read_text().replace("d,20", "e,20"))
    main(["-q", "run", str(tmp_path / "b" / "tiny.toml"), "--out", str(tmp_path / "run-b")])
    capsys.readouterr()
    argv = ["compare", str(tmp_path / "run-a"), str(tmp_path / "run-b"), "--out", str(tmp_path)]
    _fails_with_one_line([*argv[:-1], str(tmp_path / "site")], capsys, "demand points differ")
    _fails_with_one_line(["compare", str(tmp_path / "a"), "--out", str(tmp_path / "site")],
                         capsys, "not a complete `siting run` folder")  # fmt: skip
    assert not (tmp_path / "site").exists()


def test_compare_a_run_with_a_damaged_sites_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run folder whose sites.geojson is cut short is bad input, not a GDAL traceback."""
    write_scenario(tmp_path)
    run = tmp_path / "run"
    main(["-q", "run", str(tmp_path / "tiny.toml"), "--out", str(run)])
    sites = run / "sites.geojson"
    sites.write_text(sites.read_text()[:40])
    capsys.readouterr()
    _fails_with_one_line(["compare", str(run), "--out", str(tmp_path / "site")],
                         capsys, f"{sites}: cannot be read as GeoJSON")  # fmt: skip
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize("command", ["run", "compare"])
def test_run_and_compare_have_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` works on the new sub-commands."""
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    assert "--out" in capsys.readouterr().out


def test_run_over_a_road_network_gives_networkx_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scenario naming an OSM file: road times as networkx computes them, model named."""
    network, _, _ = _od_inputs(tmp_path)
    text = scenario_text(
        {
            ("inputs", "network"): f'"{network.name}"',
            ("travel", "circuity"): None,
            ("travel", "speed_bands"): None,
        }
    )
    (tmp_path / "road.toml").write_text(text)
    out = tmp_path / "out"
    assert main(["-q", "run", str(tmp_path / "road.toml"), "--out", str(out)]) == EXIT_OK
    summary = json.loads((out / "summary.json").read_text())
    assert summary["travel"]["model"] == "road network"
    assert (
        summary["travel"]["network"]["sha256"] == hashlib.sha256(network.read_bytes()).hexdigest()
    )
    graph = load_network(network, cache=False)
    table = pd.read_csv(out / "assignments.csv")
    today = table[table["problem"] == "existing"].set_index("demand_id")["minutes"]
    for cell, node in (("a", 1), ("b", 3), ("c", 4)):  # cells on nodes; s1 (today) on node 2
        expected = nx.shortest_path_length(graph, node, 2, weight="travel_time") / 60.0
        assert today[cell] == pytest.approx(expected, abs=1e-3)
    assert set(table["model"]) == {"road network"}


def test_run_with_a_cut_off_geojson_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A half-written vector file of offices: one line naming it, not a traceback."""
    path = write_scenario(tmp_path, scenario_text({("inputs", "existing"): '"sites.geojson"'}))
    (tmp_path / "sites.geojson").write_text('{"type": "FeatureCollection", "features": [{"ty')
    _fails_with_one_line(["run", str(path), "--out", str(tmp_path / "out")], capsys,
                         "sites.geojson: cannot read")  # fmt: skip


def test_rerun_over_a_network_file_skips_the_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rerun with other problems takes the matrix from the cache, never loading roads."""
    network, _, _ = _od_inputs(tmp_path)
    changes = {("inputs", "network"): f'"{network.name}"', ("travel", "circuity"): None,
               ("travel", "speed_bands"): None}  # fmt: skip
    (tmp_path / "a.toml").write_text(scenario_text(changes))
    centre = [{"name": '"centre"', "kind": '"p-center"', "n_sites": "1"}]
    (tmp_path / "b.toml").write_text(scenario_text(changes, problems=centre))
    assert main(["-q", "run", str(tmp_path / "a.toml"), "--out", str(tmp_path / "a")]) == 0

    def no_roads(*args: object, **kwargs: object) -> None:
        raise AssertionError("the network was loaded")

    monkeypatch.setattr(siting.scenario.pipeline, "load_road_network", no_roads)
    assert main(["-q", "run", str(tmp_path / "b.toml"), "--out", str(tmp_path / "b")]) == 0
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["timings_s"]["matrix_from_run_cache"] is True
    assert summary["travel"]["model"] == "road network"
    first = pd.read_csv(tmp_path / "a" / "assignments.csv")
    second = pd.read_csv(tmp_path / "b" / "assignments.csv")
    today = [
        table[table["problem"] == "existing"].reset_index(drop=True) for table in (first, second)
    ]
    pd.testing.assert_frame_equal(*today)
    # a changed network file is a new key: the roads are loaded again
    network.write_text(network.read_text().replace('maxspeed" v="70"', 'maxspeed" v="50"'))
    with pytest.raises(AssertionError, match="the network was loaded"):
        main(["-q", "run", str(tmp_path / "b.toml"), "--out", str(tmp_path / "b")])


@pytest.mark.slow
def test_a_reader_that_leaves_early_is_no_error(tmp_path: Path) -> None:
    """`siting run ... | head -n 0`: the outputs are written and the exit is quiet and 0."""
    path = write_scenario(tmp_path)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "siting.cli.main", "-q", "run", str(path), "--out", str(out)]
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before siting prints anything
    with os.fdopen(write_end, "wb") as stdout:
        done = subprocess.run(command, stdout=stdout, stderr=subprocess.PIPE, check=False)
    assert done.returncode == EXIT_OK
    assert done.stderr == b""
    assert (out / "summary.json").is_file()
