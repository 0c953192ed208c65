"""`siting serve`, `siting worker` and `siting users add`: the web service's commands."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import threading
from pathlib import Path
from typing import Any

from siting._core.errors import InputError

EXIT_OK = 0


def add_service_commands(commands: Any) -> None:
    """Register the service's sub-commands."""
    serve = commands.add_parser("serve", help="start the web service (SQLite in --data-dir)")
    _storage_options(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument(
        "--workers", type=int, default=1, help="in-process workers for queued runs (default 1)"
    )
    serve.add_argument(
        "--demo", action="store_true", help="create a demo organisation, user and project"
    )
    serve.set_defaults(run=_run_serve)
    worker = commands.add_parser("worker", help="run queued runs of the web service")
    _storage_options(worker)
    worker.set_defaults(run=_run_worker)
    users = commands.add_parser("users", help="manage the web service's accounts")
    actions = users.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add", help="create a user (password from SITING_PASSWORD or standard input)"
    )
    _storage_options(add)
    add.add_argument("--org", required=True, help="organisation slug, e.g. region-dalarna")
    add.add_argument("--email", required=True, help="the user's e-mail address (login name)")
    add.set_defaults(run=_run_users_add)


def _storage_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, default=None,
        help="uploads, runs and the SQLite database (default $SITING_DATA_DIR or "
        "~/.local/share/siting)",
    )  # fmt: skip
    parser.add_argument(
        "--database-url", default=None,
        help="SQLAlchemy URL, e.g. postgresql+psycopg://user@127.0.0.1/siting (default SQLite "
        "in --data-dir)",
    )  # fmt: skip


def _settings(args: argparse.Namespace) -> Any:
    from siting.service.settings import ServiceSettings, default_data_dir

    return ServiceSettings(
        data_dir=args.data_dir or default_data_dir(), database_url=args.database_url
    )


def _run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from siting.service.app import create_app
    from siting.service.database import open_database
    from siting.service.demo import ensure_demo

    if not 0 < args.port < 65536:
        msg = f"--port must be 1..65535, got {args.port}"
        raise InputError(msg)
    settings = _settings(args)
    settings.prepare()
    database = open_database(settings.url)
    if args.demo:
        email, password = ensure_demo(database)
        print(f"demo login: {email} / {password}", file=sys.stderr)
    print(f"siting serves http://{args.host}:{args.port}/", file=sys.stderr)
    app = create_app(settings, database=database, workers=max(0, args.workers))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return EXIT_OK


def _run_worker(args: argparse.Namespace) -> int:
    from siting.service.database import open_database
    from siting.service.worker import Worker

    settings = _settings(args)
    settings.prepare()
    Worker(open_database(settings.url), settings).run_forever(threading.Event())
    return EXIT_OK


def _run_users_add(args: argparse.Namespace) -> int:
    from siting.service.accounts import add_user, check_new_user
    from siting.service.database import open_database

    password = os.environ.get("SITING_PASSWORD")
    if password is None:
        password = (
            getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline()
        ).rstrip("\n")
    check_new_user(args.org, args.email, password)  # before a database is made or touched
    settings = _settings(args)
    settings.prepare()
    database = open_database(settings.url)
    with database.session() as session:
        user = add_user(session, org_slug=args.org, email=args.email, password=password)
        print(f"added {user.email} to {args.org}")
    return EXIT_OK
