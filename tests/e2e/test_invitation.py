"""In Chromium without JavaScript: the operator creates a tenant in the console, and its first
administrator accepts the mailed invitation — own password, second factor — and goes on to
the set-up wizard with the new role; the link then works no more."""

from __future__ import annotations

import base64
import re

import pytest
from django.core import mail
from django_otp.oath import TOTP
from playwright.sync_api import Browser, expect

from tests.fixtures import PASSWORD, current_code, make_staff
from tests.live import wait_for
from whistle.accounts.models import User
from whistle.tenants.models import Tenant, TenantAdmin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_creates_a_tenant_and_its_admin_accepts_the_invitation(
    browser: Browser, live_server: object, settings: object
) -> None:
    base = str(live_server.url)  # type: ignore[attr-defined]
    settings.WHISTLE_BASE_URL = base  # type: ignore[attr-defined]
    operator = make_staff("ops@service.example")
    operator.is_staff = True
    operator.save()

    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    page.goto(f"{base}/staff/login/")
    page.get_by_label("E-mail address").fill(operator.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Code").fill(current_code(operator))
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Operator console: organisations, usage, invitations").click()
    page.get_by_role("link", name="New organisation").click()
    page.get_by_label("Name of the organisation").fill("Gemeinde Beispiel")
    page.get_by_label("Short name in the address").fill("beispiel")
    page.get_by_label("German").check()
    page.get_by_label("English").check()
    page.get_by_label("E-mail address of the first administrator").fill("chef@beispiel.example")
    page.get_by_role("button", name="Create and send the invitation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gemeinde Beispiel")
    expect(page.get_by_text("chef@beispiel.example", exact=True)).to_be_visible()
    context.close()

    wait_for(lambda: mail.outbox, what="the invitation e-mail")
    match = re.search(r"https?://\S+/staff/invitation/\S+/", str(mail.outbox[0].body))
    assert match is not None
    link = match[0]

    admin = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = admin.new_page()
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Accept the invitation")
    page.get_by_label("Your name").fill("Chris Chef")
    page.get_by_label("Choose a password").fill("my very own password 2026")
    page.get_by_label("The same password again").fill("my very own password 2026")
    page.get_by_role("button", name="Save the password and continue").click()
    expect(page).to_have_url(f"{base}/staff/enrol/")
    secret = page.locator(".secret code").inner_text().replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.get_by_label("6-digit code from the app").fill(f"{TOTP(key).token():06d}")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    expect(page.get_by_text("Welcome.")).to_be_visible()  # the role is applied now
    page.get_by_role("link", name="I have kept my codes").click()
    # The administrator of a tenant not yet published continues with the set-up wizard.
    tenant = Tenant.objects.get(slug="beispiel")
    expect(page).to_have_url(re.compile(rf"{base}/staff/tenants/{tenant.public_id}/setup/"))
    user = User.objects.get(email="chef@beispiel.example")
    assert user.name == "Chris Chef"
    assert TenantAdmin.objects.filter(user=user, tenant=tenant).exists()

    # Used: the same link now shows the page for links that do not work.
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("This invitation link does not work")
    admin.close()
