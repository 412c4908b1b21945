"""Retention (RET-1..3): deletion on time by crypto-shredding, notices, legal holds, four-eyes
early deletion.

Deleting cases is three steps, each done for a whole batch of cases and each safe to repeat:

1. **shred**: one transaction writes a deletion record per case, clears both wrapped copies of
   every case key and appends a ``case.deleted`` audit event per case. From this commit every
   ciphertext of these cases, wherever a copy is, opens nothing.
2. **files**: the attachments' ciphertext files are removed from storage (a missing file is
   fine: a previous run may have removed it).
3. **rows**: one transaction deletes the case rows (their records, messages, notes, attachments
   and the rest go with them, a few ``DELETE … WHERE … IN`` statements for the batch) and marks
   the deletion records finished.

``retention_run`` works in bounded batches (``BATCH_SIZE`` cases). A worker killed anywhere
leaves each case either untouched or shredded (unreadable) — a batch's shred commits for all
its cases or for none; the next run finds shredded cases by their unfinished deletion record
and completes them before anything else."""

from __future__ import annotations

import datetime
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.mail import send_mail
from django.db import connection, models, transaction
from django.db.models import Exists, F, Func, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.deletion import get_candidate_relations_to_delete
from django.db.models.expressions import RawSQL
from django.db.models.fields.reverse_related import ForeignObjectRel
from django.db.models.functions import JSONObject
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from casework.audit import audit_record, audit_record_cases
from casework.models import DeletionProposal, DeletionRecord, Note
from casework.services import WorkflowError, note_add
from chat.models import Message
from intake.models import Attachment, Case, CaseRecord, tenant_today
from whistle.accounts.models import User
from whistle.tenants.models import Membership, Tenant

NOTICE_DAYS = 30
BATCH_SIZE = 2000  # cases per batch: per-batch costs amortised, each transaction well under 1 s
# Seconds between two batches of due cases: the purge leaves the database to interactive
# requests for a moment (docs/performance.md, retention: the inbox of other offices).
BATCH_PAUSE = 0.1
EXTENSION_YEARS = 1

logger = logging.getLogger(__name__)


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
        _finish_batch([(case.pk, case.public_id)])
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
    """After commit: best effort. The file's key is shredded already; one left behind (the
    storage failed) has no row and goes with the orphan purge."""
    try:
        default_storage.delete(name)
    except FileNotFoundError:
        pass  # a previous run removed it
    except OSError as error:
        logger.warning("file not deleted (%s); the orphan purge will", type(error).__name__)


def _in(values: Sequence[int] | Sequence[uuid.UUID]) -> Any:
    """The right-hand side of ``__in`` for a batch of ids (integers or UUIDs): on PostgreSQL
    one array literal instead of one bound parameter per id. Binding thousands of them, or
    letting the driver quote every element of a list, costs more than running the statement."""
    if connection.vendor != "postgresql":
        return list(values)
    uuids = bool(values) and isinstance(values[0], uuid.UUID)
    literal = "{" + ",".join(str(value) for value in values) + "}"  # ints or UUIDs: no quoting
    if uuids:
        return RawSQL("SELECT unnest(%s::uuid[])", (literal,))
    return RawSQL("SELECT unnest(%s::bigint[])", (literal,))


def _cascade(rows: QuerySet[Any], pks: Any) -> Iterator[QuerySet[Any]]:
    """``rows`` (whose primary keys ``pks`` selects) and everything hanging on them, children
    first, each selected by its foreign key: the relations are read from the models, so a
    table added later is deleted too. Only CASCADE relations are expected; anything else stops
    the deletion (before its transaction commits) instead of leaving rows behind."""
    for candidate in get_candidate_relations_to_delete(rows.model._meta):
        relation = cast(ForeignObjectRel, candidate)
        model, name = relation.related_model, relation.field.name
        if relation.on_delete is not models.CASCADE:
            raise ImproperlyConfigured(f"{model.__name__}.{name}: retention expects CASCADE")
        children = model._base_manager.filter(**{f"{name}__in": pks})
        yield from _cascade(children, children.values("pk"))
    yield rows


def _count(model: type[models.Model]) -> Subquery:
    """How many rows of ``model`` the outer query's case has: ``(SELECT COUNT(id) … WHERE
    case_id = case.id)``, a plain function rather than an aggregate, so no GROUP BY and one row
    (0) for a case without any."""
    rows = model._default_manager.filter(case_id=OuterRef("pk")).order_by()
    return Subquery(
        rows.annotate(n=Func(F("pk"), function="COUNT", output_field=models.IntegerField())).values(
            "n"
        )
    )


# The deletion record's fields, in the order _record_deletions selects them.
_RECORD_FIELDS = (
    "case_public_id",
    "tenant",
    "office_name",
    "received_on",
    "closed_on",
    "deleted_on",
    "reason",
    "counts",
    "finished",
)


def _record_deletions(case_ids: list[int], reason: str, today: dict[int, datetime.date]) -> None:
    """A deletion record per case, written by the database from the case rows with one
    ``INSERT … SELECT`` (the counts as correlated subqueries): no row travels to Python and
    back. ``today`` maps the cases' tenants to their dates. The SELECT is compiled by the ORM,
    so the statement is the same on PostgreSQL and SQLite but for each one's SQL dialect."""
    deleted_on = models.Case(
        *(models.When(tenant_id=tenant_id, then=Value(day)) for tenant_id, day in today.items()),
        output_field=models.DateField(),
    )
    counts = JSONObject(
        records=_count(CaseRecord),
        messages=_count(Message),
        attachments=_count(Attachment),
        notes=_count(Note),
    )
    select = (
        Case._base_manager.filter(pk__in=_in(case_ids))
        .order_by()
        .annotate(
            record_office_name=F("office__name"),
            record_deleted_on=deleted_on,
            record_reason=Value(reason, output_field=models.CharField()),
            record_counts=counts,
            record_finished=Value(False, output_field=models.BooleanField()),
        )
        .values_list(
            "public_id",
            "tenant_id",
            "record_office_name",
            "received_on",
            "closed_on",
            "record_deleted_on",
            "record_reason",
            "record_counts",
            "record_finished",
        )
    )
    sql, params = select.query.get_compiler(connection=connection).as_sql()
    meta = DeletionRecord._meta
    quote = connection.ops.quote_name
    columns = ", ".join(
        quote(str(cast("models.Field[Any, Any]", meta.get_field(name)).column))
        for name in _RECORD_FIELDS
    )
    with connection.cursor() as cursor:
        # Only names from the model and the ORM's compiled SELECT; values are bound.
        cursor.execute(f"INSERT INTO {quote(meta.db_table)} ({columns}) {sql}", params)


def _shred_batch(
    case_ids: list[int],
    reason: str,
    *,
    actor: User | None = None,
    due_on: Callable[[int, datetime.date | None], bool] | None = None,
) -> list[tuple[int, uuid.UUID]]:
    """Step 1 for a batch, in one transaction: a deletion record per case, both wrapped copies
    of every case key cleared, an audit event per case. Either all cases of the batch are
    unreadable afterwards or (rolled back) none was touched.

    The cases are locked and checked again: with ``due_on`` (tenant id, deletion date: due?),
    one put on hold, reopened or extended since it was selected is left alone; a case that
    already has a deletion record (another run shredded it) is skipped. Returns (pk, public id)
    of the shredded cases."""
    with transaction.atomic():
        candidates = (
            Case.objects.select_for_update(of=("self",))
            .filter(pk__in=_in(case_ids))
            .exclude(Exists(DeletionRecord.objects.filter(case_public_id=OuterRef("public_id"))))
            .order_by("pk")
        )
        if due_on is not None:
            candidates = candidates.filter(status=Case.Status.CLOSED, legal_hold=False)
        rows = [
            row
            for row in candidates.values_list("pk", "public_id", "tenant_id", "delete_on")
            if due_on is None or due_on(row[2], row[3])
        ]
        if not rows:
            return []
        ids = [row[0] for row in rows]
        today = {
            tenant.pk: tenant_today(tenant)
            for tenant in Tenant.objects.filter(pk__in={row[2] for row in rows})
        }
        _record_deletions(ids, reason, today)
        Case.objects.filter(pk__in=_in(ids)).update(key_for_office=None, key_for_receipt=None)
        audit_record_cases(
            cases=[(row[2], row[1]) for row in rows],
            actor=actor,
            actor_label=None if actor else "system:retention",
            verb="case.deleted",
        )
    return [(row[0], row[1]) for row in rows]


def _finish_batch(shredded: list[tuple[int, uuid.UUID]]) -> None:
    """Steps 2 and 3 for shredded cases, given as (pk, public id): their files, then one
    transaction deleting their rows and everything hanging on them (a statement per table for
    the whole batch) and marking their deletion records finished. Safe to repeat: a case or
    file already gone is fine."""
    pks = _in([pk for pk, _public_id in shredded])
    names = Attachment.objects.filter(case__in=pks).values_list("storage_name", flat=True)
    for name in list(names):
        _delete_file(name)
    with transaction.atomic():
        for rows in _cascade(Case._base_manager.filter(pk__in=pks), pks):
            # One DELETE per table, no collector: nothing listens to these models' deletion,
            # and _cascade has named every table that hangs on the cases.
            rows._raw_delete(rows.db)
        DeletionRecord.objects.filter(
            case_public_id__in=_in([public_id for _pk, public_id in shredded]), finished=False
        ).update(finished=True)


def _shred(case: Case, reason: str, *, actor: User | None = None) -> DeletionRecord | None:
    """Step 1 for one case (early deletion); None if it had been shredded already."""
    if not _shred_batch([case.pk], reason, actor=actor):
        return None
    return DeletionRecord.objects.get(case_public_id=case.public_id)


@dataclass
class RetentionReport:
    due: list[str] = field(default_factory=list)  # case public ids, in a dry run only
    deleted: int = 0
    resumed: int = 0
    notices: int = 0
    hold_reviews: int = 0


class _Calendar:
    """Each tenant's date, looked up once per run."""

    def __init__(self) -> None:
        self.days: dict[int, datetime.date] = {}

    def due(self, tenant_id: int, delete_on: datetime.date | None) -> bool:
        if tenant_id not in self.days:
            self.days[tenant_id] = tenant_today(Tenant.objects.get(pk=tenant_id))
        return delete_on is not None and delete_on <= self.days[tenant_id]


def _utc_horizon(days: int = 0) -> datetime.date:
    # No tenant's calendar is ahead of UTC by more than a day: filter in SQL (indexed) up to
    # this date, then apply each tenant's own date.
    today = datetime.datetime.now(tz=datetime.UTC).date()
    return today + datetime.timedelta(days=1 + days)


def due_batches(calendar: _Calendar, batch_size: int) -> Iterator[list[tuple[int, uuid.UUID]]]:
    """(pk, public id) of the cases due for deletion, in batches of at most ``batch_size``,
    oldest deletion date first. Each batch is a fresh keyset query (index ``case_deletion_due``),
    so nothing stays open between batches and memory does not grow with the number of cases."""
    horizon = _utc_horizon()
    due = Case.objects.filter(
        status=Case.Status.CLOSED,
        legal_hold=False,
        delete_on__isnull=False,
        delete_on__lte=horizon,
    ).order_by("delete_on", "id")
    after: tuple[datetime.date, int] | None = None
    while True:
        page = due
        if after is not None:
            page = due.filter(Q(delete_on__gt=after[0]) | Q(delete_on=after[0], id__gt=after[1]))
        rows = list(page.values_list("pk", "public_id", "tenant_id", "delete_on")[:batch_size])
        if not rows:
            return
        last_pk, _public_id, _tenant_id, last_day = rows[-1]
        if last_day is None:  # excluded by the filter; for the type checker
            return
        after = (last_day, last_pk)
        batch = [
            (pk, public_id)
            for pk, public_id, tenant_id, delete_on in rows
            if calendar.due(tenant_id, delete_on)
        ]
        if batch:
            yield batch


def retention_run(
    *,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    after_batch: Callable[[], None] | None = None,
    pause: float = BATCH_PAUSE,
) -> RetentionReport:
    """Finish interrupted deletions, delete what is due (in batches), send notices and hold
    reviews. With ``dry_run`` nothing changes and the report lists what would be deleted.
    ``after_batch`` is called after each batch of due cases (tests stop a run there); ``pause``
    seconds pass between two batches."""
    report = RetentionReport()
    if not dry_run:
        unfinished = DeletionRecord.objects.filter(finished=False).order_by("pk")
        while chunk := list(unfinished.values_list("case_public_id", flat=True)[:batch_size]):
            pks = dict(
                Case._base_manager.filter(public_id__in=_in(chunk)).values_list("public_id", "pk")
            )
            # A case whose rows are gone already (deleted by hand) matches no row with pk 0.
            _finish_batch([(pks.get(public_id, 0), public_id) for public_id in chunk])
            report.resumed += len(chunk)
    calendar = _Calendar()
    for number, batch in enumerate(due_batches(calendar, batch_size)):
        if dry_run:
            report.due.extend(str(public_id) for _pk, public_id in batch)
            continue
        if number and pause > 0:
            time.sleep(pause)
        shredded = _shred_batch(
            [pk for pk, _public_id in batch],
            DeletionRecord.Reason.RETENTION,
            due_on=calendar.due,
        )
        _finish_batch(shredded)
        report.deleted += len(shredded)
        if after_batch is not None:
            after_batch()
    if not dry_run:
        report.notices = _send_notices()
        report.hold_reviews = _send_hold_reviews()
    return report


def draft_file_age() -> datetime.timedelta:
    """How long a draft's file is kept after its pending row was last renewed.

    A draft lives in the reporter's session, which the server keeps for ``SESSION_COOKIE_AGE``
    after its last change; each save of a draft with files renews its rows at least every
    quarter of that (``intake.drafts``). Twice the session age (a day by default) is thus
    beyond any live draft, with room to spare."""
    return datetime.timedelta(seconds=2 * settings.SESSION_COOKIE_AGE)


def orphan_file_age() -> datetime.timedelta:
    """How old (since its last write) a file without any row must be before the purge removes
    it: ``ORPHAN_FILE_MINUTES``. Every write path gives a file its row (an attachment row, or a
    pending row while it belongs to a draft or an uncommitted message) as soon as the file is
    complete, or removes it; so a file without a row is either being written (its modification
    time is renewed by every write) or left behind by a process killed in between."""
    return datetime.timedelta(minutes=settings.ORPHAN_FILE_MINUTES)


# The migration that introduced pending rows: files written before it was applied, or by
# processes of the previous version still serving within the hour after it, may be a draft's
# without a row, and keep the draft rule (by their modification time) instead. A day after the
# upgrade no such file is left and the rule has nothing more to do.
_PENDING_MIGRATION = ("intake", "0004_pending_upload")
_UPGRADE_MARGIN = datetime.timedelta(hours=1)
# Storage names looked up per query.
_PURGE_CHUNK = 1000


@dataclass
class OrphanReport:
    stale_drafts: int = 0  # draft files (with their pending rows) older than any draft
    orphans: int = 0  # files without any row
    seen: int = 0  # files listed

    @property
    def removed(self) -> int:
        return self.stale_drafts + self.orphans


def purge_orphan_files(*, now: datetime.datetime | None = None) -> OrphanReport:
    """Remove stored files that nothing will ever open.

    1. Pending rows not renewed for ``draft_file_age()`` belong to abandoned drafts (or to a
       mailbox message whose request died): each row is deleted, then its file. The rows are
       locked (``SKIP LOCKED``): a row that a submission is deleting in its transaction right
       now stays with that submission.
    2. Files with neither an attachment row nor a pending row, last written more than
       ``orphan_file_age()`` ago: the ciphertext a killed process left behind, or an
       attachment whose deletion could not remove its file. The storage is listed first and
       the rows are looked up afterwards, so a row committed before the lookup always
       counts.

    Each step is safe to repeat and to run beside another run (a file already gone is fine)."""
    from django.utils import timezone

    now = now or timezone.now()
    report = OrphanReport()
    report.stale_drafts = _purge_stale_pending(now - draft_file_age())
    report.seen, report.orphans = _purge_unheld(now)
    if report.removed:
        logger.info(
            "orphan purge: %d abandoned draft files, %d files without a row",
            report.stale_drafts,
            report.orphans,
        )
    return report


def _purge_stale_pending(cutoff: datetime.datetime) -> int:
    from intake.models import PendingUpload

    removed = 0
    while True:
        with transaction.atomic():
            names = list(
                PendingUpload.objects.select_for_update(skip_locked=True)
                .filter(refreshed__lt=cutoff)
                .order_by("refreshed")
                .values_list("storage_name", flat=True)[:_PURGE_CHUNK]
            )
            PendingUpload.objects.filter(storage_name__in=names).delete()
        # A row and an attachment row never hold the same file (the attachment's transaction
        # deletes the pending row); checked all the same, as removing a case's file is final.
        attached = set(
            Attachment.objects.filter(storage_name__in=names).values_list("storage_name", flat=True)
        )
        for name in names:
            if name not in attached:
                _delete_file(name)
                removed += 1
        if len(names) < _PURGE_CHUNK:
            return removed


def _pending_since() -> datetime.datetime | None:
    """When pending rows began (the migration's time), None if not recorded."""
    from django.db.migrations.recorder import MigrationRecorder

    app, name = _PENDING_MIGRATION
    recorded = MigrationRecorder(connection).migration_qs.filter(app=app, name=name)
    return cast("datetime.datetime | None", recorded.values_list("applied", flat=True).first())


def _purge_unheld(now: datetime.datetime) -> tuple[int, int]:
    """Step 2; returns (files listed, files removed)."""
    from intake.models import PendingUpload

    cutoff = now - orphan_file_age()
    since = _pending_since()
    if since is not None:
        since += _UPGRADE_MARGIN
    draft_cutoff = now - draft_file_age()
    seen, candidates = 0, []
    for name, modified in _stored_files():
        seen += 1
        if modified > cutoff:
            continue  # being written, or its row is on its way
        if since is not None and modified < since and modified > draft_cutoff:
            continue  # written before pending rows existed: perhaps a live draft's
        candidates.append(name)
    removed = 0
    for start in range(0, len(candidates), _PURGE_CHUNK):
        chunk = candidates[start : start + _PURGE_CHUNK]
        held = set(
            Attachment.objects.filter(storage_name__in=chunk).values_list("storage_name", flat=True)
        )
        held.update(
            PendingUpload.objects.filter(storage_name__in=chunk).values_list(
                "storage_name", flat=True
            )
        )
        for name in chunk:
            if name not in held:
                _delete_file(name)
                removed += 1
    return seen, removed


def _stored_files() -> Iterator[tuple[str, datetime.datetime]]:
    """(storage name, modification time) of every attachment file. On the file system one
    ``scandir`` per folder and one ``stat`` per file (10,000 files: under 0.1 s with a warm
    cache); other storages through the storage API (on S3 that is a request per file: see
    docs/security.md "Disk full")."""
    from intake.attachments import STORAGE_PREFIX

    if isinstance(default_storage, FileSystemStorage):
        root = Path(default_storage.path(STORAGE_PREFIX))
        try:
            folders = list(os.scandir(root))
        except FileNotFoundError:
            return
        for folder in folders:
            if not folder.is_dir(follow_symlinks=False):
                continue
            try:
                entries = list(os.scandir(folder.path))
            except FileNotFoundError:
                continue  # removed meanwhile
            for entry in entries:
                try:
                    mtime = entry.stat(follow_symlinks=False).st_mtime
                except FileNotFoundError:
                    continue
                if entry.is_file(follow_symlinks=False):
                    yield (
                        f"{STORAGE_PREFIX}/{folder.name}/{entry.name}",
                        datetime.datetime.fromtimestamp(mtime, tz=datetime.UTC),
                    )
        return
    try:
        subfolders, _files = default_storage.listdir(STORAGE_PREFIX)
    except FileNotFoundError:
        return
    for subfolder in subfolders:
        _subfolders, names = default_storage.listdir(f"{STORAGE_PREFIX}/{subfolder}")
        for name in names:
            path = f"{STORAGE_PREFIX}/{subfolder}/{name}"
            try:
                modified = default_storage.get_modified_time(path)
            except FileNotFoundError:
                continue  # removed meanwhile (a discarded draft file, a deleted case)
            yield path, modified


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
        delete_on__lte=_utc_horizon(NOTICE_DAYS),
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
    holds = Case.objects.filter(
        legal_hold=True,
        legal_hold_review_on__isnull=False,
        legal_hold_review_on__lte=_utc_horizon(),
    ).select_related("tenant", "office", "assignee", "deputy")
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
