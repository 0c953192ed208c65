"""Turn a block of integer shortest times into sparse rows of minutes within a cut-off.

Compiled with numba because the plain numpy form (scale, add both access times, mask,
gather) made five passes over a dense float64 copy of the block: at 100,000 x 500 that
took longer than the search itself. The arithmetic is numpy's, in the same order, so the
minutes are the same to the last bit as the CCH path of `siting.travel.blocks`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import prange

from siting._core.jit import compiled_parallel
from siting.travel.hierarchy import INF_UNITS

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def sparse_rows(
    units: npt.NDArray[np.uint32],
    source_of: IntArray,
    target_of: IntArray,
    source_access_s: FloatArray,
    target_access_s: FloatArray,
    *,
    resolution_s: float,
    limit_s: float,
) -> tuple[IntArray, npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """Return CSR arrays (indptr, columns, minutes) of the pairs within `limit_s`.

    Parameters
    ----------
    units
        Times between distinct source and target nodes, in units of `resolution_s`;
        `INF_UNITS` = unreachable.
    source_of, target_of
        Per row (column) point, its row (column) in `units`.
    source_access_s, target_access_s
        Per point, the time between the point and its node, added to every pair.
    """
    counts = _counts(
        units, source_of, target_of, source_access_s, target_access_s, resolution_s, limit_s
    )
    indptr = np.zeros(source_of.size + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    columns = np.empty(indptr[-1], dtype=np.int32)
    minutes = np.empty(indptr[-1], dtype=np.float32)
    _fill(
        units,
        source_of,
        target_of,
        source_access_s,
        target_access_s,
        resolution_s,
        limit_s,
        indptr,
        columns,
        minutes,
    )
    return indptr, columns, minutes


@compiled_parallel
def _counts(
    units: npt.NDArray[np.uint32],
    source_of: IntArray,
    target_of: IntArray,
    source_access_s: FloatArray,
    target_access_s: FloatArray,
    resolution_s: float,
    limit_s: float,
) -> IntArray:
    counts = np.zeros(source_of.size, dtype=np.int64)
    for i in prange(source_of.size):
        row = units[source_of[i]]
        count = 0
        for j in range(target_of.size):
            unit = row[target_of[j]]
            seconds = unit * resolution_s + source_access_s[i] + target_access_s[j]
            if unit < INF_UNITS and seconds <= limit_s:
                count += 1
        counts[i] = count
    return counts


@compiled_parallel
def _fill(
    units: npt.NDArray[np.uint32],
    source_of: IntArray,
    target_of: IntArray,
    source_access_s: FloatArray,
    target_access_s: FloatArray,
    resolution_s: float,
    limit_s: float,
    indptr: IntArray,
    columns: npt.NDArray[np.int32],
    minutes: npt.NDArray[np.float32],
) -> None:
    for i in prange(source_of.size):
        row = units[source_of[i]]
        k = indptr[i]
        for j in range(target_of.size):
            unit = row[target_of[j]]
            seconds = unit * resolution_s + source_access_s[i] + target_access_s[j]
            if unit < INF_UNITS and seconds <= limit_s:
                columns[k] = j
                minutes[k] = np.float32(seconds / 60.0)
                k += 1
