"""Reports set aside as suspected flood (issue 12, point 3): apart from the inbox, set aside and
restored in bulk (audited), discarded with four eyes; other offices get 404."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from casework.models import AuditEvent, DeletionProposal, DeletionRecord
from intake.models import Case
from tests.fixtures import World, make_staff, staff_client
from tests.intake.journey import reporter, submit_report
from tests.keys.test_key_hierarchy import setup_keys
from tests.plugins.sensitive import SensitiveRegistry
from whistle.tenants.services import membership_add


def english(client: Client) -> Client:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def inbox_url(world: World) -> str:
    return f"/staff/offices/{world.office.public_id}/"


def set_apart_url(world: World) -> str:
    return f"/staff/offices/{world.office.public_id}/set-aside/"


def file_reports(world: World, count: int, sensitive: SensitiveRegistry) -> list[Case]:
    for _number in range(count):
        receipt, _html = submit_report(reporter(), world)
        sensitive.add(receipt)
    return list(Case.objects.filter(tenant=world.tenant).order_by("id"))


@pytest.fixture
def lead_a(world_a: World) -> Client:
    lead, _recovery = setup_keys(world_a)
    return english(lead)


@pytest.mark.django_db
@override_settings(INTAKE_SUBMISSIONS_PER_TENANT_HOUR=1)
def test_a_flood_does_not_bury_the_inbox(
    world_a: World, lead_a: Client, sensitive: SensitiveRegistry
) -> None:
    first, *flooded = file_reports(world_a, 4, sensitive)
    assert first.flood == ""
    assert {case.flood for case in flooded} == {Case.Flood.SUSPECTED}
    inbox = lead_a.get(inbox_url(world_a)).content.decode()
    assert str(first.public_id) in inbox
    assert not any(str(case.public_id) in inbox for case in flooded)
    assert "3 reports are set aside as suspected flood" in inbox
    listed = lead_a.get(set_apart_url(world_a)).content.decode()
    assert all(str(case.public_id) in listed for case in flooded)
    assert str(first.public_id) not in listed


@pytest.mark.django_db
def test_set_aside_in_bulk_and_restore_are_audited_case_changes(
    world_a: World, lead_a: Client, sensitive: SensitiveRegistry
) -> None:
    cases = file_reports(world_a, 3, sensitive)
    chosen = [str(case.public_id) for case in cases[:2]]
    response = lead_a.post(set_apart_url(world_a), {"action": "set_aside", "case": chosen})
    assert response.status_code == 302
    assert response["Location"] == inbox_url(world_a)
    assert sorted(Case.objects.values_list("flood", flat=True)) == [
        "",
        Case.Flood.SET_ASIDE,
        Case.Flood.SET_ASIDE,
    ]
    inbox = lead_a.get(inbox_url(world_a)).content.decode()
    assert not any(case_id in inbox for case_id in chosen)
    events = AuditEvent.objects.filter(verb="case.set_aside")
    assert sorted(str(e.case_public_id) for e in events) == sorted(chosen)
    # The case page says so and offers to put it back.
    case_page = lead_a.get(
        f"/staff/offices/{world_a.office.public_id}/cases/{chosen[0]}/"
    ).content.decode()
    assert "This report is kept apart from the inbox" in case_page
    lead_a.post(set_apart_url(world_a), {"action": "restore", "case": chosen[:1]})
    assert Case.objects.get(public_id=chosen[0]).flood == ""
    assert AuditEvent.objects.filter(verb="case.restored", case_public_id=chosen[0]).exists()
    assert chosen[0] in lead_a.get(inbox_url(world_a)).content.decode()


@pytest.mark.django_db
def test_discarding_needs_a_second_handler_and_shreds(
    world_a: World, lead_a: Client, sensitive: SensitiveRegistry
) -> None:
    cases = file_reports(world_a, 3, sensitive)
    junk = [str(case.public_id) for case in cases[:2]]
    lead_a.post(set_apart_url(world_a), {"action": "set_aside", "case": junk})
    second = make_staff("second@alpha.example")
    membership_add(office=world_a.office, user=second)
    staff_client(second)
    lead_a.post(f"/staff/offices/{world_a.office.public_id}/keys/grant/{second.public_id}/")
    # Only set-aside cases can be proposed: the third (in the inbox) is ignored.
    lead_a.post(
        set_apart_url(world_a), {"action": "propose", "case": [*junk, str(cases[2].public_id)]}
    )
    assert DeletionProposal.objects.filter(target="case").count() == 2
    # The proposer cannot approve.
    response = lead_a.post(set_apart_url(world_a), {"action": "approve", "case": junk}, follow=True)
    assert "A second handler must approve" in response.content.decode()
    assert Case.objects.count() == 3
    second_client = english(staff_client(second))
    second_client.post(set_apart_url(world_a), {"action": "approve", "case": junk})
    assert list(Case.objects.values_list("public_id", flat=True)) == [cases[2].public_id]
    records = DeletionRecord.objects.filter(case_public_id__in=junk)
    assert {r.reason for r in records} == {DeletionRecord.Reason.EARLY}
    assert AuditEvent.objects.filter(verb="case.deleted", case_public_id__in=junk).count() == 2


@pytest.mark.django_db
def test_another_office_gets_404_and_changes_nothing(
    worlds: tuple[World, World], sensitive: SensitiveRegistry
) -> None:
    a, b = worlds
    setup_keys(a)
    lead_b, _recovery = setup_keys(b)
    english(lead_b)
    cases = file_reports(a, 2, sensitive)
    ids = [str(case.public_id) for case in cases]
    assert lead_b.get(set_apart_url(a)).status_code == 404
    for action in ("set_aside", "restore", "propose", "approve"):
        assert lead_b.post(set_apart_url(a), {"action": action, "case": ids}).status_code == 404
        # Office a's case ids posted to office b's own list select nothing.
        lead_b.post(set_apart_url(b), {"action": action, "case": ids})
    assert set(Case.objects.values_list("flood", flat=True)) == {""}
    assert not DeletionProposal.objects.exists()
    assert not AuditEvent.objects.filter(verb__in=["case.set_aside", "case.restored"]).exists()
    # The tenant admin without office membership neither.
    admin = staff_client(a.admin)
    assert admin.get(set_apart_url(a)).status_code == 404
