"""The operator console in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, driven by selenium) against the app served over HTTP, on PostgreSQL.
It signs in, follows the live tail while a metric is blocked, filters, reads the event log's
chart, and runs a rebuild as an operator; then the same page on a phone-sized screen.

``EVENTRY_CONSOLE_SCREENSHOTS=docs/console pytest tests/integration/test_console_browser.py``
saves the screenshots docs/console.md shows."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait
from werkzeug.serving import BaseWSGIServer, make_server

from api.app import create_app
from api.console import audit as console_audit
from infra.bootstrap import Services, bootstrap, migrate
from infra.config import Settings
from tests.conftest import make_tenant
from tests.integration.test_console import MRI, block, operator_token

SHOTS = os.environ.get("EVENTRY_CONSOLE_SCREENSHOTS")
TAIL_SECONDS = 2.0
# Elements wider than the screen, outside the wrappers that let wide tables scroll.
OVERFLOWING = """return [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > innerWidth + 1 && !e.closest('.table-wrap'))
  .map(e => e.tagName + '#' + e.id)"""


@pytest.fixture
def live(pg_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Flask, Services]]:
    """The app on a real HTTP server (threads: a live tail holds its connection open). Tails
    last 2 s here, so the browser reconnects (with Last-Event-ID) during the test, and none
    outlives it."""
    monkeypatch.setattr(console_audit, "TAIL_SECONDS", TAIL_SECONDS)
    migrate(pg_settings)
    svc = bootstrap(pg_settings, create_tables=False)
    svc.start_worker()
    app = create_app(svc)
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app, svc
    server.shutdown()
    time.sleep(TAIL_SECONDS + console_audit.TAIL_POLL_SECONDS)  # the last tail ends
    svc.close()


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:  # never a skip: .ci/run installs both
        pytest.fail("the browser tests need Debian's chromium and chromium-driver (apt-get install)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(flag)
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    yield chrome
    chrome.quit()


def wait(browser: WebDriver, seconds: float = 20) -> WebDriverWait[WebDriver]:
    return WebDriverWait(browser, seconds)


def shot(browser: WebDriver, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(SHOTS) / f"{name}.png"))


def sign_in(browser: WebDriver, base: str, token: str) -> None:
    browser.get(f"{base}/console/")
    shot(browser, "signin")
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.CSS_SELECTOR, "form.signin button").click()
    wait(browser).until(ec.url_contains("/audit/"))


def test_sign_in_follow_filter_and_rebuild(live: tuple[str, Flask, Services], browser: WebDriver) -> None:
    base, app, svc = live
    t = make_tenant(svc)
    api = app.test_client()
    sign_in(browser, base, t.token)
    rows = browser.find_element(By.ID, "audit-rows")
    wait(browser).until(lambda _: rows.get_attribute("data-live") == "open")
    browser.execute_script("window.stillTheSamePage = true")
    wait(browser).until(lambda _: rows.get_attribute("data-live") == "reconnecting")  # the server ended it
    wait(browser).until(lambda _: rows.get_attribute("data-live") == "open")  # and the browser came back
    block(api, t)  # written after the page loaded: the tail brings it
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "audit-rows"), MRI))
    assert browser.execute_script("return window.stillTheSamePage") is True  # no reload
    assert rows.find_elements(By.TAG_NAME, "tr")[0].text.count("metric.block") == 1  # newest first
    shot(browser, "audit")

    Select(browser.find_element(By.ID, "event")).select_by_value("project.create")
    browser.find_element(By.CSS_SELECTOR, "form.filters button").click()
    wait(browser).until(ec.url_contains("event=project.create"))  # htmx pushed the filtered URL
    wait(browser).until(lambda b: MRI not in b.find_element(By.ID, "audit-rows").text)
    filtered = browser.find_elements(By.CSS_SELECTOR, "#audit-rows tr")
    assert len(filtered) == 1 and "project.create" in filtered[0].text

    browser.find_element(By.LINK_TEXT, "Event log").click()
    wait(browser).until(lambda b: b.find_element(By.ID, "events-chart").get_attribute("data-drawn") == "yes")
    shot(browser, "log")
    browser.find_element(By.LINK_TEXT, "project as of here").click()
    Select(browser.find_element(By.ID, "from")).select_by_index(2)
    browser.find_element(By.CSS_SELECTOR, "form.filters button").click()
    assert MRI in wait(browser).until(ec.presence_of_element_located((By.ID, "diff"))).text
    shot(browser, "project")

    browser.set_window_size(390, 844)  # a phone: the page fits its width (wide tables scroll)
    browser.get(f"{base}/console/{t.org_slug}/audit/")
    assert MRI in browser.find_element(By.ID, "audit-rows").text
    assert browser.execute_script(OVERFLOWING) == []
    assert browser.execute_script("return document.documentElement.scrollWidth <= innerWidth + 1")
    shot(browser, "phone")
    browser.set_window_size(1280, 900)

    browser.find_element(By.CSS_SELECTOR, "form.signout button").click()
    sign_in(browser, base, operator_token(svc, t))
    browser.find_element(By.LINK_TEXT, "Projections").click()
    for name in svc.engine.projections:
        assert browser.find_element(By.ID, f"view-{name}")
    browser.find_element(By.CSS_SELECTOR, "button[aria-label='Rebuild audit_log']").click()
    progress = (By.ID, "progress-audit_log")
    wait(browser, 60).until(ec.text_to_be_present_in_element(progress, "generation 2 is live"))
    shot(browser, "projections")
