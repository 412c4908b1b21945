"""The seeded handler acknowledges a report filed through the reporter pages; the reporter sees
the acknowledgement and the new deadline in the mailbox."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation
from django.utils.formats import date_format
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, expect

from intake.models import Case
from tests.e2e.test_reporter_journey import open_mailbox, report_and_return

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_handler_acknowledges_and_reporter_sees_it(
    browser: Browser, live_server: object, tmp_path: Path
) -> None:
    base = str(live_server.url)  # type: ignore[attr-defined]
    out = io.StringIO()
    call_command(
        "seed_demo", "--base-url", base, "--credentials-file", str(tmp_path / "c"), stdout=out
    )
    demo = json.loads(out.getvalue())
    evidence = tmp_path / "evidence.txt"
    evidence.write_text("dates")
    reporter_context = browser.new_context(locale="en-GB", java_script_enabled=False)
    page = reporter_context.new_page()
    receipt = report_and_return(
        page, base, "musterstadt", evidence, "The mayor's office shreds files."
    )

    staff = browser.new_context(locale="en-GB")
    desk = staff.new_page()
    desk.goto(demo["staff_login_url"])
    desk.get_by_label("E-mail address").fill(demo["email"])
    desk.get_by_label("Password").fill(demo["password"])
    desk.get_by_role("button", name="Continue").click()
    TOTPDevice.objects.update(last_t=-1)
    secret = demo["totp_secret"]
    code = f"{TOTP(base64.b32decode(secret + '=' * (-len(secret) % 8))).token():06d}"
    desk.get_by_label("Code").fill(code)
    desk.get_by_role("button", name="Log in").click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text("Inbox")
    desk.get_by_role("link", name="Open").first.click()
    expect(desk.locator("main")).to_contain_text("The mayor's office shreds files.")
    desk.get_by_role("button", name="Confirm receipt").click()
    expect(desk.locator(".messages")).to_contain_text("Receipt confirmed")
    case = Case.objects.get()
    assert case.acknowledged_on is not None
    staff.close()

    open_mailbox(page, base, "musterstadt", receipt)
    expect(page.locator(".status")).to_have_text("Receipt confirmed")
    expect(page.locator(".conversation")).to_contain_text("We confirm that we have received it.")
    with translation.override("en"):
        due = date_format(case.feedback_due, "DATE_FORMAT")
    expect(page.locator("main")).to_contain_text(f"due by {due}")
    reporter_context.close()
