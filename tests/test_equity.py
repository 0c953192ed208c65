"""Tests of the equity measures: small cases by hand, and PySAL inequality on individuals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from inequality.gini import Gini
from inequality.theil import Theil

from siting import InputError
from siting.locate.equity import equity_by_group, equity_measures, equity_summary


def test_one_to_ten_minutes_by_hand() -> None:
    """Ten people at 1..10 min: mean 5.5, Gini 330/1100, Palma 10/10, worst decile 10."""
    measures = equity_measures(np.arange(1.0, 11.0), np.ones(10))
    assert measures.mean_minutes == pytest.approx(5.5)
    # sum over ordered pairs of |i - j| is n(n^2 - 1)/3 = 330; G = 330 / (2 n^2 mean)
    assert measures.gini == pytest.approx(330 / 1100)
    # top 10 %: the one at 10 min (10 of 55 person-minutes); bottom 40 %: 1+2+3+4 = 10
    assert measures.palma == pytest.approx(1.0)
    assert measures.worst_decile_minutes == pytest.approx(10.0)
    assert measures.people == 10.0
    assert measures.unreached == 0.0


def test_theil_of_two_people_by_hand() -> None:
    """1 and 3 minutes: mean 2, T = 1/2 (1/2 ln 1/2) + 1/2 (3/2 ln 3/2) = 0.130812."""
    measures = equity_measures([1.0, 3.0], [1.0, 1.0])
    expected = 0.5 * (0.5 * math.log(0.5)) + 0.5 * (1.5 * math.log(1.5))
    assert expected == pytest.approx(0.130812, abs=1e-6)
    assert measures.theil == pytest.approx(expected)
    assert measures.gini == pytest.approx(4 / (2 * 4 * 2))  # |1-3| twice over 2 n^2 mean


def test_points_straddling_a_share_are_split() -> None:
    """3 people at 2 min, 7 at 10: the bottom 40 % are 3 x 2 + 1 x 10 = 16 person-minutes."""
    measures = equity_measures([10.0, 2.0], [7.0, 3.0])
    assert measures.palma == pytest.approx(10 / 16)
    assert measures.worst_decile_minutes == pytest.approx(10.0)
    assert measures.mean_minutes == pytest.approx(76 / 10)


def test_equal_times_are_perfectly_equal() -> None:
    """Everyone at 20 minutes: Gini 0, Theil 0, Palma 1/4 (10 % of people over 40 %)."""
    measures = equity_measures([20.0, 20.0, 20.0], [5.0, 1.0, 4.0])
    assert measures.gini == pytest.approx(0.0, abs=1e-15)
    assert measures.theil == pytest.approx(0.0, abs=1e-15)
    assert measures.palma == pytest.approx(0.25)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weights_equal_repeated_individuals_in_pysal_inequality(seed: int) -> None:
    """Integer weights give PySAL inequality's Gini and Theil of the repeated individuals."""
    rng = np.random.default_rng(seed)
    minutes = rng.uniform(0, 90, 25).round(1)
    weights = rng.integers(0, 9, 25)
    individuals = np.repeat(minutes, weights)
    measures = equity_measures(minutes, weights)
    assert measures.gini == pytest.approx(Gini(individuals).g, rel=1e-12)
    assert measures.theil == pytest.approx(Theil(individuals.reshape(-1, 1)).T[0], rel=1e-12)
    # Palma and the worst decile over individuals by hand, n a multiple of 10
    people = np.sort(individuals)[: individuals.size // 10 * 10]
    n = people.size
    on_weights = equity_measures(people, np.ones(n))
    top, bottom = people[n - n // 10 :].sum(), people[: 4 * n // 10].sum()
    assert on_weights.palma == pytest.approx(top / bottom, rel=1e-12)
    assert on_weights.worst_decile_minutes == pytest.approx(people[n - n // 10 :].mean())


def test_unreached_are_left_out_or_counted_at_the_cut_off() -> None:
    """No office for 2 people: left out, or counted at 60 minutes when told to."""
    minutes, weights = [10.0, 20.0, math.inf], [4.0, 4.0, 2.0]
    left_out = equity_measures(minutes, weights)
    assert left_out.unreached == 2.0
    assert left_out.people == 8.0
    assert left_out.mean_minutes == pytest.approx(15.0)
    counted = equity_measures(minutes, weights, unreached_minutes=60.0)
    assert counted.people == 10.0
    assert counted.unreached == 2.0
    assert counted.mean_minutes == pytest.approx((40 + 80 + 120) / 10)
    assert counted.worst_decile_minutes == pytest.approx(60.0)
    assert counted.gini > left_out.gini


def test_nobody_travelling_leaves_ratios_undefined() -> None:
    """All at 0 minutes or nobody measured: the ratios are NaN, not a division error."""
    zero = equity_measures([0.0, 0.0], [3.0, 1.0])
    assert zero.mean_minutes == 0.0
    assert math.isnan(zero.gini)
    assert math.isnan(zero.palma)
    empty = equity_measures([math.nan], [5.0])
    assert empty.people == 0.0
    assert empty.unreached == 5.0
    assert math.isnan(empty.mean_minutes)


def test_palma_is_infinite_when_the_bottom_travel_nothing() -> None:
    """Half the people at 0 minutes: the bottom 40 % travel 0, Palma is inf."""
    assert equity_measures([0.0, 30.0], [5.0, 5.0]).palma == math.inf


def test_by_group_measures_each_group_alone() -> None:
    """Groups a (equal) and b (10 and 30 min): Gini 0 and 0.25; the summary names them."""
    by_group = equity_by_group(
        [5.0, 5.0, 10.0, 30.0, math.inf], [1, 1, 1, 1, 3], ["a", "a", "b", "b", "b"]
    )
    assert list(by_group) == ["a", "b"]
    assert by_group["a"].gini == 0.0
    assert by_group["b"].gini == pytest.approx(0.25)
    assert by_group["b"].unreached == 3.0
    total = equity_measures([5.0, 5.0, 10.0, 30.0], [1, 1, 1, 1])
    summary = equity_summary(total, by_group, {"a": "Falun"})
    assert summary["by_group"][0]["name"] == "Falun"
    assert summary["by_group"][1]["name"] == "b"
    assert summary["total"]["mean_minutes"] == pytest.approx(12.5)


@pytest.mark.parametrize(
    ("minutes", "weights", "match"),
    [
        ([1.0, 2.0], [1.0], "weights: 1 values for 2 travel times"),
        ([1.0, 2.0], [1.0, -3.0], r"weights must be finite and >= 0, got -3\.0 at row 1"),
        ([1.0, 2.0], [1.0, math.nan], "weights must be finite and >= 0, got nan"),
        ([1.0, -2.0], [1.0, 1.0], r"minutes must be >= 0, got -2\.0"),
    ],
)
def test_bad_input_names_the_value(minutes: list[float], weights: list[float], match: str) -> None:
    """Mismatched lengths, negative weights or times are InputErrors naming the value."""
    with pytest.raises(InputError, match=match):
        equity_measures(minutes, weights)


def test_bad_groups_and_cut_off_are_refused() -> None:
    """Groups of the wrong length and a negative unreached time are InputErrors."""
    with pytest.raises(InputError, match="groups: 1 values for 2 travel times"):
        equity_by_group([1.0, 2.0], [1.0, 1.0], ["a"])
    with pytest.raises(InputError, match="unreached_minutes must be a number >= 0"):
        equity_measures([1.0, math.inf], [1.0, 1.0], unreached_minutes=-5)
