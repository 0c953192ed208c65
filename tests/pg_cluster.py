"""A throw-away PostgreSQL cluster on 127.0.0.1 for the service tests (Debian's server).

`SITING_TEST_POSTGRES_URL` (set by .ci/run, which starts Debian's cluster) is used as it is;
otherwise a cluster is made in a temporary folder with initdb and started with pg_ctl, as the
`postgres` user when run as root (PostgreSQL refuses root). None when no server is installed.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_owner(command: list[str]) -> list[str]:
    if os.geteuid() == 0 and shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextmanager
def postgres_url() -> Iterator[str | None]:
    """A database URL on a running cluster, or None where there is no server."""
    given = os.environ.get("SITING_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    binaries = _bin_dir()
    if binaries is None:
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="siting-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", _free_port()
    run = {"check": True, "capture_output": True}
    subprocess.run(_as_owner([str(binaries / "initdb"), "-D", str(data), "-U", "siting",
                              "--auth=trust", "-E", "UTF8"]), **run)  # type: ignore[call-overload]  # fmt: skip
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -k {folder} -c fsync=off"
    subprocess.run(_as_owner([str(binaries / "pg_ctl"), "-D", str(data), "-o", options,
                              "-w", "-l", str(folder / "log"), "start"]), **run)  # type: ignore[call-overload]  # fmt: skip
    try:
        subprocess.run(_as_owner([str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                                  "-U", "siting", "siting"]), **run)  # type: ignore[call-overload]  # fmt: skip
        yield f"postgresql+psycopg://siting@127.0.0.1:{port}/siting"
    finally:
        subprocess.run(_as_owner([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                  "-w", "stop"]), check=False, capture_output=True)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)
