"""The immutable answer of a location problem: sites, assignment, objective and its proof."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: a relative gap up to this is proof of optimality (HiGHS's own tolerances leave ~1e-9)
PROVEN_GAP = 1e-6
#: what an answer whose solver stopped at a positive `mip_gap` is called: not proven optimal
WITHIN_GAP = "within mip_gap"


@dataclass(frozen=True, eq=False)
class Solution:
    """Chosen sites and who goes where, with the objective, its proven bound and the gap.

    Attributes
    ----------
    problem
        ``"lscp"``, ``"mclp"``, ``"p-median"``, ``"p-center"``, ...
    site_index
        Column positions of the open sites in the OD matrix, ascending.
    site_ids
        Ids of the open sites (same order).
    assignment
        Per demand row, the column of the site that serves it (the nearest open one, or the
        capacitated model's choice); -1 where no open site is reachable in the matrix.
    assigned_minutes
        Travel time to that site; inf where `assignment` is -1.
    objective
        The value of the answer (sites, covered weight, weighted minutes, worst minutes).
    bound
        The best bound HiGHS proved: no answer can beat it.
    gap
        ``|objective - bound| / |objective|``; 0 when optimality is proven.
    status
        ``"optimal"`` (gap proven within `PROVEN_GAP`), ``"within mip_gap"`` (the solver
        stopped at the positive `mip_gap` asked for), ``"time limit"``, or ``"size limit"``
        (a p-median whose model after the Lagrangian pass would not fit in memory); but for
        ``"optimal"``, `gap` says how far from proven.
    build_s, solve_s
        Seconds spent preparing the model and solving it. For the p-median the Lagrangian
        pass counts as preparing when HiGHS solves what it leaves, and as solving when its
        answer stands without HiGHS.
    unreachable
        Ids of demand points excluded because no site reaches them (within ``max_minutes``
        for coverage problems, within the matrix cut-off otherwise).
    parameters
        The problem's options (n_sites, max_minutes, budget, required and forbidden sites...).
    site_loads, site_capacities
        Per open site (as `site_index`), the demand weight it serves and its capacity;
        None unless the problem was capacitated.
    """

    problem: str
    site_index: IntArray
    site_ids: npt.NDArray[Any]
    assignment: IntArray
    assigned_minutes: FloatArray
    objective: float
    bound: float
    gap: float
    status: str
    build_s: float
    solve_s: float
    unreachable: npt.NDArray[Any]
    origin_ids: npt.NDArray[Any]
    destination_ids: npt.NDArray[Any]
    parameters: Mapping[str, Any] = field(default_factory=dict)
    site_loads: FloatArray | None = None
    site_capacities: FloatArray | None = None

    def __post_init__(self) -> None:
        for name in (
            "site_index", "site_ids", "assignment", "assigned_minutes", "unreachable",
            "site_loads", "site_capacities",
        ):  # fmt: skip
            if getattr(self, name) is None:
                continue
            array = np.array(getattr(self, name))
            array.flags.writeable = False
            object.__setattr__(self, name, array)
        object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))
        gap = 0.0 if abs(self.gap) < PROVEN_GAP**2 else self.gap  # rounding noise, not a gap
        object.__setattr__(self, "gap", gap)
        object.__setattr__(self, "status", proven_status(self.status, gap))

    @property
    def n_sites(self) -> int:
        """Number of open sites."""
        return int(self.site_index.size)

    @property
    def is_optimal(self) -> bool:
        """Whether the answer is proven optimal (gap within `PROVEN_GAP`)."""
        return self.status == "optimal"

    def assignment_table(self) -> pd.DataFrame:
        """One row per demand point: ``demand_id``, ``site_id`` (None if none), ``minutes``."""
        served = self.assignment >= 0
        site_ids = np.full(self.assignment.size, None, dtype=object)
        site_ids[served] = self.destination_ids[self.assignment[served]]
        minutes = np.where(served, self.assigned_minutes, math.nan)
        return pd.DataFrame({"demand_id": self.origin_ids, "site_id": site_ids, "minutes": minutes})

    def summary(self) -> dict[str, Any]:
        """Plain values for ``summary.json``; ``capacity_use`` (per open site: load and
        capacity) when the problem was capacitated."""
        record: dict[str, Any] = {
            "problem": self.problem,
            "sites": [_plain(site) for site in self.site_ids],
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "status": self.status,
            "build_s": self.build_s,
            "solve_s": self.solve_s,
            "unreachable": [_plain(origin) for origin in self.unreachable],
            "parameters": {key: _plain(value) for key, value in self.parameters.items()},
        }
        if self.site_loads is not None and self.site_capacities is not None:
            record["capacity_use"] = [
                {"site": _plain(site), "load": float(load), "capacity": float(capacity)}
                for site, load, capacity in zip(
                    self.site_ids, self.site_loads, self.site_capacities, strict=True
                )
            ]
        return record


def proven_status(status: str, gap: float) -> str:
    """`status`, except that "optimal" with a gap over `PROVEN_GAP` is only "within mip_gap".

    HiGHS and the Lagrangian pass call an answer optimal once it is within the `mip_gap`
    asked for; with a positive `mip_gap` that is no proof, and a user must not read it as one.
    """
    if status == "optimal" and not gap <= PROVEN_GAP:
        return WITHIN_GAP
    return status


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list | np.ndarray):
        return [_plain(item) for item in value]
    return value
