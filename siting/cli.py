"""The `siting` command: parse arguments, set up logging, map errors to exit codes."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from . import __version__
from .errors import InfeasibleError, InputError, SitingError

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="siting",
        description="Road travel times, location optimisation and maps for public service offices.",
    )
    parser.add_argument("--version", action="version", version=f"siting {__version__}")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="log every step")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="log only errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    del commands  # sub-commands are added as their capabilities land
    return parser


def _configure_logging(*, verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
    # third-party libraries are chatty at INFO; keep their warnings only
    for noisy in ("distributed", "numexpr", "pyogrio"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `siting` command and return its exit code (0 ok, 2 bad input, 1 internal)."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    _configure_logging(verbose=args.verbose, quiet=args.quiet)
    try:
        code: int = args.run(args)
    except (InputError, InfeasibleError) as error:
        print(f"siting: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SitingError as error:
        print(f"siting: error: {error}", file=sys.stderr)
        return EXIT_INTERNAL
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
