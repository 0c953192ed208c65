"""The p-median as a covering of distance levels (radius formulation): one column per demand
point and distinct distance instead of one per pair.

With few open sites every demand point is far from its site, the LP bound is some tenths of
a percent below the optimum and HiGHS must branch: then each node's LP size decides the
time. The assignment model has a column and a linking row per pair; this one has a column
and a row per distinct distance of a row, and each pair appears once, as one non-zero.

Notes
-----
Elloumi (2010), "A tighter formulation of the p-median problem", J. Comb. Optim. 19(1),
69-83; García, Labbé and Marín (2011), "Solving large p-median problems with a radius
formulation", INFORMS J. Computing 23(4), 546-556 (section 2: the formulation). For a demand
point :math:`i` with distinct distances :math:`D^1 < \\dots < D^G` to its sites,
:math:`z^k = 1` when no open site lies within :math:`D^k`, and the cost is
:math:`w_i (D^1 + \\sum_{k < G} (D^{k+1} - D^k) z^k)`. Written level to level,

.. math:: z^k \\ge z^{k-1} - \\sum_{j : t_{ij} = D^k} y_j, \\quad z^0 = 1, \\quad
          z^G = 0 \\text{ (only for rows an answer could leave unserved)}

which implies the cumulative covering rows :math:`z^k + \\sum_{j : t_{ij} \\le D^k} y_j
\\ge 1`, so the LP is at least as tight as theirs (and as the assignment LP, Elloumi's
theorem 1), with non-zeros that grow with the pairs, not with pairs times levels.

Where this departs from García, Labbé and Marín: their reduction of levels (section 3) keeps
a subset and adds levels in rounds; measured here on 300-900 node graphs with p = 5 it took
9-17 rounds and 1.5-4x the time of one model with every level, because each round's weaker
LP branches again. The levels are instead cut by the Lagrangian pass before (sites and
pairs it proves unused, `siting.locate.lagrangian`), and ties merge pairs into one level.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from siting.locate.instance import BoolArray, FloatArray, Instance, IntArray, add_site_columns
from siting.locate.interchange import AssignmentPairs
from siting.locate.mip import MipModel, MipOptions, MipResult

logger = logging.getLogger(__name__)

#: HiGHS settings for this model. After the Lagrangian pass the work left is the proof, and
#: the sub-MIP heuristics (RINS, RENS) and restarts spent most of the time: off, n=900 p=5
#: took 26 s instead of 36 s, n=300 p=5 10 s instead of 15 s.
SETTINGS: dict[str, bool | float] = {
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_allow_restart": False,
}


@dataclass(frozen=True)
class _Levels:
    """Each row's distinct costs (weight x distance), ascending; level ids run row by row.

    A row's weight is one positive factor, so its distinct costs are its distinct distances
    and cost steps are the weighted distance steps of the module notes.
    """

    cost: FloatArray  # per level
    row: IntArray  # per level: its row
    first: IntArray  # per row: the id of its first level (n_rows + 1 pointers)
    of_pair: IntArray  # per pair: its level id


def solve_radius(
    instance: Instance, pairs: AssignmentPairs, n_sites: int, options: MipOptions
) -> MipResult:
    """Open `n_sites` sites of least weighted distance over `pairs`. Values of the result:
    the site columns first.

    No MIP start is given: it saved nothing measurable (n=500 p=10: 5.1 s with, 4.7 s
    without), and HiGHS 1.16 then reported the start's objective wrong (8,695 for an answer
    whose columns cost 8,709) and stopped on it.
    """
    levels = _levels(pairs)
    model = _level_model(instance, pairs, levels, n_sites)
    return model.solve(options, settings=SETTINGS)


@dataclass(frozen=True)
class LevelColumns:
    """Where a distance-level model (`distance_level_model`) keeps its z columns.

    Attributes
    ----------
    first
        Model column of the first z; the others follow, one per entry below.
    row
        Per z column: its demand row (local to the pairs).
    distance
        Per z column: its level's distance :math:`D^k` (z = 1: no open site within it).
    step
        Per z column: :math:`D^{k+1} - D^k`, what z adds to the row's minutes.
    nearest
        Per local row: :math:`D^1`, its least minutes to any site.
    """

    first: int
    row: IntArray
    distance: FloatArray
    step: FloatArray
    nearest: FloatArray

    def row_minutes(self, weights: FloatArray) -> tuple[sp.csr_matrix, FloatArray]:
        """Rows of `weights` (groups x local rows) times minutes: the coefficient of each z
        column (columns from 0 at `first`) and the constant part, one per group."""
        block = sp.csr_matrix(weights)[:, self.row] @ sp.diags(self.step)
        constant = np.asarray(weights @ self.nearest, dtype=np.float64).ravel()
        return sp.csr_matrix(block), constant


def distance_level_model(
    instance: Instance, pairs: AssignmentPairs, n_sites: int, row_weights: FloatArray
) -> tuple[MipModel, LevelColumns]:
    """The formulation of the module notes over `pairs` priced in minutes, with objective
    ``sum_i row_weights[i] x minutes_i`` (zero weights: an objective the caller adds).

    Other models (min-max over groups, share rules) add rows over the z columns: a row's
    minutes to its nearest open site is ``nearest + sum step x z`` over its z columns.
    """
    levels = _levels(pairs)
    model = _level_model(instance, pairs, levels, n_sites, weights=row_weights)
    last = np.zeros(levels.cost.size, dtype=np.bool_)
    last[levels.first[1:] - 1] = True
    with_z = np.flatnonzero(~last)
    columns = LevelColumns(
        first=instance.od.shape[1],
        row=levels.row[with_z],
        distance=levels.cost[with_z],
        step=levels.cost[with_z + 1] - levels.cost[with_z],
        nearest=levels.cost[levels.first[:-1]],
    )
    return model, columns


def _levels(pairs: AssignmentPairs) -> _Levels:
    """Sort each row's pairs by cost and number their distinct values row by row."""
    local = pairs.local_rows
    order = np.lexsort((pairs.cost, local))
    cost, rows = pairs.cost[order], local[order]
    new = np.ones(order.size, dtype=np.bool_)
    new[1:] = (rows[1:] != rows[:-1]) | (cost[1:] != cost[:-1])
    ids = np.cumsum(new) - 1
    of_pair = np.empty(order.size, dtype=np.int64)
    of_pair[order] = ids
    level_rows = rows[new]
    first = np.searchsorted(level_rows, np.arange(pairs.n_rows + 1)).astype(np.int64)
    return _Levels(cost[new], level_rows, first, of_pair)


def _level_model(
    instance: Instance,
    pairs: AssignmentPairs,
    levels: _Levels,
    n_sites: int,
    *,
    weights: FloatArray | None = None,
) -> MipModel:
    """Sites y; a z per level below each row's farthest; a constant column; rows as noted.

    z of level k (not a row's last) sits at column ``z0 + k - row``, as each row has one
    level (its last) without a z. The pairs' costs are the objective, each row's scaled
    by `weights` when given.
    """
    n_levels = levels.cost.size
    last = np.zeros(n_levels, dtype=np.bool_)
    last[levels.first[1:] - 1] = True
    with_z = np.flatnonzero(~last)
    scale = np.ones(pairs.n_rows) if weights is None else weights
    model = MipModel("min")
    add_site_columns(model, instance, n_sites=n_sites)
    step = levels.cost[with_z + 1] - levels.cost[with_z]
    z0 = model.add_columns(scale[levels.row[with_z]] * step, upper=1.0)
    # the constant part of the cost, each row's nearest distance, as one column fixed at 1
    nearest = levels.cost[levels.first[:-1]]
    model.add_columns([float(scale @ nearest)], lower=1.0, upper=1.0)
    z_column = np.full(n_levels, -1, dtype=np.int64)
    z_column[with_z] = z0 + np.arange(with_z.size)
    matrix, lower = _ring_rows(instance, pairs, levels, z_column, n_sites)
    model.add_rows(matrix, lower=lower)
    return model


def _ring_rows(
    instance: Instance,
    pairs: AssignmentPairs,
    levels: _Levels,
    z_column: IntArray,
    n_sites: int,
) -> tuple[sp.csr_matrix, FloatArray]:
    """One row per level: z_k - z_(k-1) + (sites at exactly D^k) >= 0, with z_0 = 1 (a row's
    first level: >= 1) and, at a row's last level, no z_k: that row says some site serves
    it, and is left out where every answer serves the row anyway."""
    n_levels = levels.cost.size
    is_first = np.zeros(n_levels, dtype=np.bool_)
    is_first[levels.first[:-1]] = True
    has_z = z_column >= 0
    has_previous = ~is_first
    ids = np.arange(n_levels)
    rows = np.concatenate([levels.of_pair, ids[has_z], ids[has_previous]])
    columns = np.concatenate(
        [pairs.columns, z_column[has_z], z_column[np.flatnonzero(has_previous) - 1]]
    )
    values = np.concatenate(
        [np.ones(pairs.columns.size), np.ones(int(has_z.sum())), -np.ones(int(has_previous.sum()))]
    )
    lower = is_first.astype(np.float64)
    width = instance.od.shape[1] + int(has_z.sum())
    matrix = sp.csr_matrix((values, (rows, columns)), shape=(n_levels, width))
    needed = has_z | _may_be_unserved(instance, pairs, n_sites)[levels.row]
    return sp.csr_matrix(matrix[needed]), lower[needed]


def _may_be_unserved(instance: Instance, pairs: AssignmentPairs, n_sites: int) -> BoolArray:
    """Rows some answer leaves without an open site: no required site among theirs, and
    enough allowed sites outside theirs to make up `n_sites`."""
    stored = np.diff(pairs.indptr)
    local = pairs.local_rows
    has_required = np.bincount(local[instance.required[pairs.columns]], minlength=pairs.n_rows)
    outside = int(instance.allowed.sum()) - stored
    risky: BoolArray = (has_required == 0) & (outside >= n_sites)
    return risky
