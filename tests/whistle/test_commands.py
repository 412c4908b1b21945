from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp.oath import TOTP

from whistle.accounts.models import User
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
    import sys

    stdin = sys.stdin
    sys.stdin = io.StringIO("a long enough password 2026\n")
    try:
        call_command(
            "create_staff",
            "lead@kreis.example",
            "--office",
            str(office.public_id),
            "--lead",
            "--password-stdin",
            stdout=io.StringIO(),
        )
    finally:
        sys.stdin = stdin
    assert Membership.objects.get().role == Membership.Role.LEAD


@pytest.mark.django_db
def test_commands_reject_bad_input_clearly() -> None:
    with pytest.raises(CommandError, match="address name"):
        call_command("create_office", "nobody", "X", stdout=io.StringIO())
    with pytest.raises(CommandError, match="Mars/Olympus"):
        call_command("create_tenant", "x", "X", "--time-zone", "Mars/Olympus", stdout=io.StringIO())
    with pytest.raises(CommandError, match="de, en"):
        call_command("create_tenant", "y", "Y", "--language", "xx", stdout=io.StringIO())
    import sys

    stdin = sys.stdin
    sys.stdin = io.StringIO("short\n")
    try:
        with pytest.raises(CommandError, match="12"):
            call_command("create_staff", "a@b.example", "--password-stdin", stdout=io.StringIO())
    finally:
        sys.stdin = stdin
