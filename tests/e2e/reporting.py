"""Reporter steps shared by browser tests."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from tests.intake.journey import ANSWERS


def fill_answers(page: Page, data: dict[str, Any]) -> None:
    """Fill one step's form with ``data`` as the journey's ANSWERS give it, by field name:
    text, radio and checkbox alike (works in every language)."""
    for name, value in data.items():
        if isinstance(value, list):
            for each in value:
                page.locator(f"input[name={name}][value={each}]").check()
        elif value == "on":
            page.locator(f"input[name={name}]").check()
        elif page.locator(f"input[type=radio][name={name}]").count():
            page.locator(f"input[name={name}][value={value}]").check()
        else:
            page.locator(f"[name={name}]").fill(value)


def walk_to_contact(page: Page) -> None:
    """From the topic page (English), fill every step of the default questionnaire and stop at
    the contact step."""
    page.locator("input[name=category][value=environment]").check()
    page.get_by_role("button", name="Continue").click()
    for data in ANSWERS.values():
        fill_answers(page, data)
        page.get_by_role("button", name="Continue").click()
