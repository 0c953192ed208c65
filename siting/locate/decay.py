"""Distance decay: how much of a point's demand still reaches an office `t` minutes away."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from siting._core import validators as check
from siting._core.errors import InputError

FloatArray = npt.NDArray[np.float64]

#: the decay functions, in the order the docs list them
KINDS = ("step", "linear", "power", "exponential", "gaussian", "log-logistic")

#: the weights Luo and Qi (2009) give their E2SFCA travel-time zones 0-10, 10-20 and 20-30
#: minutes (also PySAL access's default E2SFCA weights); the defaults below are fitted to them
LUO_QI_WEIGHTS = ((0.0, 1.00), (10.0, 0.68), (20.0, 0.22))
#: Luo and Qi's catchment: no weight beyond 30 minutes
LUO_QI_CATCHMENT_MINUTES = 30.0

#: per kind: each parameter it takes and its default (None: optional, no default)
DEFAULTS: Mapping[str, Mapping[str, float | None]] = {
    "step": {"max_minutes": LUO_QI_CATCHMENT_MINUTES},
    "linear": {"max_minutes": LUO_QI_CATCHMENT_MINUTES},
    "power": {"beta": 1.63, "scale_minutes": 7.9, "max_minutes": None},
    "exponential": {"beta": 0.068, "max_minutes": None},
    "gaussian": {"scale_minutes": 11.4, "max_minutes": None},
    "log-logistic": {"beta": 2.91, "scale_minutes": 12.95, "max_minutes": None},
}
_PARAMETERS = ("beta", "scale_minutes", "max_minutes")


@dataclass(frozen=True)
class Decay:
    """A distance-decay (impedance) function: the share of demand that travels `t` minutes.

    Every kind weighs 1 at 0 minutes and falls with travel time; a point no office reaches
    (``inf`` or NaN minutes) weighs 0, and so does a trip over `max_minutes` when it is set.

    Parameters
    ----------
    kind
        ``"step"``, ``"linear"``, ``"power"``, ``"exponential"``, ``"gaussian"`` or
        ``"log-logistic"``.
    beta
        Steepness: per minute for ``exponential``, an exponent for ``power`` and
        ``log-logistic``. Only those kinds take it.
    scale_minutes
        ``power``: the time up to which demand is undiminished; ``gaussian``: the standard
        deviation; ``log-logistic``: the time at which half the demand still comes.
    max_minutes
        The cut-off: required by ``step`` (1 up to it) and ``linear`` (falls to 0 at it);
        optional for the others (0 beyond it).

    A parameter the kind does not take is refused; one left out takes the kind's default.

    Raises
    ------
    InputError
        An unknown kind, a parameter the kind does not take, or a parameter that is not a
        finite number > 0 (a negative beta, a zero scale), naming the parameter and value.

    Notes
    -----
    With `t` the travel time in minutes, `b` beta, `s` scale_minutes and `T` max_minutes:

    ============  ==========================================  ==========================
    kind          weight f(t)                                 default
    ============  ==========================================  ==========================
    step          1 if t <= T else 0                          T = 30
    linear        max(0, 1 - t / T)                           T = 30
    power         min(1, (s / t)^b)                           b = 1.63, s = 7.9
    exponential   exp(-b t)                                   b = 0.068 per minute
    gaussian      exp(-t^2 / (2 s^2))                         s = 11.4
    log-logistic  1 / (1 + (t / s)^b)                         b = 2.91, s = 12.95
    ============  ==========================================  ==========================

    No measurement of how attendance at Swedish service offices falls with travel time was
    found, so the defaults are generic and each is derived from one cited source: the
    E2SFCA weights of Luo and Qi (2009), 1.00, 0.68 and 0.22 for the zones 0-10, 10-20 and
    20-30 minutes (PySAL access uses the same weights by default), placed at the start of
    each zone. Step and linear end at their 30-minute catchment. Power, Gaussian and
    log-logistic pass through 0.68 at 10 minutes and 0.22 at 20 (within 0.01; power and
    log-logistic, with two parameters, exactly before rounding). The exponential has one
    parameter and cannot meet both: its beta is the least-squares fit of ``ln f`` to the
    two weights (0.51 at 10 minutes, 0.26 at 20). The log-logistic form is the one de Vries,
    Nijkamp and Rietveld (2009) propose for commuting.

    References
    ----------
    Luo, W. and Qi, Y. (2009). An enhanced two-step floating catchment area (E2SFCA) method
    for measuring spatial accessibility to primary care physicians. *Health & Place* 15(4),
    1100-1107.

    de Vries, J. J., Nijkamp, P. and Rietveld, P. (2009). Exponential or power
    distance-decay for commuting? An alternative specification. *Environment and Planning
    A* 41(2), 461-480.

    Examples
    --------
    >>> decay = Decay("exponential", beta=0.1)
    >>> decay.weight([0.0, 10.0, float("inf")]).round(3).tolist()
    [1.0, 0.368, 0.0]
    >>> Decay("gaussian").weight([10.0, 20.0]).round(2).tolist()
    [0.68, 0.21]
    """

    kind: str
    beta: float | None = None
    scale_minutes: float | None = None
    max_minutes: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            error = check.fail("kind", f"one of {', '.join(map(repr, KINDS))}", self.kind)
            raise InputError(f"{error}{check.did_you_mean(str(self.kind), KINDS)}")
        defaults = DEFAULTS[self.kind]
        for name in _PARAMETERS:
            value = getattr(self, name)
            if value is None:
                object.__setattr__(self, name, defaults.get(name))
            elif name not in defaults:
                taken = ", ".join(defaults)
                msg = f"{name} is not a parameter of decay kind {self.kind!r} (it takes {taken})"
                raise InputError(msg)
            else:
                object.__setattr__(self, name, check.positive(value, name))

    def weight(self, minutes: npt.ArrayLike) -> FloatArray:
        """The weight of each travel time: 1 at 0 minutes, 0 where no office is reached.

        Raises
        ------
        InputError
            A negative travel time.
        """
        times = np.asarray(minutes, dtype=np.float64)
        if (times < 0).any():
            msg = f"minutes must be >= 0, got {float(times[times < 0].flat[0])!r}"
            raise InputError(msg)
        reached = np.isfinite(times)
        if self.max_minutes is not None:
            reached &= times <= self.max_minutes
        safe = np.where(reached, times, 0.0)
        return np.where(reached, self._curve(safe), 0.0)

    def _curve(self, times: FloatArray) -> FloatArray:
        """The kind's formula over finite times >= 0 (the cut-off is applied by `weight`)."""
        beta, scale, limit = self.beta, self.scale_minutes, self.max_minutes
        if self.kind == "step":
            return np.ones_like(times)
        if self.kind == "linear":
            assert limit is not None
            return np.maximum(0.0, 1.0 - times / limit)
        if self.kind == "exponential":
            assert beta is not None
            return np.exp(-beta * times)
        assert scale is not None
        if self.kind == "gaussian":
            return np.exp(-(times**2) / (2.0 * scale**2))
        assert beta is not None
        if self.kind == "power":
            # (s / max(t, s))^b: 1 up to s, no division by zero at t = 0
            return (scale / np.maximum(times, scale)) ** beta
        return 1.0 / (1.0 + (times / scale) ** beta)

    def summary(self) -> dict[str, Any]:
        """The kind and its parameters as run (defaults included), for ``summary.json``."""
        return {"kind": self.kind, **{name: getattr(self, name) for name in DEFAULTS[self.kind]}}


#: the decay a scenario uses when it names none: the Gaussian fitted to Luo and Qi's weights
DEFAULT_DECAY = Decay("gaussian")


def decay_from_mapping(value: Any, where: str) -> Decay:
    """A `Decay` from a table such as ``{kind = "exponential", beta = 0.1}``.

    Errors name `where` and the key (``[travel] decay.beta must be a number > 0, got -1``).
    """
    if not isinstance(value, Mapping):
        raise check.fail(where, 'a table such as {kind = "exponential", beta = 0.1}', value)
    known = ("kind", *_PARAMETERS)
    for key in value:
        if key not in known:
            hint = check.did_you_mean(str(key), known) or f"; known keys: {', '.join(known)}"
            raise InputError(f"{where}: unknown key {key!r}{hint}")
    if "kind" not in value:
        raise InputError(f"{where}.kind is required: one of {', '.join(KINDS)}")
    for key in _PARAMETERS:  # type-check here so that the message names the whole key
        if key in value:
            check.positive(value[key], f"{where}.{key}")
    try:
        return Decay(**value)
    except InputError as error:
        raise InputError(f"{where}.{error}") from None


def attendance(
    minutes: npt.ArrayLike, weights: npt.ArrayLike, decay: Decay
) -> tuple[float, FloatArray]:
    """Decay-weighted demand: the people expected to come, in all and per point.

    Parameters
    ----------
    minutes
        Each point's travel time to its office (inf or NaN: none reached).
    weights
        People per point.
    decay
        How demand falls with travel time.

    Returns
    -------
    tuple
        The total and each point's ``weight * decay.weight(minutes)``.

    Examples
    --------
    >>> total, per_point = attendance([0.0, 30.0, float("nan")], [100, 50, 10], Decay("linear"))
    >>> total, per_point.tolist()
    (100.0, [100.0, 0.0, 0.0])
    """
    people = np.asarray(weights, dtype=np.float64)
    times = np.asarray(minutes, dtype=np.float64)
    if people.shape != times.shape:
        msg = f"weights: {people.size} values for {times.size} travel times"
        raise InputError(msg)
    coming = people * decay.weight(times)
    return float(coming.sum()), coming
