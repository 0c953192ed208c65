"""Many-to-many travel times by batched PHAST sweeps over a customised hierarchy (RPHAST).

Notes
-----
Delling, Goldberg, Nowatzyk and Werneck (2011), "PHAST: Hardware-accelerated shortest path
trees": a one-to-all search over a contraction hierarchy is an upward search from the source
plus one linear sweep over the nodes in descending rank, each node taking the minimum over
its higher neighbours. Here:

- the upward search of a CCH needs no queue: its search space is the source's ancestors in
  the elimination tree, relaxed in rank order (Dibbelt et al. 2016);
- ``BATCH`` sources share one sweep, their distances per node side by side, so the inner
  loop is a vector min-plus the compiler turns into SIMD instructions;
- the sweep visits only the targets and their ancestors (RPHAST's restriction; Delling,
  Goldberg and Werneck 2011, "Faster batched shortest paths in road networks"), renumbered
  into a compact sub-hierarchy;
- blocks of sources run in Python threads (the compiled code releases the GIL), each with
  its own distance arrays: no barrier between threads, which on this shared machine kept
  numba's own parallel loops (one barrier per loop) from any gain on 2 threads.

Written here rather than through RoutingKit because ``pyroutingkit`` answers many-to-many
with one bucket query per source/target and holds one query buffer per metric: on the
324,525-node benchmark graph this sweep was several times faster (README, travel-time
matrices).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from siting._core.jit import compiled
from siting.travel.hierarchy import INF_UNITS, Hierarchy, Weights, build_hierarchy, customise

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
UnitArray = npt.NDArray[np.uint32]
#: Sources per sweep: 32 distances of 4 bytes, two 64-byte cache lines per node.
BATCH = 32


@dataclass(frozen=True, eq=False)
class Selection:
    """The targets' part of a hierarchy (RPHAST): the targets and all their ancestors.

    Attributes
    ----------
    local
        Per rank its number in the selection (ascending rank), -1 if not selected.
    first, head
        Arcs of the selection in local numbers (from lower to higher rank).
    arc
        The hierarchy arc of each local arc (to pick a metric's weights).
    target
        Local number of each target.
    """

    local: Int32Array
    first: IntArray
    head: Int32Array
    arc: IntArray
    target: Int32Array


@dataclass(frozen=True, eq=False)
class PhastEngine:
    """A customised hierarchy of one network's travel times, searched by `distances`.

    Plain arrays (no handle of a C++ object), so it pickles to Dask workers as it is.
    """

    hierarchy: Hierarchy
    weights: Weights
    weights_hash: str
    resolution_s: float
    _selections: dict[str, Selection] = field(default_factory=dict, repr=False)

    def selection(self, targets: IntArray) -> Selection:
        """The sub-hierarchy towards `targets` (the last one is kept: blocks share it)."""
        key = hashlib.sha1(np.ascontiguousarray(targets, dtype=np.int64).data).hexdigest()
        found = self._selections.get(key)
        if found is None:  # threads may both make it: the same result, no lock needed
            found = select(self.hierarchy, targets)
            self._selections.clear()
            self._selections[key] = found
        return found

    def distance_units(self, sources: IntArray, targets: IntArray, *, forward: bool) -> UnitArray:
        """Return (len(targets), len(sources)) times in units; `INF_UNITS` = unreachable.

        Target-major: each target's times from all sources are contiguous, as the sweep
        leaves them (and as rows of an origin-major matrix want them)."""
        return distances(
            self.hierarchy, self.weights, self.selection(targets), sources, forward=forward
        )


def customised(
    hierarchy: Hierarchy,
    tail: Int32Array,
    head: Int32Array,
    units: UnitArray,
    *,
    weights_hash: str,
    resolution_s: float,
) -> PhastEngine:
    """Return the engine of `hierarchy` customised with times `units` of arcs tail -> head."""
    return PhastEngine(
        hierarchy, customise(hierarchy, tail, head, units), weights_hash, resolution_s
    )


def build_engine(
    order: npt.ArrayLike,
    tail: Int32Array,
    head: Int32Array,
    units: UnitArray,
    *,
    weights_hash: str,
    resolution_s: float,
) -> PhastEngine:
    """Build the hierarchy of arcs ``tail -> head`` in `order` and customise it with `units`."""
    hierarchy = build_hierarchy(order, tail, head)
    return customised(
        hierarchy, tail, head, units, weights_hash=weights_hash, resolution_s=resolution_s
    )


def select(hierarchy: Hierarchy, targets: npt.ArrayLike) -> Selection:
    """Return the sub-hierarchy a sweep towards node positions `targets` must visit."""
    target_rank = hierarchy.rank[np.asarray(targets, dtype=np.int64)]
    local = _ancestors(hierarchy.parent, target_rank)
    chosen = np.flatnonzero(local >= 0)
    first, head, arc = _sub_arcs(hierarchy.first, hierarchy.head, local, chosen)
    return Selection(local=local, first=first, head=head, arc=arc, target=local[target_rank])


@compiled
def _ancestors(parent: Int32Array, targets: Int32Array) -> Int32Array:
    local = np.full(parent.size, -1, dtype=np.int32)
    for t in targets:
        x = t
        while x != -1 and local[x] == -1:  # stop at a chain already walked
            local[x] = 0
            x = parent[x]
    count = 0
    for x in range(parent.size):
        if local[x] == 0:
            local[x] = count
            count += 1
    return local


@compiled
def _sub_arcs(
    first: IntArray, head: Int32Array, local: Int32Array, chosen: IntArray
) -> tuple[IntArray, Int32Array, IntArray]:
    sub_first = np.zeros(chosen.size + 1, dtype=np.int64)
    for i in range(chosen.size):
        sub_first[i + 1] = sub_first[i] + first[chosen[i] + 1] - first[chosen[i]]
    sub_head = np.empty(sub_first[-1], dtype=np.int32)
    arc = np.empty(sub_first[-1], dtype=np.int64)
    for i in range(chosen.size):
        x = chosen[i]
        for k in range(first[x + 1] - first[x]):
            # a higher neighbour is an ancestor, so it is selected too
            sub_head[sub_first[i] + k] = local[head[first[x] + k]]
            arc[sub_first[i] + k] = first[x] + k
    return sub_first, sub_head, arc


def distances(
    hierarchy: Hierarchy,
    weights: Weights,
    selection: Selection,
    sources: npt.ArrayLike,
    *,
    forward: bool,
) -> UnitArray:
    """Return (targets, len(sources)) shortest times in units; `INF_UNITS` = unreachable.

    Parameters
    ----------
    hierarchy, weights
        The customised hierarchy.
    selection
        The targets (`select`).
    sources
        Node positions searched from.
    forward
        True: from the sources to the targets; False: on the reversed network (from the
        targets to the sources).
    """
    upward, downward = (weights.up, weights.down) if forward else (weights.down, weights.up)
    source_rank = hierarchy.rank[np.asarray(sources, dtype=np.int64)]
    return _sweeps(
        hierarchy.first,
        hierarchy.head,
        upward,
        hierarchy.parent,
        selection.local,
        selection.first,
        selection.head,
        downward[selection.arc],
        source_rank,
        selection.target,
    )


@compiled
def _sweeps(
    first: IntArray,
    head: Int32Array,
    upward: UnitArray,
    parent: Int32Array,
    local: Int32Array,
    sub_first: IntArray,
    sub_head: Int32Array,
    sub_down: UnitArray,
    sources: Int32Array,
    targets: Int32Array,
) -> UnitArray:
    n_sources = sources.size
    out = np.empty((targets.size, n_sources), dtype=np.uint32)
    n_batches = (n_sources + BATCH - 1) // BATCH
    for b in range(n_batches):
        start = b * BATCH
        count = min(BATCH, n_sources - start)
        block = np.full((sub_first.size - 1, BATCH), INF_UNITS, dtype=np.uint32)
        _upward(first, head, upward, parent, local, sources[start : start + count], block)
        _sweep(sub_first, sub_head, sub_down, block)
        for j in range(targets.size):
            out[j, start : start + count] = block[targets[j], :count]
    return out


@compiled
def _upward(
    first: IntArray,
    head: Int32Array,
    upward: UnitArray,
    parent: Int32Array,
    local: Int32Array,
    sources: Int32Array,
    block: UnitArray,
) -> None:
    # a CCH's upward search space is the elimination-tree ancestors, in rank order
    seconds = np.full(parent.size, INF_UNITS, dtype=np.int64)
    for c in range(sources.size):
        seconds[sources[c]] = 0
        x = sources[c]
        while x != -1:
            here = seconds[x]
            if here < INF_UNITS:
                for a in range(first[x], first[x + 1]):
                    y = head[a]
                    seconds[y] = min(seconds[y], here + upward[a])
            if local[x] >= 0:
                block[local[x], c] = min(here, INF_UNITS)
            x = parent[x]
        x = sources[c]
        while x != -1:  # every node the search touched lies on this chain
            seconds[x] = INF_UNITS
            x = parent[x]


@compiled
def _sweep(
    sub_first: IntArray, sub_head: Int32Array, sub_down: UnitArray, block: UnitArray
) -> None:
    # descending rank: every higher neighbour is final before a node takes its minimum
    for x in range(sub_first.size - 2, -1, -1):
        row = block[x]
        for a in range(sub_first[x], sub_first[x + 1]):
            above = block[sub_head[a]]
            weight = sub_down[a]
            for c in range(row.size):
                # both below 2**31, so the sum fits in uint32 and min keeps INF_UNITS
                row[c] = min(row[c], np.uint32(above[c] + weight))
