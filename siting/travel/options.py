"""The options of an OD matrix, checked once: how points join the roads, how the work runs,
how transit journeys are measured."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from siting._core import validators as check
from siting._core.errors import InputError
from siting.roads.snapping import DEFAULT_ACCESS_SPEED_KPH, DEFAULT_MAX_SNAP_M
from siting.travel.routing import DEFAULT_RESOLUTION_S

EngineChoice = Literal["auto", "phast", "cch", "dijkstra"]
#: Walking speed (km/h) on footpaths, access and egress; a common planning figure.
WALK_SPEED_KPH = 4.8
#: Walked distance over straight-line distance (stops, access and egress legs).
WALK_CIRCUITY = 1.3


@dataclass(frozen=True)
class SnapRule:
    """How a point joins the road network: at its nearest node, by a straight stretch.

    Attributes
    ----------
    access_speed_kph
        The stretch from a point to its node is driven at this speed, at both ends of a trip.
    max_snap_m
        A point farther than this from every node is an error, not a guess.
    """

    access_speed_kph: float = DEFAULT_ACCESS_SPEED_KPH
    max_snap_m: float = DEFAULT_MAX_SNAP_M

    def __post_init__(self) -> None:
        for name in ("access_speed_kph", "max_snap_m"):
            object.__setattr__(self, name, check.positive(getattr(self, name), name))


@dataclass(frozen=True)
class ComputeOptions:
    """Where and how an OD matrix is computed; none of these change its values.

    Attributes
    ----------
    engine
        ``"phast"`` (batched sweeps over a contraction hierarchy, `siting.travel.phast`),
        ``"cch"`` (RoutingKit's many-to-many query on the same hierarchy's order),
        ``"dijkstra"`` (scipy, stops at the cut-off) or ``"auto"``: the sweeps, or with a
        cut-off whichever of them and Dijkstra a probe on a few points measures faster.
    workers
        Parallel workers on this machine: numba threads for the sweeps, threads for the CCH
        (each with its own metric), processes for scipy's Dijkstra; or the Dask workers of a
        local cluster.
    dask
        None (no Dask), ``"local"`` (a LocalCluster of `workers` processes), a scheduler
        address or a ``distributed.Client``.
    chunk_size
        Points of the smaller side per block; default keeps a block within 64 MB and gives
        each worker at least 4 blocks.
    cache_dir
        Directory for saved matrices and CCH orderings; a matrix for the same network, points
        and options is loaded instead of computed.
    store_dir
        Folder of an on-disk block store (`siting.travel.blockstore`): each finished block is
        written there (by the Dask worker that computed it), and a run interrupted earlier
        with the same inputs computes only the missing blocks; a store of other inputs is
        refused. The matrix is then assembled from the files.
    progress
        Show a progress bar; None shows one only on a terminal.
    resolution_s
        Integer unit of CCH weights (seconds); part of the saved matrix's key.
    """

    engine: EngineChoice = "auto"
    workers: int = 1
    dask: Any = None
    chunk_size: int | None = None
    cache_dir: str | os.PathLike[str] | None = None
    store_dir: str | os.PathLike[str] | None = None
    progress: bool | None = None
    resolution_s: float = DEFAULT_RESOLUTION_S

    def __post_init__(self) -> None:
        check.choice("auto", "phast", "cch", "dijkstra")(self.engine, "engine")
        check.positive_int(self.workers, "workers")
        check.optional(check.positive_int)(self.chunk_size, "chunk_size")
        check.positive(self.resolution_s, "resolution_s")


@dataclass(frozen=True)
class TransitOptions:
    """How transit times are measured.

    Attributes
    ----------
    window_s
        First and last departure, seconds from the timetable's midnight (end excluded).
    step_s
        Seconds between departures in the window.
    percentiles
        Percentiles (0-100] of the travel time over the departures that are reported.
    max_walk_minutes
        Longest walk to the first stop, from the last, or the whole way.
    max_transfers
        Most changes of vehicle.
    """

    window_s: tuple[int, int] = (8 * 3600, 10 * 3600)
    step_s: int = 60
    percentiles: tuple[float, ...] = (50.0,)
    max_walk_minutes: float = 15.0
    max_transfers: int = 3

    def __post_init__(self) -> None:
        start, end = self.window_s
        if not 0 <= start < end:
            raise InputError(f"departure window must start before it ends, got {start}-{end} s")
        if self.step_s <= 0:
            raise InputError(f"step_s must be > 0, got {self.step_s}")
        if not self.percentiles or not all(0 < p <= 100 for p in self.percentiles):
            raise InputError(f"percentiles must be in (0, 100], got {self.percentiles}")
        if not self.max_walk_minutes >= 0:
            raise InputError(f"max_walk_minutes must be >= 0, got {self.max_walk_minutes}")
        if self.max_transfers < 0:
            raise InputError(f"max_transfers must be >= 0, got {self.max_transfers}")

    @property
    def departures_s(self) -> npt.NDArray[np.int64]:
        """The departure times the percentiles are taken over."""
        return np.arange(self.window_s[0], self.window_s[1], self.step_s, dtype=np.int64)

    @property
    def max_walk_m(self) -> float:
        """Straight-line distance walked in `max_walk_minutes`."""
        return self.max_walk_minutes * 60 * WALK_SPEED_KPH / 3.6 / WALK_CIRCUITY
