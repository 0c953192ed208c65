"""Maximise attendance: the decay-weighted demand that comes to each point's nearest office."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, replace
from typing import Unpack

import numpy as np
import scipy.sparse as sp

from siting._core.errors import InfeasibleError, InputError
from siting.locate.decay import DEFAULT_DECAY, Decay
from siting.locate.instance import (
    BoolArray,
    FloatArray,
    Instance,
    IntArray,
    SiteRules,
    add_site_columns,
    count_or_budget,
    make_solution,
    open_mask,
    prepare_instance,
)
from siting.locate.median_center import solve_median_pairs
from siting.locate.mip import MipModel, MipOptions, MipResult
from siting.locate.solution import Solution
from siting.travel.odmatrix import ODMatrix

logger = logging.getLogger(__name__)

#: demand rows the greedy plan that prices a positive mip_gap is judged on
GREEDY_ROWS = 5_000


@dataclass(frozen=True)
class _Levels:
    """Each demand row's distinct positive decay weights, highest first, numbered row by row.

    `value` and `row` are per level; `first` marks the first (highest) level of its row;
    `pair_level` and `pair_site` list the allowed pairs by level.
    """

    value: FloatArray
    row: IntArray
    first: BoolArray
    pair_level: IntArray
    pair_site: IntArray


def solve_attendance(
    od: ODMatrix,
    *,
    n_sites: int | None = None,
    decay: Decay = DEFAULT_DECAY,
    options: MipOptions | None = None,
    **rules: Unpack[SiteRules],
) -> Solution:
    """Open `n_sites` sites (or any within the budget) to bring the most people, by decay.

    ArcGIS calls this MaximizeAttendance: each demand point goes to its nearest open site
    and ``weight x decay.weight(minutes)`` of its people come.

    Parameters
    ----------
    od
        Travel times; a pair absent from the matrix brings nobody.
    n_sites
        Number of open sites, required ones included; may be None with a `budget`.
    decay
        How demand falls with travel time (`siting.locate.decay.DEFAULT_DECAY`, the
        Gaussian, when not given); a step decay makes this the MCLP.
    options, **rules
        Solver options; demand `weights`, `required_sites`, `forbidden_sites`,
        `site_costs`, `budget` and `exclude` as in `siting.locate.instance.SiteRules`.

    Returns
    -------
    Solution
        Objective: the people expected to come, :math:`\\sum_i w_i f(t_i)` with :math:`t_i`
        the time to the nearest open site. Demand no site reaches with a weight above 0
        is listed in ``unreachable``. ``parameters["solved_by"]`` says how: ``"levels"``
        (the model below), or the p-median route's ``"enumeration"``, ``"lagrangian"`` or
        ``"radius"``.

    Raises
    ------
    InputError
        `decay` is not a `Decay`, or the shared checks of `prepare_instance` fail.
    InfeasibleError
        No site reaches any demand, or `n_sites` sites cannot be paid for.

    Notes
    -----
    The weighted max-coverage view. With :math:`f` non-increasing, a point's attendance is
    :math:`w_i \\max_{j \\text{ open}} f_{ij}`. Let :math:`v^1 > \\dots > v^K > 0` be the
    distinct values of :math:`f_{ij}` over the allowed sites of point :math:`i`,
    :math:`v^{K+1} = 0`, and :math:`z^k_i = 1` when an open site has :math:`f_{ij} \\ge
    v^k`. Then :math:`w_i \\max_j f_{ij} = \\sum_k w_i (v^k - v^{k+1}) z^k_i`, and

    .. math:: \\max \\sum_i \\sum_k w_i (v^k - v^{k+1}) z^k_i \\quad \\text{s.t.} \\quad
              z^k_i \\le z^{k-1}_i + \\sum_{j : f_{ij} = v^k} y_j, \\; z^0_i = 0, \\;
              \\sum_j y_j = p, \\; z \\in [0, 1], \\; y \\in \\{0, 1\\}

    Written level to level the rows imply :math:`z^k_i \\le \\sum_{j : f_{ij} \\ge v^k}
    y_j` with one non-zero per pair. The objective coefficients are positive, so at an
    optimum each :math:`z^k_i` is as large as the open sites allow and the value is exactly
    the attendance of the nearest-site assignment (the closest-assignment property needs
    no rows of its own: the nearest open site has the highest weight). Ties in time give
    equal weights, so which of them a point goes to changes nothing.

    This model is solved only under a `budget`. With `n_sites` (the usual question) the
    same optimum is found as a p-median with edited costs, the unifying device of Hillsman
    (1984): with :math:`W = \\sum_i w_i` over the points some allowed site reaches,

    .. math:: \\max_y \\sum_i w_i \\max_{j \\text{ open}} f_{ij} = W - \\min_y \\sum_i
              \\min_{j \\text{ open} \\cup \\{h\\}} w_i (1 - f_{ij}),

    where :math:`h` is a "stay home" column of cost :math:`w_i`, open in every plan (a
    point no open site reaches brings nobody). That p-median goes through
    `siting.locate.median_center.solve_median_pairs`: enumeration of few site sets, else
    the Lagrangian bound of Beasley (1993) with greedy and swap answers and exact site
    fixing, then the radius MIP on what is left. Pairs no better than a required site are
    dropped first. The answer's objective is recomputed from the decay weights and its
    bound is :math:`W` minus the p-median's bound; when HiGHS holds no plan at the time
    limit, the Lagrangian plan is returned with that bound and status ``"time limit"``.
    A positive `mip_gap` is turned into the p-median's so that the attendance gap stays
    within it (`_median_gap`, priced by a greedy plan).

    References
    ----------
    Hillsman, E. L. (1984). The p-median structure as a unified linear model for
    location-allocation analysis. *Environment and Planning A* 16(3), 305-318.

    Beasley, J. E. (1993). Lagrangean heuristics for location problems. *European Journal
    of Operational Research* 65(3), 383-399.

    Examples
    --------
    >>> import numpy as np
    >>> od = ODMatrix.from_dense(np.array([[0.0, 20.0], [20.0, 0.0], [10.0, 10.0]]))
    >>> solution = solve_attendance(od, n_sites=1, decay=Decay("linear", max_minutes=40),
    ...                             weights=[10, 30, 20])
    >>> solution.site_ids.tolist(), solution.objective
    ([1], 50.0)
    """
    start = time.perf_counter()
    decay = _checked_decay(decay)
    instance = prepare_instance(od, **rules)
    count = count_or_budget(instance, n_sites)
    levels, unreachable = _levels(instance, decay)
    if levels.value.size == 0:
        msg = f"no site reaches any demand with a decay weight above 0 ({decay.summary()})"
        raise InfeasibleError(msg)
    options = options or MipOptions()
    if count is not None and instance.budget is None:
        result, build_s, method = _as_median(instance, decay, count, options, start)
    else:
        model = _build_model(instance, levels, count)
        build_s, method = time.perf_counter() - start, "levels"
        result = model.solve(options)
    if result.status == "infeasible":  # pragma: no cover - the checks above keep it feasible
        raise InfeasibleError("attendance is infeasible under the budget and n_sites")
    logger.info("attendance p=%s: %g (%s, %s)", count, result.objective, result.status, method)
    parameters = {"n_sites": count, "decay": decay.summary(), "solved_by": method}
    return make_solution(
        instance,
        "attendance",
        result,
        build_s=build_s,
        unreachable=unreachable,
        parameters=parameters,
    )


def _as_median(
    instance: Instance, decay: Decay, count: int, options: MipOptions, start: float
) -> tuple[MipResult, float, str]:
    """Attendance as the p-median of the notes: solved by `solve_median_pairs`, read back.

    The sites of the result come first, the stay-home column last; the objective is the
    attendance of the plan found (recomputed), the bound W minus the p-median's bound.
    """
    rows, columns, coming = _reaching_pairs(instance, decay)
    n_rows, n_sites = instance.od.shape
    served = np.unique(rows)
    people = float(instance.weights[served].sum())
    home = n_sites  # the stay-home column, open in every plan
    all_rows = np.concatenate([rows, served])
    order = np.argsort(all_rows, kind="stable")
    edited = replace(
        instance,
        od=ODMatrix(sp.csr_matrix((n_rows, n_sites + 1), dtype=np.float32),
                    np.arange(n_rows), np.arange(n_sites + 1)),
        required=np.r_[instance.required, True],
        forbidden=np.r_[instance.forbidden, False],
        costs=np.r_[instance.costs, 0.0],
        excluded=tuple(np.r_[chosen, True] for chosen in instance.excluded),
    )  # fmt: skip
    minutes = np.concatenate([1.0 - coming, np.ones(served.size)])[order]
    sites = np.concatenate([columns, np.full(served.size, home)])[order]
    gap, greedy = _median_gap(instance, (rows, columns, coming), count, options)
    result, build_s, method = solve_median_pairs(
        edited, all_rows[order], sites, minutes, count + 1, replace(options, mip_gap=gap), start
    )
    opened = open_mask(result.values, n_sites)
    value = _attendance_of(instance, rows, columns, coming, opened)
    if greedy is not None and not any(np.array_equal(greedy, c) for c in instance.excluded):
        greedy_value = _attendance_of(instance, rows, columns, coming, greedy)
        if greedy_value > value:  # the plan that priced the gap is the better one
            opened, value = greedy, greedy_value
    bound = max(people - result.bound, value) if math.isfinite(result.bound) else math.inf
    gap = (bound - value) / max(value, 1e-12)
    values = np.r_[opened.astype(np.float64), 1.0]
    return replace(result, values=values, objective=value, bound=bound, gap=gap), build_s, method


def _reaching_pairs(instance: Instance, decay: Decay) -> tuple[IntArray, IntArray, FloatArray]:
    """Pairs of demand rows and allowed sites with a decay weight above 0, row-major, and
    that weight; pairs no better than a required site are dropped (it is always open)."""
    matrix = instance.od.minutes
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    coming = decay.weight(matrix.data.astype(np.float64))
    keep = (coming > 0) & instance.demand[rows] & instance.allowed[matrix.indices]
    rows, columns, coming = rows[keep], matrix.indices[keep].astype(np.int64), coming[keep]
    if instance.required.any():
        floor = np.zeros(matrix.shape[0])
        at_required = instance.required[columns]
        np.maximum.at(floor, rows[at_required], coming[at_required])
        keep = (coming >= floor[rows]) & ((coming > floor[rows]) | at_required)
        rows, columns, coming = rows[keep], columns[keep], coming[keep]
    return rows, columns, coming


def _attendance_of(
    instance: Instance, rows: IntArray, columns: IntArray, coming: FloatArray, opened: BoolArray
) -> float:
    """People coming under `opened`: each row's weight times its best open weight."""
    best = np.zeros(instance.od.shape[0])
    at_open = opened[columns]
    np.maximum.at(best, rows[at_open], coming[at_open])
    return float(instance.weights @ best)


def _median_gap(
    instance: Instance,
    pairs: tuple[IntArray, IntArray, FloatArray],
    count: int,
    options: MipOptions,
) -> tuple[float, BoolArray | None]:
    """The p-median gap that keeps the attendance gap within `options.mip_gap`, and the
    plan that licenses it (None when the gap asked for is 0).

    A p-median gap d on cost C = W - A leaves an attendance gap d C / A. With a plan of
    attendance A0 in hand (`_greedy_plan`) and an answer no worse, C <= W - A0 and A >= A0,
    so d = gap x A0 / (W - A0) is enough; the caller keeps whichever plan is better.
    """
    if options.mip_gap <= 0:
        return 0.0, None
    rows, columns, coming = pairs
    plan = _greedy_plan(instance, pairs, count)
    floor = _attendance_of(instance, rows, columns, coming, plan)
    people = float(instance.weights[np.unique(rows)].sum())
    return options.mip_gap * floor / max(people - floor, 1e-12), plan


def _greedy_plan(
    instance: Instance, pairs: tuple[IntArray, IntArray, FloatArray], count: int
) -> BoolArray:
    """Add the site that brings most people until `count` are open (Kuehn and Hamburger's
    add), judged on a sample of `GREEDY_ROWS` demand rows: 100,000 x 2,000 has 62 million
    pairs, and the plan is only needed to price the gap."""
    rows, columns, coming = pairs
    present = np.unique(rows)
    rng = np.random.default_rng(0)
    sample = rng.choice(present, size=min(GREEDY_ROWS, present.size), replace=False)
    keep = np.isin(rows, sample)
    rows, columns = rows[keep], columns[keep]
    value = instance.weights[rows] * coming[keep]
    opened = instance.required.copy()
    best = np.zeros(instance.od.shape[0])
    at_open = opened[columns]
    np.maximum.at(best, rows[at_open], value[at_open])
    while opened.sum() < count:
        gain = np.bincount(columns, weights=np.maximum(value - best[rows], 0.0),
                           minlength=opened.size)  # fmt: skip
        gain[opened | ~instance.allowed] = -1.0
        site = int(np.argmax(gain))
        opened[site] = True
        here = columns == site
        np.maximum.at(best, rows[here], value[here])
    return opened


def _checked_decay(decay: object) -> Decay:
    if not isinstance(decay, Decay):
        msg = f"decay must be a siting.Decay, got {decay!r}"
        raise InputError(msg)
    return decay


def _levels(instance: Instance, decay: Decay) -> tuple[_Levels, BoolArray]:
    """The levels of the notes over allowed pairs with a weight above 0; rows none reaches."""
    matrix = instance.od.minutes
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    weight = decay.weight(matrix.data)
    keep = (weight > 0) & instance.demand[rows]
    reached = np.bincount(rows[keep], minlength=matrix.shape[0]) > 0
    unreachable: BoolArray = instance.demand & ~reached
    keep &= instance.allowed[matrix.indices]
    rows, sites, weight = rows[keep], matrix.indices[keep].astype(np.int64), weight[keep]
    order = np.lexsort((-weight, rows))  # by row, highest weight first
    rows, sites, weight = rows[order], sites[order], weight[order]
    new = np.ones(rows.size, dtype=np.bool_)
    new[1:] = (rows[1:] != rows[:-1]) | (weight[1:] != weight[:-1])
    first = np.ones(rows.size, dtype=np.bool_)
    first[1:] = rows[1:] != rows[:-1]
    levels = _Levels(weight[new], rows[new], first[new], np.cumsum(new) - 1, sites)
    return levels, unreachable


def _build_model(instance: Instance, levels: _Levels, n_sites: int | None) -> MipModel:
    """Sites y first, then one z per level; one row per level, as in the notes."""
    n_levels = levels.value.size
    following = np.zeros(n_levels)  # v^{k+1}: the next level's value in the same row
    following[:-1] = np.where(levels.first[1:], 0.0, levels.value[1:])
    model = MipModel("max")
    add_site_columns(model, instance, n_sites=n_sites)
    gain = instance.weights[levels.row] * (levels.value - following)
    z0 = model.add_columns(gain, upper=1.0)
    ids = np.arange(n_levels)
    chained = ids[~levels.first]
    row_ids = np.concatenate([ids, chained, levels.pair_level])
    column_ids = np.concatenate([z0 + ids, z0 + chained - 1, levels.pair_site])
    values = np.concatenate(
        [np.ones(n_levels), -np.ones(chained.size), -np.ones(levels.pair_site.size)]
    )
    rows = sp.csr_matrix((values, (row_ids, column_ids)), shape=(n_levels, model.n_cols))
    model.add_rows(rows, upper=0.0)
    return model
