"""The options of a mobile office plan, checked once: reach, vehicles, the working week, search."""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from siting._core import validators as check
from siting._core.errors import InputError

if TYPE_CHECKING:
    from siting.travel.odmatrix import ODMatrix


@dataclass(frozen=True, kw_only=True)
class MobileOptions:
    """How a mobile office works and how long the search for its tours may take.

    Attributes
    ----------
    serve_minutes
        A stop serves the people within this travel time of it.
    vehicles
        Vehicles at each depot: one number for all, or one per depot (checked against the
        depots by `plan_mobile`).
    days_per_week
        Working days (1-7); each vehicle runs one tour a day.
    day_minutes
        Longest working day: driving plus time at the stops.
    stop_minutes
        Time the office stays open at each stop.
    cover_all
        Require every person within reach of some stop to be served (at least driving);
        `plan_mobile` raises `InfeasibleError` when the search finds no such plan.
    seed, time_limit_s, max_iterations
        PyVRP's seed, the time limit of the whole search, and an optional cap on PyVRP
        iterations per solve. The plan is reproducible for a seed when the time limit is not
        what stops a solve (small cases, or `max_iterations` set low enough).

    Raises
    ------
    InputError
        When built with a value out of range, naming the option and the value.
    """

    serve_minutes: float
    vehicles: int | tuple[int, ...] = 1
    days_per_week: int = 5
    day_minutes: float = 480.0
    stop_minutes: float = 120.0
    cover_all: bool = False
    seed: int = 0
    time_limit_s: float = 60.0
    max_iterations: int | None = None

    def __post_init__(self) -> None:
        for name, checker in _CHECKS.items():
            object.__setattr__(self, name, checker(getattr(self, name), name))
        object.__setattr__(self, "vehicles", _vehicles(self.vehicles))

    def summary(self) -> dict[str, Any]:
        """The options as plain values for ``summary.json``."""
        values = asdict(self)
        values["vehicles"] = (
            self.vehicles if isinstance(self.vehicles, int) else list(self.vehicles)
        )
        return values


def _vehicles(vehicles: Any) -> int | tuple[Any, ...]:
    """One whole number (numpy's too), or a tuple of them (hashable, as the class is)."""
    if hasattr(vehicles, "__index__") and not isinstance(vehicles, bool):
        return operator.index(vehicles)
    try:
        return tuple(vehicles)
    except TypeError:
        msg = f"vehicles must be a whole number or one per depot, got {vehicles!r}"
        raise InputError(msg) from None


_CHECKS: dict[str, check.Checker] = {
    "serve_minutes": check.positive,
    "days_per_week": check.days_per_week,
    "day_minutes": check.positive,
    "stop_minutes": check.non_negative,
    "cover_all": check.boolean,
    "seed": check.seed,
    "time_limit_s": check.positive,
    "max_iterations": check.optional(check.positive_int),
}
#: the default of each option, for readers that take the options one key at a time
DEFAULTS: Mapping[str, Any] = {
    f.name: f.default for f in fields(MobileOptions) if f.name != "serve_minutes"
}


@dataclass(frozen=True)
class FixedOffices:
    """People within `within_minutes` of one of these offices are already served.

    Attributes
    ----------
    travel
        Travel minutes from the same demand points (rows, matched by id) to the offices.
    within_minutes
        The offices' reach; `travel` must not be cut off below it.
    """

    travel: ODMatrix
    within_minutes: float

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "within_minutes", check.positive(self.within_minutes, "within_minutes")
        )
