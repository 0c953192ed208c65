"""Run a scenario's problems: checked parameters -> solver calls -> one result shape for all."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from siting._core.errors import InfeasibleError, InputError
from siting.locate.alternatives import solve_alternatives
from siting.locate.closure import closure_impact, solve_closures
from siting.locate.decay import DEFAULT_DECAY, Decay
from siting.locate.frontier import equity_frontier
from siting.locate.solution import Solution
from siting.locate.solve import solve
from siting.locate.tradeoff import tradeoff_curve
from siting.mobile.options import FixedOffices, MobileOptions
from siting.mobile.planner import plan_mobile
from siting.report.maps import nearest_office
from siting.scenario.checks import require_column, weight_values
from siting.scenario.competitors import TimesTo, market_inputs
from siting.scenario.config import EXISTING, Problem
from siting.scenario.parameters import (
    AlternativesParameters,
    ClosureImpactParameters,
    ClosuresParameters,
    FrontierParameters,
    GroupsParameters,
    LocationParameters,
    LscpParameters,
    MarketShareParameters,
    MclpParameters,
    MedianParameters,
    MinmaxGroupParameters,
    MobileParameters,
    ProblemParameters,
    SiteChoice,
    SolverLimits,
    TargetMarketShareParameters,
    TradeoffParameters,
)
from siting.travel.odmatrix import ODMatrix
from siting.travel.straightline import StraightLineModel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProblemContext:
    """What every problem of one scenario shares: the matrix, demand, sites and seed."""

    od: ODMatrix
    demand: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    seed: int
    #: travel between given sites (mobile tours): a square matrix, or the straight-line model
    legs: Callable[[gpd.GeoDataFrame, float], ODMatrix | StraightLineModel] | None = None
    #: how attendance falls with travel time: the scenario's [travel] decay
    decay: Decay = DEFAULT_DECAY
    #: times from every demand point to other sites (a market share's competitors_file)
    times_to: TimesTo | None = None

    @property
    def existing_ids(self) -> list[str]:
        """Offices open today (status existing or may_close), in site order."""
        return self._with_status("existing", "may_close")

    @property
    def kept_ids(self) -> list[str]:
        """Offices open today and not proposed for closure (status existing)."""
        return self._with_status("existing")

    @property
    def may_close_ids(self) -> list[str]:
        """Offices announced or proposed for closure (status may_close)."""
        return self._with_status("may_close")

    @property
    def candidate_ids(self) -> list[str]:
        """Sites where no office is open today (status candidate)."""
        return self._with_status("candidate")

    def _with_status(self, *statuses: str) -> list[str]:
        chosen = self.sites["status"].astype(str).isin(statuses)
        return [str(site) for site in self.sites.loc[chosen, "site_id"]]


@dataclass(frozen=True)
class ProblemResult:
    """One problem's answer in the shape the outputs need.

    Attributes
    ----------
    name, kind
        As in the scenario (``existing`` for today's offices).
    travel
        ``demand_id``, ``site_id``, ``minutes`` (NaN: not reached), or None when the answer is
        not one set of offices (a trade-off curve).
    open_sites, opened, closed
        Offices open in the answer; those of them that are new; existing offices it closes.
        Mobile stops are no offices: they are in the summary (``mobile_stops``).
    summary
        Plain values for ``summary.json`` (objective, bound, gap, status, parameters...).
    tables
        Further tables written as CSV beside the outputs (curve, impact by group...).
    routes, stops
        Mobile office tours (lines) and their stops (points) for the map.
    """

    name: str
    kind: str
    travel: pd.DataFrame | None
    open_sites: tuple[str, ...] = ()
    opened: tuple[str, ...] = ()
    closed: tuple[str, ...] = ()
    summary: Mapping[str, Any] = field(default_factory=dict)
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    routes: gpd.GeoDataFrame | None = None
    stops: gpd.GeoDataFrame | None = None


def existing_result(context: ProblemContext) -> ProblemResult | None:
    """Today: every demand point goes to its nearest existing office (None without any)."""
    ids = context.existing_ids
    if not ids:
        return None
    today = nearest_office(od_to_sites(context.od, ids))
    summary = {"kind": EXISTING, "sites": ids}
    return ProblemResult(EXISTING, EXISTING, today, tuple(ids), summary=summary)


def od_to_sites(od: ODMatrix, site_ids: Sequence[str]) -> ODMatrix:
    """The matrix to these sites only."""
    keep = np.flatnonzero(np.isin(od.destination_ids, list(site_ids)))
    return ODMatrix(od.minutes[:, keep], od.origin_ids, od.destination_ids[keep], od.metadata)


def run_problem(problem: Problem, context: ProblemContext) -> ProblemResult:
    """Solve one problem; InputError and InfeasibleError name the problem.

    Its site ids and counts must have been checked against ``context.sites`` first
    (`siting.scenario.checks.check_scenario_sites`, before the OD matrix).
    """
    runner = RUNNERS[problem.kind]
    try:
        return runner(problem, context)
    except (InputError, InfeasibleError) as error:
        msg = f"problem {problem.name!r} ({problem.kind}): {error}"
        raise type(error)(msg) from None


# --- parameters shared by the solvers -------------------------------------------------------


def demand_weights(parameters: ProblemParameters, demand: pd.DataFrame) -> npt.NDArray[np.float64]:
    """The `weights` column (default population), times the priority factor where it applies."""
    values = weight_values(demand, parameters.weights, "the demand")
    priority = parameters.priority
    if priority is None:
        return values
    require_column(demand, priority["column"], "priority.column", "the demand")
    chosen = demand[priority["column"]].astype(str).isin(priority["values"]).to_numpy()
    if not chosen.any():
        msg = f"priority.values: no demand has {priority['column']} in {list(priority['values'])}"
        raise InputError(msg)
    weighted: npt.NDArray[np.float64] = np.where(chosen, values * priority["factor"], values)
    return weighted


def _site_costs(column: str, sites: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Costs per site; an office open today with no cost given costs nothing more."""
    require_column(sites, column, "costs", "the sites")
    costs = pd.to_numeric(sites[column], errors="coerce").to_numpy(dtype=np.float64)
    is_open = sites["status"].isin(("existing", "may_close")).to_numpy()
    missing = np.isnan(costs) & ~is_open
    if missing.any():
        msg = (
            f"costs: candidate site {sites['site_id'].iloc[int(np.argmax(missing))]!r} has no cost"
        )
        raise InputError(msg)
    return np.where(np.isnan(costs), 0.0, costs)


def _solver_options(parameters: SolverLimits, context: ProblemContext) -> dict[str, Any]:
    limits = {"mip_gap": parameters.mip_gap, "time_limit_s": parameters.time_limit_s}
    given = {key: value for key, value in limits.items() if value is not None}
    return {**given, "seed": context.seed}


def _site_rules(parameters: SiteChoice, context: ProblemContext) -> dict[str, Any]:
    # offices that may close are free to stay open or not; forbid them to model the closure
    kept = context.kept_ids if parameters.existing_fixed else []
    return {
        "required_sites": list(dict.fromkeys([*kept, *parameters.required])),
        "forbidden_sites": list(parameters.forbidden),
    }


def _location_parameters(
    parameters: LscpParameters | LocationParameters, kind: str, context: ProblemContext
) -> dict[str, Any]:
    """Keyword arguments of `siting.solve` for an LSCP, MCLP, p-median, p-center or
    attendance (with the scenario's decay)."""
    arguments = {
        "weights": demand_weights(parameters, context.demand),
        **_site_rules(parameters, context),
        **_solver_options(parameters, context),
    }
    if parameters.costs is not None:
        arguments["site_costs"] = _site_costs(parameters.costs, context.sites)
    if parameters.budget is not None:
        arguments["budget"] = parameters.budget
    if isinstance(parameters, LocationParameters):
        if parameters.n_sites is not None:
            arguments["n_sites"] = parameters.n_sites
        elif parameters.n_new is not None:
            arguments["n_sites"] = len(context.kept_ids) + parameters.n_new
    if kind in ("lscp", "mclp") and isinstance(parameters, _WITH_MAX_MINUTES):
        arguments["max_minutes"] = parameters.max_minutes
    if kind == "attendance":
        arguments["decay"] = context.decay
    if isinstance(parameters, MedianParameters) and parameters.min_group_share is not None:
        arguments["min_group_share"] = parameters.min_group_share
        arguments["groups"] = group_values(parameters, context.demand)
    if isinstance(parameters, MinmaxGroupParameters):
        arguments["groups"] = group_values(parameters, context.demand)
    return arguments


def group_values(parameters: GroupsParameters, demand: pd.DataFrame) -> Any:
    """The groups of an equity problem: labels per demand point (a column, default the
    scenario's groups) or a table of group weights (a list of columns)."""
    chosen = parameters.groups
    if chosen is None:
        return demand["group"].to_numpy()
    columns = [chosen] if isinstance(chosen, str) else list(chosen)
    for column in columns:
        require_column(demand, column, "groups", "the demand")
    if isinstance(chosen, str):
        return demand[chosen].to_numpy()
    return demand[columns].reset_index(drop=True)


#: the location parameters that may carry a cut-off (lscp and mclp need it, checked on reading)
_WITH_MAX_MINUTES = (LscpParameters, MclpParameters, AlternativesParameters)


def _from_solution(
    problem: Problem, solution: Solution, context: ProblemContext, extra: Mapping[str, Any]
) -> ProblemResult:
    chosen = tuple(str(site) for site in solution.site_ids)
    existing = context.existing_ids
    closed = tuple(site for site in existing if site not in chosen)
    summary = {
        "kind": problem.kind,
        **solution.summary(),
        "closed_sites": list(closed),
        "scenario_parameters": problem.parameters.summary(),
        **extra,
    }
    return ProblemResult(
        name=problem.name,
        kind=problem.kind,
        travel=solution.assignment_table(),
        open_sites=chosen,
        opened=tuple(site for site in chosen if site not in existing),
        closed=closed,
        summary=summary,
    )


# --- one runner per kind --------------------------------------------------------------------


def _run_location(problem: Problem, context: ProblemContext) -> ProblemResult:
    parameters = problem.parameters
    assert isinstance(parameters, LscpParameters | LocationParameters)
    arguments = _location_parameters(parameters, problem.kind, context)
    solution = solve(context.od, problem=problem.kind, **arguments)
    return _from_solution(problem, solution, context, {})


def _run_market_share(problem: Problem, context: ProblemContext) -> ProblemResult:
    """Huff market share against other offices: the most won by n offices, or the fewest
    offices winning a target share. Other offices are never ours: not kept, not closed."""
    parameters = problem.parameters
    assert isinstance(parameters, MarketShareParameters | TargetMarketShareParameters)
    market = market_inputs(parameters, context.od, context.sites, context.times_to)
    others = set(market.competitor_ids)
    rules = _site_rules(parameters, context)
    rules["required_sites"] = [site for site in rules["required_sites"] if site not in others]
    decay = parameters.decay or context.decay
    arguments = {
        "weights": demand_weights(parameters, context.demand), **rules,
        **_solver_options(parameters, context), "competitor_sites": sorted(others),
        "attractiveness": market.attractiveness, "decay": decay,
    }  # fmt: skip
    if isinstance(parameters, MarketShareParameters):
        kept = [site for site in context.kept_ids if site not in others]
        arguments["n_sites"] = parameters.n_sites or len(kept) + (parameters.n_new or 0)
    else:
        arguments["target_share"] = parameters.target_share
        if parameters.costs is not None:  # the file's other offices cost nothing: never ours
            costs = _site_costs(parameters.costs, context.sites)
            arguments["site_costs"] = np.r_[costs, np.zeros(market.od.shape[1] - costs.size)]
        if parameters.budget is not None:
            arguments["budget"] = parameters.budget
    solution = solve(market.od, problem=problem.kind, **arguments)
    extra = {"competitors": sorted(others), "decay": decay.summary()}
    result = _from_solution(problem, solution, context, extra)
    closed = tuple(site for site in result.closed if site not in others)
    return replace(result, closed=closed, summary={**result.summary, "closed_sites": list(closed)})


def _run_closure_impact(problem: Problem, context: ProblemContext) -> ProblemResult:
    parameters = problem.parameters
    assert isinstance(parameters, ClosureImpactParameters)
    close = list(parameters.close) or context.may_close_ids
    if not close:
        msg = "close: no sites given, and no existing office has status may_close"
        raise InputError(msg)
    impact = closure_impact(
        context.od,
        open_sites=context.existing_ids,
        closed_sites=close,
        weights=demand_weights(parameters, context.demand),
        max_minutes=parameters.max_minutes,
        groups=context.demand["group"].to_numpy(),
    )
    table = impact.table
    minutes = table["minutes_after"].to_numpy(dtype=np.float64)
    travel = pd.DataFrame(
        {
            "demand_id": table["demand_id"],
            "site_id": table["site_after"],
            "minutes": np.where(np.isfinite(minutes), minutes, math.nan),
        }
    )
    closed = tuple(str(site) for site in impact.closed_sites)
    summary = {
        "kind": problem.kind,
        "closed_sites": list(closed),
        "totals": impact.totals,
        "scenario_parameters": parameters.summary(),
    }
    return ProblemResult(
        name=problem.name,
        kind=problem.kind,
        travel=travel,
        open_sites=tuple(site for site in context.existing_ids if site not in closed),
        closed=closed,
        summary=summary,
        tables={"impact-by-group": impact.by_group.reset_index()},
    )


def _run_closures(problem: Problem, context: ProblemContext) -> ProblemResult:
    parameters = problem.parameters
    assert isinstance(parameters, ClosuresParameters)
    existing = context.existing_ids
    may_close = list(parameters.may_close) or context.may_close_ids or existing
    solution = solve_closures(
        context.od,
        open_sites=existing,
        n_close=parameters.n_close,
        weights=demand_weights(parameters, context.demand),
        max_minutes=parameters.max_minutes,
        keep_sites=[site for site in existing if site not in may_close],
        **_solver_options(parameters, context),
    )
    return _from_solution(problem, solution, context, {"may_close": may_close})


def _run_alternatives(problem: Problem, context: ProblemContext) -> ProblemResult:
    parameters = problem.parameters
    assert isinstance(parameters, AlternativesParameters)
    answers = solve_alternatives(
        context.od,
        problem=parameters.of,
        n_alternatives=parameters.n_alternatives,
        within=parameters.within,
        **_location_parameters(parameters, parameters.of, context),
    )
    listed = [
        {"sites": a.summary()["sites"], "objective": a.objective, "gap": a.gap, "status": a.status}
        for a in answers
    ]
    extra = {"alternatives": listed, **_alternatives_found(problem.name, parameters, len(answers))}
    return _from_solution(problem, answers[0], context, extra)


def _alternatives_found(
    name: str, parameters: AlternativesParameters, found: int
) -> dict[str, Any]:
    """How many answers were asked for and found; a note (and a warning) when fewer."""
    asked, within = parameters.n_alternatives, parameters.within
    record: dict[str, Any] = {"alternatives_asked": asked, "alternatives_found": found}
    if found < asked:
        record["alternatives_note"] = (
            f"only {found} of the {asked} answers asked for lie within {within:.1%} of the "
            "optimum (the optimum included)"
        )
        logger.warning("problem %r: %s", name, record["alternatives_note"])
    return record


def _run_tradeoff(problem: Problem, context: ProblemContext) -> ProblemResult:
    parameters = problem.parameters
    assert isinstance(parameters, TradeoffParameters)
    rules = _site_rules(parameters, context)
    curve = tradeoff_curve(
        context.od,
        max_n_sites=parameters.max_n_sites,
        max_minutes=parameters.max_minutes,
        weights=demand_weights(parameters, context.demand),
        required_sites=rules["required_sites"],
        forbidden_sites=rules["forbidden_sites"],
        **_solver_options(parameters, context),
    )
    table = curve.reset_index()
    records = json_records(table)
    summary = {"kind": problem.kind, "curve": records, "scenario_parameters": parameters.summary()}
    tables = {"curve": _lists_joined(table)}
    return ProblemResult(problem.name, problem.kind, None, summary=summary, tables=tables)


def _run_frontier(problem: Problem, context: ProblemContext) -> ProblemResult:
    parameters = problem.parameters
    assert isinstance(parameters, FrontierParameters)
    rules = _site_rules(parameters, context)
    count = parameters.n_sites
    if count is None:  # n_new is given: checked on reading
        count = len(context.kept_ids) + (parameters.n_new or 0)
    curve = equity_frontier(
        context.od, n_sites=count, groups=group_values(parameters, context.demand),
        max_minutes=parameters.max_minutes, shares=parameters.shares,
        n_points=parameters.n_points, weights=demand_weights(parameters, context.demand),
        required_sites=rules["required_sites"], forbidden_sites=rules["forbidden_sites"],
        **_solver_options(parameters, context),
    )  # fmt: skip
    table = curve.reset_index()
    summary = {
        "kind": problem.kind,
        "curve": json_records(table),
        "max_worst_share": curve.attrs["max_worst_share"],
        "max_worst_share_status": curve.attrs["max_worst_share_status"],
        "scenario_parameters": parameters.summary(),
    }
    tables = {"curve": _lists_joined(table)}
    return ProblemResult(problem.name, problem.kind, None, summary=summary, tables=tables)


def _lists_joined(table: pd.DataFrame) -> pd.DataFrame:
    """Cells holding lists of site ids as plain text for CSV: ids separated by ';'."""
    joined = table.copy()
    for column in joined.columns:
        if joined[column].map(lambda cell: isinstance(cell, list)).any():
            joined[column] = joined[column].map(
                lambda cell: ";".join(map(str, cell)) if isinstance(cell, list) else ""
            )
    return joined


def _run_mobile(problem: Problem, context: ProblemContext) -> ProblemResult:
    """Weekly tours of mobile offices for people no office open today serves."""
    parameters = problem.parameters
    assert isinstance(parameters, MobileParameters)
    if context.legs is None:
        raise InputError("mobile: no travel model between sites was given")
    # ids known: depots and stops were checked against the sites before the OD matrix
    stop_ids = list(parameters.stops) or context.candidate_ids
    depot_ids = list(parameters.depots)
    places = context.sites[context.sites["site_id"].isin({*depot_ids, *stop_ids})]
    by_id = context.sites.set_index("site_id")
    # every office open today, those that may close included: the same offices the travel,
    # the metrics and open_sites below count, so nobody is both "served" and "newly served"
    fixed = context.existing_ids
    plan = plan_mobile(
        od_to_sites(context.od, stop_ids), demand_weights(parameters, context.demand),
        _site_points(by_id, stop_ids), _site_points(by_id, depot_ids),
        _mobile_options(parameters, context.seed),
        travel=context.legs(places, parameters.day_minutes),
        already_served=_fixed_offices(parameters, context.od, fixed),
    )  # fmt: skip
    visits = plan.visits_table()
    visited = list(dict.fromkeys(str(v) for v in visits["stop_id"]))
    # a stop of a weekly tour is no office: travel, metrics and open sites are the fixed
    # offices'; who the stops serve is told apart (served_by_mobile, mobile_stops)
    summary = {
        "kind": problem.kind, **plan.summary(), "served_by_mobile": plan.newly_served,
        "mobile_stops": visited, "scenario_parameters": parameters.summary(),
    }  # fmt: skip
    return ProblemResult(
        name=problem.name, kind=problem.kind,
        travel=nearest_office(od_to_sites(context.od, fixed)) if fixed else None,
        open_sites=tuple(fixed), summary=summary, tables={"visits": visits},
        routes=plan.routes_frame(), stops=plan.stops_frame(),
    )  # fmt: skip


def _mobile_options(parameters: MobileParameters, seed: int) -> MobileOptions:
    """The scenario's keys that are `MobileOptions`, and the scenario's seed."""
    taken = {f.name for f in fields(MobileOptions)} - {"seed"}
    given = {name: getattr(parameters, name) for name in taken}
    return MobileOptions(**given, seed=seed)


def _fixed_offices(
    parameters: MobileParameters, od: ODMatrix, fixed: Sequence[str]
) -> FixedOffices | None:
    """Today's offices serve the people within fixed_minutes (default serve_minutes)."""
    if not fixed:
        return None
    reach = parameters.fixed_minutes or parameters.serve_minutes
    return FixedOffices(od_to_sites(od, fixed), reach)


def _site_points(by_id: pd.DataFrame, site_ids: Sequence[str]) -> gpd.GeoDataFrame:
    chosen = by_id.loc[list(site_ids)].reset_index()
    return gpd.GeoDataFrame(chosen, geometry="geometry", crs=by_id.crs)


def json_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts for JSON: NaN becomes None, lists stay lists."""
    return [{str(k): _plain(v) for k, v in row.items()} for row in table.to_dict(orient="records")]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


Runner = Callable[[Problem, ProblemContext], ProblemResult]
#: one runner per problem kind of `siting.scenario.parameters.KINDS`
RUNNERS: dict[str, Runner] = {
    "lscp": _run_location,
    "mclp": _run_location,
    "p-median": _run_location,
    "p-center": _run_location,
    "attendance": _run_location,
    "minmax-group": _run_location,
    "equity-frontier": _run_frontier,
    "market-share": _run_market_share,
    "target-market-share": _run_market_share,
    "closure-impact": _run_closure_impact,
    "closures": _run_closures,
    "alternatives": _run_alternatives,
    "tradeoff": _run_tradeoff,
    "mobile": _run_mobile,
}
