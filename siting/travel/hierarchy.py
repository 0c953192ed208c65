"""Build a customisable contraction hierarchy's arcs from a node order and customise them.

RoutingKit (through ``pyroutingkit``) computes a good node order but does not expose the
hierarchy's arcs, which batched one-to-many sweeps (`siting.travel.phast`) need; so the
chordal supergraph and its customisation are computed here, in numba, from that order.

Notes
-----
Dibbelt, Strasser and Wagner (2016), "Customizable Contraction Hierarchies": nodes are
eliminated in rank order; eliminating x joins its higher neighbours into a clique. Only the
lowest of them (x's parent in the elimination tree) needs x's other higher neighbours: the
rest follow when the parent is eliminated, so each arc is copied once per child. The basic
customisation then runs over every lower triangle (x < y < z) in rank order, which makes
each arc's weight its shortest path through lower nodes; that is all a CH query needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from siting._core.jit import compiled

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
UnitArray = npt.NDArray[np.uint32]
#: Infinite weight: RoutingKit's, so that distances compare in the same units.
INF_UNITS = 2**31 - 1


@dataclass(frozen=True, eq=False)
class Hierarchy:
    """The arcs of a CCH without weights: one per node pair, stored at the lower rank.

    Attributes
    ----------
    rank
        Rank of each node position (0 = contracted first).
    parent
        Elimination-tree parent of each rank (its lowest higher neighbour), -1 at a root.
    first, head
        The arcs of rank x go from x to ``head[first[x]:first[x + 1]]`` (higher ranks,
        ascending).
    """

    rank: Int32Array
    parent: Int32Array
    first: IntArray
    head: Int32Array

    @property
    def n_arcs(self) -> int:
        """Number of arcs (node pairs)."""
        return int(self.head.size)


@dataclass(frozen=True, eq=False)
class Weights:
    """A customised metric: per hierarchy arc the time upward (low to high rank) and down."""

    up: UnitArray
    down: UnitArray


def build_hierarchy(order: npt.ArrayLike, tail: npt.ArrayLike, head: npt.ArrayLike) -> Hierarchy:
    """Return the chordal supergraph of the arcs ``tail -> head`` eliminated in `order`.

    Parameters
    ----------
    order
        Node positions from first to last contracted (RoutingKit's saved ``order``).
    tail, head
        Arc end positions; direction and duplicates do not matter here.
    """
    order = np.asarray(order, dtype=np.int64)
    rank = np.empty(order.size, dtype=np.int32)
    rank[order] = np.arange(order.size, dtype=np.int32)
    low, high = _rank_pairs(rank, np.asarray(tail), np.asarray(head))
    first_in = np.zeros(order.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(low, minlength=order.size), out=first_in[1:])
    first, heads, parent = _eliminate(order.size, first_in, high.astype(np.int32))
    return Hierarchy(rank=rank, parent=parent, first=first, head=heads)


def _rank_pairs(
    rank: Int32Array, tail: npt.NDArray[np.integer], head: npt.NDArray[np.integer]
) -> tuple[IntArray, IntArray]:
    a, b = rank[tail].astype(np.int64), rank[head].astype(np.int64)
    keep = a != b
    low, high = np.minimum(a, b)[keep], np.maximum(a, b)[keep]
    key = np.unique(low * rank.size + high)  # sorted by low, then high
    return key // rank.size, key % rank.size


@compiled
def _eliminate(
    n: int, first_in: IntArray, head_in: Int32Array
) -> tuple[IntArray, Int32Array, Int32Array]:
    capacity = max(2 * head_in.size, 16)
    head = np.empty(capacity, dtype=np.int32)
    first = np.zeros(n + 1, dtype=np.int64)
    parent = np.full(n, -1, dtype=np.int32)
    child = np.full(n, -1, dtype=np.int32)  # first child, then siblings: a linked list
    sibling = np.full(n, -1, dtype=np.int32)
    seen = np.full(n, -1, dtype=np.int32)
    row = np.empty(n, dtype=np.int32)
    size = 0
    for x in range(n):
        count = 0
        for a in range(first_in[x], first_in[x + 1]):
            y = head_in[a]
            if seen[y] != x:
                seen[y] = x
                row[count] = y
                count += 1
        c = child[x]
        while c != -1:  # each child's higher neighbours, less x, join x's
            for a in range(first[c], first[c + 1]):
                y = head[a]
                if y != x and seen[y] != x:
                    seen[y] = x
                    row[count] = y
                    count += 1
            c = sibling[c]
        if size + count > capacity:
            capacity = max(2 * capacity, size + count)
            grown = np.empty(capacity, dtype=np.int32)
            grown[:size] = head[:size]
            head = grown
        head[size : size + count] = np.sort(row[:count])
        if count:
            p = head[size]
            parent[x] = p
            sibling[x] = child[p]
            child[p] = x
        size += count
        first[x + 1] = size
    return first, head[:size].copy(), parent


def customise(
    hierarchy: Hierarchy, tail: npt.ArrayLike, head: npt.ArrayLike, units: UnitArray
) -> Weights:
    """Return the customised weights of arcs ``tail -> head`` with integer times `units`.

    Raises
    ------
    ValueError
        If an arc joins two nodes that the hierarchy does not join (another topology).
    """
    up, down = _input_weights(
        hierarchy.rank,
        hierarchy.first,
        hierarchy.head,
        np.asarray(tail, dtype=np.int32),
        np.asarray(head, dtype=np.int32),
        np.asarray(units, dtype=np.uint32),
    )
    _lower_triangles(hierarchy.first, hierarchy.head, up, down)
    return Weights(up=up, down=down)


@compiled
def _input_weights(
    rank: Int32Array,
    first: IntArray,
    head: Int32Array,
    tails: Int32Array,
    heads: Int32Array,
    units: UnitArray,
) -> tuple[UnitArray, UnitArray]:
    up = np.full(head.size, INF_UNITS, dtype=np.uint32)
    down = np.full(head.size, INF_UNITS, dtype=np.uint32)
    for i in range(tails.size):
        a, b = rank[tails[i]], rank[heads[i]]
        low, high = min(a, b), max(a, b)
        arc = first[low] + np.searchsorted(head[first[low] : first[low + 1]], high)
        if arc >= first[low + 1] or head[arc] != high:
            raise ValueError("an arc is not in the hierarchy")
        weights = up if a < b else down
        weights[arc] = min(weights[arc], units[i])
    return up, down


@compiled
def _lower_triangles(first: IntArray, head: Int32Array, up: UnitArray, down: UnitArray) -> None:
    for x in range(first.size - 1):
        for i in range(first[x], first[x + 1]):
            y = head[i]
            arc = first[y]
            for j in range(i + 1, first[x + 1]):
                z = head[j]
                while head[arc] != z:  # x's higher neighbours are a clique: z is y's
                    arc += 1
                through_up = np.int64(down[i]) + np.int64(up[j])  # y -> x -> z
                if through_up < up[arc]:
                    up[arc] = through_up
                through_down = np.int64(down[j]) + np.int64(up[i])  # z -> x -> y
                if through_down < down[arc]:
                    down[arc] = through_down
