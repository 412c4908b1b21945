"""One audited path (AUD-1, issue 15): every service that changes a case, what belongs to it,
a membership, a role, a tenant admin or a key grant writes its audit event in the same
transaction, under a row lock on the case; verbs say what happened."""

from __future__ import annotations

import datetime
import inspect
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from casework import disclosure, flood, notes, services
from casework.changes import AuditMissing, WorkflowError, case_change
from casework.models import AuditEvent, DeletionProposal, Note
from casework.retention import policy, proposals
from chat.models import Message
from intake.models import Case
from intake.services import case_key_for_office
from tests.casework.helpers import case_url, filed_case
from tests.fixtures import World, make_staff, staff_client
from tests.intake.journey import reporter, submit_report
from tests.keys.test_key_hierarchy import handler_private_of
from whistle.accounts.models import User
from whistle.keys import services as key_services
from whistle.tenants import services as tenant_services
from whistle.tenants.models import Membership

# Where the services that change cases and the directory live.
SERVICE_MODULES: tuple[ModuleType, ...] = (
    services,
    notes,
    policy,
    proposals,
    flood,
    tenant_services,
    key_services,
)

# Public functions of those modules that change nothing (reads, key arithmetic, the password
# and key ceremonies of one's own account), and the tenant/office creation that the operator
# does (no case, no membership).
NOT_CHANGES = {
    "notes_for",
    "case_label",
    "retention_years",
    "deletion_date",
    "utc_horizon",
    "cases_set_apart",
    "discard_pending",
    "tenant_create",
    "office_create",
    "announce",  # the signal the directory services send (checked through them)
    "handler_key_binding",
    "office_key_binding",
    "handler_key_genuine",
    "keypair_genuine",
    "kdf_params",
    "handler_context",
    "grant_info",
    "recovery_context",
    "chain_info",
    "handler_key_unlock",
    "handler_key_rewrap",
    "handler_key_forget",
    "current_keypair",
    "active_keypair",
    "office_key_status",
    "office_private_key",
}
# Parts of a change: they write no event of their own and refuse to run outside case_change.
PARTS = {"note_create", "case_schedule_deletion"}

# Tables whose rows are a case's or a membership: a write to one needs an audit event.
AUDITED_TABLES = {
    "intake_case",
    "intake_caserecord",
    "intake_attachment",
    "chat_message",
    "chat_message_attachments",
    "casework_note",
    "casework_caseexclusion",
    "casework_deletionproposal",
    "tenants_membership",
    "tenants_tenantadmin",
    "keys_officekeygrant",
}
WRITE = re.compile(r'^\s*(?:INSERT INTO|UPDATE|DELETE FROM)\s+"(\w+)"', re.IGNORECASE)
AUDIT_INSERT = re.compile(r'^\s*INSERT INTO\s+"casework_auditevent"', re.IGNORECASE)


def service_names() -> set[str]:
    found = set()
    for module in SERVICE_MODULES:
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and not name.startswith("_"):
                found.add(name)
    return found


@dataclass
class Desk:
    world: World
    lead: User
    lead_client: Client
    colleague: User
    colleague_client: Client
    case: Case
    key: bytes
    spare: Case  # a second case, for the flood list and the exclusions
    recovery: str = ""  # the office recovery key, once renewed

    def key_of(self, case: Case, user: User, client: Client) -> bytes:
        return case_key_for_office(case=case, user=user, handler_private=handler_private_of(client))


def make_desk(world: World) -> Desk:
    world.office.is_external = True  # may extend the feedback period
    world.office.save()
    lead_client, case, _receipt = filed_case(world, contact={"name": "Ada"})
    submit_report(reporter(), world)
    spare = Case.objects.filter(tenant=world.tenant).exclude(pk=case.pk).get()
    colleague = make_staff("colleague@alpha.example")
    tenant_services.membership_add(office=world.office, user=colleague, actor=world.handler)
    colleague_client = staff_client(colleague)
    lead_client.post(f"/staff/offices/{world.office.public_id}/keys/grant/{colleague.public_id}/")
    key = case_key_for_office(
        case=case, user=world.handler, handler_private=handler_private_of(lead_client)
    )
    return Desk(world, world.handler, lead_client, colleague, colleague_client, case, key, spare)


def _approve_message_deletion(d: Desk) -> None:
    proposal = DeletionProposal.objects.get(target="message", approved_by__isnull=True)
    proposals.deletion_approve(proposal=proposal, actor=d.colleague)


def _discard_propose(d: Desk) -> None:
    flood.discard_propose(
        office=d.world.office,
        actor=d.lead,
        handler_private=handler_private_of(d.lead_client),
        case_ids=[str(d.spare.public_id)],
    )


# In the order they run on one case (each step is allowed after the ones before), with the
# verbs each must write.
Step = tuple[str, Callable[[Desk], Any], set[str]]
STEPS: list[Step] = [
    (
        "membership_add",
        lambda d: tenant_services.membership_add(
            office=d.world.office,
            user=d.colleague,
            role=Membership.Role.LEAD,
            actor=d.lead,
        ),
        {"member.role_changed"},
    ),
    (
        "tenant_admin_add",
        lambda d: tenant_services.tenant_admin_add(
            tenant=d.world.tenant, user=d.colleague, actor=d.lead
        ),
        {"tenant_admin.added"},
    ),
    (
        "tenant_admin_remove",
        lambda d: tenant_services.tenant_admin_remove(
            tenant=d.world.tenant, user=d.colleague, actor=d.lead
        ),
        {"tenant_admin.removed"},
    ),
    (
        "case_viewed",
        lambda d: services.case_viewed(case=d.case, actor=d.lead),
        {"case.viewed"},
    ),
    (
        "case_acknowledge",
        lambda d: services.case_acknowledge(
            case=d.case, actor=d.lead, case_key=d.key, message="Received."
        ),
        {"case.acknowledged"},
    ),
    (
        "case_check_scope",
        lambda d: services.case_check_scope(
            case=d.case, actor=d.lead, case_key=d.key, in_scope=True, reason="§ 2"
        ),
        {"case.scope_checked"},
    ),
    (
        "case_move",
        lambda d: services.case_move(case=d.case, actor=d.lead, status="plausibility"),
        {"case.status_changed"},
    ),
    (
        "case_extend_feedback",
        lambda d: services.case_extend_feedback(
            case=d.case, actor=d.lead, case_key=d.key, reason="Three authorities involved"
        ),
        {"case.feedback_extended"},
    ),
    (
        "case_message_send",
        lambda d: services.case_message_send(
            case=d.case, actor=d.lead, case_key=d.key, body="A question for you"
        ),
        {"case.message_sent"},
    ),
    (
        "note_add",
        lambda d: notes.note_add(case=d.case, actor=d.lead, case_key=d.key, body="Call the site"),
        {"case.note_added"},
    ),
    (
        "case_reveal_identity",
        lambda d: services.case_reveal_identity(
            case=d.case,
            actor=d.lead,
            case_key=d.key,
            disclosure_id=str(
                disclosure.disclosure_record_ground(
                    case=d.case,
                    actor=d.lead,
                    case_key=d.key,
                    ground="court",
                    recipient="Landgericht",
                    purpose="Hearing",
                    notice="send",
                    notice_text="Court order of 1 December",
                ).public_id
            ),
        ),
        {"disclosure.ground_recorded", "case.identity_disclosed"},
    ),
    (
        "case_set_label",
        lambda d: services.case_set_label(
            case=d.case, actor=d.lead, case_key=d.key, label="Kläranlage Nord"
        ),
        {"case.label_set"},
    ),
    (
        "case_assign",
        lambda d: services.case_assign(
            case=d.case, actor=d.lead, assignee=d.colleague, deputy=None
        ),
        {"case.assigned"},
    ),
    (
        "case_legal_hold",
        lambda d: policy.case_legal_hold(
            case=d.case,
            actor=d.lead,
            case_key=d.key,
            reason="Court order",
            review_on=timezone.localdate() + datetime.timedelta(days=60),
        ),
        {"case.legal_hold"},
    ),
    (
        "case_release_hold",
        lambda d: policy.case_release_hold(case=d.case, actor=d.lead),
        {"case.legal_hold_released"},
    ),
    (
        "deletion_propose",
        lambda d: proposals.deletion_propose(
            case=d.case,
            actor=d.lead,
            case_key=d.key,
            target="message",
            target_id=str(Message.objects.filter(case=d.case).first().public_id),  # type: ignore[union-attr]
            reason="Sent by mistake",
        ),
        {"case.deletion_proposed"},
    ),
    ("deletion_approve", _approve_message_deletion, {"case.message_deleted"}),
    (
        "case_give_feedback",
        lambda d: services.case_give_feedback(
            case=d.case, actor=d.lead, case_key=d.key, message="We acted."
        ),
        {"case.feedback_given"},
    ),
    (
        "case_close",
        lambda d: services.case_close(case=d.case, actor=d.lead, outcome="substantiated"),
        {"case.closed"},
    ),
    (
        "case_extend_retention",
        lambda d: policy.case_extend_retention(
            case=d.case, actor=d.lead, case_key=d.key, reason="Proceedings pending"
        ),
        {"case.retention_extended"},
    ),
    (
        "case_exclude",
        lambda d: services.case_exclude(case=d.spare, actor=d.lead, user=d.colleague),
        {"case.excluded"},
    ),
    (
        "case_recuse",
        lambda d: services.case_recuse(case=d.case, actor=d.colleague),
        {"case.recused"},
    ),
    (
        "cases_set_aside",
        lambda d: flood.cases_set_aside(
            office=d.world.office, actor=d.lead, case_ids=[str(d.spare.public_id)]
        ),
        {"case.set_aside"},
    ),
    (
        "cases_restore",
        lambda d: flood.cases_restore(
            office=d.world.office, actor=d.lead, case_ids=[str(d.spare.public_id)]
        ),
        {"case.restored"},
    ),
    (
        "case_record_by_handler",
        lambda d: services.case_record_by_handler(
            office=d.world.office,
            tenant=d.world.tenant,
            actor=d.lead,
            channel="letter",
            category="other",
            answers={"what": "A letter"},
        ),
        {"case.created", "case.handler_intake"},
    ),
    (
        "office_grant",
        lambda d: d.lead_client.post(
            f"/staff/offices/{d.world.office.public_id}/keys/grant/{d.colleague.public_id}/"
        ),
        {"key.granted"},
    ),
    (
        "office_rotate_keys",
        lambda d: setattr(
            d,
            "recovery",
            key_services.office_rotate_keys(
                office=d.world.office,
                actor=d.lead,
                actor_private=handler_private_of(d.lead_client),
            ).formatted,
        ),
        {"key.rotated"},
    ),
    (
        "office_recover",
        lambda d: key_services.office_recover(
            office=d.world.office, actor=d.colleague, recovery_text=d.recovery
        ),
        {"key.recovered"},
    ),
    (
        "membership_remove",
        lambda d: key_services.membership_remove(
            office=d.world.office, user=d.colleague, actor=d.lead
        ),
        {"member.removed"},
    ),
]
# Run elsewhere with their events checked: the first office keys (every desk's set-up,
# tests/casework/test_handler_intake.py::test_key_events_are_audited), the discard pair of the
# flood list (below, on a case of their own), the lead's "recovery key stored" confirmation
# (tests/console/test_setup.py; it changes a key row, not a case-owned one).
ELSEWHERE = {"office_keys_setup", "discard_propose", "discard_approve", "office_recovery_stored"}


def test_every_service_is_classified() -> None:
    """A new public function in a service module fails here until it is run below with its
    event (or named as a read or a part of a change)."""
    covered = {name for name, _run, _verbs in STEPS} | NOT_CHANGES | PARTS | ELSEWHERE
    assert service_names() - covered == set()
    assert covered - service_names() == set()  # nothing stale


@pytest.mark.django_db
def test_every_change_writes_its_event_in_the_same_transaction(world_a: World) -> None:
    desk = make_desk(world_a)
    for name, run, verbs in STEPS:
        before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        with CaptureQueriesContext(connection) as queries:
            run(desk)
        written = {m.group(1) for q in queries.captured_queries if (m := WRITE.match(q["sql"]))}
        if name != "case_viewed":  # a read, recorded
            assert written & AUDITED_TABLES, f"{name} changed nothing (the scenario is wrong)"
        assert any(AUDIT_INSERT.match(q["sql"]) for q in queries.captured_queries), (
            f"{name} changed {sorted(written & AUDITED_TABLES)} without an audit event"
        )
        new = set(AuditEvent.objects.filter(pk__gt=before).values_list("verb", flat=True))
        assert verbs <= new, f"{name} wrote {new}, expected {verbs}"
        desk.case.refresh_from_db()


@pytest.mark.django_db
def test_discarding_a_set_apart_case_is_recorded(world_a: World) -> None:
    desk = make_desk(world_a)
    flood.cases_set_aside(
        office=world_a.office, actor=desk.lead, case_ids=[str(desk.spare.public_id)]
    )
    _discard_propose(desk)
    events = AuditEvent.objects.filter(case_public_id=desk.spare.public_id)
    assert events.filter(verb="case.deletion_proposed", actor=desk.lead).count() == 1
    assert (
        flood.discard_approve(
            office=world_a.office, actor=desk.colleague, case_ids=[str(desk.spare.public_id)]
        )
        == 1
    )
    assert events.filter(verb="case.deleted", actor=desk.colleague).count() == 1


@pytest.mark.django_db
def test_parts_of_a_change_refuse_to_run_alone(world_a: World) -> None:
    desk = make_desk(world_a)
    with pytest.raises(AuditMissing):
        notes.note_create(case=desk.case, actor=desk.lead, case_key=desk.key, body="alone")
    with pytest.raises(AuditMissing):
        policy.case_schedule_deletion(desk.case)
    assert not Note.objects.filter(case=desk.case).exists()


@pytest.mark.django_db
def test_a_change_without_an_event_rolls_back(world_a: World) -> None:
    desk = make_desk(world_a)
    with pytest.raises(AuditMissing), case_change(case=desk.case, actor=desk.lead):
        desk.case.category = "changed-silently"
        desk.case.save(update_fields=["category"])
    desk.case.refresh_from_db()
    assert desk.case.category != "changed-silently"


@pytest.mark.django_db
def test_verbs_say_what_happened(world_a: World) -> None:
    """Releasing a hold is not placing one; deleting a message is not deleting the case."""
    from casework.audit_labels import verb_label

    assert verb_label("case.legal_hold") != verb_label("case.legal_hold_released")
    assert verb_label("case.message_deleted") != verb_label("case.deleted")
    assert verb_label("case.retention_extended") != verb_label("case.legal_hold")


@pytest.mark.django_db
def test_case_created_is_written_when_a_report_arrives(world_a: World) -> None:
    _lead, case, _receipt = filed_case(world_a)
    event = AuditEvent.objects.get(case_public_id=case.public_id, verb="case.created")
    assert event.actor is None and event.actor_label == "reporter"
    assert event.at.time() == datetime.time(0)  # the reporter's time is not kept


# --- two handlers at once -------------------------------------------------------------------


def _lock_waits() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


@pytest.mark.django_db(transaction=True)
def test_two_handlers_acknowledging_at_once_do_not_both_succeed(
    world_a: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each handler's service runs on its own connection. The first holds the case's lock
    while it writes; the second must wait for it, then see the acknowledgement and be refused.
    Without the lock both would acknowledge and send the reporter two confirmations."""
    desk = make_desk(world_a)
    inside, release = threading.Event(), threading.Event()
    original = services.message_post  # type: ignore[attr-defined]

    def slow_message_post(**kwargs: Any) -> Message:
        if threading.current_thread().name == "first":
            inside.set()
            assert release.wait(30), "never released"
        return original(**kwargs)

    monkeypatch.setattr(services, "message_post", slow_message_post)
    results: dict[str, str] = {}

    def acknowledge(actor: User) -> None:
        try:
            case = Case.objects.get(pk=desk.case.pk)
            services.case_acknowledge(
                case=case, actor=actor, case_key=desk.key, message=f"Received by {actor.pk}."
            )
            results[threading.current_thread().name] = "done"
        except WorkflowError:
            results[threading.current_thread().name] = "refused"
        finally:
            connection.close()

    first = threading.Thread(target=acknowledge, args=(desk.lead,), name="first")
    second = threading.Thread(target=acknowledge, args=(desk.colleague,), name="second")
    first.start()
    try:
        assert inside.wait(30)
        second.start()
        deadline = time.monotonic() + 30
        while _lock_waits() == 0:  # the second handler waits for the case's row lock
            assert time.monotonic() < deadline, "the second handler did not wait for the lock"
            assert second.is_alive(), f"the second handler went ahead: {results}"
            time.sleep(0.02)
    finally:
        release.set()
        first.join(30)
        second.join(30)
    assert results == {"first": "done", "second": "refused"}
    assert Message.objects.filter(case=desk.case).count() == 1
    events = AuditEvent.objects.filter(case_public_id=desk.case.public_id)
    assert events.filter(verb="case.acknowledged").count() == 1


# --- the websocket's office messages ----------------------------------------------------------


@pytest.mark.django_db
def test_a_message_from_the_case_page_is_audited_with_its_id(world_a: World) -> None:
    lead, case, _receipt = filed_case(world_a)
    response = lead.post(case_url(world_a, case, "do/reply/"), {"body": "Hello"})
    assert response.status_code == 302
    message = Message.objects.get(case=case)
    event = AuditEvent.objects.get(case_public_id=case.public_id, verb="case.message_sent")
    assert (event.object_type, event.object_id) == ("message", str(message.public_id))
    assert event.actor == world_a.handler


@pytest.mark.django_db(transaction=True)
async def test_a_message_over_the_websocket_is_audited_like_a_form_reply(world_a: World) -> None:
    from asgiref.sync import sync_to_async

    from tests.chat.test_consumers import asetup, connect, headers, receive_type, staff_path

    lead, case, _mailbox = await asetup(world_a)
    ok, socket = await connect(staff_path(world_a, case), headers(lead))
    assert ok
    await socket.send_json_to({"type": "send", "body": "Over the socket"})
    sent = await receive_type(socket, "sent")
    await socket.disconnect()

    def event() -> AuditEvent:
        return AuditEvent.objects.select_related("actor").get(
            case_public_id=case.public_id, verb="case.message_sent"
        )

    found = await sync_to_async(event)()
    assert (found.object_type, found.object_id) == ("message", sent["id"])
    assert found.actor == world_a.handler
