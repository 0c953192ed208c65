"""The capacitated MCLP: most demand served within T, each office up to its capacity."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from siting.locate.capacitated import (
    Capacities,
    add_assignment,
    check_whole_demand_fits,
    greedy_start,
    highs_settings,
    largest_shares,
    shares,
    site_loads,
)
from siting.locate.instance import (
    BoolArray,
    FloatArray,
    Instance,
    IntArray,
    add_site_columns,
    identical_row_classes,
    make_solution,
    nearest_open,
    open_mask,
)
from siting.locate.mip import MipModel, MipOptions, MipResult
from siting.locate.solution import Solution

logger = logging.getLogger(__name__)


def solve_capacitated_mclp(
    instance: Instance,
    limit: float,
    n_sites: int | None,
    capacities: Capacities,
    options: MipOptions | None,
    started: tuple[float, BoolArray, MipResult],
) -> Solution:
    """`siting.locate.coverage.solve_mclp` with capacities, over the pairs within `limit`.

    Split demand: points reaching the same sites within T are one row of their summed
    weight (exact: a split of the class is a split of each point in the same shares), as in
    the plain MCLP. Single sourcing keeps every point: two points of one valley may have to
    go to different offices. `started` is the caller's start time, the unreachable rows and
    the plain MCLP's answer: its sites, filled greedily, are HiGHS's start, and its bound
    bounds this optimum too (room only ever costs coverage).
    """
    start, unreachable, plain = started
    guess = open_mask(plain.values, instance.od.shape[1])
    rows, columns, minutes = _pairs_within(instance, limit)
    check_whole_demand_fits(instance, capacities, rows, columns, f"within {limit:g} minutes")
    classes = None if capacities.single_sourcing else _classes(instance, rows, columns)
    model_rows, model_columns, weights = (
        (rows, columns, instance.weights[rows]) if classes is None else classes[:3]
    )
    model = MipModel("max")
    add_site_columns(model, instance, n_sites=n_sites)
    add_assignment(
        model, instance, (model_rows, model_columns), capacities, cost=weights, whole=False,
        weights=weights,
    )  # fmt: skip
    order = minutes if classes is None else np.zeros(model_rows.size)  # nearest first
    first_plan = greedy_start(
        (model_rows, model_columns, order), weights, capacities, guess, whole=False
    )
    build_s = time.perf_counter() - start
    settings = highs_settings(capacities)
    result = model.solve(options or MipOptions(), start=first_plan, settings=settings)
    if plain.bound < result.bound:
        gap = max(plain.bound - result.objective, 0.0) / max(abs(result.objective), 1e-12)
        result = replace(result, bound=plain.bound, gap=gap)
    logger.info("capacitated MCLP p=%s T=%g: %g (%s)", n_sites, limit, result.objective,
                result.status)  # fmt: skip
    share = shares(result, instance.od.shape[1], model_rows.size)
    if classes is not None:  # each point in its class's shares
        share = share[_class_pair(classes[3], rows, columns, model_rows, model_columns)]
    parameters = {
        "max_minutes": limit, "n_sites": n_sites, "backup_weight": 0.0, "capacitated": True,
        "single_sourcing": capacities.single_sourcing,
    }  # fmt: skip
    assignment = _served_first(instance, result, (rows, columns, minutes), share)
    return make_solution(
        instance, "mclp", result, build_s=build_s, unreachable=unreachable,
        parameters=parameters, assignment=assignment,
        loads=(site_loads(instance, rows, columns, share), capacities.values),
    )  # fmt: skip


def _pairs_within(instance: Instance, limit: float) -> tuple[IntArray, IntArray, FloatArray]:
    """Rows, columns and minutes of demand-allowed site pairs within `limit`, row-major."""
    matrix = instance.od.minutes
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    keep = instance.demand[rows] & instance.allowed[matrix.indices] & (matrix.data <= limit)
    order = np.lexsort((matrix.indices[keep], rows[keep]))
    return (
        rows[keep][order],
        matrix.indices[keep][order].astype(np.int64),
        matrix.data[keep][order].astype(np.float64),
    )


def _classes(
    instance: Instance, rows: IntArray, columns: IntArray
) -> tuple[IntArray, IntArray, FloatArray, IntArray] | None:
    """Pairs of the classes of points that reach the same sites (class, column, the class's
    weight) and each point's class (-1 for points with no pair); None on a hash collision."""
    n_rows, n_columns = instance.od.shape
    cover = sp.csr_matrix((np.ones(rows.size), (rows, columns)), shape=(n_rows, n_columns))
    found = identical_row_classes(cover)
    if found is None:  # pragma: no cover - a hash collision
        return None
    first, inverse = found
    weight = np.bincount(inverse, weights=instance.weights, minlength=first.size)
    patterns = sp.csr_matrix(cover[first]).tocoo()
    order = np.lexsort((patterns.col, patterns.row))
    class_rows = patterns.row[order].astype(np.int64)
    class_columns = patterns.col[order].astype(np.int64)
    return class_rows, class_columns, weight[class_rows], inverse


def _class_pair(
    inverse: IntArray, rows: IntArray, columns: IntArray, class_rows: IntArray,
    class_columns: IntArray,
) -> IntArray:  # fmt: skip
    """For each point's pair, the index of its class's pair to the same site."""
    n_columns = int(max(columns.max(initial=0), class_columns.max(initial=0))) + 1
    class_keys = class_rows * n_columns + class_columns  # sorted: classes row-major
    position: IntArray = np.searchsorted(class_keys, inverse[rows] * n_columns + columns)
    return position


def _served_first(
    instance: Instance,
    result: MipResult,
    pairs: tuple[IntArray, IntArray, FloatArray],
    share: FloatArray,
) -> tuple[IntArray, FloatArray]:
    """Served points to the site serving most of them; the rest, like the plain MCLP's,
    to the nearest open site (where they would go, though no capacity is left for them)."""
    rows, columns, minutes = pairs
    served = largest_shares(instance.od.shape[0], rows, columns, minutes, share)
    nearest = nearest_open(instance.od, open_mask(result.values, instance.od.shape[1]))
    unserved = served[0] < 0
    assignment = np.where(unserved, nearest[0], served[0])
    assigned_minutes = np.where(unserved, nearest[1], served[1])
    return assignment, assigned_minutes
