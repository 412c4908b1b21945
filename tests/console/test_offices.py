"""Offices and members (issue 13 point 5): creating an office, who manages it, the external
flag and the six-month feedback extension (DL-2)."""

from __future__ import annotations

import pytest
from django.test import Client

from casework.models import AuditEvent
from intake.models import Case
from tests.casework.helpers import case_url, filed_case
from tests.fixtures import World, make_staff, staff_client
from whistle.accounts.models import User
from whistle.tenants.models import Membership, Office
from whistle.tenants.services import membership_add


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
