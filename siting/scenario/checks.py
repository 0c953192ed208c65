"""Check every problem against the loaded inputs, before the OD matrix and any solving.

Site ids and counts against the sites; the demand columns a problem weighs by and the site
column it costs by, against the population and site files.

The solvers check the same things on the OD matrix, but only when that problem's turn comes
(after the matrix and the problems before it) and in their own terms (``required_sites``,
``n_sites``). Here the messages use the scenario's keys and values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from siting._core.errors import InputError
from siting.inputs.population import check_people
from siting.inputs.sites import load_sites
from siting.inputs.tables import numeric_column
from siting.scenario.competitors import check_market_inputs
from siting.scenario.config import Problem, Scenario, TableInput
from siting.scenario.parameters import (
    ClosuresParameters,
    MarketShareParameters,
    ProblemParameters,
    TargetMarketShareParameters,
)

#: problem keys that list site ids
ID_KEYS = ("required", "forbidden", "close", "may_close", "depots", "stops", "competitors")
#: kinds that open sites under `n_sites` or `n_new`, with kept offices required
_LOCATION_KINDS = {
    "lscp", "mclp", "p-median", "p-center", "attendance", "minmax-group", "equity-frontier",
    "alternatives", "tradeoff", "market-share", "target-market-share",
}  # fmt: skip
_OPEN_TODAY = ("existing", "may_close")


class UnknownSiteError(InputError):
    """A problem names a site id that is not among the scenario's sites."""

    def __init__(self, key: str, site: str) -> None:
        super().__init__(f"{key}: {site!r} is not the id of an existing office or candidate site")
        self.site = site


def check_scenario_inputs(scenario: Scenario, demand: pd.DataFrame, sites: pd.DataFrame) -> None:
    """Check every problem of `scenario` against the loaded demand and sites.

    Raises
    ------
    InputError
        Naming the scenario file, the problem, the key and the value, and for a missing or
        bad column the file it should be in.
    """
    check_scenario_sites(scenario, sites)
    for problem in scenario.problems:
        try:
            _check_columns(problem.parameters, scenario, demand, sites)
        except InputError as error:
            msg = f"{scenario.path}: problem {problem.name!r} ({problem.kind}): {error}"
            raise InputError(msg) from None


def _check_columns(
    parameters: ProblemParameters, scenario: Scenario, demand: pd.DataFrame, sites: pd.DataFrame
) -> None:
    population_file = str(scenario.inputs.population.path)
    weight_values(demand, parameters.weights, population_file)
    if parameters.priority is not None:
        require_column(demand, parameters.priority["column"], "priority.column", population_file)
    _check_groups(getattr(parameters, "groups", None), demand, population_file)
    if isinstance(parameters, MarketShareParameters | TargetMarketShareParameters):
        check_market_inputs(parameters, sites)
    costs = getattr(parameters, "costs", None)
    if costs is not None:
        tables = (scenario.inputs.existing, scenario.inputs.candidates)
        files = " or ".join(str(t.path) for t in tables if t is not None) or "the sites"
        require_column(sites, costs, "costs", files)


def _check_groups(groups: str | tuple[str, ...] | None, demand: pd.DataFrame, source: str) -> None:
    """A label column must exist; weight columns must also hold numbers >= 0."""
    if groups is None:
        return
    if isinstance(groups, str):
        require_column(demand, groups, "groups", source)
        return
    table = demand.set_index("demand_id")
    for column in groups:
        require_column(demand, column, "groups", source)
        try:
            numeric_column(table, column, "frame", source, minimum=0.0)
        except InputError as error:
            raise InputError(f"groups: {error}") from None


def require_column(table: pd.DataFrame, column: str, key: str, source: str) -> None:
    """Raise an InputError naming `key`, the file and the columns it has, when one is missing."""
    if column not in table.columns:
        shown = [c for c in map(str, table.columns) if c not in ("geometry", "cell")]
        msg = f"{key}: {source} has no column {column!r}; its columns are {', '.join(shown)}"
        raise InputError(msg)


def weight_values(demand: pd.DataFrame, column: str, source: str) -> npt.NDArray[np.float64]:
    """The demand column `column` as weights: numbers, finite, >= 0, people-sized in total."""
    require_column(demand, column, "weights", source)
    table = demand.set_index("demand_id")
    values = numeric_column(table, column, "frame", source, minimum=0.0)
    check_people(values, column, source, lambda i: f"demand {table.index[i]!r}")
    return values


def check_scenario_sites(scenario: Scenario, sites: pd.DataFrame) -> None:
    """Check the site ids and counts of every problem of `scenario` against `sites`.

    Raises
    ------
    InputError
        Naming the scenario file, the problem, the key and the value; for an id that is in
        a site file but outside the scenario's region, saying so.
    """
    for problem in scenario.problems:
        try:
            check_problem_sites(problem, sites)
        except UnknownSiteError as error:
            hint = _outside_region(scenario, error.site)
            msg = f"{scenario.path}: problem {problem.name!r} ({problem.kind}): {error}{hint}"
            raise InputError(msg) from None
        except InputError as error:
            msg = f"{scenario.path}: problem {problem.name!r} ({problem.kind}): {error}"
            raise InputError(msg) from None


def check_problem_sites(problem: Problem, sites: pd.DataFrame) -> None:
    """Site ids known, no site both required and forbidden, counts that some choice meets."""
    parameters = problem.parameters
    status = dict(zip(sites["site_id"].astype(str), sites["status"].astype(str), strict=True))
    for key in ID_KEYS:
        for site in getattr(parameters, key, ()):
            if site not in status:
                raise UnknownSiteError(key, site)
    if problem.kind == "closure-impact":
        _check_open_today(getattr(parameters, "close", ()), status, "close")
    elif isinstance(parameters, ClosuresParameters):
        _check_closures(parameters, status)
    elif problem.kind in _LOCATION_KINDS:
        _check_location(parameters, status)


def _check_open_today(site_ids: Any, status: Mapping[str, str], key: str) -> None:
    for site in site_ids:
        if status[site] not in _OPEN_TODAY:
            msg = f"{key}: {site!r} is no office open today (its status is {status[site]!r})"
            raise InputError(msg)


def _check_closures(parameters: ClosuresParameters, status: Mapping[str, str]) -> None:
    _check_open_today(parameters.may_close, status, "may_close")
    may_close = parameters.may_close or [s for s, v in status.items() if v == "may_close"]
    closable = len(may_close) or sum(v in _OPEN_TODAY for v in status.values())
    if parameters.n_close > closable:
        msg = f"n_close = {parameters.n_close}: only {closable} offices may close"
        raise InputError(msg)


def _check_location(parameters: ProblemParameters, status: Mapping[str, str]) -> None:
    """Counts of a location problem or trade-off (fields a kind lacks do not apply to it)."""
    # other offices (market share) are never ours: neither kept nor free to open
    others = set(getattr(parameters, "competitors", ()))
    kept = [s for s, v in status.items() if v == "existing" and s not in others]
    kept = kept if getattr(parameters, "existing_fixed", True) else []
    forbidden = set(getattr(parameters, "forbidden", ())) | others
    required = getattr(parameters, "required", ())
    for site in required:
        if site in forbidden:
            msg = f"required and forbidden both list {site!r}"
            raise InputError(msg)
    for site in kept:
        if site in forbidden:
            msg = (
                f"forbidden: {site!r} is an office kept open (status existing); "
                "set existing_fixed = false to let it close"
            )
            raise InputError(msg)
    n_required = len({*kept, *required})
    n_allowed = len(status) - len(forbidden)
    sites_told = f"{len(status)} sites, {len(forbidden)} of them forbidden"
    n_new = getattr(parameters, "n_new", None)
    if n_new is not None and n_new > n_allowed - n_required:
        msg = (
            f"n_new = {n_new}: only {n_allowed - n_required} sites can open "
            f"besides the {n_required} kept open ({sites_told})"
        )
        raise InputError(msg)
    least = max(1, n_required)
    max_n_sites = getattr(parameters, "max_n_sites", least)
    if max_n_sites < least:
        msg = (
            f"max_n_sites = {max_n_sites} is fewer than the {n_required} "
            "offices that must stay open"
        )
        raise InputError(msg)
    if max_n_sites > n_allowed:
        msg = f"max_n_sites = {max_n_sites}: only {n_allowed} sites may open ({sites_told})"
        raise InputError(msg)
    count = getattr(parameters, "n_sites", None)
    if count is not None and count > n_allowed:
        msg = f"n_sites = {count}: only {n_allowed} sites may open ({sites_told})"
        raise InputError(msg)
    if count is not None and count < n_required:
        msg = (
            f"n_sites = {count} is fewer than the {n_required} offices that must stay open "
            "(offices with status existing, and required)"
        )
        raise InputError(msg)


def _outside_region(scenario: Scenario, site: str) -> str:
    """A hint when `site` is in a site file but the region clipped it away."""
    region = scenario.inputs.region
    if region is None:
        return ""
    for key, table in (("existing", scenario.inputs.existing),
                       ("candidates", scenario.inputs.candidates)):  # fmt: skip
        if table is not None and site in _ids_unclipped(table):
            return f"; it is in [inputs] {key} but lies outside the region {region!r}"
    return ""


def _ids_unclipped(table: TableInput) -> set[str]:
    try:
        return set(load_sites(table.path, **table.options)["site_id"].astype(str))
    except InputError:  # the file was read once already; a second reading cannot help
        return set()
