"""The review console in a real browser (Debian's Chromium driven by Playwright): an alert raised by a real
run on the Hamilton clip is confirmed by operator A, then by operator B, and shows as confirmed; an administrator
disables a leaver, whose open session ends at once; an approver records an impact assessment."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.cli.helpers import PASSWORD
from tests.conftest import HAMILTON
from tests.support.backends import chromium
from tests.web.conftest import make_settings
from tests.web.live import live_server
from tests.web.site import Site, init_users

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def console_site(tmp_path: Path) -> Iterator[tuple[str, Site]]:
    """A live server on a new deployment with every test user logged in through the API: (base URL, site)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    settings = make_settings(tmp_path / "home", None)
    init_users(settings)
    with live_server(settings) as base, httpx.Client(base_url=base, timeout=30) as client:
        site = Site(settings, client)
        site.login_all()
        yield base, site


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium()), args=ARGS)
        try:
            yield b
        finally:
            b.close()


def log_in(browser: Browser, base: str, user: str, lands_on: str = "/alerts") -> Page:
    # Playwright evaluates wait_for_function expressions with eval, which the console's CSP rightly forbids;
    # the headers themselves are tested in tests/security/test_web_hardening.py.
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=base, bypass_csp=True)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**" + lands_on)
    return page


def test_two_operators_confirm_an_alert_from_a_real_run(browser: Browser, tmp_path: Path) -> None:
    with console_site(tmp_path) as (base, site):
        a = log_in(browser, base, "op-a")
        a.screenshot(path=ARTIFACTS / "1-queue-empty.png")
        a.wait_for_function("document.getElementById('live').textContent.includes('connected')")
        site.watch_hamilton(camera="stage")

        # The alert arrives in the open queue over the live feed, without a reload.
        row = a.locator("#alert-queue tbody tr[data-alert]").first
        row.wait_for(timeout=30_000)
        assert "Lin-Manuel Miranda" in row.inner_text()
        a.screenshot(path=ARTIFACTS / "2-queue-live-alert.png")
        row.get_by_role("link", name="Review").click()
        a.wait_for_selector("#confirm")
        assert a.locator(".evidence img").evaluate("img => img.complete && img.naturalWidth > 0")
        assert a.locator(".reference img").count() >= 1
        assert "candidate match" in a.locator(".reminder").inner_text()
        assert "2020-05-01" in a.locator(".reference figcaption").first.inner_text()
        a.screenshot(path=ARTIFACTS / "3-alert-op-a.png")
        alert_url = a.url
        a.keyboard.press("c")
        a.wait_for_selector("text=You have reviewed this alert")
        assert a.locator("#alert-status").inner_text() == "pending"
        # A second confirmation by the same operator is refused by the service, and the page says why.
        a.locator("#confirm").click()
        a.wait_for_function("document.getElementById('action-error').textContent.length > 0")
        assert "different operator" in a.locator("#action-error").inner_text()
        a.screenshot(path=ARTIFACTS / "4-op-a-second-confirm-refused.png")

        b = log_in(browser, base, "op-b")
        b.goto(alert_url)
        b.get_by_role("button", name="Confirm match").click()
        b.wait_for_selector("#outcome-true")
        assert b.locator("#alert-status").inner_text() == "confirmed"
        b.screenshot(path=ARTIFACTS / "5-alert-confirmed-op-b.png", full_page=True)
        b.goto("/alerts")
        assert "confirmed" in b.locator("#alert-queue tbody tr").first.inner_text()
        b.screenshot(path=ARTIFACTS / "6-queue-confirmed.png")


def test_admin_disables_a_leaver_whose_session_ends_at_once(browser: Browser, tmp_path: Path) -> None:
    with console_site(tmp_path) as (base, site):
        leaver = log_in(browser, base, "op-b")

        admin = log_in(browser, base, "admin", lands_on="/cameras")
        admin.on("dialog", lambda dialog: dialog.accept())  # "Disable op-b? ..."
        admin.get_by_role("link", name="Users").click()
        admin.wait_for_url("**/users")
        row = admin.locator('tr[data-user="op-b"]')
        assert row.locator(".status").inner_text() == "active"
        admin.screenshot(path=ARTIFACTS / "7-users.png", full_page=True)
        row.get_by_role("button", name="Disable op-b").click()
        admin.wait_for_selector('tr[data-user="op-b"] .status-disabled')
        admin.screenshot(path=ARTIFACTS / "8-users-op-b-disabled.png", full_page=True)

        # op-b's open page: the next request is refused and goes to the login page, where op-b cannot log in.
        leaver.reload()
        leaver.wait_for_url("**/login?next=/alerts")
        leaver.get_by_label("User name").fill("op-b")
        leaver.get_by_label("Password").fill(PASSWORD)
        leaver.get_by_role("button", name="Log in").click()
        assert "wrong user name or password" in leaver.locator(".error").inner_text()
        leaver.screenshot(path=ARTIFACTS / "9-op-b-refused.png")

        # The other forms on the page: a new user, and new roles for op-a.
        admin.get_by_label("User name").fill("op-c")
        admin.get_by_label("Password (12 characters or more)").fill(PASSWORD)
        admin.locator("#add-user").get_by_label("operator").check()
        admin.locator("#add-user").get_by_role("button", name="Add user").click()
        admin.wait_for_selector('tr[data-user="op-c"]')
        op_a = admin.locator('tr[data-user="op-a"]')
        op_a.get_by_text("Roles", exact=True).click()
        op_a.get_by_label("auditor").check()
        op_a.get_by_role("button", name="Set roles of op-a").click()
        admin.wait_for_function(
            "document.querySelector('tr[data-user=op-a] .roles').textContent === 'auditor, operator'"
        )
        assert site.ok("op-a", "GET", "/api/v1/auth/me")["roles"] == ["auditor", "operator"]


def test_an_approver_records_the_impact_assessment_on_the_authorisation_page(browser: Browser, tmp_path: Path) -> None:
    with console_site(tmp_path) as (base, site):
        person = site.enrol("Obama", HAMILTON / "obama.jpg")
        auth = site.authorise([person], ["gate"], grant=False, fria=False)
        approver = log_in(browser, base, "approver", lands_on="/watchlist")
        approver.goto(f"/authorisations/{auth}")
        assert approver.locator("#fria-status").inner_text() == "not recorded"
        summary = "FRIA 2026-31 on file with the data protection officer; residual risk low"
        approver.get_by_label("Summary").fill(summary)
        approver.get_by_role("button", name="Record the impact assessment").click()
        approver.wait_for_selector("#fria-summary")
        assert approver.locator("#fria-summary").inner_text() == summary
        assert approver.locator("#fria-by").inner_text() == "approver"
        assert approver.locator("#fria-status").inner_text() == "recorded"
        approver.screenshot(path=ARTIFACTS / "10-authorisation-fria-recorded.png", full_page=True)
        assert site.ok("curator", "GET", f"/api/v1/authorisations/{auth}")["fria"]["summary"] == summary
