"""Compile hot loops with numba, cached on disk where that is possible."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from numba import njit

Function = TypeVar("Function", bound=Callable[..., Any])


def compiled(function: Function) -> Function:
    """numba's compiled `function`, cached on disk where the package folder (or the user's
    cache) is writable; otherwise, as for a user who may not write there, compiled anew in
    each process (numba refuses ``cache=True`` at import when it finds no such place)."""
    return _compile(function, parallel=False)


def compiled_parallel(function: Function) -> Function:
    """As `compiled`, with ``numba.prange`` loops run on numba's threads (the GIL released);
    the number of threads is ``numba.set_num_threads`` of the calling thread."""
    return _compile(function, parallel=True)


def _compile(function: Function, *, parallel: bool) -> Function:
    try:
        return cast("Function", njit(cache=True, parallel=parallel)(function))
    except RuntimeError:
        return cast("Function", njit(parallel=parallel)(function))
