"""Tests of Huff market share (most demand won, fewest sites to a target) against brute force."""

from __future__ import annotations

import itertools
import math

import brute_force
import numpy as np
import pytest

from siting import Decay, solve
from siting._core.errors import InfeasibleError, InputError
from siting.locate.market_share import solve_market_share, solve_target_market_share
from siting.travel.odmatrix import ODMatrix

SEEDS = range(8)
DECAY = Decay("exponential", beta=0.05)


def _market(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The brute-force instance (as float32, the way siting stores it) and an
    attractiveness of 1-3 per site."""
    minutes, weights = brute_force.random_instance(seed)
    stored = ODMatrix.from_dense(minutes).to_dense().astype(np.float64)
    appeal = np.random.default_rng(300 + seed).integers(1, 4, size=minutes.shape[1])
    return stored, weights, appeal.astype(np.float64)


def _won(minutes: np.ndarray, weights: np.ndarray, appeal: np.ndarray, ours: tuple[int, ...],
         others: list[int]) -> float:  # fmt: skip
    """Demand our sites win by Huff's rule: exp(-0.05 t) x appeal, written apart."""
    pull = np.where(np.isfinite(minutes), np.exp(-0.05 * np.nan_to_num(minutes, posinf=0)), 0.0)
    pull = pull * appeal
    mine, theirs = pull[:, list(ours)].sum(axis=1), pull[:, others].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(mine > 0, mine / (mine + theirs), 0.0)
    return float(weights @ share)


def _free(n_sites: int, others: list[int]) -> list[int]:
    return [site for site in range(n_sites) if site not in others]


@pytest.mark.parametrize("seed", SEEDS)
def test_market_share_equals_brute_force(seed: int) -> None:
    """Sites 0 and 1 are another agency's, p = 2 of the other five: the demand won equals
    the best of every set, and is proven."""
    minutes, weights, appeal = _market(seed)
    others = [0, 1]
    expected = max(
        _won(minutes, weights, appeal, chosen, others)
        for chosen in itertools.combinations(_free(minutes.shape[1], others), 2)
    )
    solution = solve_market_share(
        ODMatrix.from_dense(minutes), n_sites=2, competitor_sites=others, attractiveness=appeal,
        decay=DECAY, weights=weights,
    )  # fmt: skip
    assert solution.objective == pytest.approx(expected, rel=1e-7)
    won = _won(minutes, weights, appeal, tuple(solution.site_index.tolist()), others)
    assert won == pytest.approx(expected, rel=1e-9)
    assert solution.status == "optimal"
    assert solution.bound == pytest.approx(expected, rel=1e-6)
    assert not set(others) & set(solution.site_index.tolist())


@pytest.mark.parametrize("seed", SEEDS)
def test_market_share_keeps_todays_office(seed: int) -> None:
    """Site 6 is ours already (required), site 0 the other agency's, p = 3: as brute force."""
    minutes, weights, appeal = _market(seed)
    expected = max(
        _won(minutes, weights, appeal, (*chosen, 6), [0])
        for chosen in itertools.combinations(range(1, 6), 2)
    )
    solution = solve(
        ODMatrix.from_dense(minutes), problem="market-share", n_sites=3, competitor_sites=[0],
        attractiveness=appeal, decay=DECAY, weights=weights, required_sites=[6],
    )  # fmt: skip
    assert solution.objective == pytest.approx(expected, rel=1e-7)
    assert 6 in solution.site_index.tolist()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("target", [0.3, 0.6])
def test_target_market_share_equals_brute_force(seed: int, target: float) -> None:
    """Site 0 the other agency's: the fewest of ours whose share of the reached demand is
    at least the target, as brute force over every size."""
    minutes, weights, appeal = _market(seed)
    reached = (np.isfinite(minutes).any(axis=1)) & (weights > 0)
    total = float(weights[reached].sum())
    free = _free(minutes.shape[1], [0])
    needed = math.inf
    for size in range(1, len(free) + 1):
        if any(_won(minutes, weights, appeal, chosen, [0]) >= target * total - 1e-9
               for chosen in itertools.combinations(free, size)):  # fmt: skip
            needed = size
            break
    od = ODMatrix.from_dense(minutes)
    options = {"competitor_sites": [0], "attractiveness": appeal, "decay": DECAY,
               "weights": weights}  # fmt: skip
    if math.isinf(needed):
        with pytest.raises(InfeasibleError, match="every allowed site of ours open wins"):
            solve_target_market_share(od, target_share=target, **options)
        return
    solution = solve_target_market_share(od, target_share=target, **options)
    assert solution.n_sites == needed
    assert solution.parameters["market_share"] >= target - 1e-9
    assert solution.status == "optimal"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"n_sites": 1, "competitor_sites": [0], "required_sites": [0]}, "both a competitor"),
        ({"n_sites": 1, "competitor_sites": [42]}, "competitor_sites: '42' is not a site"),
        ({"n_sites": 1, "attractiveness": [1.0, -1.0, 1.0]}, "attractiveness must be 3"),
        ({"n_sites": 1, "decay": "gaussian"}, r"decay must be a siting\.Decay"),
    ],
)
def test_market_share_bad_input(arguments: dict, message: str) -> None:  # type: ignore[type-arg]
    """A competitor that is also ours, an unknown site, a negative pull or a bad decay: one
    InputError naming it."""
    od = ODMatrix.from_dense(np.array([[5.0, 5.0, 40.0], [40.0, 30.0, 5.0]]))
    with pytest.raises(InputError, match=message):
        solve_market_share(od, **arguments)


def test_target_share_above_one_is_refused() -> None:
    """A target share of 120 % is refused naming the option."""
    od = ODMatrix.from_dense(np.array([[5.0, 5.0]]))
    with pytest.raises(InputError, match="target_share"):
        solve_target_market_share(od, target_share=1.2)
