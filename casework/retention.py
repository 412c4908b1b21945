"""Retention (RET-1..3): deletion on time by crypto-shredding, notices, legal holds, four-eyes
early deletion.

Deleting a case is three steps, each safe to repeat:

1. **shred**: one transaction writes the deletion record and clears both wrapped copies of the
   case key. From this moment every ciphertext of the case, wherever a copy is, opens nothing.
2. **files**: the attachments' ciphertext files are removed from storage (a missing file is
   fine: a previous run may have removed it).
3. **rows**: one transaction deletes the case row (its records, messages, notes, attachments and
   the rest go with it) and marks the deletion record finished.

``retention_run`` works in bounded batches of cases. A worker killed anywhere leaves cases that
are either untouched or shredded (unreadable); the next run finds shredded cases by their
unfinished deletion record and completes them.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from casework.audit import audit_record
from casework.models import DeletionProposal, DeletionRecord
from casework.services import WorkflowError, note_add
from chat.models import Message
from intake.models import Attachment, Case, tenant_today
from whistle.accounts.models import User
from whistle.tenants.models import Membership, Tenant

NOTICE_DAYS = 30
BATCH_SIZE = 200
EXTENSION_YEARS = 1


# --- policy ---------------------------------------------------------------------------------


def retention_years(tenant: Tenant, outcome: str) -> int:
    years = tenant.retention_years
    if outcome == Case.Outcome.OUT_OF_SCOPE and tenant.retention_years_out_of_scope is not None:
        years = tenant.retention_years_out_of_scope
    return max(settings.RETENTION_MIN_YEARS, min(years, settings.RETENTION_MAX_YEARS))


def deletion_date(case: Case) -> datetime.date | None:
    if case.closed_on is None:
        return None
    return case.closed_on + relativedelta(years=retention_years(case.tenant, case.outcome))


def case_schedule_deletion(case: Case) -> None:
    """Called when a case is closed: fix its deletion date by the tenant's policy."""
    case.delete_on = deletion_date(case)
    case.deletion_notice_sent = False
    case.save(update_fields=["delete_on", "deletion_notice_sent"])


# --- holds and extensions -------------------------------------------------------------------


def case_legal_hold(
    *, case: Case, actor: User, case_key: bytes, reason: str, review_on: datetime.date
) -> None:
    """Stop deletion until released; the review date brings a reminder."""
    if not reason.strip():
        raise WorkflowError(_("Please give the reason for the legal hold."))
    if review_on <= tenant_today(case.tenant):
        raise WorkflowError(_("The review date must be in the future."))
    with transaction.atomic():
        case.legal_hold = True
        case.legal_hold_review_on = review_on
        case.save(update_fields=["legal_hold", "legal_hold_review_on"])
        note_add(
            case=case,
            actor=actor,
            case_key=case_key,
            body=_("Legal hold: %(reason)s") % {"reason": reason.strip()},
            audit=False,
        )
        audit_record(
            tenant=case.tenant,
            actor=actor,
            verb="case.legal_hold",
            object_type="case",
            object_id=str(case.public_id),
            case=case,
        )


def case_release_hold(*, case: Case, actor: User) -> None:
    with transaction.atomic():
        case.legal_hold = False
        case.legal_hold_review_on = None
        case.save(update_fields=["legal_hold", "legal_hold_review_on"])
        audit_record(
            tenant=case.tenant,
            actor=actor,
            verb="case.legal_hold",
            object_type="case",
            object_id=str(case.public_id),
            case=case,
        )


def case_extend_retention(*, case: Case, actor: User, case_key: bytes, reason: str) -> None:
    """Keep the case one more year, once, with a reason."""
    if case.delete_on is None:
        raise WorkflowError(_("Only a closed case has a deletion date."))
    if case.retention_extended:
        raise WorkflowError(_("The retention period can be extended only once."))
    if not reason.strip():
        raise WorkflowError(_("Please give the reason for keeping the case longer."))
    with transaction.atomic():
        case.delete_on = case.delete_on + relativedelta(years=EXTENSION_YEARS)
        case.retention_extended = True
        case.deletion_notice_sent = False
        case.save(update_fields=["delete_on", "retention_extended", "deletion_notice_sent"])
        note_add(
            case=case,
            actor=actor,
            case_key=case_key,
            body=_("Retention extended: %(reason)s") % {"reason": reason.strip()},
            audit=False,
        )
        audit_record(
            tenant=case.tenant,
            actor=actor,
            verb="case.legal_hold",
            object_type="case",
            object_id=str(case.public_id),
            case=case,
        )


# --- four eyes ------------------------------------------------------------------------------


def deletion_propose(
    *, case: Case, actor: User, case_key: bytes, target: str, target_id: str, reason: str
) -> DeletionProposal:
    if not reason.strip():
        raise WorkflowError(_("Please give the reason for deleting it."))
    if target == DeletionProposal.Target.CASE:
        target_id = str(case.public_id)
    elif target == DeletionProposal.Target.MESSAGE:
        if not Message.objects.filter(case=case, public_id=target_id).exists():
            raise WorkflowError(_("There is no such message in this case."))
    elif target == DeletionProposal.Target.ATTACHMENT:
        if not Attachment.objects.filter(case=case, public_id=target_id).exists():
            raise WorkflowError(_("There is no such file in this case."))
    else:
        raise WorkflowError(_("Choose what to delete."))
    with transaction.atomic():
        proposal = DeletionProposal.objects.create(
            case=case,
            target=target,
            target_id=target_id,
            proposed_by=actor,
            created_on=tenant_today(case.tenant),
        )
        note_add(
            case=case,
            actor=actor,
            case_key=case_key,
            body=_("Proposed for deletion (%(what)s): %(reason)s")
            % {"what": proposal.get_target_display(), "reason": reason.strip()},
            audit=False,
        )
    return proposal


def deletion_approve(*, proposal: DeletionProposal, actor: User) -> None:
    """A second handler of the office approves; the deletion happens at once."""
    case = proposal.case
    if proposal.proposed_by_id == actor.pk:
        raise WorkflowError(_("A second handler must approve: you proposed this deletion."))
    if not Membership.objects.filter(office=case.office, user=actor).exists():
        raise WorkflowError(_("Only a handler of the office can approve."))
    if proposal.approved_by_id is not None:
        return
    proposal.approved_by = actor
    proposal.save(update_fields=["approved_by"])
    if proposal.target == DeletionProposal.Target.CASE:
        _shred(case, DeletionRecord.Reason.EARLY, actor=actor)
        _finish(DeletionRecord.objects.get(case_public_id=case.public_id))
        return
    with transaction.atomic():
        if proposal.target == DeletionProposal.Target.MESSAGE:
            Message.objects.filter(case=case, public_id=proposal.target_id).delete()
            verb = "case.deleted"
        else:
            attachment = Attachment.objects.filter(case=case, public_id=proposal.target_id).first()
            if attachment is not None:
                name = attachment.storage_name
                attachment.delete()
                transaction.on_commit(lambda: _delete_file(name))
            verb = "case.attachment_deleted"
        audit_record(
            tenant=case.tenant,
            actor=actor,
            verb=verb,
            object_type=proposal.target,
            object_id=str(proposal.target_id),
            case=case,
        )


# --- deletion ---------------------------------------------------------------------------------


def _delete_file(name: str) -> None:
    if default_storage.exists(name):
        default_storage.delete(name)


def _shred(case: Case, reason: str, *, actor: User | None = None) -> DeletionRecord:
    """Step 1: the deletion record and the end of every copy of the case key, together."""
    with transaction.atomic():
        locked = (
            Case.objects.select_for_update(of=("self",))
            .select_related("tenant", "office")
            .get(pk=case.pk)
        )
        record, _created = DeletionRecord.objects.get_or_create(
            case_public_id=locked.public_id,
            defaults={
                "tenant": locked.tenant,
                "office_name": locked.office.name,
                "received_on": locked.received_on,
                "closed_on": locked.closed_on,
                "deleted_on": tenant_today(locked.tenant),
                "reason": reason,
                "counts": {
                    "records": locked.records.count(),
                    "messages": locked.messages.count(),
                    "attachments": locked.attachments.count(),
                    "notes": locked.notes.count(),
                },
            },
        )
        locked.key_for_office = None
        locked.key_for_receipt = None
        locked.save(update_fields=["key_for_office", "key_for_receipt"])
        audit_record(
            tenant=locked.tenant,
            actor=actor,
            actor_label=None if actor else "system:retention",
            verb="case.deleted",
            object_type="case",
            object_id=str(locked.public_id),
            case=locked,
        )
    return record


def _finish(record: DeletionRecord) -> None:
    """Steps 2 and 3: files, then rows. Safe to repeat."""
    case = Case.objects.filter(public_id=record.case_public_id).first()
    if case is not None:
        for name in Attachment.objects.filter(case=case).values_list("storage_name", flat=True):
            _delete_file(name)
    with transaction.atomic():
        if case is not None:
            case.delete()
        record.finished = True
        record.save(update_fields=["finished"])


@dataclass
class RetentionReport:
    due: list[str] = field(default_factory=list)  # case public ids
    deleted: int = 0
    resumed: int = 0
    notices: int = 0
    hold_reviews: int = 0


def due_for_deletion() -> Iterator[Case]:
    # No tenant's calendar is ahead of UTC by more than a day: filter in SQL (indexed), then
    # apply each tenant's own date.
    horizon = datetime.datetime.now(tz=datetime.UTC).date() + datetime.timedelta(days=1)
    candidates = (
        Case.objects.filter(
            status=Case.Status.CLOSED,
            legal_hold=False,
            delete_on__isnull=False,
            delete_on__lte=horizon,
        )
        .select_related("tenant", "office")
        .order_by("delete_on", "id")
    )
    for case in candidates.iterator(chunk_size=BATCH_SIZE):
        if case.delete_on is not None and case.delete_on <= tenant_today(case.tenant):
            yield case


def retention_run(
    *,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    after_batch: Callable[[], None] | None = None,
) -> RetentionReport:
    """Finish interrupted deletions, delete what is due (in batches), send notices and hold
    reviews. With ``dry_run`` nothing changes and the report lists what would be deleted."""
    report = RetentionReport()
    if not dry_run:
        for record in DeletionRecord.objects.filter(finished=False).iterator():
            _finish(record)
            report.resumed += 1
    batch: list[Case] = []
    for case in due_for_deletion():
        report.due.append(str(case.public_id))
        if dry_run:
            continue
        batch.append(case)
        if len(batch) >= batch_size:
            _delete_batch(batch, report)
            batch = []
            if after_batch is not None:
                after_batch()
    if batch and not dry_run:
        _delete_batch(batch, report)
    if not dry_run:
        report.notices = _send_notices()
        report.hold_reviews = _send_hold_reviews()
    return report


def _delete_batch(cases: list[Case], report: RetentionReport) -> None:
    records = [_shred(case, DeletionRecord.Reason.RETENTION) for case in cases]
    for record in records:
        _finish(record)
        report.deleted += 1


def purge_orphan_files(*, older_than: datetime.timedelta = datetime.timedelta(days=1)) -> int:
    """Delete attachment ciphertexts with no row: left by abandoned drafts (their key was only
    in the draft's session) or by an interrupted deletion. Young files may belong to a draft
    being written, so only files older than ``older_than`` go."""
    from django.utils import timezone

    from intake.attachments import STORAGE_PREFIX

    known = set(Attachment.objects.values_list("storage_name", flat=True))
    cutoff = timezone.now() - older_than
    removed = 0
    try:
        folders, _files = default_storage.listdir(STORAGE_PREFIX)
    except FileNotFoundError:
        return 0
    for folder in folders:
        _subfolders, names = default_storage.listdir(f"{STORAGE_PREFIX}/{folder}")
        for name in names:
            path = f"{STORAGE_PREFIX}/{folder}/{name}"
            if path in known or default_storage.get_modified_time(path) > cutoff:
                continue
            default_storage.delete(path)
            removed += 1
    return removed


# --- notices --------------------------------------------------------------------------------


def _office_people(case: Case) -> list[User]:
    from casework.reminders import recipients

    return recipients(case, "due")


def _mail(case: Case, template: str, context: dict[str, object]) -> None:
    for person in _office_people(case):
        with translation.override(settings.LANGUAGE_CODE):
            subject = render_to_string(f"casework/mail/{template}_subject.txt", context).strip()
            body = render_to_string(
                f"casework/mail/{template}.txt",
                {**context, "office": case.office, "base_url": settings.WHISTLE_BASE_URL},
            )
        send_mail(subject, body, None, [person.email])


def _send_notices() -> int:
    """Once per deletion date: the office is told 30 days ahead (content-free)."""
    sent = 0
    pending = Case.objects.filter(
        status=Case.Status.CLOSED,
        legal_hold=False,
        deletion_notice_sent=False,
        delete_on__isnull=False,
    ).select_related("tenant", "office", "assignee", "deputy")
    for case in pending.iterator(chunk_size=BATCH_SIZE):
        if case.delete_on is None:
            continue
        if case.delete_on - datetime.timedelta(days=NOTICE_DAYS) <= tenant_today(case.tenant):
            updated = Case.objects.filter(pk=case.pk, deletion_notice_sent=False).update(
                deletion_notice_sent=True
            )
            if updated:
                _mail(case, "deletion_notice", {"delete_on": case.delete_on})
                sent += 1
    return sent


def _send_hold_reviews() -> int:
    sent = 0
    holds = Case.objects.filter(legal_hold=True, legal_hold_review_on__isnull=False).select_related(
        "tenant", "office", "assignee", "deputy"
    )
    for case in holds.iterator(chunk_size=BATCH_SIZE):
        review_on = case.legal_hold_review_on
        if review_on is None or review_on > tenant_today(case.tenant):
            continue
        updated = (
            Case.objects.filter(pk=case.pk)
            .exclude(hold_review_sent_for=review_on)
            .update(hold_review_sent_for=review_on)
        )
        if updated:
            _mail(case, "hold_review", {"review_on": review_on})
            sent += 1
    return sent
