"""Bad numbers, paths, encodings and geometry: one line naming file, field and value, exit 2,
and an earlier result left as it was (or a SitingWarning where the data can still be used)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from scenario_files import DEMAND_CSV, SITES_CSV, scenario_text, write_scenario
from shapely.geometry import Point, Polygon

from siting._core.errors import InputError, SitingWarning
from siting._core.paths import readable_file
from siting.cli.main import EXIT_BAD_INPUT, EXIT_OK, main
from siting.inputs.population import load_population
from siting.inputs.sites import load_sites
from siting.scenario.config import load_scenario

pytestmark = pytest.mark.usefixtures("private_cache")


def _tree_digest(folder: Path) -> str:
    """One hash over every file name and content under `folder`."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _refused_keeping_earlier_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, *expected: str
) -> None:
    """A good run first; then the scenario `text` must fail in one line and keep it."""
    out = tmp_path / "out"
    scenario = write_scenario(tmp_path)
    assert main(["-q", "run", str(scenario), "--out", str(out)]) == EXIT_OK
    before = _tree_digest(out)
    capsys.readouterr()
    scenario.write_text(text)
    assert main(["-q", "run", str(scenario), "--out", str(out)]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1, error
    assert all(part in error for part in expected), error
    assert _tree_digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


# --- 3: population values -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("a,1e308,15.0,63.0", "line 2: value 1e+308 is more people than live on Earth"),
        ("a,1e30,15.0,63.0", "line 2: value 1e+30 is more people than live on Earth"),
        ("a,1e309,15.0,63.0", "line 2: value '1e309' is not finite"),
        ("a,-1,15.0,63.0", "line 2: value '-1' is below 0"),
    ],
)
def test_population_out_of_range_is_refused_before_any_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], row: str, expected: str
) -> None:
    """1e308 once overflowed in the solver after the old output was gone; 1e30 passed."""
    scenario = write_scenario(tmp_path)
    out = tmp_path / "out"
    assert main(["-q", "run", str(scenario), "--out", str(out)]) == EXIT_OK
    before = _tree_digest(out)
    demand = DEMAND_CSV.replace("a,100,15.0,63.0", row.rsplit(",", 2)[0] + ",15.0,63.0")
    (tmp_path / "cells.csv").write_text(demand)
    capsys.readouterr()
    assert main(["-q", "run", str(scenario), "--out", str(out)]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "cells.csv: column 'population' " + expected in error, error
    assert _tree_digest(out) == before


def test_a_total_over_the_world_population_is_refused() -> None:
    """Each of two 9e9 cells is possible alone; together they are more than live on Earth."""
    cells = pd.DataFrame({"rutid": ["3500006680000", "3510006680000"], "pop": [9e9, 9e9]})
    with pytest.raises(InputError, match=r"column 'pop' sums to 1\.8e\+10, more people than"):
        load_population(cells)


# --- 4: paths given as data files ---------------------------------------------------------


def _bad_paths(tmp_path: Path) -> dict[str, tuple[str, str]]:
    (tmp_path / "loop_a.csv").symlink_to(tmp_path / "loop_b.csv")
    (tmp_path / "loop_b.csv").symlink_to(tmp_path / "loop_a.csv")
    (tmp_path / "folder.csv").mkdir()
    return {
        "symlink loop": (str(tmp_path / "loop_a.csv"), "is a symbolic link loop"),
        "long name": (str(tmp_path / ("x" * 300 + ".csv")), "is 304 bytes long, over the limit"),
        "long path": ("/".join(["y" * 200] * 25) + ".csv", "over the limit of 4095"),
        "NUL byte": (str(tmp_path / "a\0b.csv"), "the path contains a NUL byte"),
        "folder": (str(tmp_path / "folder.csv"), "is a folder, not a file"),
        "device": ("/dev/null", "is a device, pipe or socket, not a file"),
        "missing": (str(tmp_path / "none.csv"), "no such file"),
    }


def test_each_bad_data_path_says_what_is_wrong(tmp_path: Path) -> None:
    """Not "no such file" for a loop, a folder or /dev/null; no OSError or ValueError."""
    for path, expected in _bad_paths(tmp_path).values():
        with pytest.raises(InputError, match=expected):
            load_population(path)
        with pytest.raises(InputError, match=expected):
            load_sites(path)


def test_a_bad_path_in_a_scenario_names_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The scenario's own key is named, with the path shortened when it is very long."""
    (tmp_path / "paths").mkdir()
    for path, expected in _bad_paths(tmp_path / "paths").values():
        if "\0" in path:
            continue  # TOML strings cannot hold a NUL byte; the reader is tested above
        text = scenario_text({("inputs", "existing"): f'"{path}"'})
        _refused_keeping_earlier_run(
            tmp_path, capsys, text, "[inputs] existing.path: ", expected.split(",")[0]
        )


def test_a_scenario_file_that_is_a_device_or_loop_is_refused(tmp_path: Path) -> None:
    loop = tmp_path / "loop.toml"
    loop.symlink_to(loop)
    for path, expected in ((loop, "symbolic link loop"), (Path("/dev/null"), "a device")):
        assert main(["-q", "run", str(path), "--out", str(tmp_path / "out")]) == EXIT_BAD_INPUT
        with pytest.raises(InputError, match=expected):
            readable_file(path)
    assert not (tmp_path / "out").exists()


def test_coordinate_columns_come_in_pairs(tmp_path: Path) -> None:
    """The library takes them as one pair; the scenario's two keys must both be given."""
    path = tmp_path / "cells.csv"
    path.write_text(DEMAND_CSV.replace("id,population,lon,lat", "id,population,öst,nord"))
    demand = load_population(path, id_column="id", xy_columns=("öst", "nord"), crs="EPSG:4326")
    assert demand.geometry.y.round(-3).tolist() == [6986000.0, 6997000.0, 7008000.0, 7019000.0]
    population = '{ path = "cells.csv", id_column = "id", x_column = "öst", crs = "EPSG:4326" }'
    write_scenario(tmp_path, scenario_text({("inputs", "population"): population}))
    with pytest.raises(InputError, match="x_column and y_column go together; give both"):
        load_scenario(tmp_path / "tiny.toml")


def test_an_unknown_crs_is_named(tmp_path: Path) -> None:
    path = tmp_path / "cells.csv"
    path.write_text(DEMAND_CSV)
    with pytest.raises(InputError, match="crs 'EPSG:99999' is no coordinate system PROJ knows"):
        load_population(path, id_column="id", crs="EPSG:99999")


# --- 9: messages that say what to do ------------------------------------------------------


def test_a_latin1_csv_says_so_and_the_encoding_option_reads_it(tmp_path: Path) -> None:
    latin = tmp_path / "cells.csv"
    latin.write_bytes(DEMAND_CSV.replace(",A\n", ",Åre\n").encode("latin-1"))
    with pytest.raises(InputError, match=r'line 2: byte 0xc5 is not utf-8 text; .*"latin-1"'):
        load_population(latin, id_column="id")
    demand = load_population(latin, id_column="id", encoding="latin-1")
    assert demand["name"].tolist() == ["Åre", "B", "C", "D"]


def test_the_encoding_option_of_a_scenario_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    population = '{ path = "cells.csv", id_column = "id", crs = "EPSG:4326", encoding = "%s" }'
    text = scenario_text({("inputs", "population"): population % "cp1252"})
    scenario = write_scenario(tmp_path, text)
    (tmp_path / "cells.csv").write_bytes(DEMAND_CSV.replace(",A\n", ",Åre\n").encode("cp1252"))
    assert main(["-q", "run", str(scenario), "--out", str(tmp_path / "out")]) == EXIT_OK
    scenario.write_text(scenario_text({("inputs", "population"): population % "klingon"}))
    assert main(["-q", "run", str(scenario), "--out", str(tmp_path / "out")]) == EXIT_BAD_INPUT
    assert "encoding must be a text encoding such as 'utf-8'" in capsys.readouterr().err


def test_swapped_latitude_and_longitude_are_named(tmp_path: Path) -> None:
    """Jämtland at (lon 15, lat 63) read as (lon 63, lat 15) lies in the Arabian Sea."""
    lines = DEMAND_CSV.splitlines()
    swapped = [lines[0]] + [
        ",".join([*f.split(",")[:2], f.split(",")[3], f.split(",")[2], *f.split(",")[4:]])
        for f in lines[1:]
    ]
    path = tmp_path / "swapped.csv"
    path.write_text("\n".join(swapped) + "\n")
    with pytest.raises(InputError, match=r"line 2 at \(63, 15\); are latitude and longitude"):
        load_population(path, id_column="id")


def test_a_point_far_from_sweden_is_kept_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "cells.csv"
    path.write_text(DEMAND_CSV.replace("d,20,15.0,63.3", "d,20,-74.0,40.7"))  # New York
    with pytest.warns(SitingWarning, match=r"1 of 4 points lie far from Sweden .*line 5"):
        demand = load_population(path, id_column="id")
    assert len(demand) == 4


def test_helsinki_and_oslo_are_near_enough(tmp_path: Path) -> None:
    """The demo's Helsinki and the Norwegian border regions must not warn."""
    path = tmp_path / "cells.csv"
    path.write_text("id,population,lon,lat\nhki,10,24.94,60.17\noslo,20,10.75,59.91\n")
    assert len(load_population(path, id_column="id")) == 2


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({("problems", "weights"): '"old"'}, "weights: {}/cells.csv has no column 'old'"),
        (
            {("problems", "priority"): '{ column = "area", values = ["x"], factor = 2 }'},
            "priority.column: {}/cells.csv has no column 'area'",
        ),
        ({("problems", "costs"): '"price"'}, "costs: {}/sites.csv has no column 'price'"),
        ({("problems", "weights"): '"name"'}, "column 'name' row 'a': value 'A' is not a number"),
    ],
)
def test_missing_weight_and_cost_columns_name_the_file_before_travel_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict, expected: str
) -> None:
    _refused_keeping_earlier_run(tmp_path, capsys, scenario_text(change), expected.format(tmp_path))


def test_tradeoff_beyond_the_candidates_is_refused_before_solving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    curve = {"name": '"curve"', "kind": '"tradeoff"', "max_n_sites": "9", "max_minutes": "30"}
    _refused_keeping_earlier_run(
        tmp_path, capsys, scenario_text(problems=[curve]),
        "problem 'curve' (tradeoff): max_n_sites = 9: only 3 sites may open",
    )  # fmt: skip


# --- 10: accepted silently before ---------------------------------------------------------


def test_an_empty_site_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text(SITES_CSV.replace("cand-c,", ","))
    with pytest.raises(InputError, match=r"column 'site_id' line 3: the id is empty"):
        load_sites(path)


def test_an_empty_site_name_warns_and_shows_the_id(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text(SITES_CSV.replace("Candidate C", " "))
    with pytest.warns(SitingWarning, match=r"1 site\(s\) have no name \(first line 3, id 'cand-c'"):
        sites = load_sites(path)
    assert sites["name"].tolist() == ["Office A", "cand-c", "Candidate D"]


def test_site_ids_that_differ_only_in_case_warn(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text(SITES_CSV.replace("cand-d", "CAND-C"))
    with pytest.warns(SitingWarning, match="ids 'cand-c' and 'CAND-C' differ only in case"):
        sites = load_sites(path)
    assert sites["site_id"].tolist() == ["office-a", "cand-c", "CAND-C"]


def test_a_layer_mixing_points_and_areas_is_refused(tmp_path: Path) -> None:
    square = Polygon([(350000, 6680000), (351000, 6680000), (351000, 6681000), (350000, 6681000)])
    layer = gpd.GeoDataFrame(
        {"population": [10, 20]}, geometry=[Point(352500, 6680500), square], crs="EPSG:3006"
    )
    path = tmp_path / "mixed.gpkg"
    layer.to_file(path)
    with pytest.raises(InputError, match="feature 2 is a Polygon but feature 1 is a Point"):
        load_population(path)


def test_an_invalid_polygon_is_repaired_with_a_warning(tmp_path: Path) -> None:
    """A bow tie (self-intersecting ring) becomes its two triangles, whose area is 2 x 0.25."""
    bow_tie = Polygon([(350000, 6680000), (351000, 6681000), (351000, 6680000), (350000, 6681000)])
    good = Polygon([(360000, 6680000), (361000, 6680000), (361000, 6681000), (360000, 6681000)])
    layer = gpd.GeoDataFrame({"population": [10, 20]}, geometry=[bow_tie, good], crs="EPSG:3006")
    path = tmp_path / "areas.gpkg"
    layer.to_file(path)
    with pytest.warns(SitingWarning, match=r"1 invalid geometry \(first feature 1: Self-inter"):
        demand = load_population(path)
    assert demand["cell"].area.tolist() == pytest.approx([500_000.0, 1_000_000.0])
    assert demand["population"].tolist() == [10.0, 20.0]


def test_demand_ids_must_not_be_empty(tmp_path: Path) -> None:
    path = tmp_path / "cells.csv"
    path.write_text(DEMAND_CSV.replace("\nc,30", "\n,30"))
    with pytest.raises(InputError, match="column 'id' line 4: the id is empty"):
        load_population(path, id_column="id")


# --- the command's own options ------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["sail"], "invalid choice: 'sail'"),
        (["run"], "the following arguments are required: scenario (see `siting run --help`)"),
        (["run", "x.toml", "--colour", "red"], "unrecognized arguments: --colour red"),
        (["od", "a.csv", "b.csv", "--out", "od.npz"], "required: --network (see `siting od"),
    ],
)
def test_argument_errors_are_one_line(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not argparse's usage block: one line, exit 2, and where to read the options."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert error.startswith("siting: error: ")
    assert len(error.strip().splitlines()) == 1, error
    assert expected in error, error


def test_run_and_od_read_latin1_files_with_encoding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The option the message offers exists, for `run` (tables without their own) and `od`."""
    scenario = write_scenario(tmp_path)
    for name, text in (("cells.csv", DEMAND_CSV), ("sites.csv", SITES_CSV)):
        (tmp_path / name).write_bytes(text.replace(",A\n", ",Åre\n").encode("latin-1"))
    out = tmp_path / "out"
    assert main(["-q", "run", str(scenario), "--out", str(out)]) == EXIT_BAD_INPUT
    assert 'try encoding "latin-1" (the option encoding, or --encoding' in capsys.readouterr().err
    argv = ["-q", "run", str(scenario), "--out", str(out), "--encoding", "latin-1"]
    assert main(argv) == EXIT_OK
    od = ["-q", "od", str(tmp_path / "cells.csv"), str(tmp_path / "sites.csv"), "--id-column",
          "id", "--network", "straight-line", "--out", str(tmp_path / "od.npz")]  # fmt: skip
    assert main([*od, "--encoding", "latin-1"]) == EXIT_OK
    assert main([*od, "--encoding", "klingon"]) == EXIT_BAD_INPUT
    assert "--encoding must be a text encoding such as 'utf-8'" in capsys.readouterr().err
