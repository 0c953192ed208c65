"""Every page siting writes shows user text as text: no injected markup, only its own scripts.

A payload that closes an attribute, a title and opens a script and an image goes into every
field a user controls (scenario name, description and title, problem, site, locality and
municipality names, mobile stops, the model's name, comparison areas). Each page is then read
as a browser parses it (html.parser): no element or event handler comes from the payload, the
payload is there as text, and the page's Content-Security-Policy admits exactly the inline
scripts it holds. tests/test_browser.py opens the same pages in Chromium.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from payload_pages import PAYLOAD, TITLE_PAYLOAD, write_payload_pages

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every kind of page, written with the payload (tests/payload_pages.py)."""
    return write_payload_pages(tmp_path_factory.mktemp("payload"))


def test_every_kind_of_page_is_written(pages: dict[str, Path]) -> None:
    """Run maps (one per problem and today's), comparison and site pages, and a lone map."""
    names = set(pages)
    assert len([n for n in names if n.startswith("run/map")]) == 4  # 3 problems and today
    assert {"compare/index.html", "compare/compare.html"} <= names
    assert {"site/index.html", "site/compare.html", "map.html"} <= names
    assert len(names) >= 13


def _fragments(soup: BeautifulSoup) -> Iterator[str]:
    """Every string literal in the page's own scripts (HTML that Leaflet may show)."""
    for script in soup.find_all("script"):
        # Leaflet's own code (its licence comment comes first) holds no user text
        if script.get("src") or "* Leaflet " in (script.string or "")[:100]:
            continue
        for literal in _STRING.findall(script.string or ""):
            yield json.loads(literal)


def _assert_inert(soup: BeautifulSoup, where: str) -> None:
    """No element or handler the payload would make: image, script, ``on...`` attribute."""
    for element in soup.find_all(True):
        handlers = [name for name in element.attrs if name.lower().startswith("on")]
        assert not handlers, f"{where}: {element.name} has {handlers}"
        assert not (element.name == "img" and element.get("src") == "x"), where
    for script in soup.find_all("script"):
        text = script.string or ""
        assert not re.fullmatch(r"\s*alert\(\d\)\s*", text), f"{where}: injected script"
        assert "<script" not in text.lower(), where
        assert "<img" not in text.lower(), where


@pytest.mark.parametrize("shown_in", ["page", "scripts"])
def test_payload_is_text_and_never_markup(pages: dict[str, Path], shown_in: str) -> None:
    """In the page and in every HTML string its scripts hand Leaflet, the payload is text."""
    for name, path in pages.items():
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        texts = [soup.get_text()]
        if shown_in == "page":
            _assert_inert(soup, name)
        else:
            texts = []
            for fragment in _fragments(soup):
                if "<" not in fragment and "&" not in fragment:
                    continue  # no markup: nothing a browser would parse
                part = BeautifulSoup(fragment, "html.parser")
                _assert_inert(part, f"{name}: {fragment[:60]!r}")
                texts.append(part.get_text())
        if shown_in == "page" or not name.endswith(("index.html", "compare.html")):
            assert any(PAYLOAD in text or TITLE_PAYLOAD in text for text in texts), name


def test_map_titles_and_legend_show_the_payload(pages: dict[str, Path]) -> None:
    """The browser tab and the legend name the scenario as typed, payload and all."""
    soup = BeautifulSoup(pages["map.html"].read_text(encoding="utf-8"), "html.parser")
    assert soup.title is not None
    assert soup.title.get_text() == PAYLOAD
    legends = [f for f in _fragments(soup) if "<details" in f]
    assert len(legends) == 1
    assert BeautifulSoup(legends[0], "html.parser").h2.get_text() == PAYLOAD  # type: ignore[union-attr]
    run_map = next(p for n, p in pages.items() if n.startswith("run/map-"))
    title = BeautifulSoup(run_map.read_text(encoding="utf-8"), "html.parser").title
    assert title is not None
    assert title.get_text().startswith(PAYLOAD + TITLE_PAYLOAD + ": ")


def _policy(soup: BeautifulSoup) -> dict[str, list[str]]:
    head = soup.head
    assert head is not None
    first = head.find(True)
    assert first is not None
    assert first.name == "meta"
    assert first.get("http-equiv") == "Content-Security-Policy"
    directives = [part.split() for part in str(first["content"]).split(";")]
    return {words[0]: words[1:] for words in directives}


def test_policy_admits_exactly_the_scripts_the_page_holds(pages: dict[str, Path]) -> None:
    """First in <head>: no inline script but the page's own (by hash), nothing from elsewhere."""
    for name, path in pages.items():
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        policy = _policy(soup)
        assert policy["default-src"] == ["'none'"]
        assert "'unsafe-inline'" not in policy["script-src"], name
        assert "'unsafe-eval'" not in policy["script-src"], name
        inline = [s.string or "" for s in soup.find_all("script") if not s.get("src")]
        hashes = {
            "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
            for s in inline
        }
        assert set(policy["script-src"]) == hashes or (
            not hashes and policy["script-src"] == ["'none'"]
        ), name
        assert not soup.find_all("script", src=True), name  # Leaflet is in the page
        images = set(policy["img-src"]) - {"data:"}
        assert images <= {"https://tile.openstreetmap.org"}, name
        frames = ["'self'"] if name.endswith("compare.html") else ["'none'"]
        assert policy["frame-src"] == frames, name


def test_links_stay_on_the_site(pages: dict[str, Path]) -> None:
    """Links and frames named after scenarios are relative file names, quoted, no scheme."""
    for name, path in pages.items():
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        for element in soup.find_all(["a", "iframe"]):
            target = str(element.get("href") or element.get("src") or "")
            assert re.fullmatch(r"(https://[\w./-]+|[\w./-]+\.(html|csv|geojson)|#main)", target), (
                f"{name}: {target}"
            )


def test_equity_tables_name_plans_as_text(pages: dict[str, Path]) -> None:
    """The equity table of both comparison pages heads each row with the plan's name, as
    typed (payload included), never as markup."""
    for name in ("compare/compare.html", "site/compare.html"):
        soup = BeautifulSoup(pages[name].read_text(encoding="utf-8"), "html.parser")
        tables = [t for t in soup.find_all("table") if "Rättvisa" in t.caption.get_text()]
        assert len(tables) == 1, name
        heads = [row.th.get_text() for row in tables[0].tbody.find_all("tr")]
        assert any(PAYLOAD in head or TITLE_PAYLOAD in head for head in heads), name
        _assert_inert(tables[0], name)
