"""The tenant admin edits, previews and publishes the questionnaire in Chromium without
JavaScript: plain forms and buttons only."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from intake.services import questionnaire_current
from tests.fixtures import PASSWORD, World, current_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_adds_a_question_previews_and_publishes_without_javascript(
    browser: Browser, live_server: object, world_a: World, tmp_path: Path
) -> None:
    base = str(live_server.url)  # type: ignore[attr-defined]
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    page.goto(f"{base}/staff/tenants/{world_a.tenant.public_id}/questionnaire/")
    page.get_by_label("E-mail address").fill(world_a.admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Code").fill(current_code(world_a.admin))
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Questionnaire")

    page.get_by_role("link", name="Add a question to this step").first.click()
    page.get_by_label("Choice of one answer").check()
    page.get_by_label("Question (German)").fill("Wie oft?")
    page.get_by_label("Question (English)").fill("How often?")
    page.get_by_label("Answer 1 (German)").fill("Einmal")
    page.get_by_label("Answer 1 (English)").fill("Once")
    page.get_by_label("Answer 2 (German)").fill("Öfter")
    page.get_by_label("Answer 2 (English)").fill("More often")
    page.get_by_role("button", name="Save and add more answers").click()
    page.get_by_label("Answer 3 (German)").fill("Ständig")
    page.get_by_label("Answer 3 (English)").fill("All the time")
    page.get_by_role("button", name="Save in the draft").click()
    expect(page.get_by_text("Saved in the draft.")).to_be_visible()
    expect(page.get_by_text("Once · More often · All the time")).to_be_visible()
    page.screenshot(path=str(tmp_path / "editor.png"), full_page=True)

    page.get_by_role("link", name="English", exact=True).click()
    page.get_by_label("Environmental protection").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("group", name="How often?")).to_be_visible()
    page.get_by_role("button", name="Continue").click()  # "What happened?" left empty
    expect(page.get_by_role("alert")).to_contain_text("Please check your entry")
    page.screenshot(path=str(tmp_path / "preview.png"), full_page=True)
    page.get_by_role("link", name="Back to the questionnaire").click()

    page.get_by_role("button", name="Publish as a new version").click()
    expect(page.get_by_text("Published as version 2.")).to_be_visible()
    assert questionnaire_current(world_a.tenant).version == 2
    context.close()
