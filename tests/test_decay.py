"""Tests of the decay functions: values by hand, defaults against their source, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from siting import InputError
from siting.locate.decay import (
    DEFAULTS,
    KINDS,
    LUO_QI_WEIGHTS,
    Decay,
    attendance,
    decay_from_mapping,
)

TIMES = [0.0, 5.0, 10.0, 20.0, 30.0, 45.0]


def test_step_is_one_up_to_the_cut_off() -> None:
    """Step: 1 at and below max_minutes, 0 above it."""
    weights = Decay("step", max_minutes=20).weight(TIMES)
    assert weights.tolist() == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]


def test_linear_falls_to_zero_at_the_cut_off() -> None:
    """Linear over 40 minutes: 1 - t/40, 0 from 40 on."""
    weights = Decay("linear", max_minutes=40).weight(TIMES)
    assert weights.tolist() == pytest.approx([1.0, 0.875, 0.75, 0.5, 0.25, 0.0])


def test_power_is_flat_up_to_its_scale() -> None:
    """Power with s=10, b=2: 1 up to 10 minutes, then (10/t)^2 (1/4 at 20, 1/9 at 30)."""
    weights = Decay("power", beta=2, scale_minutes=10).weight(TIMES)
    assert weights.tolist() == pytest.approx([1.0, 1.0, 1.0, 0.25, 1 / 9, 100 / 2025])


def test_exponential_by_hand() -> None:
    """Exponential with b=0.1: e^-0.5 at 5 minutes, e^-2 at 20."""
    weights = Decay("exponential", beta=0.1).weight(TIMES)
    assert weights.tolist() == pytest.approx([math.exp(-0.1 * t) for t in TIMES])
    assert weights[1] == pytest.approx(0.6065306597126334)


def test_gaussian_equals_pysal_access_kernel() -> None:
    """Gaussian with s=20 gives access's documented 0.6065 at 20 and 0.1353 at 40 minutes."""
    weights = Decay("gaussian", scale_minutes=20).weight([0.0, 20.0, 40.0, 60.0])
    published = [1.0, 0.6065306597126334, 0.1353352832366127, 0.011108996538242306]
    assert weights.tolist() == pytest.approx(published, rel=1e-12)


def test_log_logistic_is_half_at_its_scale() -> None:
    """Log-logistic with s=15, b=3: 1/2 at 15 minutes, 1/(1+8) at 30."""
    weights = Decay("log-logistic", beta=3, scale_minutes=15).weight([0.0, 15.0, 30.0])
    assert weights.tolist() == pytest.approx([1.0, 0.5, 1 / 9])


def test_optional_cut_off_zeroes_longer_trips() -> None:
    """An exponential with max_minutes=20 keeps e^-2 at 20 minutes and is 0 at 30."""
    weights = Decay("exponential", beta=0.1, max_minutes=20).weight([20.0, 30.0])
    assert weights.tolist() == pytest.approx([math.exp(-2.0), 0.0])


@pytest.mark.parametrize("kind", KINDS)
def test_unreached_weighs_nothing_and_zero_minutes_weigh_one(kind: str) -> None:
    """Every kind: 1 at 0 minutes, 0 for inf and NaN, never above 1, never increasing."""
    times = np.array([0.0, *np.linspace(0.5, 90, 60), math.inf, math.nan])
    weights = Decay(kind).weight(times)
    assert weights[0] == 1.0
    assert weights[-2:].tolist() == [0.0, 0.0]
    assert ((weights >= 0) & (weights <= 1)).all()
    assert (np.diff(weights[:-1]) <= 1e-15).all()


def test_defaults_fit_luo_and_qi_weights() -> None:
    """Power, Gaussian, log-logistic pass within 0.01 of 0.68 at 10 min and 0.22 at 20 min."""
    (_, _), (t1, w1), (t2, w2) = LUO_QI_WEIGHTS
    for kind in ("power", "gaussian", "log-logistic"):
        fitted = Decay(kind).weight([t1, t2])
        assert fitted.tolist() == pytest.approx([w1, w2], abs=0.01), kind


def test_exponential_default_is_the_log_least_squares_fit() -> None:
    """beta minimises the squared error of ln w at 10 and 20 minutes: sum(t ln w)/sum(t^2)."""
    (_, _), (t1, w1), (t2, w2) = LUO_QI_WEIGHTS
    fitted = -(t1 * math.log(w1) + t2 * math.log(w2)) / (t1**2 + t2**2)
    assert fitted == pytest.approx(0.06828, abs=1e-5)
    assert Decay("exponential").beta == pytest.approx(fitted, abs=5e-4)


def test_step_and_linear_default_to_the_30_minute_catchment() -> None:
    """Step and linear default to Luo and Qi's 30-minute catchment."""
    assert Decay("step").max_minutes == 30.0
    assert Decay("linear").weight([15.0]).tolist() == [0.5]


def test_summary_lists_the_parameters_as_run() -> None:
    """The summary has the kind and each of its parameters, defaults filled in."""
    assert Decay("exponential", beta=0.1).summary() == {
        "kind": "exponential",
        "beta": 0.1,
        "max_minutes": None,
    }
    assert set(Decay("log-logistic").summary()) == {"kind", *DEFAULTS["log-logistic"]}


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"kind": "exponential", "beta": -0.1}, r"beta must be a number > 0, got -0\.1"),
        ({"kind": "gaussian", "scale_minutes": 0}, r"scale_minutes must be a number > 0, got 0"),
        ({"kind": "power", "beta": math.nan}, "beta must be a number > 0, got nan"),
        ({"kind": "linear", "max_minutes": math.inf}, "max_minutes must be a number > 0"),
        ({"kind": "step", "beta": 1.0}, "beta is not a parameter of decay kind 'step'"),
        ({"kind": "exponental"}, "did you mean 'exponential'"),
        ({"kind": "gaussian", "scale_minutes": True}, "scale_minutes must be a number > 0"),
    ],
)
def test_bad_parameters_name_the_parameter_and_value(
    arguments: dict[str, object], match: str
) -> None:
    """A negative beta, a zero scale, a stray parameter or a typo is an InputError naming it."""
    with pytest.raises(InputError, match=match):
        Decay(**arguments)  # type: ignore[arg-type]


def test_negative_minutes_are_refused() -> None:
    """A negative travel time is an InputError naming the value."""
    with pytest.raises(InputError, match=r"minutes must be >= 0, got -1\.0"):
        Decay("gaussian").weight([5.0, -1.0])


def test_decay_from_a_scenario_table() -> None:
    """A TOML table becomes a Decay; errors carry the scenario key."""
    decay = decay_from_mapping({"kind": "exponential", "beta": 0.1}, "[travel] decay")
    assert decay == Decay("exponential", beta=0.1)
    with pytest.raises(InputError, match=r"\[travel\] decay\.beta must be a number > 0, got -1"):
        decay_from_mapping({"kind": "exponential", "beta": -1}, "[travel] decay")
    with pytest.raises(InputError, match=r"decay: unknown key 'bta'; did you mean 'beta'"):
        decay_from_mapping({"kind": "exponential", "bta": 1}, "[travel] decay")
    with pytest.raises(InputError, match=r"\[travel\] decay\.kind is required"):
        decay_from_mapping({"beta": 1}, "[travel] decay")
    with pytest.raises(InputError, match=r"decay\.beta is not a parameter of decay kind 'step'"):
        decay_from_mapping({"kind": "step", "beta": 1}, "[travel] decay")


def test_attendance_sums_decayed_people() -> None:
    """100 people at 0 min and 50 at 20 min with exponential 0.1: 100 + 50 e^-2 come."""
    total, per_point = attendance(
        [0.0, 20.0, math.inf], [100, 50, 7], Decay("exponential", beta=0.1)
    )
    assert total == pytest.approx(100 + 50 * math.exp(-2))
    assert per_point[2] == 0.0
    with pytest.raises(InputError, match="2 values for 3 travel times"):
        attendance([0.0, 1.0, 2.0], [1, 1], Decay("step"))
