"""The base layout: landmarks, a skip link, no horizontal scrolling at 320 px, no JavaScript."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.fixtures import World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("path", ["/t/alpha/", "/staff/login/"])
def test_layout_is_accessible_and_fits_320px(
    browser: Browser, live_server: object, world_a: World, path: str, tmp_path: Path
) -> None:
    base = str(live_server.url)  # type: ignore[attr-defined]
    context = browser.new_context(viewport={"width": 320, "height": 640}, locale="de-DE")
    page = context.new_page()
    page.goto(base + path)
    assert page.locator("header").count() == 1
    assert page.locator("main#main").count() == 1
    assert page.locator("footer").count() == 1
    assert page.locator("h1").count() == 1
    # The skip link is the first thing the keyboard reaches, and it becomes visible.
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main"
    assert page.evaluate("document.activeElement.getBoundingClientRect().left") >= 0
    # Nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert page.evaluate("document.scripts.length") == 0
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    context.close()


def test_reporter_page_works_without_javascript(
    browser: Browser, live_server: object, world_a: World
) -> None:
    base = str(live_server.url)  # type: ignore[attr-defined]
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    page.goto(base + "/t/alpha/")
    assert "Alphastadt" in page.locator("h1").inner_text()
    # The language switch is a plain form.
    page.select_option("#language-select", "de")
    page.get_by_role("button", name="Change language").click()
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.url == base + "/t/alpha/"
    # No cookie outlives the browser session.
    assert all(c["expires"] == -1 for c in context.cookies())
    context.close()
