"""The parameters of each problem kind: typed, checked, each default written once.

A scenario's ``[[problems]]`` table becomes one of these frozen dataclasses. Each field
carries the checker of its TOML key (``metadata["check"]``); a field without a default is a
key the kind needs. The keys a kind takes are its fields, so an unknown key is refused
with a did-you-mean, and a runner reads ``parameters.within`` instead of repeating
``parameters.get("within", 0.05)``.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from siting._core import validators as check
from siting._core.errors import InputError
from siting.locate.decay import Decay, decay_from_mapping
from siting.locate.groups import DEFAULT_FRONTIER_POINTS, GroupShare, check_share
from siting.mobile.options import DEFAULTS as MOBILE_DEFAULTS

_site_ids = check.codes("site ids")


def _by(checker: check.Checker) -> dict[str, check.Checker]:
    """Field metadata: the checker of the TOML key of the same name."""
    return {"check": checker}


def _priority(value: Any, where: str) -> dict[str, Any]:
    """Demand rows whose `column` value is in `values` weigh `factor` times (vulnerable areas)."""
    if not isinstance(value, dict):
        raise check.fail(where, "a table {column, values, factor}", value)
    allowed = {"column": check.text, "values": check.codes("the column's values"),
               "factor": check.positive}  # fmt: skip
    for key in value:
        if key not in allowed:
            hint = check.did_you_mean(key, allowed) or f"; known keys: {', '.join(allowed)}"
            raise InputError(f"{where}: unknown key {key!r}{hint}")
    for key in allowed:
        if key not in value:
            raise InputError(f"{where}.{key} is required")
    return {key: checker(value[key], f"{where}.{key}") for key, checker in allowed.items()}


def _groups(value: Any, where: str) -> str | tuple[str, ...]:
    """A demand column of group labels, or a list of columns of group weights."""
    if isinstance(value, str):
        return check.text(value, where)
    if not (isinstance(value, list) and value):
        raise check.fail(where, 'a column name, or a list of weight columns ["age_65_plus"]', value)
    return tuple(check.text(column, f"{where}[{i}]") for i, column in enumerate(value))


def _min_group_share(value: Any, where: str) -> GroupShare:
    return GroupShare.from_value(value, where)


def _shares(value: Any, where: str) -> tuple[float, ...]:
    if not (isinstance(value, list) and value):
        raise check.fail(where, "a list of shares from 0 to 1, such as [0.6, 0.8, 1.0]", value)
    return tuple(check_share(share, f"{where}[{i}]") for i, share in enumerate(value))


@dataclass(frozen=True, kw_only=True)
class ProblemParameters:
    """What every kind takes: the demand column to weigh by, and a priority factor."""

    #: demand column of weights (people by default)
    weights: str = field(default="population", metadata=_by(check.text))
    #: ``{column, values, factor}``: rows whose column is one of values weigh factor times
    priority: dict[str, Any] | None = field(default=None, metadata=_by(_priority))

    def summary(self) -> dict[str, Any]:
        """Every parameter as run, defaults included, for ``summary.json``."""
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class SolverLimits:
    """The solver's limits (its defaults when not given)."""

    mip_gap: float | None = field(default=None, metadata=_by(check.fraction))
    time_limit_s: float | None = field(default=None, metadata=_by(check.positive))


@dataclass(frozen=True, kw_only=True)
class SiteChoice:
    """Sites that must open, sites that must not, and whether today's offices stay."""

    required: tuple[str, ...] = field(default=(), metadata=_by(_site_ids))
    forbidden: tuple[str, ...] = field(default=(), metadata=_by(_site_ids))
    #: keep today's offices open (those that may close are free either way)
    existing_fixed: bool = field(default=True, metadata=_by(check.boolean))


@dataclass(frozen=True, kw_only=True)
class _Costs:
    """Costs of opening each site, and a budget for them."""

    #: site column of costs
    costs: str | None = field(default=None, metadata=_by(check.text))
    budget: float | None = field(default=None, metadata=_by(check.positive))


@dataclass(frozen=True, kw_only=True)
class _Count:
    """How many offices: all of them, or those beside today's."""

    n_sites: int | None = field(default=None, metadata=_by(check.positive_int))
    #: offices to open beside those kept today
    n_new: int | None = field(default=None, metadata=_by(check.positive_int))


@dataclass(frozen=True, kw_only=True)
class LscpParameters(ProblemParameters, SolverLimits, SiteChoice, _Costs):
    """Fewest offices that bring everyone within `max_minutes`."""

    max_minutes: float = field(metadata=_by(check.positive))


@dataclass(frozen=True, kw_only=True)
class LocationParameters(ProblemParameters, SolverLimits, SiteChoice, _Costs, _Count):
    """p-median, p-center and attendance (by [travel] decay): `n_sites` (or `n_new`)
    offices, attendance also any number within a budget."""


@dataclass(frozen=True, kw_only=True)
class GroupsParameters:
    """The groups an equity problem is fair between."""

    #: a demand column of group labels (districts), or a list of columns of group weights
    #: (``["age_65_plus"]``); default the scenario's groups ([inputs] group_column, else
    #: the municipality)
    groups: str | tuple[str, ...] | None = field(default=None, metadata=_by(_groups))


@dataclass(frozen=True, kw_only=True)
class MedianParameters(LocationParameters, GroupsParameters):
    """p-median, optionally with no group's share within T minutes below X."""

    #: ``{minutes = T, share = X}``
    min_group_share: GroupShare | None = field(default=None, metadata=_by(_min_group_share))


@dataclass(frozen=True, kw_only=True)
class MinmaxGroupParameters(LocationParameters, GroupsParameters):
    """`n_sites` (or `n_new`) offices making the worst group's mean travel time least."""


@dataclass(frozen=True, kw_only=True)
class FrontierParameters(ProblemParameters, SolverLimits, SiteChoice, _Count, GroupsParameters):
    """Least total travel time for each least group share within `max_minutes`."""

    max_minutes: float = field(metadata=_by(check.positive))
    #: target shares; default `n_points` from the plain p-median's worst share to the best
    shares: tuple[float, ...] | None = field(default=None, metadata=_by(_shares))
    n_points: int = field(default=DEFAULT_FRONTIER_POINTS, metadata=_by(check.positive_int))


@dataclass(frozen=True, kw_only=True)
class MclpParameters(LocationParameters):
    """Most people within `max_minutes` of `n_sites` offices (or within a budget)."""

    max_minutes: float = field(metadata=_by(check.positive))


def _target_share(value: Any, where: str) -> float:
    """A share above 0 and at most 1; 80 (meant as 80 %) is named as above 100 %."""
    if check.is_number(value) and value > 1:
        raise InputError(f"{where} {value!r} is above 100%: give a share such as 0.8 for 80%")
    if not (check.is_number(value) and 0 < value <= 1):
        raise check.fail(where, "a share above 0 and at most 1 (0.8 is 80%)", value)
    return float(value)


@dataclass(frozen=True, kw_only=True)
class _Huff:
    """The other offices demand may go to instead (Huff), and how offices pull."""

    #: site ids of the sites table that are other offices (never ours, always open)
    competitors: tuple[str, ...] = field(default=(), metadata=_by(_site_ids))
    #: a site table of other offices (path from the scenario's folder), times by the run's mode
    competitors_file: str | None = field(default=None, metadata=_by(check.text))
    #: site column of attractiveness A_j > 0 (1 each when not given)
    attractiveness: str | None = field(default=None, metadata=_by(check.text))
    #: how a trip's pull falls with time; default the scenario's [travel] decay
    decay: Decay | None = field(default=None, metadata=_by(decay_from_mapping))


@dataclass(frozen=True, kw_only=True)
class MarketShareParameters(ProblemParameters, SolverLimits, SiteChoice, _Count, _Huff):
    """`n_sites` (or `n_new`) offices winning the most demand against the other offices."""


@dataclass(frozen=True, kw_only=True)
class TargetMarketShareParameters(ProblemParameters, SolverLimits, SiteChoice, _Costs, _Huff):
    """The fewest offices (least cost, with `costs`) winning `target_share` of the demand."""

    target_share: float = field(metadata=_by(_target_share))


@dataclass(frozen=True, kw_only=True)
class ClosureImpactParameters(ProblemParameters):
    """Who loses when these offices close (default: those with status may_close)."""

    close: tuple[str, ...] = field(default=(), metadata=_by(_site_ids))
    max_minutes: float | None = field(default=None, metadata=_by(check.positive))


@dataclass(frozen=True, kw_only=True)
class ClosuresParameters(ProblemParameters, SolverLimits):
    """Which `n_close` offices to close so that the fewest people lose."""

    n_close: int = field(metadata=_by(check.positive_int))
    may_close: tuple[str, ...] = field(default=(), metadata=_by(_site_ids))
    max_minutes: float | None = field(default=None, metadata=_by(check.positive))


@dataclass(frozen=True, kw_only=True)
class AlternativesParameters(LocationParameters):
    """Answers of kind `of` within `within` of its optimum, each differing in a site."""

    of: str = field(metadata=_by(check.choice("lscp", "mclp", "p-median", "p-center")))
    n_alternatives: int = field(metadata=_by(check.positive_int))
    within: float = field(default=0.05, metadata=_by(check.fraction))
    max_minutes: float | None = field(default=None, metadata=_by(check.positive))


@dataclass(frozen=True, kw_only=True)
class TradeoffParameters(ProblemParameters, SolverLimits, SiteChoice):
    """People within `max_minutes` for 1 to `max_n_sites` offices."""

    max_n_sites: int = field(metadata=_by(check.positive_int))
    max_minutes: float = field(metadata=_by(check.positive))


@dataclass(frozen=True, kw_only=True)
class MobileParameters(ProblemParameters):
    """Weekly tours of mobile offices from `depots` (see `siting.MobileOptions`)."""

    depots: tuple[str, ...] = field(metadata=_by(_site_ids))
    #: candidate stops (default: every candidate site)
    stops: tuple[str, ...] = field(default=(), metadata=_by(_site_ids))
    serve_minutes: float = field(metadata=_by(check.positive))
    #: reach of today's offices (default: serve_minutes)
    fixed_minutes: float | None = field(default=None, metadata=_by(check.positive))
    vehicles: int = field(default=MOBILE_DEFAULTS["vehicles"], metadata=_by(check.positive_int))
    days_per_week: int = field(
        default=MOBILE_DEFAULTS["days_per_week"], metadata=_by(check.days_per_week)
    )
    day_minutes: float = field(default=MOBILE_DEFAULTS["day_minutes"], metadata=_by(check.positive))
    stop_minutes: float = field(
        default=MOBILE_DEFAULTS["stop_minutes"], metadata=_by(check.non_negative)
    )
    cover_all: bool = field(default=MOBILE_DEFAULTS["cover_all"], metadata=_by(check.boolean))
    time_limit_s: float = field(
        default=MOBILE_DEFAULTS["time_limit_s"], metadata=_by(check.positive)
    )
    max_iterations: int | None = field(
        default=MOBILE_DEFAULTS["max_iterations"], metadata=_by(check.positive_int)
    )


#: the parameters of each problem kind
KINDS: dict[str, type[ProblemParameters]] = {
    "lscp": LscpParameters,
    "mclp": MclpParameters,
    "p-median": MedianParameters,
    "p-center": LocationParameters,
    "attendance": LocationParameters,
    "minmax-group": MinmaxGroupParameters,
    "equity-frontier": FrontierParameters,
    "market-share": MarketShareParameters,
    "target-market-share": TargetMarketShareParameters,
    "closure-impact": ClosureImpactParameters,
    "closures": ClosuresParameters,
    "alternatives": AlternativesParameters,
    "tradeoff": TradeoffParameters,
    "mobile": MobileParameters,
}


def checkers(kind: str) -> dict[str, check.Checker]:
    """The TOML keys of a kind and the checker of each."""
    return {f.name: f.metadata["check"] for f in fields(KINDS[kind])}


def needed(kind: str) -> tuple[str, ...]:
    """The keys a kind cannot do without."""
    return tuple(
        f.name for f in fields(KINDS[kind]) if f.default is MISSING and f.default_factory is MISSING
    )
