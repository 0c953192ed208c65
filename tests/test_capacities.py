"""Capacitated p-median, MCLP and p-center, split or single-sourced, against brute force.

The references are independent of the solvers: every site set is enumerated; for split
demand each set's best assignment is a transportation LP (scipy's linprog), for single
sourcing every assignment of each demand point to one open site (or to none, MCLP) is tried.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from scenario_files import DEMAND_CSV, scenario_text, write_scenario
from scipy.optimize import linprog

from siting import ODMatrix, solve
from siting._core.errors import InfeasibleError, InputError
from siting.cli.main import main
from siting.locate.solution import Solution

Dense = npt.NDArray[np.float64]
SEEDS = range(8)


def _instance(seed: int, n_demand: int = 7, n_sites: int = 5) -> tuple[Dense, Dense, Dense]:
    """Minutes (some pairs beyond the cut-off), integer weights, capacities that bind."""
    rng = np.random.default_rng(seed)
    minutes = rng.integers(1, 60, size=(n_demand, n_sites)).astype(np.float64)
    minutes[rng.random(minutes.shape) < 0.2] = np.inf
    minutes[np.arange(n_demand), rng.integers(0, n_sites, n_demand)] = 30.0  # one pair each
    weights = rng.integers(1, 10, size=n_demand).astype(np.float64)
    capacities = np.round(rng.uniform(0.2, 0.75, size=n_sites) * weights.sum())
    return minutes, weights, np.maximum(capacities, weights.max())


def _site_sets(n_sites: int, count: int) -> Iterator[tuple[int, ...]]:
    return itertools.combinations(range(n_sites), count)


def _assignments(
    minutes: Dense, chosen: tuple[int, ...], limit: float, *, optional: bool
) -> Iterator[tuple[int | None, ...]]:
    """Every way to send each demand point whole to one open site within `limit` (or to
    none, when `optional`)."""
    choices = []
    for row in minutes:
        near: list[int | None] = [j for j in chosen if row[j] <= limit]
        choices.append([*near, None] if optional else near)
    return itertools.product(*choices)


def _fits(assignment: tuple[int | None, ...], weights: Dense, capacities: Dense) -> bool:
    loads = np.zeros(capacities.size)
    for row, site in enumerate(assignment):
        if site is not None:
            loads[site] += weights[row]
    return bool((loads <= capacities + 1e-9).all())


def _split_lp(
    minutes: Dense, weights: Dense, capacities: Dense, chosen: tuple[int, ...], **kind: float
) -> float | None:
    """The transportation LP over the open sites: least weighted minutes with every point
    served (``kind={}``), or most weight served within ``limit`` (``kind={"limit": T}``);
    None when infeasible. Variables x[i, k] row-major over the open sites k."""
    limit = kind.get("limit", math.inf)
    cost = minutes[:, list(chosen)]
    usable = np.isfinite(cost) & (cost <= limit)
    n_rows, n_open = cost.shape
    bounds = [(0.0, 1.0 if ok else 0.0) for ok in usable.ravel()]
    per_row = np.kron(np.eye(n_rows), np.ones(n_open))
    per_site = np.zeros((n_open, n_rows * n_open))
    for k in range(n_open):
        per_site[k, k::n_open] = weights
    if "limit" in kind:
        served = -np.repeat(weights, n_open)
        a_ub, b_ub = (
            np.vstack([per_site, per_row]),
            np.r_[capacities[list(chosen)], np.ones(n_rows)],
        )
        result = linprog(served, A_ub=a_ub, b_ub=b_ub, bounds=bounds)
        return -float(result.fun)
    weighted = (weights[:, None] * np.where(usable, cost, 0.0)).ravel()
    result = linprog(
        weighted, A_ub=per_site, b_ub=capacities[list(chosen)], A_eq=per_row,
        b_eq=np.ones(n_rows), bounds=bounds,
    )  # fmt: skip
    return float(result.fun) if result.status == 0 else None


def brute_median(minutes: Dense, weights: Dense, capacities: Dense, p: int, single: bool) -> float:
    best = math.inf
    for chosen in _site_sets(minutes.shape[1], p):
        if not single:
            value = _split_lp(minutes, weights, capacities, chosen)
            best = min(best, math.inf if value is None else value)
            continue
        for assignment in _assignments(minutes, chosen, math.inf, optional=False):
            if _fits(assignment, weights, capacities):
                best = min(best, sum(weights[i] * minutes[i, j] for i, j in enumerate(assignment)))
    return best


def brute_mclp(
    minutes: Dense, weights: Dense, capacities: Dense, p: int, limit: float, single: bool
) -> float:
    best = 0.0
    for chosen in _site_sets(minutes.shape[1], p):
        if not single:
            best = max(best, _split_lp(minutes, weights, capacities, chosen, limit=limit) or 0.0)
            continue
        for assignment in _assignments(minutes, chosen, limit, optional=True):
            if _fits(assignment, weights, capacities):
                served = sum(weights[i] for i, j in enumerate(assignment) if j is not None)
                best = max(best, served)
    return best


def brute_center(minutes: Dense, weights: Dense, capacities: Dense, p: int, single: bool) -> float:
    """The least radius whose pairs admit an assignment within capacities, per site set."""
    radii = np.unique(minutes[np.isfinite(minutes)])
    best = math.inf
    for chosen in _site_sets(minutes.shape[1], p):
        for radius in radii[radii < best]:
            near = np.where(minutes <= radius, minutes, np.inf)
            if single:
                found = any(
                    _fits(a, weights, capacities)
                    for a in _assignments(near, chosen, radius, optional=False)
                )
            else:
                found = _split_lp(near, weights, capacities, chosen) is not None
            if found:
                best = float(radius)
                break
    return best


def _od(minutes: Dense) -> ODMatrix:
    return ODMatrix.from_dense(minutes)


def _check_loads(solution: Solution, capacities: Dense) -> None:
    """Every open site serves at most its capacity, reported beside its load."""
    loads = np.asarray(solution.site_loads)
    caps = np.asarray(solution.site_capacities)
    assert (loads <= caps + 1e-6).all()
    assert caps.tolist() == capacities[solution.site_index].tolist()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("single", [False, True])
def test_capacitated_p_median_equals_brute_force(seed: int, single: bool) -> None:
    """Least weighted minutes equals enumeration of sets (and of assignments, single)."""
    minutes, weights, capacities = _instance(seed)
    expected = brute_median(minutes, weights, capacities, 2, single)
    arguments = {"n_sites": 2, "weights": weights, "capacities": capacities,
                 "single_sourcing": single}  # fmt: skip
    if math.isinf(expected):
        with pytest.raises(InfeasibleError):
            solve(_od(minutes), problem="p-median", **arguments)
        return
    solution = solve(_od(minutes), problem="p-median", **arguments)
    assert solution.objective == pytest.approx(expected, rel=1e-7)
    assert solution.is_optimal
    _check_loads(solution, capacities)
    assert np.sum(solution.site_loads) == pytest.approx(weights.sum())
    if single:  # each point whole at its site: the assignment reproduces the objective
        assert weights @ solution.assigned_minutes == pytest.approx(expected)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("single", [False, True])
def test_capacitated_mclp_equals_brute_force(seed: int, single: bool) -> None:
    """Most weight served within T equals enumeration of sets (and of assignments)."""
    minutes, weights, capacities = _instance(seed)
    expected = brute_mclp(minutes, weights, capacities, 2, 35.0, single)
    solution = solve(_od(minutes), problem="mclp", n_sites=2, max_minutes=35.0,
                     weights=weights, capacities=capacities, single_sourcing=single)  # fmt: skip
    assert solution.objective == pytest.approx(expected, rel=1e-7)
    _check_loads(solution, capacities)
    assert np.sum(solution.site_loads) == pytest.approx(expected)
    plain = solve(_od(minutes), problem="mclp", n_sites=2, max_minutes=35.0, weights=weights)
    assert solution.objective <= plain.objective + 1e-9  # capacities can only cost coverage


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("single", [False, True])
def test_capacitated_p_center_equals_brute_force(seed: int, single: bool) -> None:
    """Least longest trip within capacities equals enumeration over sets and radii."""
    minutes, weights, capacities = _instance(seed)
    expected = brute_center(minutes, weights, capacities, 2, single)
    arguments = {"n_sites": 2, "weights": weights, "capacities": capacities,
                 "single_sourcing": single}  # fmt: skip
    if math.isinf(expected):
        with pytest.raises(InfeasibleError):
            solve(_od(minutes), problem="p-center", **arguments)
        return
    solution = solve(_od(minutes), problem="p-center", **arguments)
    assert solution.objective == expected
    assert solution.assigned_minutes.max() <= expected
    _check_loads(solution, capacities)


def test_brute_force_instances_bind_and_vary() -> None:
    """The fixtures are worth testing: capacities change the answer, some are infeasible."""
    changed = infeasible = 0
    for seed in SEEDS:
        minutes, weights, capacities = _instance(seed)
        plain = brute_median(minutes, weights, np.full(5, weights.sum()), 2, False)
        single = brute_median(minutes, weights, capacities, 2, True)
        changed += math.isfinite(single) and single > plain
        infeasible += math.isinf(single)
    assert changed >= 2
    assert infeasible >= 1


def test_single_sourcing_costs_more_than_splitting_by_hand() -> None:
    """Hand-checked: 3 + 3 people, capacities 4 and 10; splitting sends 2 people the far
    way (4 x 1 + 2 x 9), single sourcing all 3 of one point (3 x 1 + 3 x 9)."""
    minutes = np.array([[1.0, 9.0], [1.0, 9.0]])
    arguments = {"n_sites": 2, "weights": [3, 3], "capacities": [4, 10]}
    split = solve(_od(minutes), problem="p-median", **arguments)
    whole = solve(_od(minutes), problem="p-median", single_sourcing=True, **arguments)
    assert split.objective == pytest.approx(4 * 1 + 2 * 9)
    assert whole.objective == pytest.approx(3 * 1 + 3 * 9)
    assert sorted(whole.assignment.tolist()) == [0, 1]
    assert whole.summary()["capacity_use"] == [
        {"site": 0, "load": 3.0, "capacity": 4.0},
        {"site": 1, "load": 3.0, "capacity": 10.0},
    ]


def test_capacitated_mclp_counts_demand_up_to_capacity_by_hand() -> None:
    """Hand-checked: one office within 10 min of 5 + 4 people but holding 6 serves 6 split,
    5 single-sourced (no pair of points fits whole)."""
    minutes = np.array([[2.0, 50.0], [3.0, 50.0]])
    arguments = {"n_sites": 1, "max_minutes": 10, "weights": [5, 4], "capacities": [6, 100]}
    assert solve(_od(minutes), problem="mclp", **arguments).objective == pytest.approx(6.0)
    whole = solve(_od(minutes), problem="mclp", single_sourcing=True, **arguments)
    assert whole.objective == pytest.approx(5.0)
    assert whole.assignment.tolist() == [0, 0]  # the point left over still goes nearest


def test_capacitated_p_center_waits_for_a_second_site_by_hand() -> None:
    """Hand-checked: both points nearest site 0 (1 min), which holds only one of them; the
    other goes to site 1 at 7 min rather than 5 at site 2 (full too)."""
    minutes = np.array([[1.0, 7.0, 5.0], [1.0, 8.0, 5.0]])
    solution = solve(_od(minutes), problem="p-center", n_sites=2, weights=[2, 2],
                     capacities=[2, 2, 1])  # fmt: skip
    assert solution.objective == 7.0
    assert solution.site_ids.tolist() == [0, 1]


@pytest.mark.parametrize("problem", ["p-median", "p-center", "mclp"])
def test_a_point_heavier_than_every_site_it_reaches_is_named(problem: str) -> None:
    """Under single sourcing, the point, its weight and the largest capacity it reaches."""
    minutes = np.array([[1.0, 9.0], [2.0, np.inf]])
    od = ODMatrix(_od(minutes).minutes, np.array(["cell-a", "cell-b"]), np.array(["x", "y"]))
    extra = {"max_minutes": 30} if problem == "mclp" else {}
    with pytest.raises(InputError) as caught:
        solve(od, problem=problem, n_sites=1, weights=[3, 8], capacities=[5, 20],
              single_sourcing=True, **extra)  # fmt: skip
    message = str(caught.value)
    assert "'cell-b' (weight 8) exceeds the largest capacity it reaches" in message
    assert "(5) and can never be served" in message
    assert "\n" not in message
    # split, a point heavier than each site may share two: 3 of its 8 at site 0 (beside
    # row 0's 3), 5 at site 1: 3 x 1 + 3 x 2 + 5 x 3
    both = _od(np.array([[1.0, 9.0], [2.0, 3.0]]))
    split = solve(both, problem="p-median", n_sites=2, weights=[3, 8], capacities=[6, 6])
    assert split.objective == pytest.approx(3 * 1 + 3 * 2 + 5 * 3)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"problem": "p-median", "single_sourcing": True}, "single_sourcing needs capacities"),
        ({"problem": "p-median", "capacities": [1, -1]}, "capacities must be finite and >= 0"),
        ({"problem": "p-center", "capacities": [1, 2, 3]}, "capacities: 3 values for 2 sites"),
        ({"problem": "mclp", "max_minutes": 9, "capacities": [5, 5], "backup_weight": 0.5},
         "backup_weight cannot be combined with capacities"),
        ({"problem": "p-median", "capacities": [5, 5], "formulation": "radius"},
         "formulation 'radius' has no capacities"),
    ],
)  # fmt: skip
def test_bad_capacity_arguments_are_refused(arguments: dict[str, object], message: str) -> None:
    """Bad capacities and their conflicts are one clear InputError."""
    od = _od(np.array([[1.0, 9.0], [2.0, 3.0]]))
    with pytest.raises(InputError, match=message):
        solve(od, n_sites=1, **arguments)  # type: ignore[arg-type]


def test_capacities_too_small_in_total_are_infeasible() -> None:
    """Split demand of 10 with two sites of 4 each cannot be served: InfeasibleError."""
    od = _od(np.array([[1.0, 2.0], [1.0, 2.0]]))
    with pytest.raises(InfeasibleError, match="capacities"):
        solve(od, problem="p-median", n_sites=2, weights=[5, 5], capacities=[4, 4])


# --- scenarios and the CLI ------------------------------------------------------------------

# the tiny scenario's towns A-D (100, 50, 30, 20 people on a line, minutes = km) with B
# moved to 5.6 km from A (16.7 from C); an office at A today, candidates at C and D
SITES_WITH_SEATS = """site_id,name,status,seats,lon,lat
office-a,Office A,existing,120,15.0,63.0
cand-c,Candidate C,candidate,200,15.0,63.2
cand-d,Candidate D,candidate,60,15.0,63.3
"""


def _seats_scenario(tmp_path: Path, problems: list[dict[str, str]]) -> Path:
    path = write_scenario(tmp_path, scenario_text(problems=problems))
    (tmp_path / "sites.csv").write_text(SITES_WITH_SEATS)
    (tmp_path / "cells.csv").write_text(DEMAND_CSV.replace("15.0,63.1,", "15.0,63.05,"))
    return path


def test_scenario_capacities_reach_the_summary(tmp_path: Path) -> None:
    """`capacities` names a site column; summary.json lists load and capacity per office.

    By hand: A (kept) and C open; A's 120 seats hold A's 100 people and 20 of B's 50, the
    other 30 go to C with C's and D's; single-sourced, all of B goes to C."""
    problems = [
        {"name": f'"{name}"', "kind": '"p-median"', "n_sites": "2", "capacities": '"seats"',
         "single_sourcing": single}
        for name, single in (("split", "false"), ("whole", "true"))
    ]  # fmt: skip
    path = _seats_scenario(tmp_path, problems)
    assert main(["-q", "run", str(path), "--out", str(tmp_path / "out")]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    records = {p["name"]: p for p in summary["problems"]}
    uses = {
        name: {row["site"]: (row["load"], row["capacity"]) for row in record["capacity_use"]}
        for name, record in records.items() if name != "existing"
    }  # fmt: skip
    assert uses["split"] == {"office-a": (120.0, 120.0), "cand-c": (80.0, 200.0)}
    assert uses["whole"] == {"office-a": (100.0, 120.0), "cand-c": (100.0, 200.0)}
    assert records["whole"]["parameters"]["single_sourcing"] is True
    assert records["whole"]["scenario_parameters"]["capacities"] == "seats"


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        # only D (60 seats) may open: A's 100 people can never be served whole
        ({"capacities": '"seats"', "single_sourcing": "true", "kind": '"p-center"',
          "n_sites": "1", "existing_fixed": "false", "forbidden": '["office-a", "cand-c"]'},
         ("single sourcing: demand point 'a' \\(weight 100\\) exceeds the largest capacity it "
          "reaches in the OD matrix \\(60\\) and can never be served")),
        ({"single_sourcing": "true"}, "single_sourcing = true needs capacities"),
        ({"capacities": '"nosuch"'}, "capacities: .* has no column 'nosuch'"),
        ({"capacities": '"name"'}, "capacities: site 'office-a' has no capacity >= 0"),
    ],
)  # fmt: skip
def test_bad_capacity_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], problem: dict[str, str], message: str
) -> None:
    """Through the CLI: exit 2 and one line naming the problem and the cause."""
    base = {"name": '"cap"', "kind": '"p-median"', "n_sites": "2"}
    path = _seats_scenario(tmp_path, [{**base, **problem}])
    assert main(["-q", "run", str(path), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "problem 'cap'" in error
    assert re.search(message, error), error


def test_scenario_capacitated_mclp_and_p_center(tmp_path: Path) -> None:
    """By hand, on the same towns: within 12 min A's 120 seats serve A's 100 and 20 of B's
    50 (B is 16.7 min from C), C or D the 50 of C and D: 170 split, 150 whole; the longest
    trip with A and C, B whole at C, is B's 16.7 minutes."""
    problems = [
        {"name": f'"cover-{single}"', "kind": '"mclp"', "n_sites": "2", "max_minutes": "12",
         "capacities": '"seats"', "single_sourcing": single}
        for single in ("false", "true")
    ] + [{"name": '"center"', "kind": '"p-center"', "n_sites": "2", "capacities": '"seats"',
          "single_sourcing": "true"}]  # fmt: skip
    path = _seats_scenario(tmp_path, problems)
    assert main(["-q", "run", str(path), "--out", str(tmp_path / "out")]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    records = {p["name"]: p for p in summary["problems"]}
    for name, served in (("cover-false", 170.0), ("cover-true", 150.0)):
        assert records[name]["objective"] == pytest.approx(served)
        assert sum(row["load"] for row in records[name]["capacity_use"]) == pytest.approx(served)
    center = records["center"]
    assert set(center["open_sites"]) == {"office-a", "cand-c"}
    assert center["objective"] == pytest.approx(16.7, abs=0.1)
    loads = {row["site"]: row["load"] for row in center["capacity_use"]}
    assert loads == {"office-a": 100.0, "cand-c": 100.0}
