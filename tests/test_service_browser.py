"""The service end to end in headless Chromium: `siting serve --demo` on 127.0.0.1, log in,
close an office and see the figures change, queue a run and see it finish, publish the plan
and open its public page logged out."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from service_fixtures import new_postgres_database, postgres_server

from siting.service.demo import DEMO_EMAIL, DEMO_PASSWORD

__all__ = ["postgres_server"]  # a fixture used by name

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
_MISSING = [n for n, f in (("chromium", CHROMIUM), ("chromium-driver", CHROMEDRIVER)) if not f]
if _MISSING and os.environ.get("CI"):
    raise RuntimeError(f"CI must install {', '.join(_MISSING)} for the browser tests (.ci/run)")
pytestmark = [
    pytest.mark.skipif(bool(_MISSING), reason=f"needs {', '.join(_MISSING)}"),
    pytest.mark.slow,  # starts the service and Chromium
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server: str | None,
) -> Iterator[str]:
    """`siting serve --demo` on a free loopback port, as a user starts it: on its default
    SQLite, and on a PostgreSQL database."""
    data = tmp_path_factory.mktemp("service")
    port = _free_port()
    command = [sys.executable, "-m", "siting", "serve", "--demo", "--data-dir", str(data),
               "--port", str(port)]  # fmt: skip
    if request.param == "postgresql":
        if postgres_server is None:
            pytest.skip("no PostgreSQL server installed (apt-get install postgresql)")
        command += ["--database-url", new_postgres_database(postgres_server)]
    log = (data / "serve.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):  # bounded: 60 s at most
            try:
                urllib.request.urlopen(url + "/login", timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError(Path(log.name).read_text())
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    """Headless Chromium; no host name resolves, so only the loopback service answers."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1300,900",
                     "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _plan_cell(driver: webdriver.Chrome, key: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, f'#figures td[data-key="{key}"]').text)


def test_a_planner_edits_runs_and_publishes(server: str, browser: webdriver.Chrome) -> None:
    """Log in, close an office (the figures change), queue an MCLP run and
    see it done, save and publish the plan, open the public page logged out."""
    wait = WebDriverWait(browser, 90)  # generous: a loaded, shared 2-core machine
    browser.get(server + "/")
    browser.find_element(By.ID, "email").send_keys(DEMO_EMAIL)
    browser.find_element(By.ID, "password").send_keys(DEMO_PASSWORD)
    browser.find_element(By.ID, "login").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "ul.projects a"))).click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#figures td[data-key]")))
    before = _plan_cell(browser, "mean_minutes")
    stamp = browser.find_element(By.ID, "figures").get_attribute("data-updated")
    browser.find_element(By.ID, "by-office").click()  # catchments instead of minutes
    _click_an_office(browser)
    wait.until(lambda d: d.find_element(By.ID, "figures").get_attribute("data-updated") != stamp)
    assert _plan_cell(browser, "mean_minutes") != before
    assert "förlorar" in browser.find_element(By.ID, "change").text

    browser.find_element(By.CSS_SELECTOR, "#run select[name=kind]").send_keys("mclp")
    browser.find_element(By.CSS_SELECTOR, "#run button").click()
    WebDriverWait(browser, 90).until(
        lambda d: "done" in d.find_element(By.CSS_SELECTOR, "#runs li .status").text
    )

    name = browser.find_element(By.CSS_SELECTOR, "#save-plan input[name=name]")
    name.send_keys("Utan ett kontor <b>")
    browser.find_element(By.CSS_SELECTOR, "#save-plan button").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#plans .publish"))).click()
    link = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#plans a.public")))
    public = str(link.get_attribute("href"))
    browser.delete_all_cookies()
    browser.get(public)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#figures td[data-key]")))
    assert "Utan ett kontor <b>" in browser.find_element(By.TAG_NAME, "h1").text
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"
              and "tile.openstreetmap.org" not in e["message"]
              and "favicon.ico" not in e["message"]]  # fmt: skip
    assert errors == []


def _click_an_office(browser: webdriver.Chrome) -> None:
    """Click today's first office on the map as a user does (its marker is an SVG path)."""
    for marker in browser.find_elements(By.CSS_SELECTOR, "path.leaflet-interactive"):
        if marker.get_attribute("fill") == "#1d3557":
            marker.click()
            return
    raise AssertionError("no office of today on the map")
