"""The `siting fetch` command: download OSM extracts, a place's roads, SCB population grids
and GTFS timetables."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

EXIT_CODES = (
    "exit codes: 0 done (prints the file's path); 2 bad input (unknown region or layer, bad "
    "option, HTTP 400/404); 1 download failed (no network, server error, truncated or "
    "corrupted data: run the command again, an extract resumes where it stopped). "
    "Downloads are cached in $SITING_CACHE_DIR, else ~/.cache/siting."
)


def add_fetch_command(commands: Any) -> None:
    """Add `fetch` with its `osm`, `place`, `grid` and `gtfs` sub-commands to the parser."""
    fetch = commands.add_parser(
        "fetch",
        help="download real data: OSM extracts (Geofabrik), a place's roads, SCB grids",
        description="Download real data into the cache and print where it is.",
        epilog=EXIT_CODES,
    )
    kinds = fetch.add_subparsers(dest="fetch_kind", metavar="KIND", required=True)
    _add_osm(kinds)
    _add_place(kinds)
    _add_grid(kinds)
    _add_gtfs(kinds)


def _kind_parser(kinds: Any, name: str, *, help: str, description: str) -> Any:
    return kinds.add_parser(name, help=help, description=description, epilog=EXIT_CODES)


def _add_osm(kinds: Any) -> None:
    from siting.download.geofabrik import GEOFABRIK_REGIONS, GEOFABRIK_URL

    osm = _kind_parser(
        kinds,
        "osm",
        help="an OpenStreetMap extract from Geofabrik (.osm.pbf), verified against its MD5",
        description=(
            "Download a Geofabrik extract, resuming an interrupted download, and verify it "
            "against the .md5 file published beside it. A verified extract in the cache is "
            "reused without going online unless --refresh is given."
        ),
    )
    osm.add_argument(
        "region",
        help=f"{', '.join(sorted(GEOFABRIK_REGIONS))} (or sverige, norge, ...), or a full URL",
    )
    osm.add_argument(
        "--refresh", action="store_true", help="download again if a newer extract was published"
    )
    osm.add_argument("--no-verify", action="store_true", help="skip the MD5 check")
    osm.add_argument("--server", default=GEOFABRIK_URL, help=f"mirror (default {GEOFABRIK_URL})")
    osm.set_defaults(run=_run_osm)


def _run_osm(args: argparse.Namespace) -> int:
    from siting.download.osm import fetch_osm_extract

    path = fetch_osm_extract(
        args.region, refresh=args.refresh, verify=not args.no_verify, base_url=args.server
    )
    print(path)
    return 0


def _add_place(kinds: Any) -> None:
    place = _kind_parser(
        kinds,
        "place",
        help="the roads, paths and car ferries of a place or municipality, from Overpass (.osm)",
        description=(
            "Geocode a place with Nominatim and download every highway (roads, footways, "
            "cycleways, paths) and car ferry from Overpass as OSM XML. `siting network PLACE "
            "[--mode drive|walk|bike]` and scenarios naming the place then use this download: "
            "each mode's filter is applied when the file is read."
        ),
    )
    place.add_argument("place", help='a place name, such as "Sollefteå kommun"')
    place.add_argument("--out", type=Path, help="also write the .osm file here")
    place.set_defaults(run=_run_place)


def _run_place(args: argparse.Namespace) -> int:
    from siting._core.outfolders import check_file_path
    from siting.download.osm import fetch_place

    if args.out is not None:  # before the download: a bad --out fails at once
        check_file_path(args.out, "--out")
    print(fetch_place(args.place, out=args.out))
    return 0


def _add_grid(kinds: Any) -> None:
    grid = _kind_parser(
        kinds,
        "grid",
        help="SCB's population grid of a region from SCB's open WFS (.gpkg or .csv)",
        description=(
            "Download SCB's population grid (Statistik på rutor, layer "
            "stat:befolkning_<size>_<year>) for a municipality, county or FA region, and "
            "write it in a form `siting.load_population` and `siting od` read directly."
        ),
    )
    # names only: importing siting.download.scb (geopandas) would slow down every `siting --help`
    grid.add_argument(
        "--size", default="1km", help="cell size: 1km (default), or 250m where SCB offers it"
    )
    grid.add_argument("--year", help="reference year (default: the newest SCB offers)")
    grid.add_argument("--region", help='municipality, county or FA region, e.g. "Dalarnas län"')
    grid.add_argument("--out", type=Path, help="write a .gpkg or .csv here (else: the cache)")
    grid.add_argument("--refresh", action="store_true", help="download again even if cached")
    grid.add_argument("--page-size", default="10000", help="cells per request (10000)")
    grid.add_argument("--server", help="WFS URL (default: SCB's, geodata.scb.se)")
    grid.set_defaults(run=_run_grid)


def _run_grid(args: argparse.Namespace) -> int:
    from siting._core.outfolders import check_file_path
    from siting.download.scb import SCB_WFS_URL
    from siting.inputs.scb_grid import fetch_population_grid

    if args.out is not None:
        check_file_path(args.out, "--out")
    path = fetch_population_grid(
        size=args.size,
        year=None if args.year is None else _integer("--year", args.year),
        region=args.region,
        out=args.out,
        refresh=args.refresh,
        page_size=_integer("--page-size", args.page_size),
        base_url=args.server or SCB_WFS_URL,
    )
    print(path)
    return 0


def _integer(option: str, text: str) -> int:
    from siting._core.errors import InputError

    try:
        return int(text)
    except ValueError:
        msg = f"{option} must be an integer, got {text!r}"
        raise InputError(msg) from None


def _add_gtfs(kinds: Any) -> None:
    from siting.download.gtfs import API_KEY_VARIABLE, OPERATORS, TRAFIKLAB_GTFS_URL

    gtfs = _kind_parser(
        kinds,
        "gtfs",
        help="a region's public transport timetable (GTFS zip) from Trafiklab's GTFS Regional",
        description=(
            f"Download an operator's GTFS feed (API key from ${API_KEY_VARIABLE}, free at "
            "trafiklab.se) and check that it is a GTFS zip. A feed in the cache is reused "
            "unless --refresh is given. Scenarios name it as [travel] gtfs."
        ),
    )
    gtfs.add_argument("--operator", required=True, help=f"one of {', '.join(OPERATORS)}")
    gtfs.add_argument("--refresh", action="store_true", help="download again")
    gtfs.add_argument(
        "--any-operator", action="store_true", help="allow an operator not in the list"
    )
    gtfs.add_argument("--out", type=Path, help="also copy the feed here")
    gtfs.add_argument(
        "--server", default=TRAFIKLAB_GTFS_URL, help=f"mirror (default {TRAFIKLAB_GTFS_URL})"
    )
    gtfs.set_defaults(run=_run_gtfs)


def _run_gtfs(args: argparse.Namespace) -> int:
    import shutil

    from siting._core.atomic import atomic_path
    from siting._core.outfolders import check_file_path
    from siting.download.gtfs import fetch_gtfs

    if args.out is not None:
        check_file_path(args.out, "--out")
    path = fetch_gtfs(
        args.operator, refresh=args.refresh, base_url=args.server, strict=not args.any_operator
    )
    if args.out is not None:
        with atomic_path(args.out) as temporary:
            shutil.copyfile(path, temporary)
        path = args.out
    print(path)
    return 0
