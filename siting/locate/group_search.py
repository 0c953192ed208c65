"""Heuristic plans for the group-equity models: greedy add, then best swaps, for HiGHS to start
from and to return when it holds no plan of its own at the time limit.

HiGHS alone found no plan for the min-max over Dalarna's 15 municipalities (4,004 cells x 73
towns, p = 5) in 30 s, nor for the p-median under a binding share rule; a plan in hand
makes every answer a plan with a proven bound, and its value prunes the models.

Notes
-----
Both searches move as the p-median's interchange (Teitz and Bart 1968), with every swap
priced in one pass per group by the savings table of Resende and Werneck (2007), through
`siting.locate.interchange.swap_savings`: a group's total is a p-median cost over its own
pairs (its people x minutes for the min-max, its people beyond T for a share), so the
table gives each group's total after every swap exactly.

- `minmax_plan`: greedy add of the site that lowers the worst group's total most
  (Kuehn and Hamburger's 1963 add, with the p-median's sum replaced by the maximum), then
  the swap that lowers the worst group's total most, while one does.
- `share_plan`: from a plan (the plain p-median's), the swap that most lowers the summed
  shortfall below each group's target share and, among those as good, the total travel;
  while either improves (shortfall first).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from siting.locate.instance import BoolArray, FloatArray, IntArray
from siting.locate.interchange import AssignmentPairs, swap_savings
from siting.travel.odmatrix import row_pointers

#: most swaps of one search; each costs a pass over the pairs of every group
MAX_SWAPS = 2_000


@dataclass(frozen=True)
class _Move:
    """The best swap found: close the `slot`-th open site, open column `opening`."""

    slot: int
    opening: int


def group_pairs(
    local_rows: IntArray,
    columns: IntArray,
    cost: FloatArray,
    weights: sp.csr_matrix,
    n_columns: int,
) -> list[AssignmentPairs]:
    """Per group (a row of `weights`, groups x rows), its rows' pairs priced ``weight x cost``.

    `local_rows` (sorted), `columns` and `cost` list the pairs; a group keeps the rows it
    has weight at, numbered anew.
    """
    dense = sp.csr_matrix(weights).toarray()
    found = []
    for weight in dense:
        has = weight > 0
        keep = has[local_rows]
        renumbered = (np.cumsum(has) - 1)[local_rows[keep]]
        found.append(
            AssignmentPairs(
                local_rows=renumbered,
                columns=columns[keep],
                cost=weight[local_rows[keep]] * cost[keep],
                indptr=row_pointers(renumbered, int(has.sum())),
                n_columns=n_columns,
            )
        )
    return found


def minmax_plan(
    groups: Sequence[AssignmentPairs],
    n_sites: int,
    required: BoolArray,
    allowed: BoolArray,
    *,
    deadline: float | None = None,
) -> BoolArray:
    """`n_sites` open sites whose worst group total is low: greedy add, then best swaps."""
    current = _greedy_minmax(groups, n_sites, required, allowed)
    for _ in range(MAX_SWAPS):
        if deadline is not None and time.perf_counter() > deadline:
            break
        tables = [swap_savings(group, current) for group in groups]
        totals = np.array([table[2] for table in tables])
        open_index = tables[0][1]
        worst = (totals[:, None, None] - np.stack([table[0] for table in tables])).max(axis=0)
        move = _best_move(worst, open_index, current, required, allowed)
        if move is None or not _lower(worst[move.slot, move.opening], totals.max()):
            break
        current[open_index[move.slot]], current[move.opening] = False, True
    return current


def share_plan(
    median: AssignmentPairs,
    beyond: Sequence[AssignmentPairs],
    targets: FloatArray,
    start: BoolArray,
    required: BoolArray,
    allowed: BoolArray,
    *,
    deadline: float | None = None,
) -> BoolArray:
    """From `start`, swaps that lower the shortfall of the share rule, then the travel.

    `median` prices the total travel; ``beyond[k]`` group k's people beyond T (cost 1 x
    weight for a pair over T, 0 within), and ``targets[k]`` the most of them the rule
    allows beyond T. The shortfall is ``sum_k max(0, beyond_k - targets_k)``. The
    `deadline` stops only the swaps after the shortfall is 0 (at most `MAX_SWAPS`).
    """
    current = start.copy()
    short_now = math.inf
    for _ in range(MAX_SWAPS):
        # the deadline stops the travel swaps only: a plan meeting the rule is worth waiting for
        if short_now <= 0 and deadline is not None and time.perf_counter() > deadline:
            break
        travel, open_index, cost_now = swap_savings(median, current)
        tables = [swap_savings(group, current) for group in beyond]
        now = np.array([table[2] for table in tables])
        after = now[:, None, None] - np.stack([table[0] for table in tables])
        shortfall = np.maximum(after - targets[:, None, None], 0.0).sum(axis=0)
        short_now = float(np.maximum(now - targets, 0.0).sum())
        least = _masked(shortfall, open_index, current, required, allowed).min()
        # among the swaps of least shortfall, the one that saves most travel
        cost_after = np.where(_close(shortfall, least), cost_now - travel, np.inf)
        move = _best_move(cost_after, open_index, current, required, allowed)
        if move is None:
            break
        better_rule = _lower(least, short_now)
        better_travel = _close(least, short_now) and _lower(
            cost_after[move.slot, move.opening], cost_now
        )
        if not (better_rule or better_travel):
            break
        current[open_index[move.slot]], current[move.opening] = False, True
    return current


def _greedy_minmax(
    groups: Sequence[AssignmentPairs], n_sites: int, required: BoolArray, allowed: BoolArray
) -> BoolArray:
    """Add the site after which the worst group total is least (unserved rows at the
    penalty, so serving comes first) until `n_sites` are open."""
    chosen = required.copy()
    n_columns = chosen.size
    while chosen.sum() < n_sites:
        after = []
        for group in groups:
            penalty = group.unserved_penalty()
            nearest = group.row_min(np.where(chosen[group.columns], group.cost, penalty))
            saving = np.maximum(nearest[group.local_rows] - group.cost, 0.0)
            gain = np.bincount(group.columns, weights=saving, minlength=n_columns)
            after.append(float(nearest.sum()) - gain)
        worst = np.max(after, axis=0)
        worst[chosen | ~allowed] = np.inf
        chosen[int(np.argmin(worst))] = True
    return chosen


def _masked(
    values: FloatArray,
    open_index: IntArray,
    current: BoolArray,
    required: BoolArray,
    allowed: BoolArray,
) -> FloatArray:
    """`values` (open sites x columns) with swaps the rules forbid at inf."""
    masked = values.copy()
    masked[required[open_index], :] = np.inf  # required sites stay open
    masked[:, current | ~allowed] = np.inf  # only closed, allowed sites may open
    return masked


def _best_move(
    values: FloatArray,
    open_index: IntArray,
    current: BoolArray,
    required: BoolArray,
    allowed: BoolArray,
) -> _Move | None:
    """The allowed swap of least value (None if there is none)."""
    masked = _masked(values, open_index, current, required, allowed)
    if masked.size == 0:
        return None
    best = int(np.argmin(masked))
    if not np.isfinite(masked.flat[best]):
        return None
    slot, opening = divmod(best, masked.shape[1])
    return _Move(slot, opening)


def _lower(value: float, than: float) -> bool:
    """`value` below `than` by more than float noise."""
    return bool(value < than - 1e-9 * max(abs(than), 1e-12))


def _close(value: FloatArray | float, to: float) -> BoolArray:
    """Where `value` equals `to` up to float noise."""
    closeness: BoolArray = np.abs(np.asarray(value) - to) <= 1e-9 * max(abs(to), 1e-12)
    return closeness
