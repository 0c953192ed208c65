"""Turn a block of integer shortest times into sparse rows of minutes within a cut-off.

Compiled with numba because the plain numpy form (scale, add both access times, mask,
gather) made five passes over a dense float64 copy of the block: at 100,000 x 500 that
took longer than the search itself. The arithmetic is numpy's, in the same order (the
small side's access time added first), so the minutes are the same to the last bit as the
CCH path of `siting.travel.blocks`.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt

from siting._core.jit import compiled
from siting.travel.hierarchy import INF_UNITS

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
#: One CSR block: indptr, columns, minutes.
Part = tuple[IntArray, npt.NDArray[np.int32], npt.NDArray[np.float32]]


def sparse_rows(
    units: npt.NDArray[np.uint32],
    row_of: IntArray,
    column_of: IntArray,
    row_access_s: FloatArray,
    column_access_s: FloatArray,
    *,
    rows_are_small: bool,
    resolution_s: float,
    limit_s: float,
    column_offset: int = 0,
) -> tuple[IntArray, npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """Return CSR arrays (indptr, columns, minutes) of the pairs within `limit_s`.

    Parameters
    ----------
    units
        Times between distinct nodes, ``units[row node, column node]``, in units of
        `resolution_s`; `INF_UNITS` = unreachable.
    row_of, column_of
        Per row (column) point, its row (column) in `units`.
    row_access_s, column_access_s
        Per point, the time between the point and its node, added to every pair.
    rows_are_small
        Whether the rows are the matrix's small side (whose access time is added first).
    column_offset
        Added to every column number.
    """
    # one pass into buffers sized for every pair: pages never written are never touched, so
    # only the pairs kept take memory (a count pass first cost a second pass over the block)
    indptr = np.zeros(row_of.size + 1, dtype=np.int64)
    columns = np.empty(row_of.size * column_of.size, dtype=np.int32)
    minutes = np.empty(row_of.size * column_of.size, dtype=np.float32)
    kept = _fill(
        units,
        row_of,
        column_of,
        row_access_s,
        column_access_s,
        rows_are_small,
        resolution_s,
        limit_s,
        indptr,
        columns,
        minutes,
        column_offset,
    )
    return indptr, columns[:kept], minutes[:kept]


@compiled
def _fill(
    units: npt.NDArray[np.uint32],
    row_of: IntArray,
    column_of: IntArray,
    row_access_s: FloatArray,
    column_access_s: FloatArray,
    rows_are_small: bool,
    resolution_s: float,
    limit_s: float,
    indptr: IntArray,
    columns: npt.NDArray[np.int32],
    minutes: npt.NDArray[np.float32],
    column_offset: int,
) -> int:
    k = 0
    for i in range(row_of.size):
        row = units[row_of[i]]
        for j in range(column_of.size):
            unit = row[column_of[j]]
            if unit < INF_UNITS:
                seconds = _seconds(
                    unit, resolution_s, row_access_s[i], column_access_s[j], rows_are_small
                )
                if seconds <= limit_s:
                    columns[k] = column_offset + j
                    minutes[k] = np.float32(seconds / 60.0)
                    k += 1
        indptr[i + 1] = k
    return k


@compiled
def _seconds(
    unit: np.uint32, resolution_s: float, row_s: float, column_s: float, rows_are_small: bool
) -> float:
    small, large = (row_s, column_s) if rows_are_small else (column_s, row_s)
    return unit * resolution_s + small + large


def merge_blocks(
    blocks: list[Part],
    n_rows: int,
    *,
    workers: int = 1,
) -> tuple[IntArray, npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """Join CSR blocks over the same rows, each holding later columns, into one CSR.

    Empties `blocks` as it copies them, each block by `workers` threads over disjoint
    ranges of rows (the compiled copy releases the GIL; one thread took 0.7 s of a
    100,000 x 500 matrix) and freed once copied. Rows of a block are ordered, so the
    joined rows are ordered too: no transposition or sort (scipy's took 8 s of a 12 s
    matrix of 50 million pairs).
    """
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    for block_indptr, _, _ in blocks:
        indptr[1:] += np.diff(block_indptr)
    np.cumsum(indptr, out=indptr)
    columns = np.empty(indptr[-1], dtype=np.int32)
    minutes = np.empty(indptr[-1], dtype=np.float32)
    filled = indptr[:-1].copy()  # each row's next free place; threads touch their own rows
    ranges = _row_ranges(indptr, workers)
    with ThreadPoolExecutor(max_workers=len(ranges)) as pool:
        while blocks:
            block = blocks.pop(0)

            def copy(rows: tuple[int, int], block: Part = block) -> None:
                _copy_rows(*block, filled, columns, minutes, *rows)

            list(pool.map(copy, ranges))
            del block, copy  # the block is freed once copied
    return indptr, columns, minutes


def _row_ranges(indptr: IntArray, parts: int) -> list[tuple[int, int]]:
    """Cut the rows into at most `parts` ranges holding about as many pairs each."""
    n_rows = indptr.size - 1
    cuts = np.searchsorted(indptr, np.linspace(0, indptr[-1], max(parts, 1) + 1)[1:-1])
    bounds = np.unique(np.clip(np.r_[0, cuts, n_rows], 0, n_rows))
    return [(int(a), int(b)) for a, b in itertools.pairwise(bounds)] or [(0, 0)]


@compiled
def _copy_rows(
    block_indptr: IntArray,
    block_columns: npt.NDArray[np.int32],
    block_minutes: npt.NDArray[np.float32],
    filled: IntArray,
    columns: npt.NDArray[np.int32],
    minutes: npt.NDArray[np.float32],
    first_row: int,
    stop_row: int,
) -> None:
    for i in range(first_row, stop_row):
        start, stop = block_indptr[i], block_indptr[i + 1]
        to = filled[i]
        columns[to : to + stop - start] = block_columns[start:stop]
        minutes[to : to + stop - start] = block_minutes[start:stop]
        filled[i] = to + stop - start
