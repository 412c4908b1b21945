"""The deletion engine (RET-1): cases deleted on time by crypto-shredding.

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
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from django.db import connection, models, transaction
from django.db.models import Exists, F, Func, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.deletion import get_candidate_relations_to_delete
from django.db.models.expressions import RawSQL
from django.db.models.fields.reverse_related import ForeignObjectRel
from django.db.models.functions import JSONObject

from casework.audit import audit_record_cases
from casework.models import DeletionRecord, Note
from casework.retention.notices import deletion_notices_send, hold_reviews_send
from casework.retention.policy import utc_horizon
from chat.models import Message
from intake.models import Attachment, Case, CaseRecord, tenant_today
from whistle.accounts.models import User
from whistle.tenants.models import Tenant

BATCH_SIZE = 2000  # cases per batch: per-batch costs amortised, each transaction well under 1 s
# Seconds between two batches of due cases: the purge leaves the database to interactive
# requests for a moment (docs/performance.md, retention: the inbox of other offices).
BATCH_PAUSE = 0.1

logger = logging.getLogger(__name__)


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


def due_batches(calendar: _Calendar, batch_size: int) -> Iterator[list[tuple[int, uuid.UUID]]]:
    """(pk, public id) of the cases due for deletion, in batches of at most ``batch_size``,
    oldest deletion date first. Each batch is a fresh keyset query (index ``case_deletion_due``),
    so nothing stays open between batches and memory does not grow with the number of cases."""
    horizon = utc_horizon()
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
        report.notices = deletion_notices_send()
        report.hold_reviews = hold_reviews_send()
    return report
