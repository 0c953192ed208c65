"""How one service instance runs: where its data lives, which database, what it accepts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from siting._core.errors import InputError

#: uploads larger than this are refused (the issue's default; `--max-upload-mb` changes it)
DEFAULT_MAX_UPLOAD_BYTES = 200 * 1024 * 1024
#: failed logins of one e-mail address (or from one client) within `LOGIN_WINDOW_S`
#: before further tries are refused with 429
LOGIN_ATTEMPTS = 5
LOGIN_WINDOW_S = 15 * 60
#: a login session lasts this long without a new login
SESSION_S = 12 * 3600


@dataclass(frozen=True)
class ServiceSettings:
    """One service's settings, read once by `siting serve` and `siting worker`.

    Attributes
    ----------
    data_dir
        Uploads, run folders and (by default) the SQLite database live here.
    database_url
        SQLAlchemy URL; None: ``sqlite:///<data_dir>/siting.db``. PostgreSQL as
        ``postgresql+psycopg://user@host/db``.
    max_upload_bytes
        Larger uploads are refused with 413.
    secure_cookies
        Mark session cookies Secure (behind https); None: only when the request came by https.
    """

    data_dir: Path
    database_url: str | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    secure_cookies: bool | None = None

    def __post_init__(self) -> None:
        if self.max_upload_bytes <= 0:
            msg = f"max_upload_bytes must be > 0, got {self.max_upload_bytes}"
            raise InputError(msg)

    @property
    def url(self) -> str:
        """The database URL in force."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir.resolve() / 'siting.db'}"

    @property
    def runs_dir(self) -> Path:
        """Run folders, one per job (the same contents as `siting run --out`)."""
        return self.data_dir / "runs"

    @property
    def uploads_dir(self) -> Path:
        """Uploaded files, stored by their sha256."""
        return self.data_dir / "uploads"

    def prepare(self) -> None:
        """Create the data folders (the database is migrated by `database.open_database`)."""
        for folder in (self.data_dir, self.runs_dir, self.uploads_dir):
            folder.mkdir(parents=True, exist_ok=True)


def default_data_dir() -> Path:
    """``$SITING_DATA_DIR``, else ``~/.local/share/siting``."""
    env = os.environ.get("SITING_DATA_DIR")
    return Path(env) if env else Path.home() / ".local" / "share" / "siting"
