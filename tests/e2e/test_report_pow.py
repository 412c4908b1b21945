"""The proof of work of the check page (intake/flood.py) in Chromium: the worker runs under the
CSP, shows its progress accessibly, and the report goes through without waiting for the
minimum draft age (set far too high here for anything else to pass)."""

from __future__ import annotations

import pytest
from django.test import override_settings
from playwright.sync_api import Browser, expect

from intake.models import Case
from tests.fixtures import World
from tests.keys.test_key_hierarchy import setup_keys

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@override_settings(INTAKE_POW_BITS=12, INTAKE_MIN_STEP_SECONDS=3600)
def test_the_worker_solves_the_proof_of_work_and_the_report_is_sent(
    browser: Browser, live_server: object, world_a: World
) -> None:
    base = str(live_server.url)  # type: ignore[attr-defined]
    setup_keys(world_a)
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    slug = world_a.tenant.slug
    page.goto(f"{base}/t/{slug}/report/")
    page.get_by_label("Environmental protection").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("What happened?").fill("Oil in the river since May.")
    page.get_by_label("Where did it happen?").fill("Kläranlage Nord")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Who is involved?").fill("Schichtleitung")
    page.get_by_label("I saw or experienced it myself.").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("group", name="Is it still going on?").get_by_label("Yes").check()
    page.get_by_role("group", name="Have you reported it elsewhere already?").get_by_label(
        "No"
    ).check()
    page.get_by_label("To the best of my knowledge my information is true.").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("No, I stay anonymous.", exact=False).check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your report")
    # The progress is visible, labelled, and announced when done.
    progress = page.get_by_role("progressbar", name="Preparing to send securely")
    expect(progress).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Ready to send.")).to_be_visible(
        timeout=60_000
    )
    assert page.locator("form[data-pow-solved]").count() == 1
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your report has been sent")
    assert Case.objects.filter(tenant=world_a.tenant).count() == 1
    assert not [p for p in problems if "Content Security Policy" in p], problems
    context.close()
