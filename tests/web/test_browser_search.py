"""The console's search pages in a real browser: an operator starts a search of an archive, follows its progress
and sees the sighting of Lin-Manuel Miranda with a link to its alert."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.conftest import HAMILTON, require_data
from tests.web.test_browser import ARTIFACTS, browser, console_site, log_in

pytestmark = pytest.mark.slow
__all__ = ["browser"]  # the fixture, used by name


def test_an_operator_starts_a_search_and_sees_its_sighting(browser: Browser, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    (archive / "hall-cam").mkdir(parents=True)
    shutil.copy(require_data(HAMILTON / "short_hamilton_clip.mp4"), archive / "hall-cam" / "20261120T100000Z.mp4")
    with console_site(tmp_path) as (base, site):
        lin = site.enrol("Lin-Manuel Miranda", HAMILTON / "lin-manuel-miranda.png")
        site.authorise([lin], ["hall-cam"])
        page = log_in(browser, base, "op-a")
        page.get_by_role("link", name="Searches").click()
        page.wait_for_url("**/searches")
        page.get_by_label("Archive folder on the server (ARCHIVE/CAMERA/FILE)").fill(str(archive))
        page.get_by_label("Case").fill("CASE-CONSOLE-7")
        page.get_by_role("button", name="Start").click()
        page.wait_for_url("**/searches/*")
        assert "CASE-CONSOLE-7" in page.locator("h1").inner_text()
        page.locator("#status", has_text="completed").wait_for(timeout=300_000)
        row = page.locator("#sightings tbody tr").first
        assert "Lin-Manuel Miranda" in row.inner_text() and "hall-cam" in row.inner_text()
        page.screenshot(path=ARTIFACTS / "10-search-sighting.png", full_page=True)
        row.get_by_role("link").first.click()
        page.wait_for_selector("#confirm")
        page.goto("/searches")
        assert "completed" in page.locator("#searches tbody tr").first.inner_text()
        page.screenshot(path=ARTIFACTS / "11-searches.png", full_page=True)
