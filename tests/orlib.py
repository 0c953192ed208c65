"""Read Beasley's OR-Library p-median instances (pmed1..pmed40) into an OD matrix.

A file holds ``n_vertices n_edges p`` and then one ``i j cost`` line per undirected edge
(vertices 1..n). OR-Library's notes say how to read it: start from an all-infinite matrix
with a zero diagonal, set ``c(i, j) = c(j, i) = cost`` for each edge line in turn (so when an
edge appears twice the last cost counts), then take all-pairs shortest paths. Every vertex is
both a demand point (weight 1) and a candidate site.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

from siting import ODMatrix
from siting._core.errors import InputError

#: OR-Library's ``pmedopt``: optimal total distance per instance (Beasley 1985, Table 2).
PUBLISHED_OPTIMA: dict[str, int] = {
    "pmed1": 5819, "pmed2": 4093, "pmed3": 4250, "pmed4": 3034, "pmed5": 1355,
    "pmed6": 7824, "pmed7": 5631, "pmed8": 4445, "pmed9": 2734, "pmed10": 1255,
    "pmed11": 7696, "pmed12": 6634, "pmed13": 4374, "pmed14": 2968, "pmed15": 1729,
    "pmed16": 8162, "pmed17": 6999, "pmed18": 4809, "pmed19": 2845, "pmed20": 1789,
    "pmed21": 9138, "pmed22": 8579, "pmed23": 4619, "pmed24": 2961, "pmed25": 1828,
    "pmed26": 9917, "pmed27": 8307, "pmed28": 4498, "pmed29": 3033, "pmed30": 1989,
    "pmed31": 10086, "pmed32": 9297, "pmed33": 4700, "pmed34": 3013, "pmed35": 10400,
    "pmed36": 9934, "pmed37": 5057, "pmed38": 11060, "pmed39": 9423, "pmed40": 5128,
}  # fmt: skip


@dataclass(frozen=True)
class PmedInstance:
    """One instance: its name, p and the shortest-path distances between all vertices."""

    name: str
    n_sites: int
    distances: ODMatrix


def read_pmed(path: str | Path) -> PmedInstance:
    """Read ``pmedN.txt`` (or ``.txt.gz``) and compute its distance matrix.

    Raises
    ------
    InputError
        If the header or an edge line is malformed, or names a vertex outside 1..n.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="ascii") as handle:
        lines = [line.split() for line in handle if line.strip()]
    n_vertices, n_edges, n_sites = _header(path, lines)
    edges = _edges(path, lines[1:], n_vertices, n_edges)
    return PmedInstance(
        name=path.name.split(".")[0],
        n_sites=n_sites,
        distances=ODMatrix.from_dense(_all_pairs(edges, n_vertices)),
    )


def _header(path: Path, lines: list[list[str]]) -> tuple[int, int, int]:
    if not lines or len(lines[0]) != 3 or not all(word.isdigit() for word in lines[0]):
        shown = " ".join(lines[0]) if lines else ""
        msg = f"{path}: line 1 must be 'n_vertices n_edges p', got {shown!r}"
        raise InputError(msg)
    n_vertices, n_edges, n_sites = (int(word) for word in lines[0])
    return n_vertices, n_edges, n_sites


def _edges(path: Path, lines: list[list[str]], n_vertices: int, n_edges: int) -> np.ndarray:
    if len(lines) != n_edges:
        msg = f"{path}: header promises {n_edges} edges, the file has {len(lines)} lines after it"
        raise InputError(msg)
    for number, words in enumerate(lines, start=2):
        if len(words) != 3 or not all(word.isdigit() for word in words):
            msg = f"{path}: line {number} must be 'i j cost', got {' '.join(words)!r}"
            raise InputError(msg)
    edges = np.array(lines, dtype=np.int64).reshape(-1, 3)
    outside = (edges[:, :2] < 1) | (edges[:, :2] > n_vertices)
    if outside.any():
        line = int(np.flatnonzero(outside.any(axis=1))[0])
        msg = f"{path}: line {line + 2} names vertex outside 1..{n_vertices}: {lines[line]}"
        raise InputError(msg)
    return edges


def _all_pairs(edges: np.ndarray, n_vertices: int) -> np.ndarray:
    """Shortest paths over the edges, the last cost of a repeated edge counting."""
    ends = np.sort(edges[:, :2] - 1, axis=1)
    key = ends[:, 0] * n_vertices + ends[:, 1]
    # np.unique keeps the first occurrence: reverse the lines so that is the last one
    _, last = np.unique(key[::-1], return_index=True)
    chosen = edges.shape[0] - 1 - last
    graph = sp.csr_matrix(
        (edges[chosen, 2].astype(np.float64), (ends[chosen, 0], ends[chosen, 1])),
        shape=(n_vertices, n_vertices),
    )
    distances: np.ndarray = shortest_path(graph, method="D", directed=False)
    return distances
