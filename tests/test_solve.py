"""Tests of `siting.solve`: the same objectives as PySAL spopt, bad input, determinism."""

from __future__ import annotations

import doctest
import itertools
import warnings

import numpy as np
import pandas as pd
import pytest

import siting.locate.coverage
import siting.locate.solve
from siting import InfeasibleError, InputError, ODMatrix, SitingError, solve
from siting.locate.solution import proven_status


def _shared_instance() -> tuple[np.ndarray, np.ndarray]:
    """40 demand points x 10 sites, all pairs stored (spopt needs a dense matrix)."""
    rng = np.random.default_rng(1)
    return rng.uniform(1, 60, (40, 10)), rng.integers(1, 10, 40).astype(np.float64)


@pytest.fixture(scope="module")
def spopt_objectives() -> dict[str, float]:
    """The four problems solved by spopt with PuLP/CBC on the shared instance."""
    pulp = pytest.importorskip("pulp")
    locate = pytest.importorskip("spopt.locate")
    minutes, weights = _shared_instance()
    # PuLP 3.x deprecates PULP_CBC_CMD and the variable constructor spopt 0.7 uses
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        cbc = pulp.PULP_CBC_CMD(msg=False)
        models = {
            "lscp": locate.LSCP.from_cost_matrix(minutes, service_radius=20),
            "mclp": locate.MCLP.from_cost_matrix(
                minutes, weights, service_radius=20, p_facilities=3
            ),
            "p-median": locate.PMedian.from_cost_matrix(minutes, weights, p_facilities=3),
            "p-center": locate.PCenter.from_cost_matrix(minutes, p_facilities=3),
        }
        solved = {name: model.solve(cbc) for name, model in models.items()}
    return {name: float(pulp.value(model.problem.objective)) for name, model in solved.items()}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("problem", "parameters"),
    [
        ("lscp", {"max_minutes": 20}),
        ("mclp", {"max_minutes": 20, "n_sites": 3}),
        ("p-median", {"n_sites": 3}),
        ("p-center", {"n_sites": 3}),
    ],
)
def test_same_objective_as_spopt(
    spopt_objectives: dict[str, float], problem: str, parameters: dict[str, float]
) -> None:
    """HiGHS reaches the objective spopt + CBC proves optimal on the same instance."""
    minutes, weights = _shared_instance()
    solution = solve(ODMatrix.from_dense(minutes), problem=problem, weights=weights, **parameters)
    assert solution.objective == pytest.approx(spopt_objectives[problem], rel=1e-6)
    assert solution.is_optimal


def test_docstring_examples_run() -> None:
    """The Examples blocks of solve and solve_lscp give the printed answers."""
    for module in (siting.locate.solve, siting.locate.coverage):
        failed, tried = doctest.testmod(module)
        assert tried > 0
        assert failed == 0


def test_weights_series_align_by_demand_id() -> None:
    """A weight Series indexed by demand id is matched to rows by id, not position."""
    od = ODMatrix.from_dense([[1.0, 9.0], [9.0, 1.0]], origin_ids=["a", "b"])
    weights = pd.Series({"b": 10.0, "a": 1.0})
    assert solve(od, problem="p-median", n_sites=1, weights=weights).site_ids.tolist() == [1]


def test_solution_is_immutable_and_summarises_to_plain_values() -> None:
    """Arrays are read-only; summary() holds JSON-ready values."""
    solution = solve(ODMatrix.from_dense([[1.0, 5.0]]), problem="p-center", n_sites=1)
    with pytest.raises(ValueError, match="read-only"):
        solution.assignment[0] = 1
    summary = solution.summary()
    assert summary["sites"] == [0]
    assert summary["objective"] == 1.0
    assert solution.assignment_table().to_dict("records") == [
        {"demand_id": 0, "site_id": 0, "minutes": 1.0}
    ]


OD = ODMatrix.from_dense([[10.0, 30.0, 50.0], [40.0, 12.0, np.inf]])


@pytest.mark.parametrize(
    ("parameters", "error", "message"),
    [
        ({"problem": "p-median", "n_sites": 5}, InputError, "exceeds the 3 .* by 2"),
        ({"problem": "mclp", "n_sites": 1, "max_minutes": 0}, InputError, "max_minutes"),
        ({"problem": "lscp", "max_minutes": -3}, InputError, "max_minutes must be > 0"),
        ({"problem": "p-center", "n_sites": 0}, InputError, "n_sites must be a positive"),
        ({"problem": "lscp", "max_minutes": 5}, InfeasibleError, "closest pair is 10 minutes"),
        ({"problem": "mclp", "max_minutes": 5, "n_sites": 1}, InfeasibleError, "unreachable"),
        (
            {"problem": "lscp", "max_minutes": 20, "site_costs": [3, 2, 1], "budget": 4},
            InfeasibleError,
            "costs at least 5, budget 4 is short by 1",
        ),
        (
            {
                "problem": "mclp",
                "max_minutes": 20,
                "n_sites": 1,
                "site_costs": [3, 2, 4],
                "budget": 1,
            },
            InputError,
            r"budget 1 is below the cheapest allowed site \(2\) by 1",
        ),
        (
            {"problem": "p-median", "n_sites": 2, "required_sites": [0], "forbidden_sites": [0]},
            InputError,
            "^site 0 is both required and forbidden$",  # no numpy repr
        ),
        (
            {"problem": "p-median", "n_sites": 1, "required_sites": np.array([7])},
            InputError,
            "^required_sites: 7 is not a site",
        ),
        ({"problem": "p-median", "n_sites": 1, "required_sites": [0, 1]}, InputError, "by 1"),
        ({"problem": "p-median", "n_sites": 1, "weights": [0, 0]}, InputError, "demand is empty"),
        ({"problem": "p-median", "n_sites": 1, "weights": [1]}, InputError, "1 values for 2"),
        ({"problem": "k-means", "n_sites": 1}, InputError, "problem must be one of"),
        ({"problem": "lscp", "n_sites": 1}, InputError, "unexpected keyword argument 'n_sites'"),
        ({"problem": "p-center"}, InputError, "^problem 'p-center': missing .* 'n_sites'$"),
        ({"problem": "mclp", "max_minutes": 9}, InputError, "n_sites or budget"),
    ],
)
def test_bad_input_names_the_constraint(
    parameters: dict[str, object], error: type[Exception], message: str
) -> None:
    """Each bad input raises its error class with a message naming the constraint."""
    with pytest.raises(error, match=message):
        solve(OD, **parameters)  # type: ignore[arg-type]


def test_lscp_forbidden_site_blocking_demand_is_infeasible() -> None:
    """Demand only a forbidden site reaches within T makes the LSCP infeasible, with a count."""
    with pytest.raises(InfeasibleError, match=r"1 demand points .* only of forbidden sites"):
        solve(OD, problem="lscp", max_minutes=20, forbidden_sites=[1])


def test_p_median_cut_off_too_tight_says_how_many_sites_are_needed() -> None:
    """With one site no row-covering choice exists in a cut-off matrix: 2 are needed."""
    od = ODMatrix.from_dense([[10.0, np.inf], [np.inf, 12.0]])
    with pytest.raises(InfeasibleError, match="at least 2 sites, n_sites=1 is short by 1"):
        solve(od, problem="p-median", n_sites=1)


def test_p_median_with_far_too_few_sites_is_refused_by_the_disjoint_rows_bound() -> None:
    """Five towns each alone in reach of one site, a sixth reaching them all: 5 are needed;
    the bound says so without the set cover (rows sharing no site need a site each)."""
    minutes = np.full((6, 6), np.inf)
    minutes[np.arange(5), np.arange(5)] = 5.0
    minutes[5, :] = 9.0
    od = ODMatrix.from_dense(minutes)
    with pytest.raises(InfeasibleError, match="at least 5 sites, n_sites=2 is short by 3"):
        solve(od, problem="p-median", n_sites=2)
    with pytest.raises(InfeasibleError, match="at least 6 sites, n_sites=5 is short by 1"):
        solve(od, problem="p-median", n_sites=5, required_sites=[5])


#: Three sites serve every row (sites 0, 2, 4), but the greedy add and the swaps find no
#: such set (found by a random search): the MIP alone answers.
HEURISTICS_TRAP = np.array(
    [
        [43, 10, np.inf, 7, np.inf, np.inf],
        [39, np.inf, 7, np.inf, 98, np.inf],
        [np.inf, np.inf, np.inf, 72, np.inf, 4],
        [np.inf, 22, np.inf, np.inf, 35, 72],
        [np.inf, np.inf, np.inf, np.inf, 15, np.inf],
        [np.inf, np.inf, 20, np.inf, np.inf, np.inf],
        [np.inf, np.inf, 50, 50, np.inf, np.inf],
    ]
)


def test_p_median_the_heuristics_miss_is_solved_by_the_mip() -> None:
    od = ODMatrix.from_dense(HEURISTICS_TRAP)
    expected = brute_force_median(HEURISTICS_TRAP, 3)
    for formulation in ("auto", "radius", "assignment"):
        solution = solve(od, problem="p-median", n_sites=3, formulation=formulation)
        assert solution.objective == pytest.approx(expected)


def test_p_median_without_an_answer_refuses_a_mip_too_large(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No heuristic answer and more pairs than HiGHS may take: a clear error, not a crash."""
    from siting.locate import median_center

    monkeypatch.setattr(median_center, "MAX_MIP_PAIRS", 10)
    od = ODMatrix.from_dense(HEURISTICS_TRAP)
    with pytest.raises(SitingError, match=r"whole MIP \(15 pairs\) is more than HiGHS"):
        solve(od, problem="p-median", n_sites=3, formulation="radius")


def brute_force_median(minutes: np.ndarray, p: int) -> float:
    """Least total time over every set of `p` sites serving all rows."""
    best = np.inf
    for chosen in itertools.combinations(range(minutes.shape[1]), p):
        best = min(best, float(minutes[:, list(chosen)].min(axis=1).sum()))
    return best


def test_empty_demand_matrix_is_an_input_error() -> None:
    """An OD matrix with no rows is rejected before any model is built."""
    with pytest.raises(InputError, match="demand is empty"):
        solve(ODMatrix.from_dense(np.empty((0, 3))), problem="lscp", max_minutes=10)


def test_status_optimal_only_with_a_proven_gap() -> None:
    """HiGHS's "optimal" at a positive mip_gap becomes "within mip_gap"."""
    assert proven_status("optimal", 0.0) == "optimal"
    assert proven_status("optimal", 1e-7) == "optimal"
    assert proven_status("optimal", 0.1953) == "within mip_gap"
    assert proven_status("optimal", 1.0) == "within mip_gap"
    assert proven_status("time limit", 0.3) == "time limit"
