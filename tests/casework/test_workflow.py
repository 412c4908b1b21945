"""The legal workflow (WF-1) through the case page: every transition, its fields, its audit."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from casework.models import AuditEvent, Note
from chat.models import Message
from intake.models import Case
from tests.casework.helpers import case_url, filed_case
from tests.fixtures import World, make_staff, staff_client
from tests.intake.journey import open_mailbox, reporter
from whistle.tenants.models import Membership
from whistle.tenants.services import membership_add


def act(client: Client, world: World, case: Case, action: str, **data: str) -> Any:
    return client.post(case_url(world, case, f"do/{action}/"), data, HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.django_db
def test_full_workflow_and_the_reporter_sees_it(world_a: World) -> None:
    lead, case, receipt = filed_case(world_a)
    page = lead.get(case_url(world_a, case), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Bundeskartellamt" in page  # the acknowledgement text names external channels (EXT-1)
    steps = [
        ("acknowledge", {"message": "We received your report."}, Case.Status.ACKNOWLEDGED),
        ("scope", {"in_scope": "yes", "reason": "HinSchG § 2 applies"}, Case.Status.SCOPE_CHECKED),
        ("move", {"status": "plausibility"}, Case.Status.PLAUSIBILITY),
        ("move", {"status": "investigation"}, Case.Status.INVESTIGATION),
        ("move", {"status": "measures"}, Case.Status.MEASURES),
        ("feedback", {"message": "We stopped the practice."}, Case.Status.FEEDBACK_GIVEN),
        ("close", {"outcome": "substantiated"}, Case.Status.CLOSED),
    ]
    for action, data, status in steps:
        response = act(lead, world_a, case, action, **data)
        assert response.status_code == 302, (action, response.content.decode()[:500])
        case.refresh_from_db()
        assert case.status == status
    assert case.acknowledged_on and case.feedback_given_on and case.closed_on
    assert case.outcome == "substantiated" and case.in_scope is True
    assert Note.objects.filter(case=case).count() == 1  # the scope reason, encrypted
    verbs = list(
        AuditEvent.objects.filter(case_public_id=case.public_id).values_list("verb", flat=True)
    )
    # Each step says what happened (the three moves are status changes and nothing else).
    assert verbs == [
        "case.created",
        "case.viewed",
        "case.acknowledged",
        "case.scope_checked",
        "case.status_changed",
        "case.status_changed",
        "case.status_changed",
        "case.feedback_given",
        "case.closed",
    ]
    client = reporter()
    mailbox = open_mailbox(client, world_a, receipt)
    assert "We received your report." in mailbox and "We stopped the practice." in mailbox
    assert "Closed" in mailbox


@pytest.mark.django_db
def test_transitions_out_of_order_are_refused_with_a_message(world_a: World) -> None:
    lead, case, _receipt = filed_case(world_a)
    response = act(lead, world_a, case, "move", status="investigation")
    assert response.status_code == 200
    assert (
        "This step needs more information" in response.content.decode()
        or "cannot go" in response.content.decode()
    )
    response = act(lead, world_a, case, "close", outcome="substantiated")
    assert "cannot go" in response.content.decode()
    response = act(lead, world_a, case, "acknowledge", message="   ")
    assert "needs a message" in response.content.decode()
    case.refresh_from_db()
    assert case.status == Case.Status.RECEIVED
    assert not Message.objects.filter(case=case).exists()


@pytest.mark.django_db
def test_out_of_scope_closes_as_out_of_scope(world_a: World) -> None:
    lead, case, _receipt = filed_case(world_a)
    act(lead, world_a, case, "acknowledge", message="Received.")
    assert act(lead, world_a, case, "scope", in_scope="no", reason="").status_code == 200
    act(lead, world_a, case, "scope", in_scope="no", reason="Private dispute")
    response = act(lead, world_a, case, "close", outcome="substantiated")
    assert "Out of scope" in response.content.decode()
    act(lead, world_a, case, "close", outcome="out_of_scope")
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED and case.outcome == "out_of_scope"


@pytest.mark.django_db
def test_notes_reveal_and_assignment(world_a: World) -> None:
    lead, case, _receipt = filed_case(world_a, contact={"name": "SENTINEL-name-Ada"})
    assert act(lead, world_a, case, "note", body="Call the site manager").status_code == 302
    page = lead.get(case_url(world_a, case), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Call the site manager" in page
    assert "SENTINEL-name-Ada" not in page  # hidden until an explicit reveal
    response = act(lead, world_a, case, "reveal", reason="")
    assert "SENTINEL-name-Ada" not in response.content.decode()
    response = act(lead, world_a, case, "reveal", reason="Reporter asked for a meeting")
    assert "SENTINEL-name-Ada" in response.content.decode()
    assert (
        AuditEvent.objects.filter(
            case_public_id=case.public_id, verb="case.identity_revealed"
        ).count()
        == 1
    )
    colleague = make_staff("colleague@alpha.example")
    membership_add(office=world_a.office, user=colleague)
    act(
        lead,
        world_a,
        case,
        "assign",
        assignee=str(colleague.public_id),
        deputy=str(world_a.handler.public_id),
    )
    case.refresh_from_db()
    assert case.assignee == colleague and case.deputy == world_a.handler
    outsider = make_staff("outsider@alpha.example")
    response = act(lead, world_a, case, "assign", assignee=str(outsider.public_id), deputy="")
    case.refresh_from_db()
    assert case.assignee is None  # not a member: treated as nobody


@pytest.mark.django_db
def test_recused_and_excluded_members_get_404(world_a: World) -> None:
    lead, case, _receipt = filed_case(world_a)
    recusing = make_staff("recusing@alpha.example")
    excluded = make_staff("excluded@alpha.example")
    for person in (recusing, excluded):
        membership_add(office=world_a.office, user=person)
        staff_client(person)
        lead.post(f"/staff/offices/{world_a.office.public_id}/keys/grant/{person.public_id}/")
    recusing_client = staff_client(recusing)
    assert recusing_client.get(case_url(world_a, case)).status_code == 200
    assert act(recusing_client, world_a, case, "recuse").status_code == 302
    act(lead, world_a, case, "exclude", user=str(excluded.public_id))
    excluded_client = staff_client(excluded)
    attachment_tail = "files/00000000-0000-0000-0000-000000000000/"
    for client in (recusing_client, excluded_client):
        for tail in ("", "do/note/", "do/reply/", attachment_tail):
            assert client.get(case_url(world_a, case, tail)).status_code == 404
            assert client.post(case_url(world_a, case, tail), {"body": "x"}).status_code == 404
        inbox = client.get(
            f"/staff/offices/{world_a.office.public_id}/?status=all"
        ).content.decode()
        assert str(case.public_id) not in inbox
    # Only a lead may exclude; nobody can exclude themself that way.
    plain = make_staff("plain@alpha.example")
    membership_add(office=world_a.office, user=plain, role=Membership.Role.HANDLER)


@pytest.mark.django_db
def test_feedback_extension_only_for_external_offices(world_a: World) -> None:
    lead, case, _receipt = filed_case(world_a)
    response = act(lead, world_a, case, "extend", reason="Complex")
    assert "Only external reporting offices" in response.content.decode()
    world_a.office.is_external = True
    world_a.office.save()
    act(lead, world_a, case, "acknowledge", message="Received.")
    case.refresh_from_db()
    act(lead, world_a, case, "extend", reason="Complex investigation with three authorities")
    case.refresh_from_db()
    assert case.feedback_extended_until is not None and case.acknowledged_on is not None
    assert (case.feedback_extended_until - case.acknowledged_on).days >= 181
    assert case.feedback_due == case.feedback_extended_until
