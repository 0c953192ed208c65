"""The service's commands: `siting users add` (exit codes and one-line errors), `siting serve`
refusing bad options before starting."""

from __future__ import annotations

from pathlib import Path

import pytest

from siting.cli.main import EXIT_BAD_INPUT, EXIT_OK, main
from siting.service.accounts import check_password
from siting.service.database import open_database


def test_users_add_creates_an_account_that_logs_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The password comes from SITING_PASSWORD; the new user's password then checks out."""
    monkeypatch.setenv("SITING_PASSWORD", "ten chars and more")
    argv = ["users", "add", "--org", "region-dalarna", "--email", "Ann@Dalarna.example",
            "--data-dir", str(tmp_path)]  # fmt: skip
    assert main(argv) == EXIT_OK
    assert "added ann@dalarna.example to region-dalarna" in capsys.readouterr().out
    database = open_database(f"sqlite:///{tmp_path / 'siting.db'}")
    with database.session() as session:
        assert (
            check_password(session, "ann@dalarna.example", "ten chars and more", keys=())
            is not None
        )
    database.dispose()


@pytest.mark.parametrize(
    ("argv_tail", "password", "message"),
    [
        (["--org", "x", "--email", "not-an-address"], "ten chars and more", "not an e-mail"),
        (["--org", "Bad Org", "--email", "a@b.example"], "ten chars and more", "--org must be"),
        (["--org", "x", "--email", "a@b.example"], "short", "at least 10 characters"),
    ],
)
def test_users_add_refuses_bad_input_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    argv_tail: list[str], password: str, message: str,
) -> None:  # fmt: skip
    """A bad address, organisation or password: exit 2, one line naming it."""
    monkeypatch.setenv("SITING_PASSWORD", password)
    assert main(["users", "add", *argv_tail, "--data-dir", str(tmp_path)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # refused before anything was made


def test_users_add_refuses_a_taken_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same e-mail twice: the second is refused (exit 2), naming the address."""
    monkeypatch.setenv("SITING_PASSWORD", "ten chars and more")
    argv = ["users", "add", "--org", "x", "--email", "a@b.example", "--data-dir", str(tmp_path)]
    assert main(argv) == EXIT_OK
    assert main(argv) == EXIT_BAD_INPUT
    assert "a user 'a@b.example' exists already" in capsys.readouterr().err


def test_serve_refuses_a_bad_database_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A URL SQLAlchemy cannot read stops `siting serve` with one line, before it listens."""
    argv = ["serve", "--data-dir", str(tmp_path), "--database-url", "nosuchdb://x"]
    assert main(argv) == EXIT_BAD_INPUT
    assert "--database-url 'nosuchdb://x'" in capsys.readouterr().err
