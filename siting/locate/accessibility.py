"""Accessibility of each demand point to offices: gravity (Hansen), 2SFCA and E2SFCA."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from siting._core.errors import InputError
from siting.locate.decay import Decay
from siting.travel.odmatrix import ODMatrix

FloatArray = npt.NDArray[np.float64]


def gravity_access(
    od: ODMatrix, *, decay: Decay, capacity: npt.ArrayLike | None = None
) -> FloatArray:
    """Hansen's gravity access: the offices' capacity within reach, each discounted by `decay`.

    Parameters
    ----------
    od
        Travel times from demand points (rows) to offices (columns); pairs beyond the
        matrix cut-off count as unreachable.
    decay
        How an office's pull falls with travel time.
    capacity
        Per office (column order), e.g. staff or counters; None counts each office as 1.

    Returns
    -------
    numpy.ndarray
        Per demand point, :math:`A_i = \\sum_j S_j f(t_{ij})`.

    Raises
    ------
    InputError
        A capacity list of the wrong length, or a capacity that is negative or not finite.

    Examples
    --------
    >>> od = ODMatrix.from_dense(np.array([[0.0, 10.0], [20.0, np.inf]]))
    >>> gravity_access(od, decay=Decay("linear", max_minutes=40)).tolist()
    [1.75, 0.5]
    """
    weights = _decayed(od, decay)
    supply = _capacity(capacity, od.shape[1])
    result: FloatArray = np.asarray(weights @ supply, dtype=np.float64)
    return result


def floating_catchment_access(
    od: ODMatrix,
    demand: npt.ArrayLike,
    *,
    decay: Decay,
    capacity: npt.ArrayLike | None = None,
) -> FloatArray:
    """Two-step floating catchment access: office capacity per person who can reach it.

    With a step decay this is the 2SFCA of Luo and Wang (2003): each office's capacity is
    shared among the people within its catchment (``decay.max_minutes``), and each point
    sums the shares of the offices it reaches. With any other decay it is the enhanced
    2SFCA of Luo and Qi (2009): people and shares both weighted by the decay.

    Parameters
    ----------
    od
        Travel times from demand points (rows) to offices (columns).
    demand
        People per demand point (row order).
    decay
        The catchment and its weights; ``Decay("step", max_minutes=30)`` for 2SFCA.
    capacity
        Per office (column order); None counts each office as 1.

    Returns
    -------
    numpy.ndarray
        Per demand point, capacity per person: :math:`A_i = \\sum_j f(t_{ij}) R_j` with
        :math:`R_j = S_j / \\sum_k P_k f(t_{kj})`. An office that nobody with people
        reaches adds nothing (its ratio is taken as 0, not as a division by zero).

    Raises
    ------
    InputError
        Demand or capacity of the wrong length, negative or not finite.

    References
    ----------
    Luo, W. and Wang, F. (2003). Measures of spatial accessibility to health care in a GIS
    environment: synthesis and a case study in the Chicago region. *Environment and
    Planning B* 30(6), 865-884.

    Luo, W. and Qi, Y. (2009). An enhanced two-step floating catchment area (E2SFCA)
    method for measuring spatial accessibility to primary care physicians. *Health &
    Place* 15(4), 1100-1107.

    Examples
    --------
    One office reached by 100 people within 30 minutes and 300 beyond:

    >>> od = ODMatrix.from_dense(np.array([[10.0], [45.0]]))
    >>> step = Decay("step", max_minutes=30)
    >>> floating_catchment_access(od, [100, 300], decay=step).tolist()
    [0.01, 0.0]
    """
    weights = _decayed(od, decay)
    people = _non_negative(demand, od.shape[0], "demand")
    supply = _capacity(capacity, od.shape[1])
    reaching = np.asarray(weights.T @ people, dtype=np.float64)
    ratio = np.divide(supply, reaching, out=np.zeros_like(supply), where=reaching > 0)
    result: FloatArray = np.asarray(weights @ ratio, dtype=np.float64)
    return result


def accessibility_table(
    od: ODMatrix,
    demand: npt.ArrayLike,
    *,
    decay: Decay,
    catchment_minutes: float,
    capacity: npt.ArrayLike | None = None,
) -> pd.DataFrame:
    """The three indices per demand point: ``demand_id``, ``gravity``, ``2sfca``, ``e2sfca``.

    ``2sfca`` uses a step at `catchment_minutes`; ``gravity`` and ``e2sfca`` use `decay`
    (cut off at `catchment_minutes` too unless the decay has its own cut-off).
    """
    step = Decay("step", max_minutes=catchment_minutes)
    if decay.kind != "step" and decay.max_minutes is None:
        decay = Decay(decay.kind, decay.beta, decay.scale_minutes, catchment_minutes)
    return pd.DataFrame(
        {
            "demand_id": od.origin_ids,
            "gravity": gravity_access(od, decay=decay, capacity=capacity),
            "2sfca": floating_catchment_access(od, demand, decay=step, capacity=capacity),
            "e2sfca": floating_catchment_access(od, demand, decay=decay, capacity=capacity),
        }
    )


def _decayed(od: ODMatrix, decay: Decay) -> sp.csr_matrix:
    """The matrix's stored pairs weighted by `decay` (same structure; absent pairs weigh 0)."""
    minutes = od.minutes
    data = decay.weight(minutes.data)
    return sp.csr_matrix((data, minutes.indices, minutes.indptr), shape=minutes.shape)


def _capacity(capacity: npt.ArrayLike | None, n_sites: int) -> FloatArray:
    if capacity is None:
        return np.ones(n_sites)
    return _non_negative(capacity, n_sites, "capacity")


def _non_negative(values: npt.ArrayLike, size: int, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size != size:
        msg = f"{name}: {array.size} values for {size} {'sites' if name == 'capacity' else 'rows'}"
        raise InputError(msg)
    bad = ~np.isfinite(array) | (array < 0)
    if bad.any():
        position = int(np.argmax(bad))
        msg = f"{name} must be finite and >= 0, got {float(array[position])!r} at {position}"
        raise InputError(msg)
    return array
