"""Content-Security-Policy of the pages siting writes: only the scripts a page ships may run.

Every page gets a ``<meta http-equiv="Content-Security-Policy">`` first in its ``<head>``.
Its inline scripts are allowed by their SHA-256 hashes, computed from the page as written,
never by ``'unsafe-inline'``: a script that escaping missed (or a later edit slipped in) is
refused by the browser. Styles keep ``'unsafe-inline'``: the legend's swatches are style
attributes, and a style cannot run code.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from siting._core.errors import InputError

# siting's pages hold scripts it wrote, whose text never contains "</script" (JSON in them
# escapes "<"), so the first closing tag ends each one as it does for the browser
_SCRIPT = re.compile(r"<script(?P<attributes>[^>]*)>(?P<body>.*?)</script\s*>", re.DOTALL)
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)
_NONE = "'none'"


@dataclass(frozen=True)
class PageSources:
    """Where a page may load scripts, styles, images and frames from, beyond itself.

    Each entry is a CSP source expression: ``"'self'"``, an origin such as
    ``"https://cdn.jsdelivr.net"`` or a wildcard host ``"https://*.tile.example.org"``.
    """

    scripts: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    frames: tuple[str, ...] = ()


def url_source(url: str) -> str:
    """The CSP source a link to `url` needs: its origin for http(s), ``'self'`` if relative.

    Examples
    --------
    >>> url_source("https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist")
    'https://cdn.jsdelivr.net'
    >>> url_source("assets/leaflet")
    "'self'"

    Raises
    ------
    InputError
        Another scheme (``javascript:``, ``data:``, ``file:``), a URL without a host, or one
        with quotes, angle brackets or spaces.
    """
    if re.search(r"[\s\"'<>`\\]", url):
        msg = f"URL must not contain quotes, angle brackets or spaces, got {url!r}"
        raise InputError(msg)
    parts = urlsplit(url)
    if not parts.scheme and not parts.netloc:
        return "'self'"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"URL must be http(s) or relative, got {url!r}"
        raise InputError(msg)
    return f"{parts.scheme}://{parts.netloc}"


def tile_source(template: str) -> str:
    """The CSP source of a tile URL template; a ``{s}`` subdomain becomes a wildcard.

    Examples
    --------
    >>> tile_source("https://{s}.tile.openstreetmap.fr/hot/{z}/{x}/{y}.png")
    'https://*.tile.openstreetmap.fr'
    """
    return url_source(template.replace("{s}.", "*.", 1))


def inline_script_hashes(page: str) -> list[str]:
    """``'sha256-...'`` of every inline ``<script>`` of `page`, in order, without repeats."""
    hashes: list[str] = []
    for found in _SCRIPT.finditer(page):
        if re.search(r"\bsrc\s*=", found.group("attributes")):
            continue
        # browsers hash the text after HTML's newline normalisation
        body = found.group("body").replace("\r\n", "\n").replace("\r", "\n")
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
        if f"'sha256-{digest}'" not in hashes:
            hashes.append(f"'sha256-{digest}'")
    return hashes


def content_security_policy(page: str, sources: PageSources) -> str:
    """The policy of `page`: its own inline scripts (by hash) and `sources`, nothing else."""

    def directive(name: str, values: Iterable[str]) -> str:
        return f"{name} {' '.join(dict.fromkeys(values)) or _NONE}"

    return "; ".join(
        [
            "default-src 'none'",
            directive("script-src", [*inline_script_hashes(page), *sources.scripts]),
            directive("style-src", ["'unsafe-inline'", *sources.styles]),
            directive("img-src", ["data:", *sources.images]),
            directive("frame-src", sources.frames),
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def add_content_security_policy(page: str, sources: PageSources = PageSources()) -> str:
    """`page` with its policy as the first element of ``<head>`` (before anything it covers).

    Raises
    ------
    InputError
        If `page` has no ``<head>``.
    """
    head = _HEAD.search(page)
    if head is None:
        raise InputError("page: no <head> to put the Content-Security-Policy in")
    policy = content_security_policy(page, sources)
    meta = f'\n<meta http-equiv="Content-Security-Policy" content="{policy}">'
    return page[: head.end()] + meta + page[head.end() :]
