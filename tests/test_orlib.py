"""p-median reaches the published optima of Beasley's OR-Library instances."""

from __future__ import annotations

import gzip
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from orlib import PUBLISHED_OPTIMA, read_pmed

from siting import solve
from siting._core.errors import InputError

DATA = Path(__file__).parent / "data" / "orlib"


@pytest.mark.parametrize(
    "name", ["pmed1", "pmed2", "pmed3", "pmed4", "pmed5", "pmed7", "pmed8", "pmed9", "pmed10"]
)
def test_p_median_reaches_the_published_optimum(name: str) -> None:
    """The proven optimum of each instance (100 or 200 vertices) is OR-Library's."""
    instance = read_pmed(DATA / f"{name}.txt.gz")
    solution = solve(instance.distances, problem="p-median", n_sites=instance.n_sites)
    assert solution.status == "optimal"
    assert solution.n_sites == instance.n_sites
    assert solution.objective == pytest.approx(PUBLISHED_OPTIMA[name], abs=1e-6)
    assert solution.bound == pytest.approx(PUBLISHED_OPTIMA[name], abs=1e-6)


def test_distances_equal_networkx_floyd_warshall() -> None:
    """All-pairs distances of pmed2 (which repeats edges) match networkx, last cost winning."""
    path = DATA / "pmed2.txt.gz"
    graph = nx.Graph()
    with gzip.open(path, "rt") as handle:
        rows = [line.split() for line in handle][1:]
    for i, j, cost in rows:  # add_edge replaces the weight: the last line counts
        graph.add_edge(int(i) - 1, int(j) - 1, weight=float(cost))
    expected = nx.floyd_warshall_numpy(graph, nodelist=range(100))
    assert np.array_equal(read_pmed(path).distances.to_dense(), expected)


def test_repeated_edge_keeps_its_last_cost(tmp_path: Path) -> None:
    """An edge given twice keeps the cost of its last line, in either direction."""
    path = tmp_path / "tiny.txt"
    path.write_text("3 3 1\n1 2 5\n2 3 1\n2 1 9\n")
    instance = read_pmed(path)
    assert instance.name == "tiny"
    assert instance.distances.to_dense().tolist() == [[0, 9, 10], [9, 0, 1], [10, 1, 0]]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("3 x 1\n", "line 1 must be"),
        ("3 2 1\n1 2 5\n", "promises 2 edges"),
        ("3 1 1\n1 4 5\n", "line 2 names vertex outside 1..3"),
        ("3 1 1\n1 2\n", "line 2 must be 'i j cost'"),
    ],
)
def test_malformed_files_name_the_line(tmp_path: Path, text: str, match: str) -> None:
    """A bad header or edge line raises InputError naming the file and the line."""
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(InputError, match=match):
        read_pmed(path)


def test_too_large_a_model_returns_the_lagrangian_answer_with_its_gap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pmed6 needs branching (0.5 % LP gap): over the size limit the MIP's answer keeps its gap."""
    monkeypatch.setattr("siting.locate.median_center.MAX_MIP_PAIRS", 100)
    instance = read_pmed(DATA / "pmed6.txt.gz")
    # "auto" would branch on sites (p = 5), which has no MIP to be too large
    solution = solve(
        instance.distances, problem="p-median", n_sites=instance.n_sites, formulation="radius"
    )
    assert solution.status == "size limit"
    assert solution.bound <= PUBLISHED_OPTIMA["pmed6"] <= solution.objective
    assert 0 < solution.gap < 0.01
    assert solution.objective == pytest.approx(solution.assigned_minutes.sum())
