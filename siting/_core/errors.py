"""Error and warning classes shared by every part of siting."""

from __future__ import annotations

import logging
import warnings


class SitingError(Exception):
    """Base class of every error siting raises on purpose."""


class InputError(SitingError, ValueError):
    """Bad input: a file, field or value that siting cannot use.

    The message names the file (where there is one), the field and the value, so that the
    command line can print it as one line and exit with code 2.
    """


class InfeasibleError(SitingError, RuntimeError):
    """A problem with no solution under its constraints; the message says which and by how much."""


class OutputError(SitingError):
    """The output cannot be written: the disk is full, or another run holds it (exit code 2).

    Nothing is lost: the earlier output stays as it was and the temporary one is removed.
    """


class DownloadError(SitingError):
    """A download failed: network, server error, truncated or corrupted data (exit code 1)."""


class SitingWarning(UserWarning):
    """Something the user should know that does not stop the run (dropped roads, far snaps)."""


def warn(logger: logging.Logger, message: str) -> None:
    """Tell the user something that does not stop the run: a `SitingWarning` and a log line.

    Library callers can catch or filter the warning; the command line shows the log line only.
    """
    logger.warning(message)
    # stacklevel 3: the warning points at the caller of the function that warns
    warnings.warn(message, SitingWarning, stacklevel=3)
