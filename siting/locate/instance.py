"""Validate what every location problem shares: demand weights, site rules, costs and budget."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from siting._core.errors import InfeasibleError, InputError, warn
from siting.locate.mip import MipModel, MipResult
from siting.locate.solution import Solution
from siting.travel.odmatrix import ODMatrix

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Instance:
    """A travel-time matrix with the rules of one planning question, checked.

    Attributes
    ----------
    od
        Travel times, demand points (rows) x candidate sites (columns).
    weights
        Demand weight per row (population, 65+, a vulnerability index); 0 = no demand.
    required
        Per column: open in every answer (existing offices kept, sites decided already).
    forbidden
        Per column: never open.
    costs
        Per column cost (1 each when not given).
    budget
        Upper limit of the summed cost of open sites, or None.
    excluded
        Site sets (as column masks) that no answer may equal.
    """

    od: ODMatrix
    weights: FloatArray
    required: BoolArray
    forbidden: BoolArray
    costs: FloatArray
    budget: float | None
    excluded: tuple[BoolArray, ...] = ()

    @property
    def allowed(self) -> BoolArray:
        """Columns that may open."""
        return ~self.forbidden

    @property
    def demand(self) -> BoolArray:
        """Rows with positive weight."""
        return self.weights > 0


class SiteRules(TypedDict, total=False):
    """The options every location problem takes, checked by `prepare_instance`.

    Keys
    ----
    weights
        Demand weight per row (population, 65+, a vulnerability index); default 1 each. A
        pandas Series indexed by origin id is matched by id.
    required_sites, forbidden_sites
        Site ids that must open (existing offices kept, sites decided already) or may not.
    site_costs, budget
        Cost per site (1 each when not given) and an upper limit on the summed cost.
    exclude
        Site sets (lists of ids) that no answer may equal: used to find near-optimal
        alternatives (`siting.locate.alternatives.solve_alternatives`).
    """

    weights: Any
    required_sites: Iterable[Any]
    forbidden_sites: Iterable[Any]
    site_costs: Any
    budget: float | None
    exclude: Iterable[Iterable[Any]]


def prepare_instance(
    od: ODMatrix,
    *,
    weights: Any = None,
    required_sites: Iterable[Any] = (),
    forbidden_sites: Iterable[Any] = (),
    site_costs: Any = None,
    budget: float | None = None,
    exclude: Iterable[Iterable[Any]] = (),
) -> Instance:
    """Check the shared inputs of a location problem and return them as arrays.

    Raises
    ------
    InputError
        Empty demand, weights of the wrong length or negative, unknown site ids, a site both
        required and forbidden, negative costs, a budget below the cheapest allowed site.
    InfeasibleError
        If the required sites alone cost more than the budget.
    """
    n_demand, n_sites = od.shape
    if n_demand == 0:
        raise InputError("demand is empty: the OD matrix has no origin rows")
    if n_sites == 0:
        raise InputError("there are no candidate sites: the OD matrix has no columns")
    demand_weights = row_weights(od, weights)
    required = _site_mask(od, required_sites, "required_sites")
    forbidden = _site_mask(od, forbidden_sites, "forbidden_sites")
    both = required & forbidden
    if both.any():
        msg = f"site {od.destination_ids[both][0].item()!r} is both required and forbidden"
        raise InputError(msg)
    costs = _costs(site_costs, n_sites)
    excluded = tuple(_site_mask(od, sites, "exclude") for sites in exclude)
    instance = Instance(od, demand_weights, required, forbidden, costs, budget, excluded)
    _check_budget(instance)
    return instance


def row_weights(od: ODMatrix, weights: Any) -> FloatArray:
    """Weights per demand row: ones for None, a Series aligned by id, else in row order."""
    n_demand = od.shape[0]
    if weights is None:
        return np.ones(n_demand)
    if isinstance(weights, pd.Series) and not isinstance(weights.index, pd.RangeIndex):
        missing = ~pd.Index(od.origin_ids).isin(weights.index)
        if missing.any():
            msg = f"weights: no weight for origin {od.origin_ids[missing][0]!r}"
            raise InputError(msg)
        weights = weights.loc[od.origin_ids]
    array = np.asarray(weights, dtype=np.float64).ravel()
    if array.size != n_demand:
        msg = f"weights: {array.size} values for {n_demand} demand points"
        raise InputError(msg)
    bad = ~np.isfinite(array) | (array < 0)
    if bad.any():
        msg = f"weights must be finite and >= 0, got {array[bad][0]!r} at row {np.argmax(bad)}"
        raise InputError(msg)
    if not (array > 0).any():
        raise InputError("demand is empty: every demand weight is 0")
    return array


def _site_mask(od: ODMatrix, ids: Iterable[Any], argument: str) -> BoolArray:
    wanted = list(ids) if not isinstance(ids, str) else [ids]
    mask = np.isin(od.destination_ids, wanted)
    known = set(od.destination_ids.tolist())
    unknown = [site for site in wanted if site not in known]
    if unknown:
        shown = unknown[0].item() if isinstance(unknown[0], np.generic) else unknown[0]
        msg = f"{argument}: {shown!r} is not a site of the OD matrix"
        raise InputError(msg)
    return np.asarray(mask, dtype=np.bool_)


def _costs(site_costs: Any, n_sites: int) -> FloatArray:
    if site_costs is None:
        return np.ones(n_sites)
    costs = np.asarray(site_costs, dtype=np.float64).ravel()
    if costs.size != n_sites:
        msg = f"site_costs: {costs.size} values for {n_sites} sites"
        raise InputError(msg)
    if not (np.isfinite(costs) & (costs >= 0)).all():
        raise InputError("site_costs must be finite and >= 0")
    return costs


def _check_budget(instance: Instance) -> None:
    budget = instance.budget
    if budget is None:
        return
    if isinstance(budget, bool) or not isinstance(budget, int | float) or math.isnan(budget):
        msg = f"budget must be a number, got {budget!r}"
        raise InputError(msg)
    allowed_costs = instance.costs[instance.allowed]
    cheapest = float(allowed_costs.min()) if allowed_costs.size else math.inf
    if budget < cheapest:
        msg = (
            f"budget {budget:g} is below the cheapest allowed site ({cheapest:g}) "
            f"by {cheapest - budget:g}"
        )
        raise InputError(msg)
    required_cost = float(instance.costs[instance.required].sum())
    if required_cost > budget:
        msg = (
            f"budget {budget:g} cannot pay for the {int(instance.required.sum())} required "
            f"sites ({required_cost:g}): short by {required_cost - budget:g}"
        )
        raise InfeasibleError(msg)


def check_n_sites(instance: Instance, n_sites: Any) -> int:
    """Return `n_sites` checked against the allowed and required sites."""
    if isinstance(n_sites, bool) or not isinstance(n_sites, int | np.integer) or n_sites < 1:
        msg = f"n_sites must be a positive integer, got {n_sites!r}"
        raise InputError(msg)
    n_allowed = int(instance.allowed.sum())
    if n_sites > n_allowed:
        msg = (
            f"n_sites={n_sites} exceeds the {n_allowed} candidate sites that may open "
            f"by {n_sites - n_allowed}"
        )
        raise InputError(msg)
    n_required = int(instance.required.sum())
    if n_sites < n_required:
        msg = (
            f"n_sites={n_sites} is below the {n_required} required sites by {n_required - n_sites}"
        )
        raise InputError(msg)
    return int(n_sites)


def count_or_budget(instance: Instance, n_sites: int | None) -> int | None:
    """`n_sites` checked, or None when a budget alone limits the sites (one of them is needed)."""
    if n_sites is None:
        if instance.budget is None:
            raise InputError("n_sites or budget is needed: neither was given")
        return None
    count = check_n_sites(instance, n_sites)
    if instance.budget is not None:
        cheapest = float(
            np.sort(instance.costs[instance.allowed & ~instance.required])[
                : count - int(instance.required.sum())
            ].sum()
            + instance.costs[instance.required].sum()
        )
        if cheapest > instance.budget:
            msg = (
                f"n_sites={count} sites cost at least {cheapest:g}, budget "
                f"{instance.budget:g} is short by {cheapest - instance.budget:g}"
            )
            raise InfeasibleError(msg)
    return count


def check_max_minutes(max_minutes: Any) -> float:
    """Return `max_minutes` if it is a positive finite number."""
    if isinstance(max_minutes, bool) or not isinstance(max_minutes, int | float | np.floating):
        msg = f"max_minutes must be a number > 0, got {max_minutes!r}"
        raise InputError(msg)
    if not (max_minutes > 0 and math.isfinite(max_minutes)):
        msg = f"max_minutes must be > 0 and finite, got {max_minutes!r}"
        raise InputError(msg)
    return float(max_minutes)


def pairs_within(instance: Instance, max_minutes: float | None) -> sp.csr_matrix:
    """Pairs (demand x allowed site) within `max_minutes` (all stored pairs if None), as 0/1."""
    matrix = instance.od.minutes
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    keep = instance.allowed[matrix.indices]
    if max_minutes is not None:
        keep &= matrix.data <= max_minutes
    return sp.csr_matrix(
        (np.ones(int(keep.sum())), (rows[keep], matrix.indices[keep])), shape=matrix.shape
    )


def unreachable_rows(instance: Instance, max_minutes: float | None) -> BoolArray:
    """Demand rows that no site at all (forbidden ones included) reaches within `max_minutes`."""
    matrix = instance.od.minutes
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    near = matrix.data <= max_minutes if max_minutes is not None else np.ones(rows.size, bool)
    reached = np.bincount(rows[near], minlength=matrix.shape[0]) > 0
    unreachable: BoolArray = instance.demand & ~reached
    return unreachable


def check_some_reachable(instance: Instance, unreachable: BoolArray, what: str) -> None:
    """Raise when no demand point is reachable at all (nothing to optimise)."""
    if (instance.demand & ~unreachable).any():
        return
    data = instance.od.minutes.data
    nearest = f"; the closest pair is {float(data.min()):g} minutes apart" if data.size else ""
    msg = f"all demand is unreachable {what}{nearest}"
    raise InfeasibleError(msg)


def nearest_open(od: ODMatrix, open_sites: BoolArray) -> tuple[IntArray, FloatArray]:
    """Per row, the nearest open site's column (-1 if none reachable) and its minutes (inf)."""
    matrix = od.minutes
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    keep = open_sites[matrix.indices]
    rows, columns, minutes = rows[keep], matrix.indices[keep], matrix.data[keep]
    assignment = np.full(matrix.shape[0], -1, dtype=np.int64)
    assigned_minutes = np.full(matrix.shape[0], np.inf)
    if not rows.size:
        return assignment, assigned_minutes
    # lowest minutes first, ties to the lower column, so the answer is repeatable: a row's
    # minimum, then its first pair at that minimum by column; no sort of all pairs (the
    # lexsort took 5 s at 25 million pairs)
    row_ids, smallest = _row_minima(rows, minutes)
    assigned_minutes[row_ids] = smallest
    at_minimum = minutes == assigned_minutes[rows]
    row_ids, lowest = _row_minima(rows[at_minimum], columns[at_minimum])
    assignment[row_ids] = lowest
    return assignment, assigned_minutes


def _row_minima(rows: IntArray, values: npt.NDArray[Any]) -> tuple[IntArray, npt.NDArray[Any]]:
    """The rows present (`rows` ascending, as CSR pairs come) and each one's least value."""
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    return rows[starts], np.minimum.reduceat(values, starts)


def open_mask(values: FloatArray, n_sites: int) -> BoolArray:
    """Read the site columns (the first `n_sites` of a MIP solution) as open/closed."""
    mask: BoolArray = values[:n_sites] > 0.5
    return mask


def make_solution(
    instance: Instance,
    problem: str,
    result: MipResult,
    *,
    build_s: float,
    unreachable: BoolArray,
    parameters: dict[str, Any],
    assignment: tuple[IntArray, FloatArray] | None = None,
    loads: tuple[FloatArray, FloatArray] | None = None,
) -> Solution:
    """Turn a solved model into a `Solution`, assigning demand to its nearest open site
    unless `assignment` is given; `loads` are the weight served and the capacity per column."""
    od = instance.od
    opened = open_mask(result.values, od.shape[1])
    if assignment is None:
        assignment = nearest_open(od, opened)
    site_index = np.flatnonzero(opened).astype(np.int64)
    if unreachable.any():
        warn(
            logger,
            f"{problem}: {int(unreachable.sum())} demand points (weight "
            f"{float(instance.weights[unreachable].sum()):g}) no site reaches are excluded; "
            "Solution.unreachable lists them",
        )
    rules = {
        "required_sites": od.destination_ids[instance.required].tolist(),
        "forbidden_sites": od.destination_ids[instance.forbidden].tolist(),
        "budget": instance.budget,
    }
    return Solution(
        problem=problem,
        site_index=site_index,
        site_ids=od.destination_ids[site_index],
        assignment=assignment[0],
        assigned_minutes=assignment[1],
        objective=result.objective,
        bound=result.bound,
        gap=result.gap,
        status=result.status,
        build_s=build_s,
        solve_s=result.solve_s,
        unreachable=od.origin_ids[unreachable],
        origin_ids=od.origin_ids,
        destination_ids=od.destination_ids,
        parameters={**parameters, **rules},
        site_loads=None if loads is None else loads[0][site_index],
        site_capacities=None if loads is None else loads[1][site_index],
    )


def add_site_columns(
    model: MipModel, instance: Instance, *, cost: npt.ArrayLike = 0.0, n_sites: int | None = None
) -> None:
    """Add one binary column per site (required ones fixed open, forbidden ones shut) first,
    then the rows every problem shares: exactly `n_sites` open, summed cost within budget,
    and none of the excluded site sets."""
    size = instance.od.shape[1]
    cost_array = np.broadcast_to(np.asarray(cost, dtype=np.float64), size)
    model.add_columns(
        cost_array,
        lower=instance.required.astype(np.float64),
        upper=instance.allowed.astype(np.float64),
        integer=True,
    )
    if n_sites is not None:
        model.add_rows(sp.csr_matrix(np.ones((1, size))), lower=n_sites, upper=n_sites)
    if instance.budget is not None:
        model.add_rows(sp.csr_matrix(instance.costs[None, :]), upper=instance.budget)
    for chosen in instance.excluded:
        # no-good cut: sum over the set minus sum outside it <= |set| - 1 excludes only it
        row = np.where(chosen, 1.0, -1.0)[None, :]
        model.add_rows(sp.csr_matrix(row), upper=float(chosen.sum()) - 1.0)


def merge_identical_rows(
    matrix: sp.csr_matrix, weights: FloatArray
) -> tuple[sp.csr_matrix, FloatArray]:
    """Merge rows with the same pattern of sites, summing their weights (a vector, or a
    rows x k table summed column by column).

    Demand cells in one valley reach the same towns: a coverage model needs one row per
    distinct set, not per cell. Rows are grouped by two random 64-bit hashes of their column
    sets, then every row is compared with its group's first row, so the merge is exact (it is
    skipped in the astronomically unlikely case of a collision).
    """
    matrix = sp.csr_matrix(matrix)
    found = identical_row_classes(matrix)
    if found is None:  # pragma: no cover - a hash collision
        return matrix, weights
    first, inverse = found
    if weights.ndim == 2:
        classes = sp.csr_matrix(
            (np.ones(inverse.size), (inverse, np.arange(inverse.size))),
            shape=(first.size, inverse.size),
        )
        table: FloatArray = np.asarray(classes @ weights, dtype=np.float64)
        return sp.csr_matrix(matrix[first]), table
    merged = np.bincount(inverse, weights=weights, minlength=first.size).astype(np.float64)
    return sp.csr_matrix(matrix[first]), merged


def identical_row_classes(matrix: sp.csr_matrix) -> tuple[IntArray, IntArray] | None:
    """Classes of identical rows (the same columns, the same values): each class's first
    row, and each row's class; None in the astronomically unlikely case of a hash collision.

    Rows are grouped by two random 64-bit hashes of their column sets, then every row is
    compared with its group's first row, so the classes are exact.
    """
    matrix = sp.csr_matrix(matrix)
    matrix.sort_indices()
    rng = np.random.default_rng(0)
    keys = rng.integers(0, np.iinfo(np.int64).max, size=(2, matrix.shape[1]), dtype=np.int64)
    counts = np.diff(matrix.indptr)
    hashes = np.zeros((matrix.shape[0], 2), dtype=np.uint64)
    for column in range(2):
        # row sums as differences of a running sum; uint64 wraps modulo 2**64, as a hash may
        running = np.zeros(matrix.nnz + 1, dtype=np.uint64)
        np.cumsum(keys[column][matrix.indices].astype(np.uint64), out=running[1:])
        hashes[:, column] = running[matrix.indptr[1:]] - running[matrix.indptr[:-1]]
    signature = np.column_stack([hashes.view(np.int64), counts])
    _, first, inverse = np.unique(signature, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    if (sp.csr_matrix(matrix[first[inverse]]) != matrix).nnz:  # pragma: no cover
        return None
    return first.astype(np.int64), inverse.astype(np.int64)
