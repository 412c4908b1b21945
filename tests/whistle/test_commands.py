from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp.oath import TOTP

from tests.fixtures import make_staff
from whistle.accounts.invitations import invitation_accept
from whistle.accounts.models import Invitation, User
from whistle.tenants.models import Membership, Office, Tenant


@pytest.mark.django_db
def test_seed_demo_prints_working_credentials_and_is_idempotent(tmp_path: Path) -> None:
    creds = tmp_path / "demo.json"
    out = io.StringIO()
    call_command("seed_demo", "--credentials-file", str(creds), stdout=out)
    first = json.loads(out.getvalue())
    assert first["reporter_url"] == "http://127.0.0.1:8000/t/musterstadt/"
    assert first["staff_login_url"] == "http://127.0.0.1:8000/staff/login/"
    assert first["otpauth_uri"].startswith("otpauth://totp/")
    assert len(first["office_recovery_key"].split("-")) == 13  # the demo office has keys
    out = io.StringIO()
    call_command("seed_demo", "--credentials-file", str(creds), stdout=out)
    assert json.loads(out.getvalue()) == first
    assert Tenant.objects.count() == Office.objects.count() == User.objects.count() == 1
    assert Membership.objects.get().role == Membership.Role.LEAD
    assert oct(creds.stat().st_mode & 0o777) == "0o600"

    # The printed credentials log in through the real pages.
    import base64

    client = Client()
    client.post("/staff/login/", {"email": first["email"], "password": first["password"]})
    key = base64.b32decode(first["totp_secret"] + "=" * (-len(first["totp_secret"]) % 8))
    response = client.post("/staff/verify/", {"code": f"{TOTP(key).token():06d}"})
    assert response.status_code == 302
    assert Client().get("/t/musterstadt/").status_code == 200


@pytest.mark.django_db
def test_create_tenant_office_and_staff() -> None:
    call_command("create_tenant", "kreis", "Landkreis Beispiel", stdout=io.StringIO())
    call_command(
        "create_tenant",
        "dorf",
        "Gemeinde Dorf",
        "--hostname",
        "hinweis.dorf.example",
        stdout=io.StringIO(),
    )
    call_command(
        "create_office", "kreis", "Meldestelle Kreis", "--serves", "dorf", stdout=io.StringIO()
    )
    office = Office.objects.get()
    assert set(office.tenants.values_list("slug", flat=True)) == {"kreis", "dorf"}
    out = io.StringIO()
    call_command(
        "create_staff",
        "lead@kreis.example",
        "--office",
        str(office.public_id),
        "--lead",
        "--print-link",
        stdout=out,
    )
    link = out.getvalue().strip().splitlines()[-1]
    assert "/staff/invitation/" in link
    # No account and no role until the invitee has set password and second factor.
    assert not User.objects.filter(email="lead@kreis.example").exists()
    invitation = Invitation.objects.get(email="lead@kreis.example")
    assert invitation.role == "lead" and invitation.office == office
    assert invitation_accept(invitation=invitation, user=make_staff("lead@kreis.example"))
    assert Membership.objects.get().role == Membership.Role.LEAD


@pytest.mark.django_db
def test_commands_reject_bad_input_clearly() -> None:
    with pytest.raises(CommandError, match="address name"):
        call_command("create_office", "nobody", "X", stdout=io.StringIO())
    with pytest.raises(CommandError, match="Mars/Olympus"):
        call_command("create_tenant", "x", "X", "--time-zone", "Mars/Olympus", stdout=io.StringIO())
    with pytest.raises(CommandError, match="de, en"):
        call_command("create_tenant", "y", "Y", "--language", "xx", stdout=io.StringIO())
    with pytest.raises(CommandError, match=r"ltige E-Mail|valid e-mail"):
        call_command("create_staff", "not-an-address", "--operator", stdout=io.StringIO())
    with pytest.raises(CommandError, match="one of the arguments"):
        call_command("create_staff", "a@b.example", stdout=io.StringIO())
    with pytest.raises(CommandError, match="unrecognized arguments: --password-stdin"):
        call_command("create_staff", "a@b.example", "--operator", "--password-stdin")
    with pytest.raises(CommandError, match="No office"):
        call_command("create_staff", "a@b.example", "--office", "nope", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No tenant"):
        call_command("create_staff", "a@b.example", "--admin-of", "nobody", stdout=io.StringIO())
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_commands_print_json_for_automation(
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        call_command(
            "create_tenant",
            "kreis",
            "Landkreis Beispiel",
            "--language",
            "de",
            "--admin-email",
            "admin@kreis.example",
            "--json",
            stdout=out,
        )
    tenant = json.loads(out.getvalue())
    assert tenant["slug"] == "kreis" and tenant["languages"] == ["de"]
    assert tenant["admin_invited"] == "admin@kreis.example" and "admin_link" not in tenant
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["admin@kreis.example"]
    out = io.StringIO()
    call_command("create_office", "kreis", "Meldestelle Kreis", "--json", stdout=out)
    office = json.loads(out.getvalue())
    assert office["owner"] == "kreis" and office["serves"] == ["kreis"]
    assert office["office"] == str(Office.objects.get().public_id)
    out = io.StringIO()
    call_command(
        "create_staff", "h@kreis.example", "--office", office["office"], "--json", stdout=out
    )
    staff = json.loads(out.getvalue())
    assert staff["role"] == "handler" and staff["tenant"] == "kreis" and staff["sent"] is True
    assert "link" not in staff
    # The first operator of a fresh deployment: the link printed, nothing mailed.
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        call_command(
            "create_staff",
            "ops@service.example",
            "--operator",
            "--print-link",
            "--json",
            stdout=out,
        )
    first = json.loads(out.getvalue())
    assert first["role"] == "operator" and first["sent"] is False
    assert first["link"].startswith("http") and "/staff/invitation/" in first["link"]
    assert len(mail.outbox) == 1
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    path = "/" + first["link"].split("://", 1)[1].split("/", 1)[1]
    assert client.get(path).status_code == 200
