"""Offices and members (issue 13 point 5): creating an office, who manages it, the external
flag and the six-month feedback extension (DL-2)."""

from __future__ import annotations

import datetime
import re
import zoneinfo
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client

from casework.audit import audit_verify
from casework.models import AuditEvent
from casework.tasks import queue_deadline_reminders
from console import offices
from intake.models import Case, CaseRecord
from tests.casework.helpers import case_url, filed_case
from tests.fixtures import World, make_staff, staff_client
from tests.intake.journey import reporter, submit_report
from tests.keys.test_key_hierarchy import setup_keys
from whistle import rls
from whistle.accounts.models import User
from whistle.keys.models import OfficeKeyGrant
from whistle.tenants.models import Membership, Office, OfficeService
from whistle.tenants.services import membership_add
from whistle.tenants.services import office_create as tenant_office_create


def staff(user: User) -> Client:
    """A logged-in staff client reading English pages."""
    client = staff_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def office_page(office: Office, tail: str = "") -> str:
    return f"/staff/offices/{office.public_id}/manage/{tail}"


def verbs(world: World) -> list[str]:
    return list(
        AuditEvent.objects.filter(tenant=world.tenant)
        .order_by("sequence")
        .values_list("verb", flat=True)
    )


@pytest.mark.django_db
def test_a_tenant_admin_creates_an_office_and_opens_its_page(worlds: tuple[World, World]) -> None:
    a, b = worlds
    admin = staff(a.admin)
    url = f"/staff/tenants/{a.tenant.public_id}/offices/new/"
    assert admin.get(url).status_code == 200
    # A missing name is refused with a message, and what was typed stays in the form.
    response = admin.post(url, {"name": "", "description": "For all staff"})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert "For all staff" in response.content.decode()
    response = admin.post(
        url + "?next=/staff/tenants/" + str(a.tenant.public_id) + "/",
        {"name": "Compliance", "description": "For all staff"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/staff/tenants/{a.tenant.public_id}/"
    office = Office.objects.get(name="Compliance")
    assert office.owner == a.tenant
    assert list(office.tenants.all()) == [a.tenant]
    assert not office.is_external
    assert verbs(a)[-1] == "office.created"
    assert admin.get(office_page(office)).status_code == 200
    # An unsafe "next" is ignored: the office page instead.
    response = admin.post(url + "?next=https://evil.example/", {"name": "Second office"})
    assert response["Location"] == office_page(Office.objects.get(name="Second office"))
    # Another tenant's admin can neither create offices for A nor open A's office.
    other = staff_client(b.admin)
    assert other.post(url, {"name": "Intruder"}).status_code == 404
    assert not Office.objects.filter(name="Intruder").exists()
    assert other.get(office_page(office)).status_code == 404


@pytest.mark.django_db
def test_only_its_leads_and_the_owners_admins_manage_an_office(
    worlds: tuple[World, World],
) -> None:
    a, b = worlds
    handler = make_staff("plain@alpha.example")
    membership_add(office=a.office, user=handler, role=Membership.Role.HANDLER)
    assert staff_client(a.handler).get(office_page(a.office)).status_code == 200  # lead
    assert staff_client(a.admin).get(office_page(a.office)).status_code == 200  # owner's admin
    assert staff_client(handler).get(office_page(a.office)).status_code == 404
    assert staff_client(b.handler).get(office_page(a.office)).status_code == 404
    # An office that merely *serves* B is not managed by B's admin.
    a.office.tenants.add(b.tenant)
    assert staff_client(b.admin).get(office_page(a.office)).status_code == 404


def _extend_form_shown(lead: Client, world: World, case: Case) -> bool:
    page = lead.get(case_url(world, case), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    return "do/extend/" in page


@pytest.mark.django_db
def test_marking_an_office_external_makes_the_six_month_extension_available(
    world_a: World,
) -> None:
    lead, case, _receipt = filed_case(world_a)

    def extend() -> str:
        response = lead.post(
            case_url(world_a, case, "do/extend/"),
            {"reason": "Three authorities involved"},
            HTTP_ACCEPT_LANGUAGE="en",
            follow=True,
        )
        return str(response.content.decode())

    assert not _extend_form_shown(lead, world_a, case)
    assert "Only external reporting offices" in extend()
    case.refresh_from_db()
    assert case.feedback_extended_until is None

    assert (
        lead.post(office_page(world_a.office, "external/"), {"is_external": "1"}).status_code == 302
    )
    world_a.office.refresh_from_db()
    assert world_a.office.is_external
    assert verbs(world_a)[-1] == "office.external_changed"
    assert _extend_form_shown(lead, world_a, case)

    # Back to internal: the form is gone and the service refuses.
    staff_client(world_a.admin).post(office_page(world_a.office, "external/"), {"is_external": "0"})
    world_a.office.refresh_from_db()
    assert not world_a.office.is_external
    assert not _extend_form_shown(lead, world_a, case)
    assert "Only external reporting offices" in extend()

    lead.post(office_page(world_a.office, "external/"), {"is_external": "1"})
    extend()
    case.refresh_from_db()
    assert case.feedback_extended_until is not None
    assert (case.feedback_extended_until - case.received_on).days >= 181


# --- members --------------------------------------------------------------------------------


def _granted_member(world: World, lead: Client, email: str) -> tuple[User, Client]:
    """A handler who logged in once (their key pair exists) and was granted the office key."""
    member = make_staff(email)
    membership_add(office=world.office, user=member, role=Membership.Role.HANDLER)
    client = staff(member)
    response = lead.post(f"/staff/offices/{world.office.public_id}/keys/grant/{member.public_id}/")
    assert response.status_code == 302
    assert OfficeKeyGrant.objects.filter(user=member, keypair__office=world.office).exists()
    return member, client


@pytest.mark.django_db
def test_the_lead_removes_a_member_who_then_loses_the_office_and_its_cases(
    worlds: tuple[World, World],
) -> None:
    a, b = worlds
    lead, case, _receipt = filed_case(a)
    lead.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    member, member_client = _granted_member(a, lead, "member@alpha.example")
    assert member_client.get(case_url(a, case)).status_code == 200
    # Someone else's office cannot remove A's member (the lookup is through the office).
    remove = office_page(a.office, f"members/{member.public_id}/remove/")
    assert staff(b.handler).post(remove).status_code == 404
    assert staff(b.admin).post(remove).status_code == 404
    # A plain member cannot remove anyone.
    assert (
        member_client.post(
            office_page(a.office, f"members/{a.handler.public_id}/remove/")
        ).status_code
        == 404
    )

    response = lead.post(remove, follow=True)
    assert "was removed from the office" in response.content.decode()
    assert not Membership.objects.filter(office=a.office, user=member).exists()
    assert not OfficeKeyGrant.objects.filter(user=member).exists()
    event = AuditEvent.objects.filter(tenant=a.tenant).order_by("-sequence").first()
    assert event is not None
    assert (event.verb, event.object_id, event.actor_id) == (
        "member.removed",
        str(member.public_id),
        a.handler.pk,
    )
    assert member_client.get(case_url(a, case)).status_code == 404
    assert member_client.get(f"/staff/offices/{a.office.public_id}/").status_code == 404
    assert member_client.get(f"/staff/offices/{a.office.public_id}/keys/").status_code == 404
    # Removing them again: they are no member any more.
    assert lead.post(remove).status_code == 404


@pytest.mark.django_db
def test_the_last_lead_stays_and_role_changes_are_audited(world_a: World) -> None:
    a = world_a
    lead = staff(a.handler)
    other = make_staff("other@alpha.example")
    membership_add(office=a.office, user=other, role=Membership.Role.HANDLER)

    def role(user: User) -> str:
        return str(Membership.objects.get(office=a.office, user=user).role)

    # The only lead can neither leave nor step down.
    response = lead.post(
        office_page(a.office, f"members/{a.handler.public_id}/remove/"), follow=True
    )
    assert "only lead" in response.content.decode()
    assert role(a.handler) == Membership.Role.LEAD
    response = lead.post(
        office_page(a.office, f"members/{a.handler.public_id}/role/"),
        {"role": "handler"},
        follow=True,
    )
    assert "only lead" in response.content.decode()
    assert role(a.handler) == Membership.Role.LEAD
    # A second lead first; then the first may step down (audited each time).
    lead.post(office_page(a.office, f"members/{other.public_id}/role/"), {"role": "lead"})
    assert role(other) == Membership.Role.LEAD
    lead.post(office_page(a.office, f"members/{a.handler.public_id}/role/"), {"role": "handler"})
    assert role(a.handler) == Membership.Role.HANDLER
    assert verbs(a)[-2:] == ["member.role_changed", "member.role_changed"]
    # No longer a lead: the office page is closed to them.
    assert lead.get(office_page(a.office)).status_code == 404
    # A nonsense role is refused with a message, nothing changes.
    new_lead = staff(other)
    response = new_lead.post(
        office_page(a.office, f"members/{a.handler.public_id}/role/"), {"role": "boss"}, follow=True
    )
    assert "Choose handler or office lead." in response.content.decode()
    assert role(a.handler) == Membership.Role.HANDLER
    # The owner's admin manages members too.
    staff(a.admin).post(
        office_page(a.office, f"members/{a.handler.public_id}/role/"), {"role": "lead"}
    )
    assert role(a.handler) == Membership.Role.LEAD


# --- absence and deputy (DL-3) --------------------------------------------------------------

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def at(day: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day).replace(hour=12, tzinfo=BERLIN)


@pytest.fixture
def run_reminders(django_capture_on_commit_callbacks: Any) -> Callable[[], list[str]]:
    """The hourly beat job and the mails it queues (the SMTP edge is Django's locmem
    outbox); returns the addresses mailed by this run."""

    def go() -> list[str]:
        before = len(mail.outbox)
        with django_capture_on_commit_callbacks(execute=True):
            queue_deadline_reminders()
        return sorted(address for m in mail.outbox[before:] for address in m.to)

    return go


def absence(office: Office) -> str:
    return f"/staff/offices/{office.public_id}/absence/"


@pytest.mark.django_db
def test_while_a_member_is_away_their_reminders_go_to_their_deputy(
    worlds: tuple[World, World], run_reminders: Callable[[], list[str]]
) -> None:
    a, b = worlds
    with time_machine.travel(at("2026-06-01"), tick=False) as clock:
        _lead, case, _receipt = filed_case(a)
        away = make_staff("away@alpha.example")
        deputy = make_staff("deputy@alpha.example")
        membership_add(office=a.office, user=away)
        membership_add(office=a.office, user=deputy)
        case.assignee = away
        case.save(update_fields=["assignee"])
        client = staff(away)
        page = client.get(absence(a.office)).content.decode()
        assert deputy.email.split("@")[0].title() in page
        assert str(b.handler.public_id) not in page  # only colleagues of the same office

        # Someone of another office cannot be named (not among the choices).
        response = client.post(
            absence(a.office), {"away": "on", "deputy": str(b.handler.public_id)}
        )
        assert "Select a valid choice" in response.content.decode()
        # A colleague who is away as well is refused with a message.
        Membership.objects.filter(user=deputy).update(away=True)
        response = client.post(absence(a.office), {"away": "on", "deputy": str(deputy.public_id)})
        assert "is away as well" in response.content.decode()
        Membership.objects.filter(user=deputy).update(away=False)

        response = client.post(absence(a.office), {"away": "on", "deputy": str(deputy.public_id)})
        assert response.status_code == 302
        membership = Membership.objects.get(office=a.office, user=away)
        assert membership.away and membership.deputy == deputy
        assert verbs(a)[-1] == "member.away_changed"
        # The lead's office page shows who is away and who covers.
        assert "deputy: Deputy" in staff(a.handler).get(office_page(a.office)).content.decode()
        mail.outbox.clear()

        clock.move_to(at("2026-06-06"))  # two days before the acknowledgement deadline
        assert run_reminders() == [deputy.email]

        # Back: the reminders are theirs again.
        staff(away).post(absence(a.office), {"deputy": str(deputy.public_id)})
        assert not Membership.objects.get(office=a.office, user=away).away
        clock.move_to(at("2026-06-08"))  # the due date
        assert run_reminders() == [away.email]

        # Away without a deputy: the present leads are told instead.
        staff(away).post(absence(a.office), {"away": "on", "deputy": ""})
        clock.move_to(at("2026-06-09"))  # overdue: the leads are told anyway
        assert run_reminders() == [a.handler.email]


@pytest.mark.django_db
def test_a_removed_assignee_gets_no_reminders_the_leads_do(
    world_a: World, run_reminders: Callable[[], list[str]]
) -> None:
    a = world_a
    with time_machine.travel(at("2026-06-01"), tick=False) as clock:
        _lead, case, _receipt = filed_case(a)
        gone = make_staff("gone@alpha.example")
        membership_add(office=a.office, user=gone)
        case.assignee = gone
        case.save(update_fields=["assignee"])
        staff(a.admin).post(office_page(a.office, f"members/{gone.public_id}/remove/"))
        assert not Membership.objects.filter(user=gone).exists()
        mail.outbox.clear()
        clock.move_to(at("2026-06-06"))
        assert run_reminders() == [a.handler.email]


@pytest.mark.django_db
def test_only_members_mark_themselves_away(worlds: tuple[World, World]) -> None:
    a, b = worlds
    # The tenant admin is no member: 404, as for another tenant's handler.
    assert staff(a.admin).get(absence(a.office)).status_code == 404
    assert staff(b.handler).post(absence(a.office), {"away": "on"}).status_code == 404
    assert not Membership.objects.get(office=a.office, user=a.handler).away


@pytest.mark.django_db
def test_the_lead_invites_a_handler_who_joins_and_reads_after_the_grant(
    worlds: tuple[World, World], django_capture_on_commit_callbacks: Any
) -> None:
    a, b = worlds
    lead, case, _receipt = filed_case(a)
    lead.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    invite = office_page(a.office, "invite/")
    # A typo keeps what was typed and says what is wrong.
    response = lead.post(invite, {"email": "colleague-at-alpha", "role": "handler"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Enter a valid email address." in page and "colleague-at-alpha" in page
    # Another office's lead and a tenant admin of another tenant cannot invite into A's office.
    assert (
        staff(b.handler).post(invite, {"email": "x@beta.example", "role": "lead"}).status_code
        == 404
    )
    assert (
        staff(b.admin).post(invite, {"email": "x@beta.example", "role": "lead"}).status_code == 404
    )

    colleague = make_staff("colleague@alpha.example")
    with django_capture_on_commit_callbacks(execute=True):
        response = lead.post(invite, {"email": colleague.email, "role": "handler"}, follow=True)
    assert "The invitation was sent to colleague@alpha.example" in response.content.decode()
    assert "colleague@alpha.example" in lead.get(office_page(a.office)).content.decode()
    assert [m.to for m in mail.outbox] == [[colleague.email]]
    link = re.search(r"https?://\S+/staff/invitation/\S+/", str(mail.outbox[0].body))
    assert link is not None
    client = staff(colleague)
    response = client.post("/" + link[0].split("://", 1)[1].split("/", 1)[1])
    assert response.status_code == 302
    membership = Membership.objects.get(office=a.office, user=colleague)
    assert membership.role == Membership.Role.HANDLER
    # A member now, but no key yet: the case does not open until a member grants access.
    assert not OfficeKeyGrant.objects.filter(user=colleague).exists()
    assert client.get(case_url(a, case)).status_code == 403
    lead.post(f"/staff/offices/{a.office.public_id}/keys/grant/{colleague.public_id}/")
    client = staff(colleague)  # the new grant is unwrapped at login
    assert client.get(case_url(a, case)).status_code == 200
    assert OfficeKeyGrant.objects.filter(user=colleague).exists()


# --- shared office: an office of tenant A serves tenant B (MT-1) ----------------------------


def shared(tenant_world: World, office: Office) -> World:
    """B's reporting page with A's office O as its office (for submit_report)."""
    return World(
        tenant=tenant_world.tenant,
        office=office,
        handler=tenant_world.handler,
        admin=tenant_world.admin,
    )


def service_page(world: World) -> str:
    return f"/staff/tenants/{world.tenant.public_id}/offices/shared/"


def chain(world: World, verb: str) -> list[str]:
    return list(
        AuditEvent.objects.filter(tenant=world.tenant, verb=verb).values_list(
            "object_id", flat=True
        )
    )


@pytest.mark.django_db
def test_an_office_of_a_serves_b_on_request_and_each_case_stays_its_tenants(
    worlds: tuple[World, World],
) -> None:
    a, b = worlds
    office = a.office  # O, owned by A
    lead, _recovery = setup_keys(a)  # O's lead, with the office key in the session
    lead.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    b_admin, a_admin = staff(b.admin), staff(a.admin)

    # The lead makes a code and gives it to B's admin; B's admin sees no list of offices.
    assert lead.post(office_page(office, "code/")).status_code == 302
    office.refresh_from_db()
    assert office.service_code is not None
    code = offices.format_code(office.service_code)
    assert code in lead.get(office_page(office)).content.decode()
    page = b_admin.get(service_page(b)).content.decode()
    assert office.name not in page and code not in page

    # A wrong code: a clear message, the typed code stays.
    response = b_admin.post(service_page(b), {"code": "WRONG-CODE-1234"})
    assert "No office has this code" in response.content.decode()
    assert "WRONG-CODE-1234" in response.content.decode()
    # Typed in lower case with spaces and a confusable O for 0: still found.
    typed = code.lower().replace("-", " ").replace("0", "o")
    response = b_admin.post(service_page(b), {"code": typed}, follow=True)
    assert "was asked to serve Betadorf" in response.content.decode()
    service = OfficeService.objects.get(office=office, tenant=b.tenant)
    assert service.status == OfficeService.Status.PENDING
    assert b.tenant not in office.tenants.all()
    # Audited in both tenants' chains, and both chains still verify.
    assert (
        chain(a, "office.service_requested")
        == chain(b, "office.service_requested")
        == [str(service.public_id)]
    )
    # The owner's admin sees the request but only the lead decides.
    decide = office_page(office, f"services/{service.public_id}/decide/")
    assert (
        "Betadorf asks this office to serve it."
        in a_admin.get(office_page(office)).content.decode()
    )
    response = a_admin.post(decide, {"decision": "accept"}, follow=True)
    assert "Only the office lead may accept or refuse." in response.content.decode()
    # B's admin cannot decide for O (not O's page), nor can B's handler.
    assert b_admin.post(decide, {"decision": "accept"}).status_code == 404
    assert staff(b.handler).post(decide, {"decision": "accept"}).status_code == 404

    assert lead.post(decide, {"decision": "accept"}).status_code == 302
    service.refresh_from_db()
    assert service.status == OfficeService.Status.ACCEPTED
    assert set(office.tenants.all()) == {a.tenant, b.tenant}
    assert chain(a, "office.service_accepted") == chain(b, "office.service_accepted")
    assert audit_verify(tenant=a.tenant) == [] and audit_verify(tenant=b.tenant) == []

    # Reports filed on A's and on B's page reach O; each case belongs to its tenant.
    submit_report(reporter(), a)
    submit_report(reporter(), shared(b, office))
    case_a = Case.objects.get(tenant=a.tenant)
    case_b = Case.objects.get(tenant=b.tenant)
    assert case_a.office == case_b.office == office
    # O's handlers see both.
    inbox = lead.get(f"/staff/offices/{office.public_id}/").content.decode()
    assert str(case_a.public_id) in inbox and str(case_b.public_id) in inbox
    for case in (case_a, case_b):
        assert (
            lead.get(f"/staff/offices/{office.public_id}/cases/{case.public_id}/").status_code
            == 200
        )

    # A's admin sees nothing of B, B's admin nothing of A: no page, and no row in the database.
    for client in (a_admin, b_admin):
        for case in (case_a, case_b):
            url = f"/staff/offices/{office.public_id}/cases/{case.public_id}/"
            assert client.get(url).status_code == 404
    assert b_admin.get(office_page(office)).status_code == 404
    assert b_admin.get(f"/staff/offices/{office.public_id}/").status_code == 404
    assert a_admin.get(f"/staff/tenants/{b.tenant.public_id}/statistics/").status_code == 404
    # A handler of another office of A gets 404 on B's case, through either office.
    other_office = tenant_office_create(owner=a.tenant, name="Second office of A")
    other = make_staff("other-office@alpha.example")
    membership_add(office=other_office, user=other, role=Membership.Role.LEAD)
    other_client = staff(other)
    for office_id in (office.public_id, other_office.public_id):
        assert (
            other_client.get(f"/staff/offices/{office_id}/cases/{case_b.public_id}/").status_code
            == 404
        )

    # The second wall (row-level security, as the application role).
    if connection.vendor == "postgresql":

        def rows(user: User, model: type[Any], **filters: Any) -> int:
            with rls.acting_as(rls.Principal(user=user.pk)):
                return int(model.objects.filter(**filters).count())

        assert rows(a.handler, Case, tenant=b.tenant) == 1  # O's handlers read B's case
        assert rows(a.handler, CaseRecord, case__tenant=b.tenant) >= 1
        assert rows(b.admin, Case, tenant=a.tenant) == 0  # B's admin reads no row of A
        assert rows(b.admin, AuditEvent, tenant=a.tenant) == 0
        assert rows(a.admin, Case, tenant=b.tenant) == 0  # nor A's admin of B
        assert rows(a.admin, AuditEvent, tenant=b.tenant) == 0
        assert rows(other, Case, tenant=b.tenant) == 0

    # Ending the service: refused while O handles B's open case, by either side.
    end = f"/staff/tenants/{b.tenant.public_id}/offices/shared/{service.public_id}/end/"
    response = b_admin.post(end, follow=True)
    assert "still handles 1 open report of Betadorf" in response.content.decode()
    response = lead.post(office_page(office, f"services/{service.public_id}/end/"), follow=True)
    assert "still handles 1 open report of Betadorf" in response.content.decode()
    assert b.tenant in office.tenants.all()
    service.refresh_from_db()
    assert service.status == OfficeService.Status.ACCEPTED
    # Another tenant's admin cannot touch B's service.
    assert a_admin.post(end).status_code == 404


@pytest.mark.django_db
def test_a_request_is_refused_or_withdrawn_and_a_service_without_cases_ends(
    worlds: tuple[World, World],
) -> None:
    a, b = worlds
    office = a.office
    lead = staff(a.handler)
    b_admin = staff(b.admin)
    code = offices.office_code_renew(office=office, actor=a.handler)
    # Withdrawn by B before the lead decides.
    b_admin.post(service_page(b), {"code": code})
    first = OfficeService.objects.get(tenant=b.tenant)
    b_admin.post(f"/staff/tenants/{b.tenant.public_id}/offices/shared/{first.public_id}/end/")
    first.refresh_from_db()
    assert first.status == OfficeService.Status.WITHDRAWN
    # Asked again, refused by the lead (audited in both chains).
    b_admin.post(service_page(b), {"code": code})
    second = OfficeService.objects.get(tenant=b.tenant, status=OfficeService.Status.PENDING)
    response = b_admin.post(service_page(b), {"code": code})
    assert "already asked this office" in response.content.decode()
    lead.post(office_page(office, f"services/{second.public_id}/decide/"), {"decision": "refuse"})
    second.refresh_from_db()
    assert second.status == OfficeService.Status.REFUSED
    assert b.tenant not in office.tenants.all()
    assert chain(a, "office.service_refused") == chain(b, "office.service_refused")
    # A decided request cannot be decided again.
    response = lead.post(
        office_page(office, f"services/{second.public_id}/decide/"),
        {"decision": "accept"},
        follow=True,
    )
    assert "already been decided" in response.content.decode()
    assert b.tenant not in office.tenants.all()
    # Asked a third time and accepted; with no case of B at O, the lead may stop serving B.
    b_admin.post(service_page(b), {"code": code})
    third = OfficeService.objects.get(tenant=b.tenant, status=OfficeService.Status.PENDING)
    lead.post(office_page(office, f"services/{third.public_id}/decide/"), {"decision": "accept"})
    assert b.tenant in office.tenants.all()
    response = b_admin.post(service_page(b), {"code": code})
    assert "already serves Betadorf" in response.content.decode()
    lead.post(office_page(office, f"services/{third.public_id}/end/"))
    third.refresh_from_db()
    assert third.status == OfficeService.Status.ENDED
    assert list(office.tenants.all()) == [a.tenant]
    assert chain(a, "office.service_ended") == chain(b, "office.service_ended")
    assert audit_verify(tenant=a.tenant) == [] and audit_verify(tenant=b.tenant) == []
    # A renewed code replaces the old one.
    new_code = offices.office_code_renew(office=office, actor=a.handler)
    response = b_admin.post(service_page(b), {"code": code})
    assert "No office has this code" in response.content.decode()
    assert new_code != code


@pytest.mark.django_db
def test_the_pages_are_linked_from_the_inbox_and_the_tenant_page(world_a: World) -> None:
    a = world_a
    handler = make_staff("plain@alpha.example")
    membership_add(office=a.office, user=handler)
    inbox = f"/staff/offices/{a.office.public_id}/"
    lead_page = staff(a.handler).get(inbox).content.decode()
    assert office_page(a.office) in lead_page and absence(a.office) in lead_page
    handler_page = staff(handler).get(inbox).content.decode()
    assert absence(a.office) in handler_page and office_page(a.office) not in handler_page
    tenant_page = (
        staff(a.admin).get(f"/staff/tenants/{a.tenant.public_id}/", follow=True).content.decode()
    )
    assert office_page(a.office) in tenant_page
    assert f"/staff/tenants/{a.tenant.public_id}/offices/new/" in tenant_page
    assert service_page(a) in tenant_page
