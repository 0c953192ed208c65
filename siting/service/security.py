"""Who is calling and whether the request may act: session cookies, API tokens, CSRF
tokens and the headers every response carries."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request, Response
from sqlalchemy.orm import Session

from siting.service.accounts import Caller, caller_of_session, caller_of_token

SESSION_COOKIE = "siting_session"
#: before login there is no session: the login form's CSRF token is a cookie it must echo
LOGIN_CSRF_COOKIE = "siting_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: pages of the service: its own scripts and styles only, tiles from OpenStreetMap
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: https://tile.openstreetmap.org; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: run folders' map pages carry their own policy (inline scripts by hash); this one only
#: adds what a meta tag cannot say
RUN_PAGE_CSP = "frame-ancestors 'none'; object-src 'none'; base-uri 'none'"


class LoginRequiredError(Exception):
    """A page needs a logged-in user: the handler redirects to the login page."""


def session_caller(request: Request, session: Session) -> Caller | None:
    """The caller behind the session cookie, if any."""
    token = request.cookies.get(SESSION_COOKIE)
    return caller_of_session(session, token) if token else None


def page_caller(request: Request, session: Session) -> Caller:
    """The logged-in user of a page, else `LoginRequiredError`."""
    caller = session_caller(request, session)
    if caller is None:
        raise LoginRequiredError
    return caller


def api_caller(request: Request, session: Session) -> Caller:
    """The caller of `/api/`: a bearer token, or a browser's session (401 otherwise)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        caller = caller_of_token(session, header[7:].strip())
    else:
        caller = session_caller(request, session)
    if caller is None:
        raise HTTPException(401, "log in or send 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    return caller


def check_csrf(caller: Caller, sent: str | None) -> None:
    """A browser's state-changing request must echo its session's CSRF token (403 otherwise);
    bearer-token callers carry no cookie a third-party page could ride on."""
    if caller.csrf_token is None:
        return
    if not sent or not hmac.compare_digest(sent, caller.csrf_token):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page")


def login_csrf(request: Request) -> str:
    """The login form's token: the cookie's, or a new one (set by `set_login_csrf`)."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)


def cookie_secure(request: Request, configured: bool | None) -> bool:
    """Secure cookies when configured so, else when the request came by https."""
    return configured if configured is not None else request.url.scheme == "https"


async def security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Every response: no sniffing, no framing, no referrer elsewhere, a CSP for pages."""
    response = await call_next(request)
    response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.cookies.get(SESSION_COOKIE) or request.url.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
