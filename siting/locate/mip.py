"""Assemble sparse mixed-integer programs from numpy blocks and solve them with HiGHS."""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from siting._core.errors import SitingError

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
INF = math.inf
_ROWWISE = 2  # HiGHS MatrixFormat.kRowwise
_SENSE = {"min": 1, "max": -1}  # HiGHS ObjSense


@dataclass(frozen=True)
class MipOptions:
    """Solver options; the defaults make the answer exact and repeatable.

    Attributes
    ----------
    mip_gap
        Relative gap at which HiGHS may stop (0: prove optimality).
    time_limit_s
        Wall-clock limit of one solve; the best solution found and its bound are returned
        with status ``"time limit"``.
    seed
        HiGHS ``random_seed``; with one thread the same model gives the same answer.
    """

    mip_gap: float = 0.0
    time_limit_s: float | None = None
    seed: int = 0


class NoSolutionError(SitingError):
    """HiGHS stopped (time limit, interrupt) before it held any feasible point.

    `bound` is the dual bound it had proved by then (NaN for an LP, +-inf when none): a
    caller holding a plan of its own returns that plan with this bound and its gap.
    """

    def __init__(self, message: str, *, bound: float) -> None:
        super().__init__(message)
        self.bound = bound


@dataclass(frozen=True)
class MipResult:
    """What HiGHS returned: column values, objective, proven bound, gap and status."""

    values: FloatArray
    objective: float
    bound: float
    gap: float
    status: str
    solve_s: float


@dataclass
class MipModel:
    """A model grown block by block: columns first, then rows referring to them.

    Rows are kept as CSR blocks with global column indices, so a model of millions of
    pairs is assembled with a few concatenations and no per-variable Python loop.
    """

    sense: str = "min"
    _cost: list[FloatArray] = field(default_factory=list)
    _lower: list[FloatArray] = field(default_factory=list)
    _upper: list[FloatArray] = field(default_factory=list)
    _integer: list[npt.NDArray[np.int32]] = field(default_factory=list)
    _rows: list[sp.csr_matrix] = field(default_factory=list)
    _row_lower: list[FloatArray] = field(default_factory=list)
    _row_upper: list[FloatArray] = field(default_factory=list)
    n_cols: int = 0

    def add_columns(
        self,
        cost: npt.ArrayLike,
        *,
        lower: npt.ArrayLike = 0.0,
        upper: npt.ArrayLike = INF,
        integer: bool = False,
    ) -> int:
        """Add columns (broadcast bounds); return the index of the first."""
        cost_array = np.asarray(cost, dtype=np.float64).ravel()
        size = cost_array.size
        self._cost.append(cost_array)
        self._lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), size).copy())
        self._upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), size).copy())
        self._integer.append(np.full(size, 1 if integer else 0, dtype=np.int32))
        first = self.n_cols
        self.n_cols += size
        return first

    def add_rows(
        self,
        matrix: sp.csr_matrix | sp.csr_array,
        *,
        lower: npt.ArrayLike = -INF,
        upper: npt.ArrayLike = INF,
    ) -> None:
        """Add rows ``lower <= matrix @ x <= upper``; `matrix` may have fewer columns."""
        block = sp.csr_matrix(matrix, dtype=np.float64)
        if block.shape[1] < self.n_cols:
            block = sp.csr_matrix(
                (block.data, block.indices, block.indptr), shape=(block.shape[0], self.n_cols)
            )
        size = block.shape[0]
        self._rows.append(block)
        self._row_lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), size).copy())
        self._row_upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), size).copy())

    def solve(
        self,
        options: MipOptions,
        *,
        settings: Mapping[str, bool | float | str] | None = None,
        start: npt.ArrayLike | None = None,
    ) -> MipResult:
        """Pass the model to HiGHS, solve it and check the status; `settings` are further
        HiGHS options for this model and `start` a feasible value per column (a MIP start:
        HiGHS then always holds a plan, at worst this one)."""
        highs = _configured_highs(options)
        for name, value in (settings or {}).items():
            highs.setOptionValue(name, value)
        cost = np.concatenate(self._cost)
        rows = sp.vstack(
            [sp.csr_matrix(b, shape=(b.shape[0], self.n_cols)) for b in self._rows], format="csr"
        )
        highs.passModel(
            self.n_cols,
            rows.shape[0],
            rows.nnz,
            _ROWWISE,
            _SENSE[self.sense],
            0.0,
            cost,
            np.concatenate(self._lower),
            np.concatenate(self._upper),
            np.concatenate(self._row_lower),
            np.concatenate(self._row_upper),
            rows.indptr.astype(np.int32),
            rows.indices.astype(np.int32),
            rows.data,
            np.concatenate(self._integer),
        )
        logger.info("MIP: %d columns, %d rows, %d non-zeros", self.n_cols, rows.shape[0], rows.nnz)
        if start is not None:
            solution = highspy.HighsSolution()
            solution.col_value = np.asarray(start, dtype=np.float64).tolist()
            solution.value_valid = True
            highs.setSolution(solution)
        return _run(highs, is_mip=any(block.any() for block in self._integer))


def _configured_highs(options: MipOptions) -> highspy.Highs:
    highs = _new_highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("random_seed", int(options.seed))
    highs.setOptionValue("threads", 1)
    highs.setOptionValue("mip_rel_gap", float(options.mip_gap))
    highs.setOptionValue("mip_abs_gap", 1e-9)
    if options.time_limit_s is not None:
        highs.setOptionValue("time_limit", float(options.time_limit_s))
    return highs


def _new_highs() -> highspy.Highs:
    """A Highs instance; the first one of a process is made with file descriptor 1 muted.

    HiGHS prints its banner from C++ to stdout when the first instance is made, before any
    option can switch output off; that would corrupt JSON a command writes to stdout.
    """
    if _BANNER_SHOWN:
        return highspy.Highs()  # type: ignore[no-untyped-call]
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 1)
            highs = highspy.Highs()  # type: ignore[no-untyped-call]
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    _BANNER_SHOWN.append(True)
    return highs


_BANNER_SHOWN: list[bool] = []
_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kTimeLimit: "time limit",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
    highspy.HighsModelStatus.kInterrupt: "interrupted",
    highspy.HighsModelStatus.kIterationLimit: "iteration limit",
    highspy.HighsModelStatus.kSolutionLimit: "solution limit",
}


def _run(highs: highspy.Highs, *, is_mip: bool) -> MipResult:
    start = time.perf_counter()
    highs.run()
    solve_s = time.perf_counter() - start
    status = _STATUS.get(highs.getModelStatus(), "unknown")
    info = highs.getInfo()
    if status == "infeasible":
        return MipResult(np.empty(0), math.nan, math.nan, math.nan, status, solve_s)
    if status == "unknown" or info.primal_solution_status != 2:  # 2: feasible point held
        text = highs.modelStatusToString(highs.getModelStatus())
        bound = float(info.mip_dual_bound) if is_mip else math.nan
        raise NoSolutionError(f"HiGHS ended with {text!r} and no solution", bound=bound)
    values = np.asarray(highs.getSolution().col_value, dtype=np.float64)
    objective = float(info.objective_function_value)
    # an LP (no integer columns) has no MIP bound: its optimum is its own proof
    bound = float(info.mip_dual_bound) if is_mip else objective
    gap = abs(objective - bound) / max(abs(objective), 1e-12) if math.isfinite(bound) else INF
    return MipResult(values, objective, bound, gap, status, solve_s)
