"""The seeded handler logs in through a real browser with password and TOTP code."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def seed(tmp_path: Path, base_url: str) -> dict[str, str]:
    out = io.StringIO()
    call_command(
        "seed_demo", "--base-url", base_url, "--credentials-file", str(tmp_path / "c"), stdout=out
    )
    data: dict[str, str] = json.loads(out.getvalue())
    return data


def code_for(secret: str) -> str:
    TOTPDevice.objects.update(last_t=-1)
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{TOTP(key).token():06d}"


def test_seeded_handler_logs_in_with_password_and_totp(
    browser: Browser, live_server: object, tmp_path: Path
) -> None:
    base = str(live_server.url)  # type: ignore[attr-defined]
    demo = seed(tmp_path, base)
    context = browser.new_context(java_script_enabled=False, locale="de-DE")
    page = context.new_page()
    page.goto(demo["staff_login_url"])
    page.get_by_label("E-Mail-Adresse").fill(demo["email"])
    page.get_by_label("Passwort").fill(demo["password"])
    page.get_by_role("button", name="Weiter").click()
    expect(page).to_have_url(f"{base}/staff/verify/?next=/staff/")

    # With only the password, a staff page sends us back to the second-factor step.
    page.goto(f"{base}/staff/")
    assert "/staff/verify/" in page.url
    office_id = None
    from whistle.tenants.models import Office

    office_id = Office.objects.get().public_id
    page.goto(f"{base}/staff/offices/{office_id}/")
    assert "/staff/verify/" in page.url

    page.get_by_label("Code").fill(code_for(demo["totp_secret"]))
    page.get_by_role("button", name="Anmelden").click()
    expect(page).to_have_url(f"{base}/staff/offices/{office_id}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Meldestelle Musterstadt")
    context.close()


def test_wrong_code_in_the_browser_gets_the_generic_message(
    browser: Browser, live_server: object, tmp_path: Path
) -> None:
    base = str(live_server.url)  # type: ignore[attr-defined]
    demo = seed(tmp_path, base)
    page = browser.new_page(locale="en-GB")
    page.goto(demo["staff_login_url"])
    page.get_by_label("E-mail address").fill(demo["email"])
    page.get_by_label("Password").fill(demo["password"])
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("is not right")
    page.close()
