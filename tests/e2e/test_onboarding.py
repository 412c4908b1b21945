"""Onboarding in Chromium from an empty database (issue 13): the operator creates a tenant and
invites its admin; the admin sets up the organisation in the wizard and invites the office lead;
the lead creates the office keys and invites a second handler; the admin reviews and publishes;
a report filed on the published page is readable by both handlers, the second one only after
the lead granted access. Prints how many pages and form submissions the admin needed
(docs/onboarding.md records the figure)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core import mail
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, Frame, Page, Request, expect

from intake.models import Case
from tests.e2e.test_reporter_journey import report_and_return
from tests.fixtures import PASSWORD
from whistle.accounts.models import User
from whistle.tenants.models import Office, Tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "a long and private passphrase 2026"


@dataclass
class Tally:
    """Pages the person saw (main-frame navigations) and forms they sent (POST navigations)."""

    pages: int = 0
    submissions: int = 0
    urls: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        def navigated(frame: Frame) -> None:
            if frame == page.main_frame:
                self.pages += 1
                self.urls.append(frame.url)

        def requested(request: Request) -> None:
            if request.is_navigation_request() and request.method == "POST":
                self.submissions += 1

        page.on("framenavigated", navigated)
        page.on("request", requested)


def totp_from_secret(secret: str) -> str:
    # A fresh time step for every code: one account's codes may follow within 30 seconds.
    TOTPDevice.objects.update(last_t=-1)
    compact = secret.replace(" ", "").upper()
    key = base64.b32decode(compact + "=" * (-len(compact) % 8))
    return f"{TOTP(key).token():06d}"


def invitation_path(address: str) -> str:
    message = next(m for m in reversed(mail.outbox) if address in m.to)
    body = str(message.body)
    match = re.search(r"/staff/invitation/[^/\s]+/", body)
    assert match is not None, "no invitation link in the mail"
    return match[0]


def accept_invitation(page: Page, base: str, address: str, name: str) -> None:
    """The invitee's own password and second factor (TOTP from the enrol page's secret)."""
    page.goto(base + invitation_path(address))
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Choose a password").fill(NEW_PASSWORD)
    page.get_by_label("The same password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save the password and continue").click()
    secret = page.locator(".secret code").inner_text()
    page.get_by_label("6-digit code from the app").fill(totp_from_secret(secret))
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("link", name="I have kept my codes – continue").click()  # noqa: RUF001


def operator_account() -> tuple[User, str]:
    """The service's first operator, as `create_staff` bootstraps one on a new installation."""
    operator = User.objects.create_user("operator@service.example", PASSWORD, name="Operator")
    operator.is_staff = True
    operator.save()
    device = TOTPDevice.objects.create(user=operator, name="app", confirmed=True)
    return operator, base64.b32encode(device.bin_key).decode()


def log_in(page: Page, base: str, email: str, password: str, secret: str) -> None:
    page.goto(f"{base}/staff/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Code").fill(totp_from_secret(secret))
    page.get_by_role("button", name="Log in").click()


def test_from_an_empty_database_to_a_report_both_handlers_read(
    browser: Browser, live_server: object, tmp_path: Path
) -> None:
    base = str(live_server.url)  # type: ignore[attr-defined]
    assert not Tenant.objects.exists() and not User.objects.exists()
    mail.outbox.clear()

    # --- the operator creates the tenant and invites its admin --------------------------------
    operator, operator_secret = operator_account()
    op = browser.new_context(locale="en-GB").new_page()
    log_in(op, base, operator.email, PASSWORD, operator_secret)
    op.goto(f"{base}/staff/operator/tenants/new/")
    op.get_by_label("Name of the organisation").fill("Gemeinde Deltadorf")
    op.get_by_label("Short name in the address").fill("deltadorf")
    op.get_by_label("E-mail address of the first administrator").fill("admin@deltadorf.example")
    op.get_by_role("button", name="Create and send the invitation").click()
    expect(op.locator(".messages")).to_contain_text("The invitation was sent")
    tenant = Tenant.objects.get(slug="deltadorf")
    assert not tenant.published
    op.context.close()

    # --- the admin: invitation, organisation, office, lead invitation -------------------------
    admin_context = browser.new_context(locale="en-GB")
    admin = admin_context.new_page()
    tally = Tally()
    tally.watch(admin)
    accept_invitation(admin, base, "admin@deltadorf.example", "Ada Admin")
    # The new admin lands in the wizard.
    expect(admin.get_by_role("heading", level=1)).to_have_text("Your organisation")
    admin.get_by_label("Postal address of the organisation (for the privacy notice)").fill(
        "Marktplatz 1, 12345 Deltadorf"
    )
    admin.get_by_label("Accent colour (optional)").fill("#1a5fb4")
    admin.get_by_role("button", name="Save and continue").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("The reporting office")
    admin.get_by_label("Name of the office").fill("Meldestelle Deltadorf")
    admin.get_by_role("button", name="Create the office").click()
    admin.get_by_label("E-mail address of the office lead").fill("lead@deltadorf.example")
    admin.get_by_role("button", name="Invite the office lead").click()
    expect(admin.locator("main")).to_contain_text("waiting for them to accept")
    office = Office.objects.get(owner=tenant)

    # --- the lead: account, office keys with the recovery key, a second handler ---------------
    lead_context = browser.new_context(locale="en-GB")
    lead = lead_context.new_page()
    accept_invitation(lead, base, "lead@deltadorf.example", "Lena Lead")
    lead.goto(f"{base}/staff/offices/{office.public_id}/keys/")
    lead.get_by_role("button", name="Create the office keys").click()
    expect(lead.locator(".recovery-key .group")).to_have_count(13)
    lead.get_by_label(
        "I have printed or written down the recovery key, checked it, and stored it safely."
    ).check()
    lead.get_by_role("button", name="Confirm").click()
    expect(lead.locator(".messages")).to_contain_text("recorded as stored safely")
    lead.goto(f"{base}/staff/offices/{office.public_id}/manage/")
    lead.get_by_label("E-mail address of the new member").fill("hans@deltadorf.example")
    lead.get_by_role("button", name="Send the invitation").click()
    expect(lead.locator(".messages")).to_contain_text("hans@deltadorf.example")

    # --- the second handler sets up their account (no access to reports yet) -----------------
    hans_context = browser.new_context(locale="en-GB")
    hans = hans_context.new_page()
    accept_invitation(hans, base, "hans@deltadorf.example", "Hans Handler")

    # --- the admin returns, reviews with the previews and publishes ---------------------------
    admin.goto(f"{base}/staff/tenants/{tenant.public_id}/setup/")
    expect(admin.get_by_role("heading", level=1)).to_have_text(
        "Review the questionnaire and the texts"
    )
    admin.get_by_role("link", name="Preview the questionnaire").click()
    admin.go_back()
    admin.get_by_role("link", name="Preview the reporting page").click()
    expect(admin.locator(".preview")).to_contain_text("Marktplatz 1, 12345 Deltadorf")
    expect(admin.locator(".preview")).to_contain_text("deleted 3 years after the case is closed")
    admin.go_back()
    admin.get_by_role("button", name="I have reviewed them – continue").click()  # noqa: RUF001
    admin.get_by_role("button", name="Publish the reporting page").click()
    expect(admin.locator(".messages")).to_contain_text("Your reporting page is open now.")
    tenant.refresh_from_db()
    assert tenant.published
    print(  # noqa: T201 (the figure docs/onboarding.md records)
        f"\nonboarding: the tenant admin needed {tally.pages} pages and "
        f"{tally.submissions} form submissions"
    )
    admin_context.close()

    # --- a report on the published page -------------------------------------------------------
    evidence = tmp_path / "evidence.txt"
    evidence.write_text("dates and places")
    text = "Building permits are sold for cash."
    reporter_context = browser.new_context(locale="en-GB", java_script_enabled=False)
    report_and_return(reporter_context.new_page(), base, "deltadorf", evidence, text)
    reporter_context.close()
    case = Case.objects.get(tenant=tenant)
    case_url = f"{base}/staff/offices/{office.public_id}/cases/{case.public_id}/"

    # The second handler cannot read it until the lead grants access.
    hans.goto(case_url)
    expect(hans.locator("main")).not_to_contain_text(text)
    lead.goto(case_url)
    expect(lead.locator("main")).to_contain_text(text)
    lead.goto(f"{base}/staff/offices/{office.public_id}/keys/")
    lead.get_by_role("button", name="Grant access").click()
    expect(lead.locator(".messages")).to_contain_text("Hans Handler can now open")
    hans.goto(case_url)
    expect(hans.locator("main")).to_contain_text(text)
    hans_context.close()
    lead_context.close()
