"""The options of an OD matrix, checked once: how points join the roads, how the work runs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

from siting._core import validators as check
from siting.roads.snapping import DEFAULT_ACCESS_SPEED_KPH, DEFAULT_MAX_SNAP_M
from siting.travel.routing import DEFAULT_RESOLUTION_S

EngineChoice = Literal["auto", "cch", "dijkstra"]


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
        ``"cch"`` (contraction hierarchy), ``"dijkstra"`` (scipy, stops at the cut-off) or
        ``"auto"``: the CCH, or with a cut-off whichever a probe on two points measures
        faster.
    workers
        Parallel workers on this machine: threads for the CCH (each with its own metric),
        processes for scipy's Dijkstra; or the Dask workers of a local cluster.
    dask
        None (no Dask), ``"local"`` (a LocalCluster of `workers` processes), a scheduler
        address or a ``distributed.Client``.
    chunk_size
        Points of the smaller side per block; default keeps a block within 64 MB and gives
        each worker at least 4 blocks.
    cache_dir
        Directory for saved matrices and CCH orderings; a matrix for the same network, points
        and options is loaded instead of computed.
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
    progress: bool | None = None
    resolution_s: float = DEFAULT_RESOLUTION_S

    def __post_init__(self) -> None:
        check.choice("auto", "cch", "dijkstra")(self.engine, "engine")
        check.positive_int(self.workers, "workers")
        check.optional(check.positive_int)(self.chunk_size, "chunk_size")
        check.positive(self.resolution_s, "resolution_s")
