"""Retention: deletion on the policy date in the tenant's calendar by crypto-shredding, legal
hold, notices once, resumable batches, four-eyes early deletion (time controlled)."""

from __future__ import annotations

import datetime
import io
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db.models import QuerySet
from django.utils import timezone

import crypto
from casework import retention
from casework.models import AuditEvent, DeletionProposal, DeletionRecord
from casework.retention import engine
from chat.models import Message
from intake.models import Attachment, Case, CaseRecord
from intake.services import case_answers
from tests.casework.helpers import case_url, filed_case
from tests.casework.test_workflow import act
from tests.fixtures import World, make_staff, staff_client
from tests.intake.journey import reporter, submit_report
from tests.keys.test_key_hierarchy import handler_private_of
from whistle.tenants.services import membership_add

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def at(day: str, hour: int = 12) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day).replace(hour=hour, tzinfo=BERLIN)


def close_case(lead: Any, world: World, case: Case) -> None:
    act(lead, world, case, "acknowledge", message="Received.")
    act(lead, world, case, "scope", in_scope="yes", reason="ok")
    act(lead, world, case, "close", outcome="not_substantiated")
    case.refresh_from_db()


@pytest.mark.django_db
def test_deleted_exactly_on_the_policy_date_in_the_tenants_calendar(world_a: World) -> None:
    with time_machine.travel(at("2026-03-10"), tick=False) as clock:
        lead, case, _receipt = filed_case(world_a)
        close_case(lead, world_a, case)
        assert case.delete_on == datetime.date(2029, 3, 10)
        page = lead.get(case_url(world_a, case), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "Will be deleted on" in page
        # 23:30 UTC on 9 March is already 10 March in Berlin.
        clock.move_to(datetime.datetime(2029, 3, 9, 22, 30, tzinfo=datetime.UTC))
        assert retention.retention_run().deleted == 0
        clock.move_to(datetime.datetime(2029, 3, 9, 23, 30, tzinfo=datetime.UTC))
        assert retention.retention_run().deleted == 1
    assert not Case.objects.filter(pk=case.pk).exists()
    record = DeletionRecord.objects.get(case_public_id=case.public_id)
    assert record.finished and record.reason == "retention" and record.counts["records"] == 1
    assert AuditEvent.objects.filter(case_public_id=case.public_id, verb="case.deleted").exists()


@pytest.mark.django_db
def test_out_of_scope_policy_is_shorter_within_operator_bounds(world_a: World) -> None:
    world_a.tenant.retention_years_out_of_scope = 0
    world_a.tenant.save()
    lead, case, _receipt = filed_case(world_a)
    act(lead, world_a, case, "acknowledge", message="Received.")
    act(lead, world_a, case, "scope", in_scope="no", reason="Private dispute")
    act(lead, world_a, case, "close", outcome="out_of_scope")
    case.refresh_from_db()
    assert case.closed_on is not None and case.delete_on is not None
    # The operator's minimum (1 year by default) wins over the tenant's 0.
    assert (case.delete_on - case.closed_on).days in (365, 366)


@pytest.mark.django_db
def test_legal_hold_prevents_deletion_until_released(world_a: World) -> None:
    with time_machine.travel(at("2026-03-10"), tick=False) as clock:
        lead, case, _receipt = filed_case(world_a)
        close_case(lead, world_a, case)
        response = act(
            lead, world_a, case, "hold", reason="Court case pending", review_on="2029-06-01"
        )
        assert response.status_code == 302
        clock.move_to(at("2029-04-01"))
        assert retention.retention_run().deleted == 0
        clock.move_to(at("2029-06-01"))
        mail.outbox.clear()
        retention.retention_run()
        retention.retention_run()
        assert len(mail.outbox) == 1  # the review reminder, once
        assert Case.objects.filter(pk=case.pk).exists()
        lead = staff_client(world_a.handler)
        act(lead, world_a, case, "release")
        assert retention.retention_run().deleted == 1
    verbs = list(
        AuditEvent.objects.filter(case_public_id=case.public_id)
        .filter(verb__startswith="case.legal_hold")
        .values_list("verb", flat=True)
    )
    assert verbs == ["case.legal_hold", "case.legal_hold_released"]  # placed, then released


@pytest.mark.django_db
def test_notice_30_days_before_is_sent_once(world_a: World) -> None:
    with time_machine.travel(at("2026-03-10"), tick=False) as clock:
        lead, case, _receipt = filed_case(world_a)
        close_case(lead, world_a, case)
        mail.outbox.clear()
        clock.move_to(at("2029-02-07"))
        retention.retention_run()
        assert mail.outbox == []
        clock.move_to(at("2029-02-08"))
        retention.retention_run()
        retention.retention_run()
        assert len(mail.outbox) == 1
        assert (
            "SENTINEL" not in mail.outbox[0].body and str(case.public_id) not in mail.outbox[0].body
        )


@pytest.mark.django_db
def test_extension_once_with_a_reason(world_a: World) -> None:
    lead, case, _receipt = filed_case(world_a)
    close_case(lead, world_a, case)
    before = case.delete_on
    assert act(lead, world_a, case, "extend_retention", reason="").status_code == 200
    act(lead, world_a, case, "extend_retention", reason="Audit by the ministry")
    case.refresh_from_db()
    assert before is not None and case.delete_on == before.replace(year=before.year + 1)
    response = act(lead, world_a, case, "extend_retention", reason="again")
    assert "only once" in response.content.decode()


@pytest.mark.django_db
def test_copies_of_ciphertexts_open_nothing_after_deletion(world_a: World) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    with time_machine.travel(at("2026-03-10"), tick=False) as clock:
        lead, _recovery_case, _receipt = filed_case(world_a)
        receipt, _page = submit_report(
            reporter(),
            world_a,
            files={"evidence": [SimpleUploadedFile("a.txt", b"evidence bytes")]},
        )
        case = Case.objects.order_by("-id").first()
        assert case is not None
        private = handler_private_of(lead)
        from intake.services import case_key_for_office

        key = case_key_for_office(case=case, user=world_a.handler, handler_private=private)
        assert case_answers(case=case, case_key=key)
        # What a thief copied before the deletion:
        stolen_rows = [bytes(r.ciphertext) for r in CaseRecord.objects.filter(case=case)]
        stolen_key_wraps = (bytes(case.key_for_office or b""), bytes(case.key_for_receipt or b""))
        attachment = Attachment.objects.get(case=case)
        with default_storage.open(attachment.storage_name, "rb") as handle:
            stolen_file = handle.read()
        close_case(lead, world_a, case)
        clock.move_to(at("2029-03-11"))
        retention.retention_run()
    assert not Case.objects.filter(pk=case.pk).exists()
    assert not default_storage.exists(attachment.storage_name)
    # The office key still exists (other cases need it) and is in the thief's reach with a
    # member's key. Try every blob left in the database as a wrap of the deleted case's key:
    # none opens, so the copied ciphertexts stay closed.
    from casework.models import Note
    from intake.services import case_for_receipt, record_context
    from whistle.keys.services import office_private_key

    office_private = office_private_key(
        office=world_a.office, user=world_a.handler, handler_private=private
    )
    info = f"whistle/case-key/v1|tenant={world_a.tenant.public_id}|case={case.public_id}".encode()
    assert crypto.unseal(office_private, stolen_key_wraps[0], info=info) == key  # the method works
    blobs = [
        bytes(blob)
        for model, column in (
            (Case, "key_for_office"),
            (Case, "key_for_receipt"),
            (CaseRecord, "ciphertext"),
            (Message, "body_ciphertext"),
            (Attachment, "meta_ciphertext"),
            (Note, "body_ciphertext"),
        )
        for blob in model.objects.values_list(column, flat=True)
        if blob
    ]
    assert blobs  # the other case is still there
    for blob in blobs:
        with pytest.raises(crypto.CryptoError):
            crypto.unseal(office_private, blob, info=info)
    # And the receipt, which the reporter still has, opens nothing either.
    assert case_for_receipt(tenant=world_a.tenant, receipt_text=receipt) is None
    assert stolen_rows and stolen_file
    assert record_context(case, "answers", "x")  # contexts still computable: keys are what's gone


@pytest.mark.django_db
def test_killed_between_batches_the_next_run_finishes(world_a: World) -> None:
    with time_machine.travel(at("2026-03-10"), tick=False) as clock:
        _lead, first, _receipt = filed_case(world_a)
        cases = [first]
        for _ in range(4):
            submit_report(reporter(), world_a)
        cases = list(Case.objects.order_by("id"))
        for case in cases:
            close_case(staff_client(world_a.handler), world_a, case)
        clock.move_to(at("2029-03-11"))

        def killed() -> None:
            raise KeyboardInterrupt("worker killed")

        with pytest.raises(KeyboardInterrupt):
            retention.retention_run(batch_size=2, after_batch=killed)
        assert Case.objects.count() == 3  # one batch done
        report = retention.retention_run(batch_size=2)
        assert report.deleted == 3
    assert not Case.objects.exists()
    assert DeletionRecord.objects.filter(finished=True).count() == 5


@pytest.mark.django_db
def test_interrupted_inside_a_case_leaves_it_unreadable_and_is_finished_later(
    world_a: World,
) -> None:
    lead, case, receipt = filed_case(world_a)
    close_case(lead, world_a, case)
    engine._shred(case, DeletionRecord.Reason.RETENTION)  # killed right after step 1
    case.refresh_from_db()
    assert case.key_for_office is None and case.key_for_receipt is None
    from intake.services import case_for_receipt

    assert case_for_receipt(tenant=world_a.tenant, receipt_text=receipt) is None
    assert retention.retention_run().resumed == 1
    assert not Case.objects.filter(pk=case.pk).exists()


@pytest.mark.django_db
def test_early_deletion_needs_a_second_handler(world_a: World) -> None:
    lead, case, _receipt = filed_case(world_a)
    act(lead, world_a, case, "acknowledge", message="Received.")
    message = Message.objects.get(case=case)
    second = make_staff("second@alpha.example")
    membership_add(office=world_a.office, user=second)
    staff_client(second)
    lead.post(f"/staff/offices/{world_a.office.public_id}/keys/grant/{second.public_id}/")
    act(
        lead,
        world_a,
        case,
        "propose_deletion",
        target="message",
        target_id=str(message.public_id),
        reason="Sent by mistake",
    )
    proposal = DeletionProposal.objects.get()
    # The proposer cannot approve it.
    response = act(lead, world_a, case, "approve_deletion", proposal=str(proposal.public_id))
    assert "A second handler must approve" in response.content.decode()
    assert Message.objects.filter(pk=message.pk).exists()
    second_client = staff_client(second)
    assert (
        act(
            second_client, world_a, case, "approve_deletion", proposal=str(proposal.public_id)
        ).status_code
        == 302
    )
    assert not Message.objects.filter(pk=message.pk).exists()
    events = AuditEvent.objects.filter(case_public_id=case.public_id)
    # Deleting a message is not deleting the case: the verb says which.
    deleted = events.get(verb="case.message_deleted")
    assert (deleted.object_type, deleted.object_id) == ("message", str(message.public_id))
    assert deleted.actor == second
    assert not events.filter(verb="case.deleted").exists()
    assert events.filter(verb="case.deletion_proposed", actor=world_a.handler).count() == 1
    # The whole case, the same way.
    act(lead, world_a, case, "propose_deletion", target="case", reason="Manifestly irrelevant")
    whole = DeletionProposal.objects.get(target="case")
    act(second_client, world_a, case, "approve_deletion", proposal=str(whole.public_id))
    assert not Case.objects.filter(pk=case.pk).exists()
    assert events.filter(verb="case.deleted", actor=second).count() == 1
    assert DeletionRecord.objects.get(case_public_id=case.public_id).reason == "early"


@pytest.mark.django_db
def test_dry_run_command_prints_and_deletes_nothing(world_a: World) -> None:
    with time_machine.travel(at("2026-03-10"), tick=False) as clock:
        lead, case, _receipt = filed_case(world_a)
        close_case(lead, world_a, case)
        clock.move_to(at("2029-03-11"))
        out = io.StringIO()
        call_command("retention_run", "--dry-run", stdout=out)
        assert str(case.public_id) in out.getvalue()
        assert Case.objects.filter(pk=case.pk).exists()
        out = io.StringIO()
        call_command("retention_run", stdout=out)
        assert "Deleted 1 case(s)" in out.getvalue()


@pytest.mark.usefixtures("upgraded_long_ago")
def test_orphan_files_are_collected(world_a: World, settings: Any, tmp_path: Path) -> None:
    # A store of its own: files other tests left behind (or earlier runs) are not this test's.
    settings.MEDIA_ROOT = tmp_path
    _lead, _case, _receipt = filed_case(world_a)
    from django.core.files.base import ContentFile

    orphan = default_storage.save("files/zz/orphan", ContentFile(b"ciphertext nobody can open"))
    assert retention.purge_orphan_files().orphans == 0  # too young: may be on its way to a row
    later = timezone.now() + retention.orphan_file_age() + datetime.timedelta(minutes=1)
    assert retention.purge_orphan_files(now=later).orphans >= 1
    assert not default_storage.exists(orphan)


@pytest.mark.django_db
def test_inbox_tells_about_deletions_within_30_days(world_a: World) -> None:
    with time_machine.travel(at("2026-03-10"), tick=False) as clock:
        lead, case, _receipt = filed_case(world_a)
        close_case(lead, world_a, case)
        clock.move_to(at("2029-02-20"))
        page = staff_client(world_a.handler).get(
            f"/staff/offices/{world_a.office.public_id}/", HTTP_ACCEPT_LANGUAGE="en"
        )
        assert "One closed case will be deleted within 30 days." in page.content.decode()


def closed_cases(world: World, extra: int) -> list[Case]:
    """The world's first case (office keys set up) and ``extra`` more, all closed: due on
    2029-03-10 when made on 2026-03-10."""
    filed_case(world)
    for _ in range(extra):
        submit_report(reporter(), world)
    cases = list(Case.objects.filter(tenant=world.tenant).order_by("id"))
    for case in cases:
        close_case(staff_client(world.handler), world, case)
    return cases


@pytest.mark.django_db
def test_a_batch_is_shredded_in_one_go_and_a_kill_before_the_rows_is_finished_later(
    worlds: tuple[World, World], monkeypatch: pytest.MonkeyPatch
) -> None:
    from casework.audit import audit_verify

    with time_machine.travel(at("2026-03-10"), tick=False) as clock:
        cases = [case for world in worlds for case in closed_cases(world, 1)]  # two tenants
        clock.move_to(at("2029-03-11"))

        raw_delete = QuerySet._raw_delete

        def killed(self: QuerySet[Any], using: str) -> int:
            deleted = raw_delete(self, using)
            if self.model is Case:  # the case rows are gone, the transaction not committed
                raise KeyboardInterrupt("worker killed inside the rows' transaction")
            return deleted

        monkeypatch.setattr(QuerySet, "_raw_delete", killed)
        with pytest.raises(KeyboardInterrupt):
            retention.retention_run(batch_size=10)
        # Step 1 committed for the whole batch: every case is unreadable; step 3 rolled back.
        assert Case.objects.count() == 4
        assert not Case.objects.filter(key_for_office__isnull=False).exists()
        assert not Case.objects.filter(key_for_receipt__isnull=False).exists()
        assert DeletionRecord.objects.filter(finished=False).count() == 4
        monkeypatch.undo()
        report = retention.retention_run(batch_size=10)
        assert (report.resumed, report.deleted) == (4, 0)
    assert not Case.objects.exists()
    for case in cases:
        record = DeletionRecord.objects.get(case_public_id=case.public_id)
        assert record.finished and record.counts["records"] == 1
        assert record.counts["messages"] == 1  # the acknowledgement
        events = AuditEvent.objects.filter(case_public_id=case.public_id, verb="case.deleted")
        assert events.get().actor_label == "system:retention"
    assert audit_verify() == []


@pytest.mark.django_db
def test_a_kill_inside_the_shred_transaction_leaves_the_batch_untouched(
    world_a: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from casework.audit import audit_verify

    with time_machine.travel(at("2026-03-10"), tick=False) as clock:
        closed_cases(world_a, 2)
        clock.move_to(at("2029-03-11"))

        def killed(**kwargs: Any) -> None:
            raise KeyboardInterrupt("worker killed before the commit")

        monkeypatch.setattr(engine, "audit_record_cases", killed)
        with pytest.raises(KeyboardInterrupt):
            retention.retention_run()
        assert not DeletionRecord.objects.exists()
        assert not Case.objects.filter(key_for_office__isnull=True).exists()
        monkeypatch.undo()
        assert retention.retention_run().deleted == 3
    assert not Case.objects.exists()
    assert DeletionRecord.objects.filter(finished=True).count() == 3
    assert AuditEvent.objects.filter(verb="case.deleted").count() == 3
    assert audit_verify() == []


@pytest.mark.django_db
def test_a_hold_placed_after_selection_wins_and_shredding_twice_does_nothing(
    world_a: World,
) -> None:
    with time_machine.travel(at("2026-03-10"), tick=False) as clock:
        first, second = closed_cases(world_a, 1)
        clock.move_to(at("2029-03-11"))
        Case.objects.filter(pk=second.pk).update(legal_hold=True)  # after the run selected it
        calendar = engine._Calendar()
        shredded = engine._shred_batch(
            [first.pk, second.pk], DeletionRecord.Reason.RETENTION, due_on=calendar.due
        )
        assert shredded == [(first.pk, first.public_id)]
        # Another run that selected the same case before the first one committed:
        assert engine._shred_batch([first.pk], DeletionRecord.Reason.RETENTION) == []
        assert AuditEvent.objects.filter(verb="case.deleted").count() == 1
        second.refresh_from_db()
        assert second.key_for_office is not None and second.key_for_receipt is not None


@pytest.mark.django_db
def test_deletion_records_hold_each_cases_counts_and_its_tenants_date(
    worlds: tuple[World, World],
) -> None:
    from casework.models import Note
    from intake.models import tenant_today

    world_a, world_b = worlds
    world_b.tenant.time_zone = "Pacific/Kiritimati"  # UTC+14: a day ahead of Berlin at noon
    world_b.tenant.save(update_fields=["time_zone"])
    with time_machine.travel(at("2026-03-10"), tick=False) as clock:
        cases = [*closed_cases(world_a, 1), *closed_cases(world_b, 0)]
        for _ in range(2):
            Note.objects.create(
                case=cases[0], body_ciphertext=b"x", created_on=datetime.date(2026, 3, 10)
            )
        Note.objects.filter(case=cases[1]).delete()
        expected = {
            case.public_id: {
                "records": CaseRecord.objects.filter(case=case).count(),
                "messages": Message.objects.filter(case=case).count(),
                "attachments": Attachment.objects.filter(case=case).count(),
                "notes": Note.objects.filter(case=case).count(),
            }
            for case in cases
        }
        assert expected[cases[1].public_id]["notes"] == 0
        assert expected[cases[0].public_id]["notes"] == expected[cases[2].public_id]["notes"] + 2
        clock.move_to(at("2029-03-12", hour=12))
        today = {world.tenant.pk: tenant_today(world.tenant) for world in worlds}
        assert today[world_b.tenant.pk] == today[world_a.tenant.pk] + datetime.timedelta(days=1)
        assert retention.retention_run().deleted == 3
    for case in cases:
        record = DeletionRecord.objects.get(case_public_id=case.public_id)
        assert record.counts == expected[case.public_id]
        assert (record.tenant_id, record.office_name) == (case.tenant_id, case.office.name)
        assert (record.received_on, record.closed_on) == (case.received_on, case.closed_on)
        assert record.deleted_on == today[case.tenant_id]
        assert record.reason == "retention" and record.finished


@pytest.mark.django_db
def test_the_rows_are_committed_only_once_the_files_are_gone(
    world_a: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    with time_machine.travel(at("2026-03-10"), tick=False) as clock:
        lead, _first, _receipt = filed_case(world_a)
        submit_report(
            reporter(), world_a, files={"evidence": [SimpleUploadedFile("a.txt", b"evidence")]}
        )
        for case in Case.objects.all():
            close_case(lead, world_a, case)
        names = list(Attachment.objects.values_list("storage_name", flat=True))
        assert len(names) == 1 and default_storage.exists(names[0])
        clock.move_to(at("2029-03-11"))

        def refused(name: str) -> None:
            raise PermissionError(name)  # storage down: not a file that is already gone

        monkeypatch.setattr(engine, "_delete_file", refused)
        with pytest.raises(PermissionError):
            retention.retention_run()
        # Shredded, but the rows' transaction rolled back: the next run finishes the batch.
        assert Case.objects.count() == 2
        assert not Case.objects.filter(key_for_office__isnull=False).exists()
        assert DeletionRecord.objects.filter(finished=False).count() == 2
        monkeypatch.undo()
        assert retention.retention_run().resumed == 2
    assert not Case.objects.exists() and not default_storage.exists(names[0])
    assert DeletionRecord.objects.filter(finished=True).count() == 2
    assert AuditEvent.objects.filter(verb="case.deleted").count() == 2


@pytest.mark.django_db
def test_the_run_pauses_between_batches_only(
    world_a: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with time_machine.travel(at("2026-03-10"), tick=False) as clock:
        closed_cases(world_a, 4)
        clock.move_to(at("2029-03-11"))
        pauses: list[float] = []
        monkeypatch.setattr("casework.retention.engine.time.sleep", pauses.append)
        assert retention.retention_run(batch_size=2).deleted == 5  # 3 batches
    assert pauses == [retention.BATCH_PAUSE] * 2
