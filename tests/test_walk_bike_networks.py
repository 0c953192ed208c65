"""Walk and bike networks from OSM: which ways each keeps, directions and speeds, by hand."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from osm_files import write_osm

from siting import InputError, load_network
from siting.roads.filters import WayKind, classify_way
from siting.roads.graph_build import haversine_m

# five nodes going east at 60 N, 0.01 degree (about 556 m) apart
NODES = {n: (18.0 + 0.01 * (n - 1), 60.0) for n in range(1, 6)}
WAYS = [
    (1, [1, 2], {"highway": "residential", "oneway": "yes"}),
    (2, [2, 3], {"highway": "footway"}),
    (3, [3, 4], {"highway": "cycleway"}),
    (4, [4, 5], {"highway": "motorway"}),
]


def _edges(graph: nx.MultiDiGraph) -> set[tuple[int, int]]:
    """Edges by OSM node ids (the graph's node keys)."""
    return {(int(u), int(v)) for u, v in graph.edges()}


@pytest.mark.parametrize(
    ("tags", "walk", "bike"),
    [
        ({"highway": "footway"}, True, False),
        ({"highway": "steps"}, True, False),
        ({"highway": "cycleway"}, False, True),
        ({"highway": "residential", "foot": "no"}, False, True),
        ({"highway": "residential", "bicycle": "no"}, True, False),
        ({"highway": "motorway"}, False, False),
        ({"highway": "trunk_link"}, True, True),
        ({"highway": "track"}, True, True),
        ({"highway": "service", "access": "private"}, False, False),
        ({"highway": "pedestrian", "area": "yes"}, False, False),
    ],
)
def test_walk_and_bike_filters_keep_the_ways_osmnx_keeps(
    tags: dict[str, str], walk: bool, bike: bool
) -> None:
    options = {"include_tracks": False, "ferries": False}
    assert (classify_way(tags, mode="walk", **options) is WayKind.FOOT) is walk
    assert (classify_way(tags, mode="bike", **options) is WayKind.CYCLE) is bike


def test_walk_network_goes_both_ways_at_walking_pace(tmp_path: Path) -> None:
    """Walkers use the one-way street both ways and the footway, not the cycleway or
    motorway: nodes 1-2-3, each edge its length at 4.8 km/h."""
    osm = write_osm(tmp_path / "town.osm", NODES, WAYS)
    graph = load_network(osm, mode="walk", cache=False)
    assert _edges(graph) == {(1, 3), (3, 1)}  # simplified through node 2
    metres = 2 * float(
        haversine_m(np.array([18.0]), np.array([60.0]), np.array([18.01]), np.array([60.0]))[0]
    )
    total = sum(d["travel_time"] for _, _, d in graph.edges(data=True)) / 2
    assert total == pytest.approx(metres / (4.8 / 3.6), rel=1e-3)


def test_bike_network_keeps_one_way_rules_unless_lifted(tmp_path: Path) -> None:
    """Cyclists: the one-way street alone is no round trip, so only the cycleway 3-4 stays;
    with oneway:bicycle=no the street is cycled both ways (and joins nothing else)."""
    graph = load_network(write_osm(tmp_path / "town.osm", NODES, WAYS), mode="bike", cache=False)
    assert _edges(graph) == {(3, 4), (4, 3)}
    (cycle_time,) = {d["travel_time"] for _, _, d in graph.edges(data=True)}
    assert cycle_time == pytest.approx(
        graph.edges[next(iter(graph.edges))]["length"] / (15 / 3.6), rel=1e-3
    )
    lifted = [
        (1, [1, 2], {"highway": "residential", "oneway": "yes", "oneway:bicycle": "no"}),
        *WAYS[1:],
    ]
    graph = load_network(
        write_osm(tmp_path / "lifted.osm", NODES, lifted), mode="bike", cache=False
    )
    assert _edges(graph) in ({(1, 2), (2, 1)}, {(3, 4), (4, 3)})


def test_a_bad_mode_or_source_is_named(tmp_path: Path) -> None:
    osm = write_osm(tmp_path / "town.osm", NODES, WAYS)
    with pytest.raises(InputError, match="mode must be one of drive, walk, bike, got 'boat'"):
        load_network(osm, mode="boat")
    with pytest.raises(InputError, match="a walk network is read from an OSM file"):
        load_network(tmp_path / "roads.graphml", mode="walk")


def test_network_command_builds_the_walk_network(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`siting network FILE --mode walk`: the summary counts the walk network's 2 edges."""
    from siting.cli.main import EXIT_OK, main

    osm = write_osm(tmp_path / "town.osm", NODES, WAYS)
    assert main(["-q", "network", str(osm), "--mode", "walk", "--no-cache"]) == EXIT_OK
    summary = json.loads(capsys.readouterr().out)
    assert summary["edges"] == 2
    assert summary["edge_km"] == pytest.approx(2 * 1.112, abs=0.001)
