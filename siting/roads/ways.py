"""Read the ways a car can use, with their node locations, from an OSM file (PBF or XML)."""

from __future__ import annotations

import logging
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import osmium
from tqdm import tqdm

from siting._core.errors import InputError
from siting.roads.filters import WayKind, classify_way, may_be_drivable

logger = logging.getLogger(__name__)

# Tags kept per way: those that set speed, direction and ferry time, and those osmnx keeps on
# edges that maps and reports show.
KEPT_TAGS = frozenset(
    {
        "highway",
        "name",
        "ref",
        "maxspeed",
        "maxspeed:forward",
        "maxspeed:backward",
        "maxspeed:type",
        "source:maxspeed",
        "zone:maxspeed",
        "oneway",
        "junction",
        "lanes",
        "bridge",
        "tunnel",
        "access",
        "route",
        "duration",
        "motorcar",
        "motor_vehicle",
        "tracktype",
        "surface",
    }
)
#: Tags the walk and bike filters read besides (kept only in those networks, so the drive
#: network stays as it was built).
MODE_TAGS = frozenset({"area", "service", "foot", "bicycle", "oneway:bicycle"})
OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz")
#: ways read between updates of the progress bar (one update a way would cost seconds)
_BAR_STEP = 10_000
# pyosmium marks a missing node location with this coordinate (in units of 1e-7 degrees)
_UNDEFINED_COORDINATE = 2**31 - 1


@dataclass(frozen=True)
class OsmWays:
    """Drivable ways as flat arrays: way `i` uses positions `start[i]:start[i + 1]`.

    Coordinates are in units of 1e-7 degrees, as OSM stores them; `valid` is False where the
    file lacks a node's location (an extract cut at its border).
    """

    way_id: npt.NDArray[np.int64]
    kind: list[WayKind]
    tags: list[dict[str, str]]
    start: npt.NDArray[np.int64]
    node_id: npt.NDArray[np.int64]
    x: npt.NDArray[np.int64]
    y: npt.NDArray[np.int64]

    @property
    def valid(self) -> npt.NDArray[np.bool_]:
        return (np.abs(self.x) <= 1_800_000_000) & (np.abs(self.y) <= 900_000_000)


def is_osm_file(path: Path) -> bool:
    """Return whether a path names an OSM file by its suffix."""
    return path.name.lower().endswith(OSM_SUFFIXES)


def read_osm_ways(
    path: Path, *, include_tracks: bool, ferries: bool, mode: str = "drive"
) -> OsmWays:
    """Stream an OSM file and return the ways of `mode`'s network (cars by default), with
    node locations.

    pyosmium filters ways by key and keeps node locations in C++; only the ways that pass the
    drive filter reach Python, which keeps a county extract to seconds (measured: 21 M nodes,
    262,083 drive ways, 5.7 s).
    """
    way_ids: array[int] = array("q")
    starts: array[int] = array("q", [0])
    node_ids: array[int] = array("q")
    xs: array[int] = array("q")
    ys: array[int] = array("q")
    kinds: list[WayKind] = []
    kept_tags: list[dict[str, str]] = []
    kept = tuple(sorted(KEPT_TAGS if mode == "drive" else KEPT_TAGS | MODE_TAGS))
    try:
        processor = (
            osmium.FileProcessor(str(path))
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway", "route"))
        )
        # a national extract takes about a minute here: show the ways read on a terminal
        # (disable=None: quiet when stderr is not one, as in CI and under the web service)
        with tqdm(desc=f"reading {path.name}", unit=" ways", disable=None, leave=False) as bar:
            for count, way in enumerate(processor, start=1):
                assert isinstance(way, osmium.osm.Way)  # the entity filter passes only ways
                if count % _BAR_STEP == 0:
                    bar.update(_BAR_STEP)
                if not may_be_drivable(
                    way.tags.get("highway"),
                    way.tags.get("route"),
                    include_tracks=include_tracks,
                    mode=mode,
                ):
                    continue
                # looking up the kept keys beats iterating over the tags, for which pyosmium
                # makes a Python object per tag: 6.2 s against 8.7 s per 300,000 ways here
                get = way.tags.get
                tags = {key: value for key in kept if (value := get(key)) is not None}
                kind = classify_way(tags, include_tracks=include_tracks, ferries=ferries, mode=mode)
                if kind is None:
                    continue
                for node in way.nodes:
                    location = node.location
                    node_ids.append(node.ref)
                    xs.append(location.x)
                    ys.append(location.y)
                starts.append(len(node_ids))
                way_ids.append(way.id)
                kinds.append(kind)
                kept_tags.append(tags)
    except (RuntimeError, ValueError) as error:  # libosmium's parse and decompression errors
        msg = f"{path}: cannot read as OpenStreetMap data ({error})"
        raise InputError(msg) from error
    ways = OsmWays(
        way_id=np.frombuffer(way_ids, dtype=np.int64),
        kind=kinds,
        tags=kept_tags,
        start=np.frombuffer(starts, dtype=np.int64),
        node_id=np.frombuffer(node_ids, dtype=np.int64),
        x=np.frombuffer(xs, dtype=np.int64),
        y=np.frombuffer(ys, dtype=np.int64),
    )
    missing = int((~ways.valid).sum())
    if missing:
        logger.info(
            "%s: %d way nodes have no location in the file; ways are cut there", path, missing
        )
    return ways
