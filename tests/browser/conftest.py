"""Browser journeys: Debian's headless Chromium driven by Playwright, against the whole platform.

This directory runs in its own pytest process (make test's second run, PORTAL_BROWSER_TESTS=1),
without eventlet's monkey patching, which Playwright's event loop does not survive.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.browser.platform import ROOT, Platform

SCREENSHOTS = ROOT / "var" / "screenshots"
AXE = ROOT / "services" / "portal" / "assets" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
PASSWORD = os.environ.get("DEMO_PASSWORD", "sangkien")

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    running = Platform(tmp_path_factory.mktemp("platform"))
    try:
        yield running.start()
    finally:
        running.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    # bypass_csp only lets the test inject axe-core; the pages' own policy is tested separately.
    ctx = browser.new_context(viewport=PHONE, locale="vi-VN", bypass_csp=True)
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def log_in(page: Page, platform: Platform, login: str, start: str = "/dang-nhap") -> None:
    """The whole OpenID Connect flow, as a person does it: the provider's form, then back."""
    page.goto(platform.portal + start)
    page.wait_for_url(f"{platform.url('idp')}/**")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{platform.portal}/**")


SERIOUS = ("serious", "critical")


def look(page: Page, name: str) -> None:
    """Screenshots at phone and desktop size under var/screenshots, and axe-core on the page."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or PHONE
    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(size)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v.get("impact") in SERIOUS]
    assert not bad, f"{name}: axe found " + json.dumps(
        [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"][:3]]} for v in bad],
        ensure_ascii=False,
    )


@pytest.fixture(scope="session", autouse=True)
def _fresh_screenshots() -> None:
    if SCREENSHOTS.exists():
        for old in SCREENSHOTS.glob("*.png"):
            old.unlink()


def dev_headers(role: str, unit: str, sub: str | None = None) -> dict[str, str]:
    from tests.conftest import token

    return token(role, unit, sub)
