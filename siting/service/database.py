"""Open the service's database, bring its schema up to date (Alembic) and hand out sessions."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from siting._core.errors import InputError

logger = logging.getLogger(__name__)

#: SQLite waits this long for another writer (a worker, a second request) before "locked"
SQLITE_BUSY_MS = 15_000


class Database:
    """One engine and its session factory; `session()` is a unit of work."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed at the end of the block, rolled back on an error."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def open_database(url: str, *, migrate: bool = True) -> Database:
    """Connect to `url` and (by default) migrate its schema to the newest revision.

    Raises
    ------
    InputError
        A URL that SQLAlchemy cannot read or whose driver is not installed.
    """
    try:
        engine = create_engine(url, **_engine_options(url))
    except Exception as error:  # ArgumentError, NoSuchModuleError: both a bad --database-url
        msg = f"--database-url {_without_password(url)!r}: {error}"
        raise InputError(msg) from error
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    database = Database(engine)
    if migrate:
        upgrade(database)
    return database


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # threads of one process share the file: requests, the in-process worker
        return {"connect_args": {"check_same_thread": False, "timeout": SQLITE_BUSY_MS / 1000}}
    return {"pool_pre_ping": True}


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    # WAL: readers never wait for the writer; foreign keys are off in SQLite unless asked
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.close()


def upgrade(database: Database) -> None:
    """Apply every Alembic migration the database lacks (the schema is never made otherwise)."""
    from alembic import command
    from alembic.config import Config

    logging.getLogger("alembic").setLevel(logging.WARNING)  # a line per plugin otherwise
    config = Config()
    config.set_main_option("script_location", str(resources.files("siting.service") / "migrations"))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    logger.debug("database %s is at the newest schema", _without_password(str(database.engine.url)))


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: show it, there is no password to hide
        return url
