"""Organisations, users and how they prove who they are: argon2 passwords, login sessions
with CSRF tokens, API tokens, and the login rate limit."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from siting._core.errors import InputError
from siting.service.models import ApiToken, LoginAttempt, LoginSession, Organisation, User, utc_now
from siting.service.settings import LOGIN_ATTEMPTS, LOGIN_WINDOW_S, SESSION_S

_HASHER = PasswordHasher()
#: a password shorter than this is refused when a user is added
MIN_PASSWORD_CHARS = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
#: verified against when the e-mail is unknown, so a login takes as long either way
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


@dataclass(frozen=True)
class Caller:
    """Who is asking: the user and the organisation every query of theirs is limited to."""

    user_id: int
    org_id: int
    email: str
    csrf_token: str | None = None


def digest(token: str) -> str:
    """sha256 of a secret token: the table holds this, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _check_slug(slug: str) -> None:
    if not _SLUG.match(slug):
        msg = f"--org must be lower-case letters, digits and '-', got {slug!r}"
        raise InputError(msg)


def add_organisation(session: Session, slug: str, name: str | None = None) -> Organisation:
    """The organisation with `slug`, created if new."""
    _check_slug(slug)
    org = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None:
        org = Organisation(slug=slug, name=name or slug)
        session.add(org)
        session.flush()
    return org


def check_new_user(org_slug: str, email: str, password: str) -> str:
    """The e-mail address as stored (lower case), once slug, address and password are fit
    to use; an InputError naming the one that is not (checked before any database work)."""
    _check_slug(org_slug)
    email = email.strip().lower()
    if not _EMAIL.match(email):
        msg = f"--email: not an e-mail address: {email!r}"
        raise InputError(msg)
    if len(password) < MIN_PASSWORD_CHARS:
        msg = f"password: at least {MIN_PASSWORD_CHARS} characters, got {len(password)}"
        raise InputError(msg)
    return email


def add_user(session: Session, *, org_slug: str, email: str, password: str) -> User:
    """Create a user in the organisation `org_slug` (created if new).

    Raises
    ------
    InputError
        A malformed e-mail address, an e-mail already taken, or a short password.
    """
    email = check_new_user(org_slug, email, password)
    if session.scalar(select(User).where(User.email == email)) is not None:
        msg = f"--email: a user {email!r} exists already"
        raise InputError(msg)
    org = add_organisation(session, org_slug)
    user = User(org_id=org.id, email=email, password_hash=_HASHER.hash(password))
    session.add(user)
    session.flush()
    return user


def login_blocked(session: Session, keys: tuple[str, ...]) -> bool:
    """Whether any key (e-mail, client address) failed `LOGIN_ATTEMPTS` times lately."""
    since = utc_now() - dt.timedelta(seconds=LOGIN_WINDOW_S)
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < since))
    for key in keys:
        count = session.scalar(
            select(func.count()).select_from(LoginAttempt).where(LoginAttempt.key == key)
        )
        if (count or 0) >= LOGIN_ATTEMPTS:
            return True
    return False


def check_password(
    session: Session, email: str, password: str, *, keys: tuple[str, ...]
) -> User | None:
    """The user whose e-mail and password these are; a failure is counted under `keys`."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        user = None
    if user is None:
        session.add_all(LoginAttempt(key=key) for key in keys)
        return None
    return user


def start_session(session: Session, user: User) -> str:
    """A new login session for `user`; returns the cookie's token (a fresh one at every login,
    so a token planted before login is worth nothing after it)."""
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            token_hash=digest(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=utc_now() + dt.timedelta(seconds=SESSION_S),
        )
    )
    return token


def end_session(session: Session, token: str) -> None:
    """Log out: the token stops working at once."""
    session.execute(delete(LoginSession).where(LoginSession.token_hash == digest(token)))


def caller_of_session(session: Session, token: str) -> Caller | None:
    """Who holds this session cookie, or None when it is unknown or expired."""
    row = session.execute(
        select(LoginSession, User)
        .join(User, User.id == LoginSession.user_id)
        .where(LoginSession.token_hash == digest(token))
    ).first()
    if row is None:
        return None
    login, user = row
    if login.expires_at <= utc_now():
        session.delete(login)
        return None
    return Caller(user.id, user.org_id, user.email, login.csrf_token)


def add_api_token(session: Session, user: User, name: str) -> str:
    """A new API token for `user`; the token itself is returned once and never stored."""
    token = "st_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=digest(token), name=name))
    return token


def caller_of_token(session: Session, token: str) -> Caller | None:
    """Who holds this API token, or None."""
    user = session.scalar(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == digest(token))
    )
    return None if user is None else Caller(user.id, user.org_id, user.email)
