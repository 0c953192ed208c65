"""Market share (Huff) as scenario kinds: market-share and target-market-share on the tiny
line of towns, checked against every plan priced by hand; bad input exits 2 with one line."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest
from scenario_files import scenario_text, write_scenario

from siting.cli.main import EXIT_BAD_INPUT, main
from siting.scenario.export import portable_scenario
from siting.scenario.pipeline import run_scenario

#: one step of 0.1 degree of latitude on the mean-radius sphere, in km (= minutes at 60 km/h)
STEP = 6_371.0088 * math.pi / 1800
#: people at A, B, C, D (one step apart, as in scenario_files)
PEOPLE = (100, 50, 30, 20)
#: our candidates at C (position 2) and D (3); the other office at A (0)
OURS = {"cand-c": 2, "cand-d": 3}
LINEAR = '{ kind = "linear", max_minutes = 60 }'
RIVAL_CSV = "site_id,name,pull,lon,lat\nrival-a,Rival A,2.0,15.0,63.0\n"
#: the sites of scenario_files with an attractiveness column
SITES_WITH_PULL = """site_id,name,status,pull,lon,lat
office-a,Office A,existing,1,15.0,63.0
cand-c,Candidate C,candidate,1,15.0,63.2
cand-d,Candidate D,candidate,1,15.0,63.3
"""

pytestmark = pytest.mark.usefixtures("private_cache")


def _pull(steps: int) -> float:
    """Linear decay to 0 at 60 minutes."""
    return max(0.0, 1 - steps * STEP / 60)


def _won(plan: tuple[str, ...], rival_appeal: float = 1.0) -> float:
    """People our `plan` wins against the office at A, Huff by hand, point by point."""
    won = 0.0
    for point, people in enumerate(PEOPLE):
        ours = sum(_pull(abs(point - OURS[site])) for site in plan)
        theirs = rival_appeal * _pull(point)
        won += people * ours / (ours + theirs)
    return won


def _plans(size: int) -> list[tuple[str, ...]]:
    return list(itertools.combinations(sorted(OURS), size))


def _run(folder: Path, problems: list[dict[str, str]], sites: str | None = None) -> list[dict]:  # type: ignore[type-arg]
    path = write_scenario(folder, scenario_text(problems=problems))
    (folder / "rival.csv").write_text(RIVAL_CSV)
    if sites is not None:
        (folder / "sites.csv").write_text(sites)
    summary = run_scenario(path, folder / "out", progress=False).summary
    return list(summary["problems"][1:])  # after today's offices


def test_market_share_against_an_office_of_the_sites_table(tmp_path: Path) -> None:
    """office-a as the other agency's: C wins more than D (enumerated), status optimal."""
    problems = [{"name": '"most won"', "kind": '"market-share"', "n_sites": "1",
                 "competitors": '["office-a"]', "decay": LINEAR}]  # fmt: skip
    [won] = _run(tmp_path, problems)
    best = max(_plans(1), key=_won)
    assert won["open_sites"] == list(best) == ["cand-c"]
    assert won["objective"] == pytest.approx(_won(best), rel=1e-6)
    assert won["parameters"]["market_share"] == pytest.approx(_won(best) / sum(PEOPLE))
    assert (won["status"], won["gap"]) == ("optimal", 0.0)
    # the other agency's office is neither ours nor closed by our plan
    assert won["closed_sites"] == []
    assert won["competitors"] == ["office-a"]
    assert won["decay"] == {"kind": "linear", "max_minutes": 60.0}


def test_target_share_from_a_file_with_attractiveness(tmp_path: Path) -> None:
    """A rival twice as attractive, from a file: 30 % needs C alone (31.7 %), 40 % both
    (44.8 %), as the cheapest plan reaching each target among all plans, by hand."""
    base = {"kind": '"target-market-share"', "competitors_file": '"rival.csv"',
            "attractiveness": '"pull"', "decay": LINEAR, "existing_fixed": "false",
            "forbidden": '["office-a"]'}  # fmt: skip
    problems = [{"name": f'"{t}"', "target_share": t, **base} for t in ("0.30", "0.40")]
    sites = SITES_WITH_PULL
    found = _run(tmp_path, problems, sites)
    for answer, target in zip(found, (0.30, 0.40), strict=True):
        plans = [p for p in _plans(1) + _plans(2) if _won(p, 2.0) >= target * sum(PEOPLE)]
        assert answer["open_sites"] == list(plans[0])
        assert answer["parameters"]["market_share"] == pytest.approx(_won(plans[0], 2.0) / 200)
        assert (answer["status"], answer["gap"]) == ("optimal", 0.0)
        assert answer["competitors"] == ["rival-a"]
    assert [len(answer["open_sites"]) for answer in found] == [1, 2]


def test_target_share_no_plan_reaches_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """50 % against the rival: both our sites win 44.8 %, said in one line, exit 2."""
    problem = {"name": '"half"', "kind": '"target-market-share"', "target_share": "0.5",
               "competitors_file": '"rival.csv"', "attractiveness": '"pull"', "decay": LINEAR,
               "existing_fixed": "false", "forbidden": '["office-a"]'}  # fmt: skip
    path = write_scenario(tmp_path, scenario_text(problems=[problem]))
    (tmp_path / "rival.csv").write_text(RIVAL_CSV)
    (tmp_path / "sites.csv").write_text(SITES_WITH_PULL)
    assert main(["-q", "run", str(path), "--out", str(tmp_path / "out")]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1, error
    assert f"wins {_won(('cand-c', 'cand-d'), 2.0) / 200:.1%} of the demand" in error


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": '"target-market-share"', "target_share": "80"},
         "target_share 80 is above 100%"),
        ({"competitors": '["nowhere"]'}, "competitors: 'nowhere' is not the id"),
        ({"competitors_file": '"missing.csv"'}, "competitors_file: no such file 'missing.csv'"),
        ({"attractiveness": '"pull"'}, "attractiveness: the sites has no column 'pull'"),
        ({"decay": '{ kind = "exponential", beta = -1 }'}, "decay.beta must be a number > 0"),
        ({"decay": '{ kind = "linear", max_minutes = 90 }'}, "decay.max_minutes 90 exceeds"),
    ],
)  # fmt: skip
def test_bad_market_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], changes: dict[str, str], message: str
) -> None:
    """A share above 100 %, unknown competitor, missing file or column, bad decay: exit 2."""
    base = {"name": '"won"', "kind": '"market-share"', "n_sites": "2",
            "competitors": '["office-a"]'}  # fmt: skip
    problem = {**base, **changes}
    if problem["kind"] != '"market-share"':
        problem.pop("n_sites")
    path = write_scenario(tmp_path, scenario_text(problems=[problem]))
    assert main(["-q", "run", str(path), "--out", str(tmp_path / "out")]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1, error
    assert message in error


@pytest.mark.parametrize(
    ("rival", "message"),
    [
        (RIVAL_CSV.replace("rival-a", "office-a"),
         "site id 'office-a' is also in the sites table"),
        (RIVAL_CSV.replace(",2.0,", ",0,"), "site 'rival-a' has pull 0; give a number above 0"),
        (RIVAL_CSV.replace(",2.0,", ",,"), "column 'pull' row 'rival-a': value is missing"),
    ],
)  # fmt: skip
def test_bad_competitors_file_exits_2_before_the_matrix(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    rival: str,
    message: str,
) -> None:
    """An id also ours, or a rival that pulls nobody: one line, before any travel time."""
    import siting.scenario.pipeline as pipeline

    def no_matrix(*args: object, **kwargs: object) -> None:
        raise AssertionError("the OD matrix was computed before the inputs were checked")

    monkeypatch.setattr(pipeline, "_travel_matrix", no_matrix)
    problem = {"name": '"won"', "kind": '"market-share"', "n_sites": "1",
               "competitors_file": '"rival.csv"', "attractiveness": '"pull"'}  # fmt: skip
    path = write_scenario(tmp_path, scenario_text(problems=[problem]))
    (tmp_path / "rival.csv").write_text(rival)
    (tmp_path / "sites.csv").write_text(SITES_WITH_PULL)
    assert main(["-q", "run", str(path), "--out", str(tmp_path / "out")]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1, error
    assert message in error
    assert "problem 'won' (market-share)" in error


def test_market_share_writes_a_map(tmp_path: Path) -> None:
    """The answer is mapped like the other kinds, naming its market share."""
    problems = [{"name": '"most won"', "kind": '"market-share"', "n_sites": "1",
                 "competitors": '["office-a"]', "decay": LINEAR}]  # fmt: skip
    text = scenario_text({("outputs", "map"): "true"}, problems=problems)
    path = write_scenario(tmp_path, text)
    run_scenario(path, tmp_path / "out", progress=False)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert "map.html" in summary["files"]
    page = (tmp_path / "out" / "map.html").read_text()
    share = f"{_won(('cand-c',)) / sum(PEOPLE):.1%}"
    assert f"Market share: {share} of the demand an office reaches; other offices: 1" in page


def test_portable_scenario_keeps_the_competitors_file(tmp_path: Path) -> None:
    """A scenario written elsewhere (the web service's copy) still finds the rival offices."""
    problem = {"name": '"won"', "kind": '"market-share"', "n_sites": "1",
               "competitors_file": '"rival.csv"'}  # fmt: skip
    path = write_scenario(tmp_path, scenario_text(problems=[problem]))
    moved = tmp_path / "elsewhere" / "copy.toml"
    moved.parent.mkdir()
    moved.write_text(portable_scenario(path))
    assert f'competitors_file = "{tmp_path / "rival.csv"}"' in moved.read_text()
