"""Invitations (issue 13, point 2): a one-time link, stored as a hash, that expires; the invitee
sets their own password and second factor, then the role is applied."""

from __future__ import annotations

import difflib
import hashlib
import re
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection, connections
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.fixtures import PASSWORD, World, current_code, make_staff, staff_client
from tests.plugins.sensitive import SensitiveRegistry
from whistle.accounts.invitations import (
    invitation_accept,
    invitation_create,
    invitation_find,
    invitation_revoke,
)
from whistle.accounts.models import Invitation, User
from whistle.accounts.signals import invitation_accepted
from whistle.accounts.tasks import purge_invitations
from whistle.tenants.models import Membership, TenantAdmin

NEW_PASSWORD = "a long password of my own 7"


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def _token(url: str) -> str:
    match = re.search(r"/staff/invitation/([^/]+)/$", url)
    assert match, url
    return match[1]


def _enrol(client: Client, user: User) -> None:
    """The existing enrolment page: read the new device's secret, answer with a code."""
    response = client.get("/staff/enrol/")
    assert response.status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post("/staff/enrol/", {"code": f"{totp(device.bin_key):06d}"})
    assert response.status_code == 200
    assert "recovery codes" in response.content.decode().lower()


@pytest.mark.django_db
def test_only_the_hash_of_the_token_is_stored(world_a: World) -> None:
    invitation, url = invitation_create(
        email="New.Handler@Alpha.example",
        role=Invitation.Role.HANDLER,
        invited_by=world_a.handler,
        office=world_a.office,
        send=False,
    )
    token = _token(url)
    assert len(token) >= 43  # 32 random bytes
    assert url.startswith("http://") or url.startswith("https://")
    invitation.refresh_from_db()
    assert invitation.token_digest == hashlib.sha256(token.encode()).hexdigest()
    assert invitation.email == "new.handler@alpha.example"
    assert invitation.tenant == world_a.tenant  # the office's owner
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_invitation")
        rows = cursor.fetchall()
    assert rows and not any(token in str(value) for row in rows for value in row)


@pytest.mark.django_db
def test_the_mail_names_inviter_organisation_and_link_in_both_languages(
    world_a: World,
    django_capture_on_commit_callbacks: Callable[..., object],
    sensitive: SensitiveRegistry,
) -> None:
    world_a.handler.name = "Erika Muster"
    world_a.handler.save()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        _invitation, url = invitation_create(
            email="lead2@alpha.example",
            role=Invitation.Role.LEAD,
            invited_by=world_a.handler,
            office=world_a.office,
        )
    sensitive.add(_token(url))  # the link goes to the invitee only, never into a log
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["lead2@alpha.example"]
    assert "Alphastadt" in message.subject
    assert url in message.body
    assert message.body.count(url) == 2  # German and English
    assert "Erika Muster" in message.body
    assert "Meldestelle Alphastadt" in message.body
    assert "Einladung" in message.subject or "Invitation" in message.subject
    assert "Passwort" in message.body and "password" in message.body


@pytest.mark.django_db
def test_a_new_person_sets_password_and_second_factor_then_gets_the_role(
    world_a: World, sensitive: SensitiveRegistry
) -> None:
    received: list[tuple[Invitation, User]] = []

    def on_accept(sender: object, invitation: Invitation, user: User, **kwargs: object) -> None:
        received.append((invitation, user))

    invitation_accepted.connect(on_accept)
    try:
        invitation, url = invitation_create(
            email="new@alpha.example",
            role=Invitation.Role.HANDLER,
            invited_by=world_a.handler,
            office=world_a.office,
            send=False,
        )
        sensitive.add(NEW_PASSWORD)
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        page = client.get(_path(url))
        assert page.status_code == 200
        assert "new@alpha.example" in page.content.decode()
        # A mismatch keeps the name typed and says what is wrong.
        response = client.post(
            _path(url),
            {"name": "Nina Neu", "new_password1": NEW_PASSWORD, "new_password2": "other"},
        )
        assert response.status_code == 200
        assert "not the same" in response.content.decode()
        assert 'value="Nina Neu"' in response.content.decode()
        # The password validators apply.
        response = client.post(
            _path(url), {"name": "", "new_password1": "short", "new_password2": "short"}
        )
        assert "too short" in response.content.decode()
        assert not User.objects.filter(email="new@alpha.example").exists()
        response = client.post(
            _path(url),
            {"name": "Nina Neu", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        )
        assert response.status_code == 302 and response["Location"] == "/staff/enrol/"
        user = User.objects.get(email="new@alpha.example")
        assert user.check_password(NEW_PASSWORD) and user.name == "Nina Neu"
        # Password alone: no role yet, the link still pending.
        assert not Membership.objects.filter(user=user).exists()
        assert invitation_find(token=_token(url)) is not None
        _enrol(client, user)
        membership = Membership.objects.get(user=user)
        assert membership.office == world_a.office and membership.role == "handler"
        invitation.refresh_from_db()
        assert invitation.used_at is not None and invitation.accepted_by == user
        assert received == [(invitation, user)] or received[0][1] == user
        home = client.get("/staff/", follow=True)
        assert home.status_code == 200
        # Used: the link shows the same page as an unknown one.
        again = Client(HTTP_ACCEPT_LANGUAGE="en").get(_path(url))
        assert again.status_code == 404
        assert "This invitation link does not work" in again.content.decode()
    finally:
        invitation_accepted.disconnect(on_accept)


@pytest.mark.django_db
def test_an_existing_account_gets_the_role_after_its_full_login(
    worlds: tuple[World, World],
) -> None:
    a, b = worlds
    _invitation, url = invitation_create(
        email=b.handler.email.upper(),
        role=Invitation.Role.LEAD,
        invited_by=a.handler,
        office=a.office,
        send=False,
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    page = client.get(_path(url))
    assert page.status_code == 200
    assert "already a staff account" in page.content.decode()
    assert 'name="new_password1"' not in page.content.decode()
    # Password alone does not apply it.
    client.post("/staff/login/", {"email": b.handler.email, "password": PASSWORD})
    assert not Membership.objects.filter(user=b.handler, office=a.office).exists()
    response = client.post("/staff/verify/", {"code": current_code(b.handler)})
    assert response.status_code == 302
    assert Membership.objects.get(user=b.handler, office=a.office).role == "lead"
    assert User.objects.filter(email__iexact=b.handler.email).count() == 1
    home = client.get("/staff/")
    assert home.status_code == 200
    assert a.office.name in home.content.decode() and b.office.name in home.content.decode()


@pytest.mark.django_db
def test_a_logged_in_invitee_accepts_with_one_button(world_a: World) -> None:
    user = make_staff("colleague@alpha.example")
    _invitation, url = invitation_create(
        email=user.email,
        role=Invitation.Role.TENANT_ADMIN,
        invited_by=None,
        tenant=world_a.tenant,
        send=False,
    )
    client = staff_client(user)
    assert client.get(_path(url)).status_code == 200
    assert not TenantAdmin.objects.filter(user=user).exists()
    response = client.post(_path(url))
    assert response.status_code == 302 and response["Location"] == "/staff/"
    assert TenantAdmin.objects.filter(user=user, tenant=world_a.tenant).exists()


@pytest.mark.django_db
def test_another_logged_in_account_cannot_take_it(worlds: tuple[World, World]) -> None:
    a, b = worlds
    _invitation, url = invitation_create(
        email="someone@alpha.example",
        role=Invitation.Role.TENANT_ADMIN,
        invited_by=a.admin,
        tenant=a.tenant,
        send=False,
    )
    client = staff_client(b.admin)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    for response in (client.get(_path(url)), client.post(_path(url))):
        assert "This invitation is for another account" in response.content.decode()
    assert not TenantAdmin.objects.filter(user=b.admin, tenant=a.tenant).exists()
    assert invitation_find(token=_token(url)) is not None


@pytest.mark.django_db
def test_operator_invitation_makes_operator_staff(db: None) -> None:
    _invitation, url = invitation_create(
        email="ops@operator.example", role=Invitation.Role.OPERATOR, invited_by=None, send=False
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post(
        _path(url),
        {"name": "", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    user = User.objects.get(email="ops@operator.example")
    assert not user.is_staff
    _enrol(client, user)
    user.refresh_from_db()
    assert user.is_staff and not user.is_superuser


@pytest.mark.django_db
def test_unknown_used_expired_and_withdrawn_links_look_the_same(world_a: World) -> None:
    def make() -> tuple[Invitation, str]:
        return invitation_create(
            email=f"x{Invitation.objects.count()}@alpha.example",
            role=Invitation.Role.HANDLER,
            invited_by=None,
            office=world_a.office,
            send=False,
        )

    used, used_url = make()
    assert invitation_accept(invitation=used, user=make_staff(used.email))
    expired, expired_url = make()
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    withdrawn, withdrawn_url = make()
    invitation_revoke(invitation=withdrawn)
    unknown_url = used_url[:-10] + "AAAAAAAAA/"
    bodies = set()
    for url in (used_url, expired_url, withdrawn_url, unknown_url, "/staff/invitation/x/"):
        path = _path(url) if "://" in url else url
        response = Client(HTTP_ACCEPT_LANGUAGE="en").get(path)
        assert response.status_code == 404
        body = response.content.decode().replace(path, "/staff/invitation/…/")
        bodies.add(re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body))
    first, *others = sorted(bodies)
    for other in others:
        assert other == first, "\n".join(
            difflib.unified_diff(first.splitlines(), other.splitlines())
        )
    assert "This invitation link does not work" in bodies.pop()


@pytest.mark.django_db
def test_the_link_expires_after_the_configured_days(world_a: World, settings: object) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        invitation, url = invitation_create(
            email="late@alpha.example",
            role=Invitation.Role.HANDLER,
            invited_by=None,
            office=world_a.office,
            send=False,
        )
    assert invitation.expires_at == start + timedelta(days=7)
    with time_machine.travel(start + timedelta(days=6, hours=23), tick=False):
        assert Client().get(_path(url)).status_code == 200
    with time_machine.travel(start + timedelta(days=7, seconds=1), tick=False):
        assert Client().get(_path(url)).status_code == 404
        user = make_staff("late@alpha.example")
        assert not invitation_accept(invitation=invitation, user=user)
    assert not Membership.objects.filter(user__email="late@alpha.example").exists()


@pytest.mark.django_db
def test_purge_removes_used_and_expired_keeps_pending(world_a: World) -> None:
    kept, _url = invitation_create(
        email="keep@alpha.example",
        role=Invitation.Role.HANDLER,
        invited_by=None,
        office=world_a.office,
        send=False,
    )
    used, _url = invitation_create(
        email="used@alpha.example",
        role=Invitation.Role.HANDLER,
        invited_by=None,
        office=world_a.office,
        send=False,
    )
    assert invitation_accept(invitation=used, user=make_staff("used@alpha.example"))
    expired, _url = invitation_create(
        email="old@alpha.example",
        role=Invitation.Role.TENANT_ADMIN,
        invited_by=None,
        tenant=world_a.tenant,
        send=False,
    )
    Invitation.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert purge_invitations() == 2
    assert list(Invitation.objects.values_list("pk", flat=True)) == [kept.pk]
    from django.conf import settings as conf

    entry = conf.CELERY_BEAT_SCHEDULE["purge-invitations"]
    assert entry["task"] == "whistle.accounts.tasks.purge_invitations"


@pytest.mark.django_db
def test_a_new_invitation_replaces_the_pending_one_and_roles_are_not_doubled(
    world_a: World,
) -> None:
    first, first_url = invitation_create(
        email="twice@alpha.example",
        role=Invitation.Role.HANDLER,
        invited_by=None,
        office=world_a.office,
        send=False,
    )
    _second, second_url = invitation_create(
        email="twice@alpha.example",
        role=Invitation.Role.HANDLER,
        invited_by=None,
        office=world_a.office,
        send=False,
    )
    assert invitation_find(token=_token(first_url)) is None
    assert invitation_find(token=_token(second_url)) is not None
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        invitation_create(
            email=world_a.handler.email,
            role=Invitation.Role.LEAD,
            invited_by=None,
            office=world_a.office,
            send=False,
        )
    with pytest.raises(ValidationError):
        invitation_create(
            email="not an address", role=Invitation.Role.OPERATOR, invited_by=None, send=False
        )
    with pytest.raises(ValidationError):
        invitation_create(
            email="x@alpha.example", role=Invitation.Role.LEAD, invited_by=None, send=False
        )
    assert not Invitation.objects.filter(pk=first.pk).exists()


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _lock_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_acceptances_one_wins(world_a: World) -> None:
    invitation, _url = invitation_create(
        email="race@alpha.example",
        role=Invitation.Role.LEAD,
        invited_by=None,
        office=world_a.office,
        send=False,
    )
    user = make_staff("race@alpha.example")
    results: list[bool] = []
    errors: list[BaseException] = []

    def accept() -> None:
        try:
            own = Invitation.objects.get(pk=invitation.pk)  # this thread's connection
            results.append(invitation_accept(invitation=own, user=user))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    # A third connection holds the invitation's row: both acceptances reach the UPDATE and
    # wait there; then the row is released and PostgreSQL lets one of them win.
    holder = connections.create_connection("default")
    try:
        with holder.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(
                "SELECT id FROM accounts_invitation WHERE id = %s FOR UPDATE", [invitation.pk]
            )
            threads = [threading.Thread(target=accept) for _ in range(2)]
            for thread in threads:
                thread.start()
            _wait_for(lambda: _lock_waiters() >= 2, "both acceptances to wait on the row")
            cursor.execute("ROLLBACK")
    finally:
        holder.close()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sorted(results) == [False, True]
    assert Membership.objects.filter(user=user, office=world_a.office).count() == 1
