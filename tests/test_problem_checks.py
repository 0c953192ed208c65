"""Site ids and counts of every problem checked in the scenario's terms before any solving."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario_files import SITES_CSV, scenario_text, write_scenario

import siting.scenario.pipeline
from siting._core.errors import InputError
from siting.scenario.checks import check_scenario_sites
from siting.scenario.config import load_scenario
from siting.scenario.pipeline import load_inputs, run_scenario

# sites: office-a (existing), cand-c and cand-d (candidates); one office a p-median keeps
CASES = [
    ({"forbidden": '["nosuch"]'},
     "forbidden: 'nosuch' is not the id of an existing office or candidate site"),
    ({"required": '["cand-c"]', "forbidden": '["cand-c"]'},
     "required and forbidden both list 'cand-c'"),
    ({"forbidden": '["office-a"]'},
     "forbidden: 'office-a' is an office kept open (status existing); set existing_fixed"),
    # three sites, A kept, D forbidden: one more can open, not two
    ({"n_sites": None, "n_new": "2", "forbidden": '["cand-d"]'},
     "n_new = 2: only 1 sites can open besides the 1 kept open (3 sites, 1 of them forbidden)"),
    ({"n_sites": "4"}, "n_sites = 4: only 3 sites may open (3 sites, 0 of them forbidden)"),
    ({"n_sites": "1", "required": '["cand-d"]'},
     "n_sites = 1 is fewer than the 2 offices that must stay open"),
]  # fmt: skip


def _scenario(tmp_path: Path, changes: dict[str, str | None], kind: str = "p-median") -> Path:
    problem = {"name": '"pm"', "kind": f'"{kind}"', "n_sites": "2"}
    for key, value in changes.items():
        if value is None:
            problem.pop(key)
        else:
            problem[key] = value
    return write_scenario(tmp_path, scenario_text(problems=[problem]))


@pytest.mark.parametrize(("changes", "message"), CASES)
def test_site_errors_name_file_problem_key_and_value(
    tmp_path: Path, changes: dict[str, str | None], message: str
) -> None:
    """One line with the scenario file, the problem, the key the user wrote and the value."""
    path = _scenario(tmp_path, changes)
    scenario = load_scenario(path)
    with pytest.raises(InputError) as caught:
        check_scenario_sites(scenario, load_inputs(scenario)[1])
    text = str(caught.value)
    assert text.startswith(f"{path}: problem 'pm' (p-median): {message}")
    assert "np." not in text
    assert "n_sites=" not in text
    # the same words when the problem is reached in a run
    with pytest.raises(InputError, match=f"problem 'pm' \\(p-median\\): {message[:30]}"):
        run_scenario(path, tmp_path / "out")


def test_closure_impact_names_close(tmp_path: Path) -> None:
    """An unknown or not open id in `close` is reported under `close`, not required_sites."""
    problems = [{"name": '"shut"', "kind": '"closure-impact"', "close": '["nosuch"]'}]
    path = write_scenario(tmp_path, scenario_text(problems=problems))
    with pytest.raises(InputError, match=r"\(closure-impact\): close: 'nosuch' is not the id"):
        run_scenario(path, tmp_path / "out")
    problems[0]["close"] = '["cand-c"]'
    path = write_scenario(tmp_path, scenario_text(problems=problems))
    with pytest.raises(InputError, match="close: 'cand-c' is no office open today"):
        run_scenario(path, tmp_path / "out")


def test_an_id_clipped_away_by_the_region_is_told_apart(tmp_path: Path) -> None:
    """A candidate in Stockholm exists in the file but not in the Östersund region."""
    path = _scenario(tmp_path, {"forbidden": '["cand-sthlm"]'})
    text = path.read_text().replace("[inputs]", '[inputs]\nregion = "2380"')
    path.write_text(text)
    (tmp_path / "sites.csv").write_text(
        SITES_CSV + "cand-sthlm,Stockholm,candidate,1.0,18.07,59.33\n"
    )
    scenario = load_scenario(path)
    sites = load_inputs(scenario)[1]
    assert "cand-sthlm" not in set(sites["site_id"])
    with pytest.raises(
        InputError, match="in \\[inputs\\] existing but lies outside the region '2380'"
    ):
        check_scenario_sites(scenario, sites)


def test_site_errors_come_before_the_travel_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No OD matrix is computed for a scenario whose problem names an unknown site."""

    def no_matrix(*args: object, **kwargs: object) -> None:
        raise AssertionError("the OD matrix was computed")

    monkeypatch.setattr(siting.scenario.pipeline, "_travel_matrix", no_matrix)
    path = _scenario(tmp_path, {"forbidden": '["nosuch"]'})
    with pytest.raises(InputError, match=f"^{path}: problem 'pm'"):
        run_scenario(path, tmp_path / "out")
