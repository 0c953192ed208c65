"""Lagrangian bounds, a greedy answer and exact site fixing that shrink the p-median MIP.

The strong p-median LP has one row per demand-site pair, and HiGHS spends nearly all its time
on the root LP (60 s of 65 s on Dalarna's 4,004 x 73). Relaxing the assignment rows gives a
bound that numpy evaluates in milliseconds (Beasley 1993, "Lagrangean heuristics for location
problems"); with a good answer in hand, every site whose forced opening (or closing) lifts the
bound above that answer is fixed, which is exact, and the MIP that remains is small.

At scale (100,000 rows x 2,000 sites) the pass works on each row's nearest sites only, with
the row's multiplier capped so that the bound stays that of the full matrix, and stops as
soon as answer and bound are within the gap asked for: then no MIP is needed at all.

Notes
-----
Relaxation (Beasley 1993, EJOR 65, 383-399): with costs :math:`c_{ij} = w_i t_{ij}`, the
assignment rows :math:`\\sum_j x_{ij} = 1` move into the objective with free multipliers
:math:`\\lambda_i`, giving :math:`L(\\lambda) = \\sum_i \\lambda_i + \\min \\sum_j \\rho_j y_j`
over :math:`\\sum_j y_j = p`, where :math:`\\rho_j = \\sum_i \\min(0, c_{ij} - \\lambda_i)`: the
p sites of least :math:`\\rho_j`. That subproblem has the integrality property, so the best
:math:`L` equals the bound of the strong LP (Geoffrion 1974, "Lagrangean relaxation for
integer programming", Math. Programming Study 2), the LP HiGHS's root would solve before
its cuts (excluded sets aside: their no-good rows are not relaxed into L).

Multipliers move by subgradient optimisation with the step of Held, Wolfe and Crowder
(1974), "Validation of subgradient optimization": :math:`\\pi (UB - L) / \\|g\\|^2` along
:math:`g_i = 1 - \\sum_j x_{ij}`, with :math:`\\pi` starting at 2 and halved when the bound
stalls; the patience (30 steps), the floor (0.01) and the starting multipliers (each row's
cost in the heuristic answer) are set here. Where this differs from Beasley's framework:

- upper bounds come from a greedy add (Kuehn and Hamburger 1963) and Teitz-Bart swaps
  (`siting.locate.interchange`), and from the relaxation's own sites every other step;
- multipliers are capped per row so that the pass can work on each row's nearest pairs
  only (see `reduce_p_median`);
- sites and pairs are then fixed by the usual Lagrangian penalty tests (`_fix`), to shrink
  the MIP that HiGHS solves, not to finish a branch and bound here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from siting.locate.interchange import AssignmentPairs, improve_by_swaps
from siting.travel.odmatrix import row_pointers

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: A relative gap this small counts as closed (float noise), as HiGHS's own tolerances would.
#: Not to be confused with `siting.locate.solution.PROVEN_GAP`, the larger gap still called optimal.
CLOSED_GAP = 1e-9


@dataclass(frozen=True)
class Reduction:
    """What the Lagrangian pass proved.

    Attributes
    ----------
    lower_bound
        Best Lagrangian bound: no answer costs less.
    upper_bound
        Cost of `best_open`, the best answer found.
    best_open
        Open sites of that answer (mask over all columns).
    fixed_open, fixed_closed
        Sites open (closed) in every answer that costs no more than `upper_bound`, so in
        every optimal one: fixing them loses no optimum.
    kept_pairs
        Per pair, False where no answer costing at most `upper_bound` assigns that row to
        that site (the pair can leave the model).
    """

    lower_bound: float
    upper_bound: float
    best_open: BoolArray
    fixed_open: BoolArray
    fixed_closed: BoolArray
    kept_pairs: BoolArray


def reduce_p_median(
    pairs: AssignmentPairs,
    n_sites: int,
    required: BoolArray,
    allowed: BoolArray,
    *,
    excluded: tuple[BoolArray, ...] = (),
    target_gap: float = 0.0,
    keep_per_row: int | None = None,
    deadline: float | None = None,
    iterations: int = 1500,
    fix_below: float | None = None,
) -> Reduction | None:
    """Bound, answer and (unless the gap is already within `target_gap`) site fixing.

    The subgradient works on each row's `keep_per_row` cheapest pairs only, with every
    multiplier capped at the row's cheapest pair left out: a left-out pair then adds
    ``min(0, c - lambda) = 0`` to the relaxation, so the bound is that of the full pairs.

    With `fix_below`, sites and pairs are fixed for every answer costing at most that
    (when it is above the best answer found), always: for a caller whose answers are a
    subset of these (a p-median under further rules) with one of them costing
    `fix_below` in hand. The fields of the result keep their meaning but for that bound.

    Returns None when no answer outside `excluded` with every row served was found.
    """
    keep = keep_per_row or _default_keep(int(allowed.sum()), n_sites)
    near, cap = nearest_pairs(pairs, keep)
    answer = _heuristic(near, n_sites, required, allowed, excluded, _share(deadline, 0.3))
    estimate = pairs.cost_of(answer)
    if not np.isfinite(estimate):
        return None  # the cut-off leaves some row without an open site
    rules = _Rules(n_sites, required, allowed, excluded)
    search = _subgradient(
        near, cap, (answer, estimate), rules, target_gap, deadline, iterations=iterations
    )
    polished = improve_by_swaps(
        near, search.relaxed_open, required, allowed, excluded=excluded, deadline=deadline
    )
    upper, upper_open = _best_feasible(pairs, [search.upper_open, polished, answer], excluded)
    if not np.isfinite(upper):
        return None
    lower = search.lower
    if fix_below is not None:
        bounds = (lower, max(upper, fix_below), upper_open)
        return _fix(pairs, search.multipliers, rules, bounds)
    if _within_gap(upper, lower, target_gap):
        return _unfixed(pairs, required, allowed, (lower, upper, upper_open))
    return _fix(pairs, search.multipliers, rules, (lower, upper, upper_open))


def _heuristic(
    near: AssignmentPairs,
    n_sites: int,
    required: BoolArray,
    allowed: BoolArray,
    excluded: tuple[BoolArray, ...],
    deadline: float | None,
) -> BoolArray:
    """Kuehn-Hamburger greedy add, then Teitz-Bart swaps (`siting.locate.interchange`)."""
    greedy = _greedy(near, n_sites, required, allowed)
    return improve_by_swaps(near, greedy, required, allowed, excluded=excluded, deadline=deadline)


def _share(deadline: float | None, share: float) -> float | None:
    """The moment `share` of the time left until `deadline` has passed."""
    if deadline is None:
        return None
    now = time.perf_counter()
    return now + share * max(deadline - now, 0.0)


@dataclass(frozen=True)
class _Rules:
    n_sites: int
    required: BoolArray
    allowed: BoolArray
    excluded: tuple[BoolArray, ...]


@dataclass(frozen=True)
class _Search:
    lower: float
    multipliers: FloatArray
    upper_open: BoolArray
    relaxed_open: BoolArray


def _default_keep(n_allowed: int, n_sites: int) -> int:
    """Pairs kept per row: the nearest open site is about the (m/p)-th nearest; 4x that."""
    return max(32, 4 * -(-n_allowed // n_sites))


def nearest_pairs(pairs: AssignmentPairs, keep: int) -> tuple[AssignmentPairs, FloatArray]:
    """Each row's `keep` cheapest pairs (ties kept) and the row's cap: the least cost left
    out (inf when the row kept all its pairs)."""
    cap = np.full(pairs.n_rows, np.inf)
    if keep >= pairs.n_columns:
        return pairs, cap
    kept = np.ones(pairs.cost.size, dtype=np.bool_)
    chunk = max(1, 4_000_000 // pairs.n_columns)  # rows per dense block (32 MB)
    for first in range(0, pairs.n_rows, chunk):
        last = min(first + chunk, pairs.n_rows)
        span = slice(pairs.indptr[first], pairs.indptr[last])
        local = pairs.local_rows[span] - first
        dense = np.full((last - first, pairs.n_columns), np.inf)
        dense[local, pairs.columns[span]] = pairs.cost[span]
        ordered = np.partition(dense, [keep - 1, keep], axis=1)
        kept[span] = pairs.cost[span] <= ordered[local, keep - 1]
        cap[first:last] = ordered[:, keep]
    return _select(pairs, kept), cap


def _select(pairs: AssignmentPairs, kept: BoolArray) -> AssignmentPairs:
    return AssignmentPairs(
        local_rows=pairs.local_rows[kept],
        columns=pairs.columns[kept],
        cost=pairs.cost[kept],
        indptr=row_pointers(pairs.local_rows[kept], pairs.n_rows),
        n_columns=pairs.n_columns,
    )


def _subgradient(
    near: AssignmentPairs,
    cap: FloatArray,
    answer_cost: tuple[BoolArray, float],
    rules: _Rules,
    target_gap: float,
    deadline: float | None,
    *,
    iterations: int = 1500,
    patience: int = 30,
    min_step: float = 1e-2,
) -> _Search:
    """Subgradient optimisation of the multipliers; the step halves after `patience`
    iterations without a better bound. They start at each row's cost in `answer` (near the
    LP duals of geographic instances)."""
    answer, estimate = answer_cost  # the estimate steers the step even when it is excluded
    upper_open, upper = answer, _feasible_cost(near, answer, rules.excluded)
    start = near.row_min(np.where(answer[near.columns], near.cost, np.inf))
    # inf where the answer's site is not among the kept pairs: fall back to the dearest kept
    multipliers = np.minimum(np.minimum(start, near.row_min(-near.cost) * -1.0), cap)
    best_lower, best_multipliers, relaxed_open = -np.inf, multipliers, answer
    step, stall = 2.0, 0
    for iteration in range(iterations):
        lower, chosen, reduced = _lagrangian(near, multipliers, rules)
        if lower > best_lower + 1e-9 * abs(lower):
            best_lower, best_multipliers, relaxed_open, stall = lower, multipliers, chosen, 0
        else:
            stall += 1
            if stall >= patience:
                step, stall = step / 2, 0
        if iteration % 2 == 0:  # the relaxation's sites as an answer: most often near the end
            cost = _feasible_cost(near, chosen, rules.excluded)
            if cost < upper:
                upper, upper_open = cost, chosen
            estimate = min(estimate, near.cost_of(chosen))
        if _done(min(upper, estimate), best_lower, target_gap, step < min_step, deadline):
            break
        # x_ij of the relaxed optimum; a tie (reduced == 0) may go either way, both subgradients
        assigned = np.bincount(
            near.local_rows, weights=(reduced < 0) & chosen[near.columns], minlength=near.n_rows
        )
        gradient = 1.0 - assigned
        norm = float(gradient @ gradient)
        if norm == 0:
            break
        # Held-Wolfe-Crowder step, then the cap: above it a left-out pair would count in L
        multipliers = np.minimum(multipliers + step * (estimate - lower) / norm * gradient, cap)
    return _Search(best_lower, best_multipliers, upper_open, relaxed_open)


def _done(
    upper: float, lower: float, target_gap: float, stalled: bool, deadline: float | None
) -> bool:
    if stalled or (deadline is not None and time.perf_counter() > deadline):
        return True
    return _within_gap(upper, lower, target_gap)


def _within_gap(upper: float, lower: float, target_gap: float) -> bool:
    return upper - lower <= max(target_gap, CLOSED_GAP) * abs(upper)


def _feasible_cost(
    pairs: AssignmentPairs, open_sites: BoolArray, excluded: tuple[BoolArray, ...]
) -> float:
    if any(np.array_equal(open_sites, chosen) for chosen in excluded):
        return np.inf
    return pairs.cost_of(open_sites)


def _best_feasible(
    pairs: AssignmentPairs, candidates: list[BoolArray], excluded: tuple[BoolArray, ...]
) -> tuple[float, BoolArray]:
    """The cheapest candidate on the full pairs that is not an excluded set."""
    costs = [_feasible_cost(pairs, chosen, excluded) for chosen in candidates]
    best = int(np.argmin(costs))
    return costs[best], candidates[best]


def _lagrangian(
    pairs: AssignmentPairs, multipliers: FloatArray, rules: _Rules
) -> tuple[float, BoolArray, FloatArray]:
    """L(lambda) = sum lambda + best p sites by rho_j = sum_i min(0, c_ij - lambda_i)."""
    reduced = pairs.cost - multipliers[pairs.local_rows]
    rho = _site_values(pairs, reduced)
    chosen = _best_sites(rho, rules)
    return float(multipliers.sum() + rho[chosen].sum()), chosen, reduced


def _site_values(pairs: AssignmentPairs, reduced: FloatArray) -> FloatArray:
    rho: FloatArray = np.bincount(
        pairs.columns, weights=np.minimum(reduced, 0.0), minlength=pairs.n_columns
    ).astype(np.float64)
    return rho


def _best_sites(rho: FloatArray, rules: _Rules) -> BoolArray:
    free = rules.allowed & ~rules.required
    order = np.flatnonzero(free)[np.argsort(rho[free], kind="stable")]
    chosen = rules.required.copy()
    chosen[order[: rules.n_sites - int(rules.required.sum())]] = True
    return chosen


def _greedy(
    pairs: AssignmentPairs, n_sites: int, required: BoolArray, allowed: BoolArray
) -> BoolArray:
    """Add the site that saves most until `n_sites` are open (serving every row first).

    The greedy add of Kuehn and Hamburger (1963), "A heuristic program for locating
    warehouses" (Management Science 9); unserved rows cost `unserved_penalty` each, so sites
    that serve new rows win before sites that only shorten trips.
    """
    big = pairs.unserved_penalty()
    chosen = required.copy()
    current = pairs.row_min(np.where(chosen[pairs.columns], pairs.cost, big))
    while chosen.sum() < n_sites:
        saving = np.maximum(current[pairs.local_rows] - pairs.cost, 0.0)
        gain = np.bincount(pairs.columns, weights=saving, minlength=pairs.n_columns)
        gain[chosen | ~allowed] = -1.0
        site = int(np.argmax(gain))
        chosen[site] = True
        here = pairs.columns == site
        np.minimum.at(current, pairs.local_rows[here], pairs.cost[here])
    return chosen


def _unfixed(
    pairs: AssignmentPairs,
    required: BoolArray,
    allowed: BoolArray,
    bounds: tuple[float, float, BoolArray],
) -> Reduction:
    """The gap is small enough already: nothing fixed, no pair dropped."""
    lower, upper, upper_open = bounds
    logger.info("p-median Lagrangian: bound %.6g, answer %.6g, no MIP needed", lower, upper)
    kept = np.ones(pairs.cost.size, dtype=np.bool_)
    return Reduction(lower, upper, upper_open, required.copy(), ~allowed, kept)


def _fix(
    pairs: AssignmentPairs,
    multipliers: FloatArray,
    rules: _Rules,
    bounds: tuple[float, float, BoolArray],
) -> Reduction:
    """Close j if forcing it open lifts L above the best answer; open j if forcing it shut does.

    Valid with excluded sets too: L ignores them, so it bounds every answer that keeps them
    out, and `upper` is the cost of an answer that does.

    Notes
    -----
    Penalty tests at fixed multipliers: the relaxation with :math:`y_j` forced to the other
    value is solved by one exchange in the sorted :math:`\\rho` (swap j with the worst chosen
    free site, or with the best unchosen one), so its value is :math:`L \\pm \\rho_j \\mp \\rho_k`.
    A pair is dropped when forcing :math:`x_{ij} = 1` (its positive reduced cost, plus opening
    j if needed) lifts the relaxation above `upper`. These are exact only for answers costing
    at most `upper`, which is all the MIP still has to search.
    """
    lower, upper, upper_open = bounds
    required, allowed = rules.required, rules.allowed
    value, chosen, reduced = _lagrangian(pairs, multipliers, rules)
    rho = _site_values(pairs, reduced)
    free_chosen = chosen & ~required
    free_other = allowed & ~chosen
    # margin keeps float error from fixing a site that an optimum (cost == upper) uses
    margin = 1e-7 * max(abs(upper), 1.0)
    fixed_closed = np.zeros(pairs.n_columns, dtype=np.bool_)
    fixed_open = required.copy()
    worst_in = float(rho[free_chosen].max()) if free_chosen.any() else 0.0
    if free_chosen.any() and free_other.any():
        best_out = float(rho[free_other].min())
        fixed_closed = free_other & (value + rho - worst_in > upper + margin)
        fixed_open |= free_chosen & (value - rho + best_out > upper + margin)
    fixed_closed |= ~allowed
    # forcing x_ij = 1 adds its positive reduced cost, and opening j if L left it shut;
    # with no free site chosen, p sites are required and no other j can open (inf)
    opening = np.where(chosen, 0.0, rho - worst_in if free_chosen.any() else np.inf)
    forced = value + np.maximum(reduced, 0.0) + opening[pairs.columns]
    kept_pairs = (forced <= upper + margin) & ~fixed_closed[pairs.columns]
    logger.info(
        "p-median Lagrangian: bound %.6g, answer %.6g, %d sites fixed open, %d closed, "
        "%d of %d pairs kept",
        max(lower, value),
        upper,
        int(fixed_open.sum() - required.sum()),
        int((fixed_closed & allowed).sum()),
        int(kept_pairs.sum()),
        kept_pairs.size,
    )
    return Reduction(max(lower, value), upper, upper_open, fixed_open, fixed_closed, kept_pairs)
