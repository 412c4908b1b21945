"""Accessibility and journey fixes that need a browser (issue 17, points 2 and 3): focus, the
Enter key, what JavaScript shows and hides, what the live region says, and layout."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.casework.helpers import filed_case
from tests.e2e.reporting import walk_to_contact
from tests.e2e.test_live_chat import WATCH_SOCKET
from tests.fixtures import World
from tests.keys.test_key_hierarchy import setup_keys

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def first_step(browser: Browser, base: str, world: World, *, javascript: bool = True) -> Page:
    page = browser.new_context(locale="en-GB", java_script_enabled=javascript).new_page()
    page.goto(f"{base}/t/{world.tenant.slug}/report/")
    page.get_by_label("Environmental protection").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("What happened?")).to_be_visible()
    return page


def test_errors_take_the_focus_and_enter_continues(
    browser: Browser, live_server: object, world_a: World
) -> None:
    base = str(live_server.url)  # type: ignore[attr-defined]
    setup_keys(world_a)
    page = first_step(browser, base, world_a)
    # Enter in a text field: "Continue" (the required answers are missing: the same step again,
    # with errors), not "Back" to the topic page.
    page.get_by_label("Where did it happen?").fill("Kläranlage Nord")
    page.get_by_label("Where did it happen?").press("Enter")
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    assert page.title().startswith("Error:")
    expect(page.get_by_label("Where did it happen?")).to_have_value("Kläranlage Nord")
    # The field names its error: a screen reader reads it at the field.
    described = page.get_by_label("What happened?").get_attribute("aria-describedby") or ""
    assert "id_what_error" in described.split()
    expect(page.locator("#id_what_error")).to_contain_text("required")
    # With the answers, Enter goes on to the next step.
    page.get_by_label("What happened?").fill("Öl im Bach")
    page.get_by_label("Where did it happen?").press("Enter")
    expect(page.get_by_label("Who is involved?")).to_be_visible()


def test_radio_labels_sit_beside_their_controls(
    browser: Browser, live_server: object, world_a: World
) -> None:
    base = str(live_server.url)  # type: ignore[attr-defined]
    setup_keys(world_a)
    page = browser.new_context(locale="en-GB", viewport={"width": 375, "height": 800}).new_page()
    page.goto(f"{base}/t/{world_a.tenant.slug}/report/")
    radio = page.get_by_label("Environmental protection")
    label = page.locator("label", has_text="Environmental protection")
    box, text = radio.bounding_box(), label.bounding_box()
    assert box is not None and text is not None
    assert text["x"] >= box["x"] + box["width"]  # to the right
    assert text["y"] < box["y"] + box["height"] and box["y"] < text["y"] + text["height"]


def test_contact_fields_show_only_when_contact_is_chosen(
    browser: Browser, live_server: object, world_a: World
) -> None:
    base = str(live_server.url)  # type: ignore[attr-defined]
    setup_keys(world_a)
    page = browser.new_context(locale="en-GB").new_page()
    page.goto(f"{base}/t/{world_a.tenant.slug}/report/")
    walk_to_contact(page)
    fields = page.locator("[data-contact-fields]")
    page.get_by_label("No, I stay anonymous.", exact=False).check()
    expect(fields).to_be_hidden()
    page.get_by_label("Yes", exact=False).first.check()
    expect(fields).to_be_visible()
    page.get_by_label("No, I stay anonymous.", exact=False).check()
    expect(fields).to_be_hidden()


def test_receipt_copy_button_is_not_shown_without_javascript(
    browser: Browser, live_server: object, world_a: World
) -> None:
    base = str(live_server.url)  # type: ignore[attr-defined]
    setup_keys(world_a)
    page = browser.new_context(locale="en-GB", java_script_enabled=False).new_page()
    page.goto(f"{base}/t/{world_a.tenant.slug}/report/")
    walk_to_contact(page)
    page.get_by_label("No, I stay anonymous.", exact=False).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("#receipt-code")).to_be_visible()  # no minimum step time in tests
    expect(page.locator("[data-copy]")).to_have_count(1)
    expect(page.locator("[data-copy]")).to_be_hidden()


def test_own_message_is_announced_and_an_old_error_goes(
    browser: Browser, asgi_server: int, world_a: World
) -> None:
    base = f"http://127.0.0.1:{asgi_server}"
    _lead, _case, receipt = filed_case(world_a)
    page = browser.new_context(locale="en-GB").new_page()
    page.add_init_script(WATCH_SOCKET)
    page.goto(f"{base}/t/{world_a.tenant.slug}/mailbox/")
    page.get_by_label("Your receipt code").fill(receipt)
    page.get_by_role("button", name="Open my mailbox").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your mailbox")
    # An empty message before the socket is open: an ordinary post, and an error.
    page.evaluate("document.querySelector('form[data-chat-form]').submit()")
    expect(page.locator("[data-error-summary]")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-socket", "open")
    page.get_by_label("Your message to the office").fill("Noch eine Frage")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".msg-mine")).to_contain_text("Noch eine Frage")
    expect(page.locator("[data-live-region]")).to_have_text(
        "Your message has been sent to the office."
    )
    expect(page.locator("[data-error-summary]")).to_have_count(0)
    expect(page.locator(".field-error")).to_have_count(0)
