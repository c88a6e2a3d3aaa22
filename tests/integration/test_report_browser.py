"""Each report opened in headless Chromium (Debian's chromium and chromium-driver): every image
loads, nothing is fetched from outside the file, and a screenshot is saved beside it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flowlake.storage import local_path

pytestmark = pytest.mark.integration
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"

BROKEN_IMAGES = "return [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt)"
FETCHED = "return performance.getEntriesByType('resource').map(e => e.name)"


@pytest.fixture(scope="module")
def browser():
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("Chromium is missing: install Debian's chromium and chromium-driver (.ci/run does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # This machine's network is closed: background fetches would only fail, slowly.
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1200,2400"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    yield driver
    driver.quit()


@pytest.mark.parametrize("name", ["trend", "overseas", "crypto"])
def test_report_renders_in_chromium_with_every_image_and_nothing_external(reports, browser, name):
    config, results = reports
    folder = local_path(f"{config.reports_uri}/{name}/{results[name]['report'].window.label}")
    browser.get((folder / "report.html").as_uri())
    assert browser.title == results[name]["report"].title
    assert browser.execute_script(BROKEN_IMAGES) == []
    assert browser.execute_script("return document.images.length") == \
        sum(1 for s in results[name]["report"].sections if s.chart)
    assert [url for url in browser.execute_script(FETCHED) if not url.startswith(("data:", "file:"))] == []
    screenshot = Path(folder) / "screenshot.png"
    assert browser.save_screenshot(str(screenshot))
    # A blank page compresses to a few kilobytes; charts and tables do not.
    assert screenshot.stat().st_size > 30_000
