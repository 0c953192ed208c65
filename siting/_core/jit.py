"""Compile hot loops with numba, cached on disk where that is possible."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from numba import njit

Function = TypeVar("Function", bound=Callable[..., Any])


def compiled(function: Function) -> Function:
    """numba's compiled `function`, cached on disk where the package folder (or the user's
    cache) is writable; otherwise, as for a user who may not write there, compiled anew in
    each process (numba refuses ``cache=True`` at import when it finds no such place).

    The compiled code releases the GIL, so Python threads run it side by side (the OD
    blocks of `siting.travel.blocks`)."""
    try:
        return cast("Function", njit(cache=True, nogil=True)(function))
    except RuntimeError:
        return cast("Function", njit(nogil=True)(function))


def compiled_parallel(function: Function) -> Function:
    """As `compiled`, with numba's ``prange`` loops spread over the cores."""
    try:
        return cast("Function", njit(cache=True, parallel=True)(function))
    except RuntimeError:
        return cast("Function", njit(parallel=True)(function))
