"""The whole reporter journey in Chromium, with JavaScript on and off, for two tenants."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from intake.models import Case
from tests.fixtures import World
from tests.keys.test_key_hierarchy import setup_keys

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def watch_origin(page: Page, origin: str) -> list[str]:
    """Record every request that leaves the origin (there must be none)."""
    foreign: list[str] = []

    def check(request: Request) -> None:
        parsed = urlparse(request.url)
        if parsed.scheme in ("data", "blob", "about"):
            return
        if f"{parsed.scheme}://{parsed.netloc}" != origin:
            foreign.append(request.url)

    page.on("request", check)
    return foreign


def report_and_return(page: Page, base: str, slug: str, evidence: Path, text: str) -> str:
    page.goto(f"{base}/t/{slug}/")
    page.get_by_role("link", name="Make a report").click()
    page.get_by_label("Environmental protection").check()
    page.get_by_role("button", name="Continue").click()
    # Step 1: a missing required answer gives a clear message and keeps what was typed.
    page.get_by_label("Where did it happen?").fill("Kläranlage Nord")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("This field is required")
    expect(page.get_by_label("Where did it happen?")).to_have_value("Kläranlage Nord")
    page.get_by_label("What happened?").fill(text)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Who is involved?").fill("Schichtleitung")
    page.get_by_label("I saw or experienced it myself.").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("group", name="Is it still going on?").get_by_label("Yes").check()
    page.get_by_role("group", name="Have you reported it elsewhere already?").get_by_label(
        "No"
    ).check()
    page.get_by_label("Evidence (files)").set_input_files(str(evidence))
    page.get_by_role("button", name="Add the chosen files").click()
    expect(page.locator(".file-list")).to_contain_text("evidence.txt")
    page.get_by_label("To the best of my knowledge my information is true.").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("No, I stay anonymous.", exact=False).check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your report")
    expect(page.locator("main")).to_contain_text(text)
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your report has been sent")
    groups = page.locator("#receipt-code .group").all_inner_texts()
    receipt = "-".join(groups)
    assert re.fullmatch(r"([0-9A-Z]{4}-){6}[0-9A-Z]{4}", receipt)
    assert receipt not in page.url
    page.get_by_label("I have written down or printed my receipt code.").check()
    page.get_by_role("button", name="Finish").click()
    expect(page.locator(".messages")).to_contain_text("Your report has been sent")
    return receipt


def open_mailbox(page: Page, base: str, slug: str, receipt: str) -> None:
    page.goto(f"{base}/t/{slug}/")
    page.get_by_role("link", name="I have already reported").click()
    page.get_by_label("Your receipt code").fill(receipt.lower())
    page.get_by_role("button", name="Open my mailbox").click()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_reporter_journey(
    browser: Browser,
    live_server: object,
    worlds: tuple[World, World],
    tmp_path: Path,
    javascript: bool,
) -> None:
    base = str(live_server.url)  # type: ignore[attr-defined]
    a, b = worlds
    setup_keys(a)
    setup_keys(b)
    evidence = tmp_path / "evidence.txt"
    evidence.write_text("a list of dates and times")
    receipts = {}
    for world, text in ((a, "Oil in the river since May."), (b, "Invoices are forged.")):
        context = browser.new_context(java_script_enabled=javascript, locale="en-GB")
        page = context.new_page()
        foreign = watch_origin(page, base)
        receipts[world.tenant.slug] = report_and_return(
            page, base, world.tenant.slug, evidence, text
        )
        open_mailbox(page, base, world.tenant.slug, receipts[world.tenant.slug])
        expect(page.get_by_role("heading", level=1)).to_have_text("Your mailbox")
        expect(page.locator("main")).to_contain_text(text)
        expect(page.locator(".status")).to_have_text("Received")
        expect(page.locator("main")).to_contain_text("evidence.txt")
        assert foreign == []
        # Nothing is kept in browser storage, and no cookie outlives the session.
        assert all(c["expires"] == -1 for c in context.cookies())
        context.close()
    assert Case.objects.count() == 2

    # Tenant A's receipt opens nothing on tenant B's page.
    context = browser.new_context(java_script_enabled=javascript, locale="en-GB")
    page = context.new_page()
    open_mailbox(page, base, b.tenant.slug, receipts[a.tenant.slug])
    expect(page.get_by_role("alert")).to_contain_text("We could not open a report with this code")
    context.close()
