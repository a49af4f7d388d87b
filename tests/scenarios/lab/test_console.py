"""Tests for scenarios.lab.console: the console's files over HTTP, then the console in a real headless browser.

The browser tests open the console served by ``smslab up`` (a subprocess, ended by its PID) in Debian's
``chromium`` through its ``chromium-driver`` (Selenium), and skip, saying why, where either is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scenarios.lab.client import LabClient
from scenarios.lab.console import STATIC_FILES
from scenarios.lab.openapi import document
from scenarios.plugin import LabThread

ROOT = Path(__file__).parents[3]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
HOSTILE = "<script>window.__smslab_pwned = 1</script><img src=x onerror=\"window.__smslab_pwned = 2\"><b>bold</b>"


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), exc.read()


@pytest.fixture(scope="module")
def lab_url() -> Iterator[str]:
    """The embedded default lab in a background thread, for the HTTP tests of this module."""
    runner = LabThread()
    runner.start()
    try:
        yield runner.url
    finally:
        runner.stop()


def test_page_and_files_are_served_by_the_lab_with_no_other_host(lab_url: str) -> None:
    """GET / is the page, its script and style come from the lab itself, and the policy forbids other hosts."""
    status, headers, body = _get(lab_url + "/")
    assert (200, "text/html; charset=utf-8") == (status, headers["Content-Type"])
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    page = body.decode()
    assert '<script src="/_smslab/console/console.js" defer></script>' in page
    assert "http://" not in page
    assert "https://" not in page
    for name, kind in STATIC_FILES.items():
        status, headers, body = _get(f"{lab_url}/_smslab/console/{name}")
        assert (200, f"{kind}; charset=utf-8") == (status, headers["Content-Type"])
        assert b"http://" not in body
        assert b"https://" not in body


def test_console_script_never_writes_html() -> None:
    """The script puts text on the page as text: no innerHTML, outerHTML, insertAdjacentHTML or document.write."""
    script = (ROOT / "scenarios/lab/static/console.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script


def test_an_unknown_console_file_is_a_404_naming_the_files(lab_url: str) -> None:
    """GET /_smslab/console/nope.js is the control API's 404 naming the files there are."""
    status, _, body = _get(lab_url + "/_smslab/console/nope.js")
    assert 404 == status
    assert {"error": "no console file 'nope.js'; the files are console.js, console.css"} == json.loads(body)


def test_openapi_lists_exactly_the_console_files() -> None:
    """The document's enum of console files is the set the lab serves."""
    param = document()["paths"]["/_smslab/console/{file}"]["get"]["parameters"][0]
    assert list(STATIC_FILES) == param["schema"]["enum"]


# -- in a real browser ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def up() -> Iterator[str]:
    """``smslab up --json`` as a subprocess; its control URL (the process ends by its PID afterwards)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "scenarios.cli.up", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())["url"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian chromium driven by its chromium-driver; skipped, with the reason, without them."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the test extra)")
    if CHROMIUM is None or DRIVER is None:
        pytest.skip("Debian's chromium and chromium-driver are not installed (apt-get install chromium "
                    "chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    from selenium.webdriver.chrome.service import Service

    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver: Any, condition: Any, timeout: float = 15.0) -> Any:
    """Wait for ``condition``; an element the page re-drew meanwhile is looked up again."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(condition)


def _text(driver: Any, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.ID, element_id)
    return found[0].text if found else ""


def _click(driver: Any, element_id: str) -> None:
    """Click the element with this id (the live page may re-draw it between finding and clicking)."""
    from selenium.webdriver.common.by import By

    def clicked(d: Any) -> bool:
        d.find_element(By.ID, element_id).click()
        return True

    _wait(driver, clicked)


def test_an_mo_injected_through_the_form_appears_as_text_with_its_wire(up: str, browser: Any,
                                                                        tmp_path: Path) -> None:
    """An MO whose text is markup, injected with the form, shows as that text (no script ran), and a click on
    it shows the exact push the fake made."""
    from selenium.webdriver.common.by import By

    browser.get(up + "/")
    _wait(browser, lambda d: _text(d, "stream") == "live" and _text(d, "role-primary") == "active")
    form = browser.find_element(By.ID, "mo-form")
    text = form.find_element(By.NAME, "text")
    text.send_keys(HOSTILE)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    _wait(browser, lambda d: any(c.text == HOSTILE for c in d.find_elements(By.CSS_SELECTOR, "#message-list td.text")))
    assert browser.execute_script("return window.__smslab_pwned") is None
    assert not browser.find_elements(By.CSS_SELECTOR, "#message-list b, #message-list img, #message-list script")
    _wait(browser, lambda d: next(c for c in d.find_elements(By.CSS_SELECTOR, "#message-list td.text")
                                  if c.text == HOSTILE).click() or True)
    detail = _wait(browser, lambda d: "/kaleyra/mo\nContent-Type: application/x-www-form-urlencoded\n"
                   in _text(d, "detail-text") and _text(d, "detail-text"))
    assert detail.startswith("MO ")
    assert "\nPOST http://127.0.0.1:" in detail
    assert "message=%3Cscript%3Ewindow.__smslab_pwned" in detail  # the body exactly as it went on the wire
    assert "attempt 1 at" in detail
    assert "200 delivered" in detail
    browser.save_screenshot(str(tmp_path / "console-mo.png"))
    assert (tmp_path / "console-mo.png").stat().st_size > 0


def test_the_fail_button_flips_the_roles(up: str, browser: Any, tmp_path: Path) -> None:
    """Failing the primary with the console's button makes the backup active on the page, from the stream."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(up + "/")
    _wait(browser, lambda d: _text(d, "stream") == "live" and _text(d, "role-primary") == "active")
    Select(browser.find_element(By.ID, "fail-mode")).select_by_visible_text("kill")
    _click(browser, "fail-primary")
    _wait(browser, lambda d: _text(d, "role-backup") == "active" and _text(d, "role-primary") == "down")
    assert "promote" in _text(browser, "timeline")
    browser.save_screenshot(str(tmp_path / "console-switchover.png"))
    assert (tmp_path / "console-switchover.png").stat().st_size > 0
    LabClient(up).reset()
