"""Tests for siting.scenario.run_folder: a damaged run folder given to `siting compare`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from scenario_files import scenario_text, write_scenario

from siting.cli.main import EXIT_BAD_INPUT, EXIT_OK, main


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two whole runs of the tiny scenario ("tiny" and "other"), made once for the module."""
    root = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SITING_CACHE_DIR", str(root / "cache"))
        for name in ("tiny", "other"):
            scenario = write_scenario(root / name, scenario_text({("", "name"): f'"{name}"'}))
            out = root / f"run-{name}"
            assert main(["-q", "run", str(scenario), "--out", str(out)]) == EXIT_OK
    return root


def _listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _edit(name: str, change: Callable[[str], str]) -> Callable[[Path], None]:
    """A damage: `change` applied to the text of the file `name` of a run folder."""

    def damage(run: Path) -> None:
        path = run / name
        path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")

    return damage


def _lines(text: str, keep: int) -> str:
    return "".join(text.splitlines(keepends=True)[:keep])


def _drop_column(text: str, column: str) -> str:
    rows = [line.split(",") for line in text.splitlines()]
    position = rows[0].index(column)
    return "".join(",".join(r[:position] + r[position + 1 :]) + "\n" for r in rows)


def _without(keys: tuple[str, ...]) -> Callable[[str], str]:
    def change(text: str) -> str:
        summary = json.loads(text)
        del summary[keys[0]][keys[1]]
        return json.dumps(summary)

    return change


def _without_site_names(text: str) -> str:
    collection = json.loads(text)
    for feature in collection["features"]:
        del feature["properties"]["name"]
    return json.dumps(collection)


# damage -> (the file named, what the line says); assignments.csv of the tiny run has a
# header, 4 rows of "existing" (lines 2-5) and 4 of "one more" (lines 6-9)
DAMAGES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    # cut inside line 4 ("existing,c,office-a,22.239,..."): the rows of "one more" are gone
    "cut mid-row": (_edit("assignments.csv", lambda t: t[: t.index("22.239")]),
                    "assignments.csv", "line 4 ends mid-row: the file looks truncated"),
    # cut after line 6: one row of "one more" is left of 4
    "cut between rows": (_edit("assignments.csv", lambda t: _lines(t, 6)), "assignments.csv",
                         ("1 row(s) for problem 'one more', but summary.json says the run "
                          "has 4 demand points: the file looks truncated")),
    "missing column": (_edit("assignments.csv", lambda t: _drop_column(t, "lat")),
                       "assignments.csv", "missing column(s) lat (it has problem, demand_id"),
    "not a number": (_edit("assignments.csv", lambda t: t.replace(",50.0,", ",fifty,", 1)),
                     "assignments.csv",
                     "column 'population', line 3: expected a number, got 'fifty'"),
    "no summary": (lambda run: (run / "summary.json").unlink(), "summary.json",
                   "no such file, so "),
    "summary cut short": (_edit("summary.json", lambda t: t[: len(t) // 2]), "summary.json",
                          "not valid JSON at line "),
    "summary lacks a field": (_edit("summary.json", _without(("inputs", "demand_points"))),
                              "summary.json", "field 'inputs.demand_points' is missing"),
    "sites without names": (_edit("sites.geojson", _without_site_names), "sites.geojson",
                            "missing field(s) name in its features"),
    "unknown office": (_edit("assignments.csv", lambda t: t.replace("cand-c", "cand-x")),
                       "assignments.csv", "line 8: site id 'cand-x' is not in sites.geojson"),
}  # fmt: skip


@pytest.mark.usefixtures("private_cache")
@pytest.mark.parametrize("case", sorted(DAMAGES))
def test_a_damaged_run_folder_is_one_line_and_exit_2(
    case: str, pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The second run damaged: exit 2, one line naming its file and fault; --out untouched."""
    damage, file_name, fault = DAMAGES[case]
    good, bad = tmp_path / "tiny", tmp_path / "other"
    shutil.copytree(pristine / "run-tiny", good)
    shutil.copytree(pristine / "run-other", bad)
    earlier, fresh = tmp_path / "earlier", tmp_path / "fresh"
    assert main(["-q", "compare", str(good), str(bad), "--out", str(earlier)]) == EXIT_OK
    before = _listing(earlier)
    damage(bad)
    capsys.readouterr()
    for out in (earlier, fresh):
        assert main(["-q", "compare", str(good), str(bad), "--out", str(out)]) == EXIT_BAD_INPUT
        error = capsys.readouterr().err
        assert len(error.strip().splitlines()) == 1, error
        assert f"siting: error: {bad / file_name}: {fault}" in error, error
        assert error.strip().endswith("re-run `siting run` to write the folder again"), error
    assert _listing(earlier) == before
    assert not fresh.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp folder
