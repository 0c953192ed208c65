"""Random p-median instances of the classic shape (Beasley's OR-Library), made here.

A random spanning tree keeps the graph connected; further edges are drawn until the density
(edges over n(n-1)/2) is reached; edge costs are integers 1..100; the matrix holds the
shortest-path distances between all nodes, every node a demand point and a candidate site.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path


def random_graph_distances(
    n_nodes: int, *, density: float = 0.02, seed: int = 0
) -> npt.NDArray[np.float64]:
    """All-pairs shortest-path distances (n x n) of a random connected graph."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_nodes)
    # each node after the first joins one node before it: a random spanning tree
    parents = order[(rng.random(n_nodes - 1) * np.arange(1, n_nodes)).astype(np.int64)]
    edges = {(min(a, b), max(a, b)) for a, b in zip(order[1:], parents, strict=True)}
    wanted = max(len(edges), round(density * n_nodes * (n_nodes - 1) / 2))
    while len(edges) < wanted:
        a, b = rng.integers(0, n_nodes, size=2)
        if a != b:
            edges.add((min(a, b), max(a, b)))
    ends = np.array(sorted(edges), dtype=np.int64)
    costs = rng.integers(1, 101, size=len(ends)).astype(np.float64)
    graph = sp.coo_matrix((costs, (ends[:, 0], ends[:, 1])), shape=(n_nodes, n_nodes))
    distances: npt.NDArray[np.float64] = shortest_path(graph.tocsr(), directed=False)
    return distances
