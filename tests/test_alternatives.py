"""Tests of near-optimal alternatives against the ranked list of every site set."""

from __future__ import annotations

import itertools

import brute_force
import numpy as np
import pytest

from siting import InfeasibleError, InputError, ODMatrix
from siting.locate.alternatives import solve_alternatives


def _ranked(values: dict[tuple[int, ...], float], best_first_low: bool) -> list[float]:
    return sorted(values.values(), reverse=not best_first_low)


@pytest.mark.parametrize("seed", range(5))
def test_p_median_alternatives_are_the_next_best_sets(seed: int) -> None:
    """The objectives of 4 alternatives are the 4 lowest over all 2-site sets, sets distinct."""
    rng = np.random.default_rng(seed)
    minutes = rng.integers(1, 60, (10, 6)).astype(np.float64)
    weights = rng.integers(1, 9, 10).astype(np.float64)
    values = {
        chosen: float(weights @ minutes[:, list(chosen)].min(axis=1))
        for chosen in itertools.combinations(range(6), 2)
    }
    answers = solve_alternatives(
        ODMatrix.from_dense(minutes),
        problem="p-median",
        n_alternatives=4,
        within=1.0,
        n_sites=2,
        weights=weights,
    )
    assert [a.objective for a in answers] == pytest.approx(_ranked(values, True)[:4])
    assert len({tuple(a.site_ids.tolist()) for a in answers}) == 4
    for answer in answers:
        assert values[tuple(answer.site_ids.tolist())] == pytest.approx(answer.objective)


@pytest.mark.parametrize("seed", range(5))
def test_mclp_alternatives_stop_at_the_tolerance(seed: int) -> None:
    """Only sets covering at least 90% of the best coverage are returned, best first."""
    minutes, weights = brute_force.random_instance(seed)
    values = {
        chosen: float(weights @ (minutes[:, list(chosen)] <= 20).any(axis=1))
        for chosen in itertools.combinations(range(minutes.shape[1]), 2)
    }
    best = max(values.values())
    expected = [value for value in _ranked(values, False) if value >= 0.9 * best][:6]
    answers = solve_alternatives(
        ODMatrix.from_dense(minutes),
        problem="mclp",
        n_alternatives=6,
        within=0.1,
        n_sites=2,
        max_minutes=20,
        weights=weights,
    )
    assert [a.objective for a in answers] == pytest.approx(expected)


def test_alternatives_end_when_every_set_is_listed() -> None:
    """With 3 sites and p=2 there are exactly 3 sets; asking for 5 returns 3."""
    od = ODMatrix.from_dense(np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]))
    answers = solve_alternatives(od, problem="p-median", n_alternatives=5, within=10, n_sites=2)
    assert sorted(tuple(a.site_ids.tolist()) for a in answers) == [(0, 1), (0, 2), (1, 2)]


def test_alternatives_bad_input() -> None:
    """A non-positive count and a negative tolerance are input errors; infeasible stays so."""
    od = ODMatrix.from_dense(np.array([[1.0, np.inf], [np.inf, 1.0]]))
    with pytest.raises(InputError, match="n_alternatives"):
        solve_alternatives(od, problem="p-median", n_alternatives=0, n_sites=1)
    with pytest.raises(InputError, match="within"):
        solve_alternatives(od, problem="p-median", n_alternatives=2, within=-1, n_sites=1)
    with pytest.raises(InfeasibleError, match="short by 1"):
        solve_alternatives(od, problem="p-median", n_alternatives=2, n_sites=1)
