"""run_scenario: answers checked by hand and by brute force, outputs, caching, atomic folders."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scenario_files import scenario_text, write_scenario

import siting.scenario.pipeline
from siting._core.errors import InfeasibleError, InputError
from siting.scenario.pipeline import OUTPUT_FILES, run_scenario

DATA = Path(__file__).resolve().parent.parent / "data"
#: one step of 0.1 degree of latitude on the mean-radius sphere, in km (= minutes at 60 km/h)
STEP_KM = 6_371.0088 * math.pi / 1800


# every test here writes through the cache: give each its own
pytestmark = pytest.mark.usefixtures("private_cache")


def _rows(out: Path, problem: str) -> pd.DataFrame:
    table = pd.read_csv(out / "assignments.csv", dtype={"demand_id": str})
    return table[table["problem"] == problem].set_index("demand_id")


def test_tiny_p_median_matches_hand_computation(tmp_path: Path) -> None:
    """Office at A kept, one more at C or D: C saves more person-minutes (worked by hand)."""
    out = tmp_path / "out"
    result = run_scenario(write_scenario(tmp_path), out, progress=False)
    # people: A 100, B 50, C 30, D 20 on a line, one step apart; minutes = km (60 km/h)
    # with C: B->A 1 step, D->C 1 step: 50 + 20 = 70 steps; with D: B 50 + C 30 = 80 steps
    [today, problem] = result.summary["problems"]
    assert problem["open_sites"] == ["office-a", "cand-c"]
    assert problem["opened"] == ["cand-c"]
    assert problem["objective"] == pytest.approx(70 * STEP_KM, rel=1e-5)
    assert (problem["bound"], problem["gap"], problem["status"]) == (
        problem["objective"],
        0.0,
        "optimal",
    )
    rows = _rows(out, "one more")
    assert rows["site_id"].to_dict() == {"a": "office-a", "b": "office-a", "c": "cand-c",
                                         "d": "cand-c"}  # fmt: skip
    assert rows.loc["d", "minutes"] == pytest.approx(STEP_KM, abs=1e-3)
    # today everyone goes to A: D is three steps (33.4 min) away
    assert _rows(out, "existing").loc["d", "minutes"] == pytest.approx(3 * STEP_KM, abs=1e-3)
    # today A, B (11.1 min) within 15, C (22.2) within 30, D (33.4) within 45
    total = today["metrics"]["total"]
    assert (total["within_15_min"], total["within_30_min"], total["within_45_min"]) == (
        150,
        180,
        200,
    )
    assert problem["metrics"]["total"]["share_within_15_min"] == 1.0
    assert problem["changes_vs"]["people_gaining"] == 50  # C and D


def test_mclp_with_budget_agrees_with_brute_force(tmp_path: Path) -> None:
    """MCLP under a budget: the best affordable set found by enumeration is the one chosen."""
    problems = [
        {"name": '"cover"', "kind": '"mclp"', "max_minutes": "12", "costs": '"cost"',
         "budget": "1.5"},
    ]  # fmt: skip
    out = tmp_path / "out"
    result = run_scenario(write_scenario(tmp_path, scenario_text(problems=problems)), out)
    people = {"a": 100, "b": 50, "c": 30, "d": 20}
    position = {"a": 0, "b": 1, "c": 2, "d": 3}
    sites = {"office-a": ("a", 0.0), "cand-c": ("c", 1.0), "cand-d": ("d", 2.0)}
    best = (-1.0, ())
    for count in range(1, 4):
        for chosen in itertools.combinations(sites, count):
            cost = sum(sites[s][1] for s in chosen)
            if "office-a" not in chosen or cost > 1.5:
                continue
            covered = sum(
                people[p]
                for p in people
                if any(abs(position[p] - position[sites[s][0]]) * STEP_KM <= 12 for s in chosen)
            )
            best = max(best, (covered, chosen))
    problem = result.summary["problems"][1]
    assert problem["objective"] == best[0] == 200
    assert problem["open_sites"] == list(best[1])


def test_priority_weights_change_the_choice(tmp_path: Path) -> None:
    """Counting D ten times over makes the office at D the better second one."""
    plain = run_scenario(write_scenario(tmp_path), tmp_path / "plain")
    assert plain.summary["problems"][1]["opened"] == ["cand-c"]
    weighted = {**_problem(), "priority": '{ column = "name", values = ["D"], factor = 10 }'}
    text = scenario_text(problems=[weighted])
    result = run_scenario(write_scenario(tmp_path, text), tmp_path / "weighted")
    # with C: B 50 + D 200 = 250 steps; with D: B 50 + C 30 = 80 steps
    assert result.summary["problems"][1]["opened"] == ["cand-d"]
    assert result.summary["problems"][1]["objective"] == pytest.approx(80 * STEP_KM, rel=1e-5)


def _problem() -> dict[str, str]:
    return {"name": '"one more"', "kind": '"p-median"', "n_sites": "2"}


def test_summary_records_inputs_versions_model_and_timings(tmp_path: Path) -> None:
    """summary.json holds hashes of every input, versions, the seed and the named model."""
    path = write_scenario(tmp_path)
    out = tmp_path / "out"
    result = run_scenario(path, out)
    summary = json.loads((out / "summary.json").read_text())
    assert summary == json.loads(json.dumps(result.summary))
    digest = hashlib.sha256((tmp_path / "cells.csv").read_bytes()).hexdigest()
    assert summary["inputs"]["population"]["sha256"] == digest
    scenario_digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert summary["scenario"]["sha256"] == scenario_digest
    assert summary["seed"] == 3
    assert {"siting", "numpy", "highspy", "python"} <= set(summary["versions"])
    assert summary["travel"]["model"] == "straight-line fallback"
    assert set(summary["timings_s"]) >= {"inputs", "od_matrix", "problems", "outputs", "total"}
    # the model travels with every table
    assert set(pd.read_csv(out / "assignments.csv")["model"]) == {"straight-line fallback"}
    sites = json.loads((out / "sites.geojson").read_text())
    assert sites["model"] == "straight-line fallback"
    roles = {
        p["site_id"]: p["role: one more"] for p in (f["properties"] for f in sites["features"])
    }
    assert roles == {"office-a": "open", "cand-c": "new", "cand-d": ""}
    assert set(result.files) >= {"summary.json", "assignments.csv", "sites.geojson"}


def test_closures_and_tradeoff_outputs(tmp_path: Path) -> None:
    """Offices at A, C and D: closing C sends C's people one step to D; curve as a table."""
    problems = [
        {"name": '"close c"', "kind": '"closure-impact"', "close": '["cand-c"]'},
        {
            "name": '"curve"',
            "kind": '"tradeoff"',
            "max_n_sites": "2",
            "max_minutes": "15",
            "existing_fixed": "false",
        },
    ]
    path = write_scenario(tmp_path, scenario_text(problems=problems))
    (tmp_path / "sites.csv").write_text(
        (tmp_path / "sites.csv").read_text().replace("candidate", "existing")
    )
    out = tmp_path / "out"
    result = run_scenario(path, out)
    closing = result.summary["problems"][1]
    assert closing["closed_sites"] == ["cand-c"]
    # C (30 people) now goes one step to D (A is two); nobody else used C
    assert _rows(out, "close c").loc["c", "minutes"] == pytest.approx(STEP_KM, abs=1e-3)
    assert closing["totals"]["added_person_minutes"] == pytest.approx(30 * STEP_KM, rel=1e-4)
    curve = pd.read_csv(out / "curve-curve.csv")
    assert curve["n_sites"].tolist() == [1, 2]
    # within 15 min A alone reaches A and B (150 of 200; C: 100, D: 50); A and C reach all
    assert curve["covered_share"].tolist() == pytest.approx([150 / 200, 1.0])
    # site lists as plain ids: A alone, then A with C or D (either reaches everyone)
    assert curve["mclp_sites"][0] == "office-a"
    assert curve["mclp_sites"][1] in ("office-a;cand-c", "office-a;cand-d")
    assert curve["status"].tolist() == ["optimal", "optimal"]
    assert (out / "close-c-impact-by-group.csv").is_file()


def test_od_matrix_is_cached_and_reused_across_scenarios(tmp_path: Path) -> None:
    """Two scenarios over the same points and model share one saved matrix."""
    cache = tmp_path / "od-cache"
    first = write_scenario(tmp_path)
    other = [{"name": '"centre"', "kind": '"p-center"', "n_sites": "2"}]
    second = write_scenario(tmp_path, scenario_text(problems=other), name="second.toml")
    run_scenario(first, tmp_path / "one", cache_dir=cache)
    [saved] = list(cache.glob("od-*.npz"))
    stamp = saved.stat().st_mtime_ns
    result = run_scenario(second, tmp_path / "two", cache_dir=cache)
    assert list(cache.glob("od-*.npz")) == [saved]
    assert saved.stat().st_mtime_ns == stamp
    assert result.summary["problems"][1]["objective"] == pytest.approx(STEP_KM, rel=1e-5)


def test_a_failing_step_leaves_the_previous_result_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash while writing, or a problem without a solution, changes nothing on disk."""
    path = write_scenario(tmp_path, scenario_text({("outputs", "map"): "true"}))
    out = tmp_path / "out"
    run_scenario(path, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(OUTPUT_FILES) <= set(before)

    def broken_map(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(siting.scenario.pipeline, "write_map", broken_map)
    with pytest.raises(RuntimeError, match="disk full"):
        run_scenario(path, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []
    # D must open, but costs 2 of a budget of 1.5
    impossible = [{"kind": '"mclp"', "max_minutes": "15", "costs": '"cost"', "budget": "1.5",
                   "required": '["cand-d"]'}]  # fmt: skip
    with pytest.raises(InfeasibleError, match=r"problem 'mclp-1' \(mclp\): budget 1\.5"):
        run_scenario(write_scenario(tmp_path, scenario_text(problems=impossible)), out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_an_interrupted_first_run_leaves_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No half-written output folder when the first run fails."""

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(siting.scenario.pipeline, "build_summary", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_scenario(write_scenario(tmp_path), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_refuses_to_replace_a_folder_it_did_not_write(tmp_path: Path) -> None:
    """An --out folder holding other files is never replaced."""
    path = write_scenario(tmp_path)
    with pytest.raises(InputError, match="holds files siting did not write"):
        run_scenario(path, tmp_path)
    assert path.is_file()


def test_bad_problem_parameter_names_the_problem(tmp_path: Path) -> None:
    """Errors found only with the data (unknown site id) say which problem."""
    problems = [{**_problem(), "required": '["nowhere"]'}]
    with pytest.raises(InputError, match="problem 'one more' \\(p-median\\): required: 'nowhere'"):
        run_scenario(write_scenario(tmp_path, scenario_text(problems=problems)), tmp_path / "o")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "model"),
    [("solleftea", "straight-line fallback"), ("huddinge", "straight-line fallback"),
     ("karlstad", "straight-line fallback"), ("servicekontor", "straight-line fallback"),
     ("helsinki", "road network")],
)  # fmt: skip
def test_example_scenarios_run_offline(tmp_path: Path, name: str, model: str) -> None:
    """Each bundled example runs on the bundled data and names its travel model."""
    out = tmp_path / name
    result = run_scenario(DATA / "scenarios" / f"{name}.toml", out, progress=False)
    assert set(OUTPUT_FILES) <= {p.name for p in out.iterdir()}
    assert result.summary["travel"]["model"] == model
    solved = [p for p in result.summary["problems"] if "gap" in p]  # the MIPs, not tours
    assert solved
    assert all(p["status"] == "optimal" for p in solved)
    minutes = pd.read_csv(out / "assignments.csv")["minutes"]
    assert np.nanmin(minutes) >= 0


def test_summary_json_has_no_nan() -> None:
    """NaN and infinity (a mean over nobody, an unreachable worst case) become null."""
    record = {"mean": math.nan, "worst": [1.0, math.inf], "nested": {"x": -math.inf, "y": 2}}
    assert siting.scenario.pipeline.finite(record) == {"mean": None, "worst": [1.0, None],
                                              "nested": {"x": None, "y": 2}}  # fmt: skip


def test_a_new_run_replaces_the_whole_earlier_folder(tmp_path: Path) -> None:
    """Files of an earlier run that the new one does not write are gone, not left stale."""
    curve = {"name": '"curve"', "kind": '"tradeoff"', "max_n_sites": "2", "max_minutes": "15"}
    out = tmp_path / "out"
    run_scenario(write_scenario(tmp_path, scenario_text(problems=[_problem(), curve])), out)
    assert (out / "curve-curve.csv").is_file()
    result = run_scenario(write_scenario(tmp_path), out)
    assert sorted(p.name for p in out.iterdir()) == sorted(result.files)
    assert not (out / "curve-curve.csv").exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


@pytest.mark.parametrize(("day_minutes", "served", "stops"), [(100, 50, ["cand-c", "cand-d"]),
                                                               (60, 30, ["cand-c"])])  # fmt: skip
def test_mobile_tours_reach_who_the_office_does_not(
    tmp_path: Path, day_minutes: int, served: int, stops: list[str]
) -> None:
    """A van from A stopping at C and D (1 h there and back to C, 67 min round A-C-D-A)."""
    mobile = {"name": '"van"', "kind": '"mobile"', "depots": '["office-a"]',
              "serve_minutes": "5", "days_per_week": "1", "day_minutes": str(day_minutes),
              "stop_minutes": "10", "max_iterations": "50"}  # fmt: skip
    out = tmp_path / "out"
    result = run_scenario(write_scenario(tmp_path, scenario_text(problems=[mobile])), out)
    van = result.summary["problems"][1]
    # A is served by its office (within 5 min); B is 11 min from every place
    assert (van["served_by_fixed"], van["served_by_mobile"]) == (100, served)
    assert sorted(van["mobile_stops"]) == stops
    # the stops are no offices: A is the only one open, nothing new, travel to A as today
    assert (van["open_sites"], van["opened"]) == (["office-a"], [])
    today = result.summary["problems"][0]["metrics"]["total"]
    assert van["metrics"]["total"] == today
    drive = 6 * STEP_KM if len(stops) == 2 else 4 * STEP_KM
    assert van["driving_minutes"] == pytest.approx(drive, rel=1e-4)
    visits = pd.read_csv(out / "van-visits.csv")
    assert visits["stop_id"].tolist() in (stops, stops[::-1])
    assert _rows(out, "van").loc["c", "site_id"] == "office-a"


def test_mobile_tours_count_offices_that_may_close_as_serving(tmp_path: Path) -> None:
    """C is an office open today that may close: its 30 people are served, not the van's."""
    mobile = {"name": '"van"', "kind": '"mobile"', "depots": '["office-a"]',
              "serve_minutes": "5", "days_per_week": "1", "day_minutes": "100",
              "stop_minutes": "10", "max_iterations": "50"}  # fmt: skip
    path = write_scenario(tmp_path, scenario_text(problems=[mobile]))
    sites = tmp_path / "sites.csv"
    sites.write_text(sites.read_text().replace("Candidate C,candidate", "Office C,may_close"))
    van = run_scenario(path, tmp_path / "out").summary["problems"][1]
    assert (van["served_by_fixed"], van["served_by_mobile"]) == (130, 20)
    assert van["mobile_stops"] == ["cand-d"]
    assert van["open_sites"] == ["office-a", "cand-c"]


@pytest.mark.parametrize(("within", "found"), [("0.2", 2), ("0.1", 1)])
def test_alternatives_say_when_fewer_than_asked_are_found(
    tmp_path: Path, within: str, found: int
) -> None:
    """A kept, one of C (70 steps) or D (80 steps, 14% worse): only two sets exist at all."""
    alternatives = {"name": '"alt"', "kind": '"alternatives"', "of": '"p-median"',
                    "n_sites": "2", "n_alternatives": "3", "within": within}  # fmt: skip
    text = scenario_text(problems=[alternatives])
    result = run_scenario(write_scenario(tmp_path, text), tmp_path / "out")
    alt = result.summary["problems"][1]
    assert [a["sites"] for a in alt["alternatives"]] == [
        ["office-a", "cand-c"],
        ["office-a", "cand-d"],
    ][:found]
    assert (alt["alternatives_asked"], alt["alternatives_found"]) == (3, found)
    assert alt["alternatives_note"].startswith(f"only {found} of the 3 answers")


def test_summary_metrics_and_comparison_csv_agree(tmp_path: Path) -> None:
    """With a 15-min cut-off C and D (50 of 200) are unreached today: p95 empty in both files,
    and the capped mean counts them at 60 min: (100 * 0 + 50 * 11.1 + 50 * 60) / 200."""
    from siting.scenario.compare_runs import compare_runs

    text = scenario_text({("travel", "max_minutes"): "15"})
    result = run_scenario(write_scenario(tmp_path, text), tmp_path / "run")
    today = result.summary["problems"][0]["metrics"]["total"]
    assert today["unreached"] == 50
    assert today["p95_minutes"] is None
    assert today["mean_minutes_capped"] == pytest.approx((50 * STEP_KM + 50 * 60) / 200, 1e-5)
    compare_runs([tmp_path / "run"], tmp_path / "site", language="en")
    table = pd.read_csv(tmp_path / "site" / "comparison.csv")
    row = table[(table["group"] == "total") & (table["scenario"] == "tiny: existing")].iloc[0]
    assert math.isnan(row["p95_minutes"])
    for key in ("mean_minutes", "mean_minutes_capped", "person_minutes_capped", "unreached"):
        assert row[key] == today[key]


@pytest.mark.slow
def test_outputs_are_utf8_in_an_ascii_locale(tmp_path: Path) -> None:
    """Swedish names are written as UTF-8 (and read back by compare) whatever the locale."""
    problem = {"name": '"Ny i Åsele"', "kind": '"p-median"', "n_sites": "2"}
    path = write_scenario(tmp_path, scenario_text(problems=[problem]))
    sites = tmp_path / "sites.csv"
    sites.write_text(sites.read_text().replace("Candidate C", "Kandidat Åsele"), encoding="utf-8")
    code = (
        "import sys; from siting.scenario.pipeline import run_scenario; "
        "from siting.scenario.compare_runs import compare_runs; "
        "run_scenario(sys.argv[1], 'run'); compare_runs(['run'], 'site')"
    )
    # the C locale without PEP 538/540's coercion to UTF-8: open() defaults to ASCII
    env = {**os.environ, "LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}
    subprocess.run(
        [sys.executable, "-X", "utf8=0", "-c", code, str(path)],
        cwd=tmp_path, env=env, check=True, capture_output=True,
    )  # fmt: skip
    assert "Kandidat Åsele" in (tmp_path / "run" / "sites.geojson").read_text(encoding="utf-8")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    assert summary["problems"][1]["opened_names"] == ["Kandidat Åsele"]
    assert "tiny: Ny i Åsele" in (tmp_path / "site" / "changes.csv").read_text(encoding="utf-8")
