"""Office keys, handler keys, grants, recovery and rotation through the real pages and services.

Issue 3 "done when": password change keeps access; a reset loses it until a member grants it;
a grant by a non-member is refused; the recovery key restores access; an admin or operator who
is not a member has no path to any of it.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

import crypto
from intake.models import Case
from intake.services import case_answers, case_key_for_office, case_submit
from tests.fixtures import PASSWORD, World, make_staff, staff_client
from whistle.accounts.models import User
from whistle.keys import services
from whistle.keys.models import HandlerKey, OfficeKeyGrant, OfficeKeyPair
from whistle.tenants.models import Membership
from whistle.tenants.services import membership_add
from whistle.vault import SESSION_FIELD

NEW_PASSWORD = "another long passphrase 2026"


def keys_url(world: World, action: str = "") -> str:
    return f"/staff/offices/{world.office.public_id}/keys/{action}"


def setup_keys(world: World) -> tuple[Client, str]:
    """The lead logs in and creates the office keys; returns their client and recovery key."""
    client = staff_client(world.handler)
    response = client.post(keys_url(world, "setup/"))
    assert response.status_code == 200
    groups = re.findall(r'<span class="group">([0-9A-Z]{5})</span>', response.content.decode())
    assert len(groups) == 13
    return client, "-".join(groups)


def open_case_as(client_user: User, world: World, case: Case, client: Client) -> dict[str, Any]:
    private = handler_private_of(client)
    key = case_key_for_office(case=case, user=client_user, handler_private=private)
    return case_answers(case=case, case_key=key)


def handler_private_of(client: Client) -> bytes:
    """Read the handler key out of a client's vault, as the server does."""
    from django.http import HttpRequest

    from whistle.vault import SessionVault

    request = HttpRequest()
    request.COOKIES = {k: v.value for k, v in client.cookies.items()}
    request.session = client.session
    value = SessionVault(request).get(services.VAULT_HANDLER_PRIVATE)
    assert value is not None
    return value


@pytest.mark.django_db
def test_first_login_creates_a_handler_key_wrapped_under_the_password(world_a: World) -> None:
    assert not HandlerKey.objects.exists()
    client = staff_client(world_a.handler)
    key = HandlerKey.objects.get(user=world_a.handler)
    private = handler_private_of(client)
    assert crypto.public_from_private(private) == bytes(key.public_key)
    assert private not in bytes(key.wrapped_private)
    # The session store holds only ciphertext; the vault key is in its own strict cookie.
    session_blob = client.session[SESSION_FIELD]
    assert private.hex() not in session_blob
    cookie = client.cookies["whistle_vault"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert not cookie["max-age"] and not cookie["expires"]


@pytest.mark.django_db
def test_lead_sets_up_keys_and_sees_the_recovery_key_once(world_a: World) -> None:
    client, recovery = setup_keys(world_a)
    crypto.parse_recovery_key(recovery)  # well-formed
    keypair = OfficeKeyPair.objects.get(office=world_a.office)
    assert OfficeKeyGrant.objects.filter(keypair=keypair, user=world_a.handler).exists()
    page = client.get(keys_url(world_a)).content.decode()
    assert recovery not in page
    assert client.post(keys_url(world_a, "setup/")).status_code == 302  # only once
    assert OfficeKeyPair.objects.filter(office=world_a.office).count() == 1


@pytest.mark.django_db
def test_plain_handler_cannot_set_up_keys(world_a: World) -> None:
    other = make_staff("plain@alpha.example")
    membership_add(office=world_a.office, user=other, role=Membership.Role.HANDLER)
    client = staff_client(other)
    client.post(keys_url(world_a, "setup/"))
    assert not OfficeKeyPair.objects.exists()


@pytest.mark.django_db
def test_grant_by_member_and_case_access(world_a: World) -> None:
    lead_client, _recovery = setup_keys(world_a)
    colleague = make_staff("colleague@alpha.example")
    membership_add(office=world_a.office, user=colleague)
    colleague_client = staff_client(colleague)
    submission = case_submit(
        tenant=world_a.tenant, office=world_a.office, answers={"what": "SENTINEL-grant-test"}
    )
    with pytest.raises(services.KeyAccessError):
        open_case_as(colleague, world_a, submission.case, colleague_client)
    response = lead_client.post(keys_url(world_a, f"grant/{colleague.public_id}/"))
    assert response.status_code == 302
    answers = open_case_as(colleague, world_a, submission.case, colleague_client)
    assert answers == {"what": "SENTINEL-grant-test"}


@pytest.mark.django_db
def test_grant_by_non_member_or_admin_is_refused(worlds: tuple[World, World]) -> None:
    a, b = worlds
    setup_keys(a)
    newcomer = make_staff("new@alpha.example")
    membership_add(office=a.office, user=newcomer)
    staff_client(newcomer)  # makes the newcomer's key pair
    # A's tenant admin (not a member), an operator account and B's handler get 404 on every
    # key page of A's office.
    operator = make_staff("operator@whistle.example")
    operator.is_staff = operator.is_superuser = True
    operator.save()
    for outsider in (a.admin, operator, b.handler):
        client = staff_client(outsider)
        for action in ("", "setup/", "rotate/", "recover/", f"grant/{newcomer.public_id}/"):
            assert client.post(keys_url(a, action)).status_code == 404
            assert client.get(keys_url(a, action)).status_code == 404
    assert not OfficeKeyGrant.objects.filter(user=newcomer).exists()
    # And the service refuses a non-member even holding a valid handler key of their own.
    outsider_client = staff_client(b.handler)
    with pytest.raises(services.KeyAccessError):
        services.office_grant(
            office=a.office,
            actor=b.handler,
            actor_private=handler_private_of(outsider_client),
            grantee=b.handler,
        )


@pytest.mark.django_db
def test_member_without_access_cannot_grant(world_a: World) -> None:
    setup_keys(world_a)
    waiting = make_staff("waiting@alpha.example")
    membership_add(office=world_a.office, user=waiting)
    client = staff_client(waiting)
    other = make_staff("other@alpha.example")
    membership_add(office=world_a.office, user=other)
    staff_client(other)
    client.post(keys_url(world_a, f"grant/{other.public_id}/"))
    assert not OfficeKeyGrant.objects.filter(user=other).exists()
    assert not OfficeKeyGrant.objects.filter(user=waiting).exists()


@pytest.mark.django_db
def test_password_change_keeps_access(world_a: World) -> None:
    client, _recovery = setup_keys(world_a)
    submission = case_submit(tenant=world_a.tenant, office=world_a.office, answers={"q": "kept"})
    response = client.post(
        "/staff/account/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    # Log in afresh with the new password: the rewrapped key opens the case.
    from tests import fixtures

    fresh = Client()
    fresh.post("/staff/login/", {"email": world_a.handler.email, "password": NEW_PASSWORD})
    fresh.post("/staff/verify/", {"code": fixtures.current_code(world_a.handler)})
    assert open_case_as(world_a.handler, world_a, submission.case, fresh) == {"q": "kept"}


@pytest.mark.django_db
def test_reset_loses_access_until_a_member_grants_it(world_a: World) -> None:
    lead_client, _recovery = setup_keys(world_a)
    colleague = make_staff("colleague@alpha.example")
    membership_add(office=world_a.office, user=colleague)
    staff_client(colleague)
    lead_client.post(keys_url(world_a, f"grant/{colleague.public_id}/"))
    submission = case_submit(tenant=world_a.tenant, office=world_a.office, answers={"q": "x"})

    out = io.StringIO()
    call_command("reset_staff_password", colleague.email, "--keep-second-factor", stdout=out)
    temporary = re.search(r": (\S+)\n", out.getvalue())
    assert temporary is not None
    assert not OfficeKeyGrant.objects.filter(user=colleague).exists()

    from tests import fixtures

    client = Client()
    client.post("/staff/login/", {"email": colleague.email, "password": temporary.group(1)})
    client.post("/staff/verify/", {"code": fixtures.current_code(colleague)})
    inbox = client.get(f"/staff/offices/{world_a.office.public_id}/").content.decode()
    assert "waiting for access" in inbox.lower() or "warten" in inbox.lower()
    with pytest.raises(services.KeyAccessError):
        open_case_as(colleague, world_a, submission.case, client)
    lead_client.post(keys_url(world_a, f"grant/{colleague.public_id}/"))
    assert open_case_as(colleague, world_a, submission.case, client) == {"q": "x"}


@pytest.mark.django_db
def test_recovery_key_restores_access(world_a: World) -> None:
    _client, recovery = setup_keys(world_a)
    submission = case_submit(tenant=world_a.tenant, office=world_a.office, answers={"q": "r"})
    call_command(
        "reset_staff_password", world_a.handler.email, "--keep-second-factor", stdout=io.StringIO()
    )
    world_a.handler.set_password(PASSWORD)
    world_a.handler.save()
    client = staff_client(world_a.handler)
    with pytest.raises(services.KeyAccessError):
        open_case_as(world_a.handler, world_a, submission.case, client)
    # A typo is caught by the check characters, with a clear message.
    typo = ("X" if recovery[0] != "X" else "Y") + recovery[1:]
    response = client.post(keys_url(world_a, "recover/"), {"recovery_key": typo})
    assert response.status_code == 200
    assert not OfficeKeyGrant.objects.filter(user=world_a.handler).exists()
    response = client.post(
        keys_url(world_a, "recover/"), {"recovery_key": recovery.lower().replace("-", " ")}
    )
    assert response.status_code == 302
    assert open_case_as(world_a.handler, world_a, submission.case, client) == {"q": "r"}


@pytest.mark.django_db
def test_rotation_keeps_old_cases_readable_and_new_recovery_key(world_a: World) -> None:
    client, old_recovery = setup_keys(world_a)
    colleague = make_staff("colleague@alpha.example")
    membership_add(office=world_a.office, user=colleague)
    colleague_client = staff_client(colleague)
    client.post(keys_url(world_a, f"grant/{colleague.public_id}/"))
    old_case = case_submit(tenant=world_a.tenant, office=world_a.office, answers={"v": 1}).case
    response = client.post(keys_url(world_a, "rotate/"))
    assert response.status_code == 200
    new_groups = re.findall(r'<span class="group">([0-9A-Z]{5})</span>', response.content.decode())
    new_recovery = "-".join(new_groups)
    assert new_recovery != old_recovery
    assert OfficeKeyPair.objects.get(office=world_a.office, active=True).version == 2
    new_case = case_submit(tenant=world_a.tenant, office=world_a.office, answers={"v": 2}).case
    assert new_case.office_keypair is not None
    assert new_case.office_keypair.version == 2
    for user, c in ((world_a.handler, client), (colleague, colleague_client)):
        assert open_case_as(user, world_a, old_case, c) == {"v": 1}
        assert open_case_as(user, world_a, new_case, c) == {"v": 2}
    # The old recovery key no longer opens anything.
    with pytest.raises(services.KeyAccessError):
        services.office_recover(office=world_a.office, actor=colleague, recovery_text=old_recovery)


@pytest.mark.django_db
def test_removing_a_member_deletes_their_grants(world_a: World) -> None:
    lead_client, _recovery = setup_keys(world_a)
    colleague = make_staff("colleague@alpha.example")
    membership_add(office=world_a.office, user=colleague)
    staff_client(colleague)
    lead_client.post(keys_url(world_a, f"grant/{colleague.public_id}/"))
    assert OfficeKeyGrant.objects.filter(user=colleague).exists()
    services.membership_remove(office=world_a.office, user=colleague)
    assert not OfficeKeyGrant.objects.filter(user=colleague).exists()
    assert not Membership.objects.filter(user=colleague).exists()


@pytest.mark.django_db
def test_busy_argon2_gives_a_clear_503(world_a: World) -> None:
    crypto.configure_slots(1, 0.05)
    try:
        with crypto.argon2_slot():
            response = Client(HTTP_ACCEPT_LANGUAGE="en").post(
                "/staff/login/", {"email": world_a.handler.email, "password": PASSWORD}
            )
        assert response.status_code == 503
        assert "busy" in response.content.decode()
    finally:
        crypto.configure_slots(2, 5.0)


@pytest.mark.django_db
def test_an_office_without_keys_cannot_receive_reports(world_a: World) -> None:
    from intake.services import OfficeNotReady

    with pytest.raises(OfficeNotReady):
        case_submit(tenant=world_a.tenant, office=world_a.office, answers={})
