"""The operator console (issue 13, point 1): operator staff only; tenants with usage figures and
nothing else; create (with the first admin's invitation), suspend/resume, host names; every
action in the tenant's audit chain."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from casework.audit import audit_verify
from casework.models import AuditEvent
from intake.models import Attachment, Case
from tests.fixtures import World, make_staff, staff_client
from tests.intake.journey import reporter, submit_report
from tests.keys.test_key_hierarchy import setup_keys
from whistle import rls
from whistle.accounts.models import Invitation, User
from whistle.tenants.models import Tenant, TenantHostname

HOME = "/staff/operator/"
NEW = "/staff/operator/tenants/new/"


def tenant_page(tenant: Tenant) -> str:
    return f"/staff/operator/tenants/{tenant.public_id}/"


@pytest.fixture
def operator(db: None) -> User:
    user = make_staff("operator@service.example")
    user.is_staff = True
    user.save()
    return user


def operator_client(user: User) -> Client:
    client = staff_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


# The fixtures' own set-up (members and admins added) is audited too; these tests look at what
# the operator did.
SET_UP = {"member.added", "tenant_admin.added"}


def verbs(tenant: Tenant) -> list[str]:
    """The operator-side events of ``tenant``'s audit chain, in order."""
    with rls.system():
        return list(
            AuditEvent.objects.filter(tenant=tenant)
            .exclude(verb__in=SET_UP)
            .order_by("sequence")
            .values_list("verb", flat=True)
        )


@pytest.mark.django_db
def test_everyone_but_operator_staff_gets_404(world_a: World, operator: User) -> None:
    routes = [HOME, NEW, tenant_page(world_a.tenant)]
    for user in (world_a.handler, world_a.admin):
        client = staff_client(user)
        for route in routes:
            assert client.get(route).status_code == 404, route
            assert client.post(route, {"action": "suspend"}).status_code == 404, route
    Tenant.objects.get(pk=world_a.tenant.pk).enabled  # noqa: B018
    assert Tenant.objects.get(pk=world_a.tenant.pk).enabled
    # Anonymous: the login page; a password alone: the second factor first.
    assert Client().get(HOME)["Location"].startswith("/staff/login/")
    half = Client()
    half.post(
        "/staff/login/", {"email": operator.email, "password": "correct horse battery staple 42"}
    )
    assert half.get(HOME)["Location"].startswith("/staff/verify/")
    # The operator's overview links the console.
    client = operator_client(operator)
    assert HOME in client.get("/staff/").content.decode()


@pytest.mark.django_db
def test_usage_is_numbers_only(worlds: tuple[World, World], operator: User) -> None:
    a, b = worlds
    setup_keys(a)
    evidence = [SimpleUploadedFile("evidence.txt", b"secret evidence body", "text/plain")]
    submit_report(reporter(), a, files={"evidence": evidence})
    submit_report(reporter(), a)
    submit_report(reporter(), a)
    today = timezone.localdate()
    this_month = today.replace(day=1)
    last_month = (this_month - datetime.timedelta(days=1)).replace(day=1)
    earlier = (this_month - datetime.timedelta(days=140)).replace(day=1)
    with rls.system():
        cases = list(Case.objects.filter(tenant=a.tenant).order_by("id"))
        stored = sum(
            Attachment.objects.filter(case__tenant=a.tenant).values_list("stored_size", flat=True)
        )
        # One report of last month, one of about five months ago; the third came in this
        # month, which is not counted until it is over.
        Case.objects.filter(pk=cases[0].pk).update(received_on=last_month.replace(day=17))
        Case.objects.filter(pk=cases[1].pk).update(received_on=earlier.replace(day=3))
    assert len(cases) == 3 and stored > 0
    client = operator_client(operator)
    page = client.get(HOME)
    assert page.status_code == 200
    body = page.content.decode()
    assert a.tenant.name in body and b.tenant.name in body
    detail = client.get(tenant_page(a.tenant))
    assert detail.status_code == 200
    usage = detail.context["usage"]
    months = dict(usage.cases_per_month)
    assert len(months) == 12 and this_month not in months
    assert max(months) == last_month
    assert months[last_month] == 1 and months[earlier] == 1
    assert usage.cases_last_12_months == 2
    assert usage.storage_bytes == stored
    # The last staff action (the lead creating the office keys), never a report's arrival.
    assert usage.last_activity == today
    # Nothing of the reports: no category, no ids of cases or files, no file name.
    text = detail.content.decode()
    for case in cases:
        assert str(case.public_id) not in text
        if case.category:
            assert case.category not in text
    assert "evidence.txt" not in text and "/cases/" not in text and "/keys" not in text
    empty = client.get(tenant_page(b.tenant)).context["usage"]
    assert empty.cases_last_12_months == 0 and empty.storage_bytes == 0
    assert empty.last_activity is None


@pytest.mark.django_db
def test_creating_a_tenant_invites_its_first_admin(
    db: None,
    operator: User,
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    client = operator_client(operator)
    form = client.get(NEW)
    assert form.status_code == 200
    data = {
        "name": "Stadt Musterstadt",
        "slug": "musterstadt",
        "languages": ["de", "en"],
        "admin_email": "Admin@Musterstadt.example",
    }
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        response = client.post(NEW, data)
    tenant = Tenant.objects.get(slug="musterstadt")
    assert response.status_code == 302 and response["Location"] == tenant_page(tenant)
    assert tenant.name == "Stadt Musterstadt" and tenant.languages == ["de", "en"]
    invitation = Invitation.objects.get(tenant=tenant)
    assert invitation.role == Invitation.Role.TENANT_ADMIN
    assert invitation.email == "admin@musterstadt.example"
    assert invitation.invited_by == operator
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["admin@musterstadt.example"]
    link = re.search(r"https?://\S+/staff/invitation/\S+/", str(mail.outbox[0].body))
    assert link is not None
    assert verbs(tenant) == ["tenant.created", "invitation.created"]
    assert audit_verify(tenant=tenant) == []
    # The pending invitation shows on the tenant page.
    assert "admin@musterstadt.example" in client.get(tenant_page(tenant)).content.decode()


@pytest.mark.django_db
def test_bad_input_keeps_what_was_typed(world_a: World, operator: User) -> None:
    client = operator_client(operator)
    response = client.post(
        NEW,
        {
            "name": "Zweite Alphastadt",
            "slug": world_a.tenant.slug,
            "languages": ["en"],
            "admin_email": "admin@zweite.example",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'value="Zweite Alphastadt"' in body and 'value="admin@zweite.example"' in body
    assert "already exists" in body
    assert Tenant.objects.count() == 1 and not Invitation.objects.exists()
    response = client.post(NEW, {"name": "X", "slug": "x-y", "admin_email": "nope"})
    assert response.status_code == 400
    assert "Enter a valid email address" in response.content.decode()
    assert "This field is required" in response.content.decode()


@pytest.mark.django_db
def test_suspend_and_resume(world_a: World, operator: User) -> None:
    client = operator_client(operator)
    response = client.post(tenant_page(world_a.tenant), {"action": "suspend"})
    assert response.status_code == 302
    world_a.tenant.refresh_from_db()
    assert not world_a.tenant.enabled
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get("/t/alpha/")
    assert page.status_code == 404
    assert "This reporting channel is closed for now" in page.content.decode()
    # Suspending twice changes nothing and writes nothing.
    client.post(tenant_page(world_a.tenant), {"action": "suspend"})
    assert "suspended" in client.get(HOME).content.decode()
    client.post(tenant_page(world_a.tenant), {"action": "resume"})
    world_a.tenant.refresh_from_db()
    assert world_a.tenant.enabled
    assert Client().get("/t/alpha/").status_code == 200
    assert verbs(world_a.tenant) == ["tenant.suspended", "tenant.resumed"]
    with rls.system():
        actors = set(
            AuditEvent.objects.filter(tenant=world_a.tenant)
            .exclude(verb__in=SET_UP)
            .values_list("actor", flat=True)
        )
    assert actors == {operator.pk}
    assert client.post(tenant_page(world_a.tenant), {"action": "bogus"}).status_code == 404


@pytest.mark.django_db
def test_host_names(worlds: tuple[World, World], operator: User) -> None:
    a, b = worlds
    client = operator_client(operator)
    response = client.post(
        tenant_page(a.tenant), {"action": "hostname_add", "host-hostname": "Meldung.Alpha.example."}
    )
    assert response.status_code == 302
    host = TenantHostname.objects.get(tenant=a.tenant)
    assert host.hostname == "meldung.alpha.example"
    assert Client().get("/", HTTP_HOST="meldung.alpha.example").status_code == 200
    # Taken, or not a host name: a message, the typed value kept.
    for value, message in (
        ("meldung.alpha.example", "already exists"),
        ("not a host!", "Enter a host name"),
    ):
        response = client.post(
            tenant_page(b.tenant), {"action": "hostname_add", "host-hostname": value}
        )
        assert response.status_code == 400
        assert message in response.content.decode()
        assert f'value="{value}"' in response.content.decode()
    # Another tenant's host name cannot be removed through this tenant's page.
    other = client.post(
        tenant_page(b.tenant), {"action": "hostname_remove", "hostname_id": host.pk}
    )
    assert other.status_code == 404
    assert TenantHostname.objects.filter(pk=host.pk).exists()
    client.post(tenant_page(a.tenant), {"action": "hostname_remove", "hostname_id": host.pk})
    assert not TenantHostname.objects.filter(pk=host.pk).exists()
    assert verbs(a.tenant) == ["tenant.hostname_added", "tenant.hostname_removed"]
    assert verbs(b.tenant) == []


@pytest.mark.django_db
def test_invite_admin_and_operator(world_a: World, operator: User) -> None:
    client = operator_client(operator)
    response = client.post(
        tenant_page(world_a.tenant),
        {"action": "invite_admin", "admin-email": "second@alpha.example"},
    )
    assert response.status_code == 302
    assert Invitation.objects.filter(
        tenant=world_a.tenant, role="tenant_admin", email="second@alpha.example"
    ).exists()
    # The existing admin is refused with a message.
    response = client.post(
        tenant_page(world_a.tenant), {"action": "invite_admin", "admin-email": world_a.admin.email}
    )
    assert response.status_code == 400
    assert "has this role already" in response.content.decode()
    response = client.post(HOME, {"operator-email": "colleague@service.example"})
    assert response.status_code == 302
    invitation = Invitation.objects.get(role="operator")
    assert invitation.tenant is None and invitation.email == "colleague@service.example"
    assert "colleague@service.example" in client.get(HOME).content.decode()
    assert verbs(world_a.tenant) == ["invitation.created"]


@pytest.mark.django_db
def test_an_accepted_tenant_invitation_is_audited(world_a: World) -> None:
    from whistle.accounts.invitations import invitation_accept, invitation_create

    invitation, _url = invitation_create(
        email="new-admin@alpha.example",
        role=Invitation.Role.TENANT_ADMIN,
        invited_by=world_a.admin,
        tenant=world_a.tenant,
        send=False,
    )
    user = make_staff("new-admin@alpha.example")
    assert invitation_accept(invitation=invitation, user=user)
    assert verbs(world_a.tenant) == ["invitation.accepted"]
    assert audit_verify(tenant=world_a.tenant) == []
