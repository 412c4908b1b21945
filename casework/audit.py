"""The tamper-evident audit trail (AUD-1): append events to a per-tenant chain, verify chains.

Each tenant has one chain of :class:`~casework.models.AuditEvent` rows with gapless sequence
numbers 1, 2, 3 … Every event stores the previous event's digest and its own digest, an
HMAC-SHA256 over a canonical JSON encoding of the previous digest and all of its own fields.
Editing a row, removing one from the middle or reordering rows breaks the chain, and
:func:`audit_verify` (``manage.py audit_verify``) says where.

Limits, on purpose written down here:

- The HMAC key is derived from ``settings.SECRET_KEY``, so someone who can write to the database
  but does not hold the key cannot recompute a valid chain after editing it (a plain hash could
  simply be recomputed). Whoever holds the key can. Rotating ``SECRET_KEY`` makes every
  existing digest fail verification: before rotating, verify, record each tenant's latest
  (sequence, digest) as the anchor of the old chain, and keep that record with the old key's
  retirement date ("re-anchoring").
- Removing the newest events (truncating the tail) leaves a valid, shorter chain: the chain
  alone cannot show it. ``audit_verify`` prints each tenant's latest (sequence, digest); an
  operator who records it elsewhere (ticket, signed mail, another system) can later pass it as
  an anchor (``--anchor slug:sequence:digest``) and a missing or rewritten anchor is reported.
- ``actor`` is ``SET_NULL`` on the model, but the actor's id is part of the digest: deleting a
  staff account would make its events fail verification. Deactivate accounts, never delete them.

Events never hold content: the API takes ids, a verb from :data:`VERBS` and a label, and
rejects anything shaped like free text. Reporter-side events (no actor) carry only the date
(midnight UTC), because reporters' times must not be stored (DESIGN §5).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Field, OuterRef, QuerySet, Subquery
from django.utils import timezone

from casework.audit_labels import VERB_LABELS
from casework.models import AuditEvent
from intake.models import Case
from whistle.accounts.models import User
from whistle.tenants.models import Tenant

#: Every verb an event may carry: those with a label (casework.audit_labels).
VERBS: frozenset[str] = frozenset(VERB_LABELS)

GENESIS_DIGEST = "0" * 64
REPORTER_LABEL = "reporter"
SYSTEM_LABEL = "system"

_HMAC_LABEL = b"whistle-audit-v1"
# Ids, not text: UUIDs, numbers, tokens. A space or anything longer cannot slip content in.
_OBJECT_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_OBJECT_TYPE = re.compile(r"[a-z][a-z0-9_.]{0,31}")
_ACTOR_LABEL = re.compile(rf"{REPORTER_LABEL}|{SYSTEM_LABEL}(:[a-z0-9_.-]{{1,50}})?")

REASON_EDITED = "digest does not match its content (edited)"
REASON_LINK = "previous digest does not match the event before (reordered or removed)"


@dataclass(frozen=True)
class AuditProblem:
    """One place where a tenant's chain is broken; ``reason`` is plain English."""

    tenant_slug: str
    sequence: int
    event_pk: int | None
    reason: str

    def __str__(self) -> str:
        row = f"row {self.event_pk}" if self.event_pk is not None else "no row"
        return f"tenant {self.tenant_slug}, sequence {self.sequence}, {row}: {self.reason}"


@dataclass(frozen=True)
class AuditHead:
    """A tenant's latest event: record it elsewhere to detect a truncated tail later."""

    tenant_slug: str
    sequence: int
    digest: str


@dataclass(frozen=True)
class AuditReport:
    """Everything one verification run found."""

    problems: tuple[AuditProblem, ...]
    heads: tuple[AuditHead, ...]
    events: int
    tenants: int


def _key() -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), _HMAC_LABEL, hashlib.sha256).digest()


def _digest(key: bytes, event: AuditEvent, tenant_public_id: str) -> str:
    """HMAC over sorted-key JSON: unambiguous, whatever characters the fields hold."""
    return _digest_of(
        key,
        previous_digest=event.previous_digest,
        tenant=tenant_public_id,
        sequence=event.sequence,
        at=event.at.astimezone(datetime.UTC).isoformat(),
        actor="" if event.actor_id is None else str(event.actor_id),
        actor_label=event.actor_label,
        verb=event.verb,
        object_type=event.object_type,
        object_id=event.object_id,
        case="" if event.case_public_id is None else str(event.case_public_id),
    )


def _digest_of(key: bytes, **fields: str | int) -> str:
    """The digest of an event given as its canonical fields (see :func:`_digest`): the one
    encoding both the single append, the batch append and the verification use."""
    message = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def _event_time(actor: User | None) -> datetime.datetime:
    now = timezone.now().astimezone(datetime.UTC)
    if actor is None:
        # No actor: reporter-side or system; only the date is kept (DESIGN §5).
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    return now


def _label(actor: User | None, actor_label: str | None) -> str:
    if actor is not None:
        if actor_label is not None:
            raise ValueError("actor_label is only for events without an actor")
        return actor.email
    label = actor_label or REPORTER_LABEL
    if not _ACTOR_LABEL.fullmatch(label):
        raise ValueError("actor_label must be 'reporter', 'system' or 'system:<job>'")
    return label


def audit_record(
    *,
    tenant: Tenant,
    actor: User | None,
    verb: str,
    object_type: str,
    object_id: str,
    case: Case | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Append an event to ``tenant``'s chain, inside the caller's transaction.

    ``actor=None`` means the reporter (or, with ``actor_label="system:<job>"``, a system job);
    such events keep only the date. ``object_type`` and ``object_id`` name what was acted on
    (``"case"``/public id, ``"attachment"``/public id …); pass ``case`` for every event about
    a case or one of its parts, so it appears in :func:`events_for_case`.

    Appends of one tenant are serialised by a row lock on the tenant, held until the caller's
    transaction ends: sequences are gapless, and an event rolls back with the change it records.

    Raises ``ValueError`` for an unknown verb, something that is not an id, a label that is
    not allowed, or a case of another tenant.
    """
    if verb not in VERBS:
        raise ValueError(f"unknown audit verb {verb!r}")
    if not _OBJECT_TYPE.fullmatch(object_type):
        raise ValueError("object_type must be a short lower-case name")
    if not _OBJECT_ID.fullmatch(object_id):
        raise ValueError("object_id must be an id (letters, digits, . _ : -), not text")
    if case is not None and case.tenant_id != tenant.pk:
        raise ValueError("the case belongs to another tenant")
    label = _label(actor, actor_label)
    with transaction.atomic():
        # FOR NO KEY UPDATE, not FOR UPDATE: it serialises appends just as well, but does not
        # conflict with the FOR KEY SHARE lock every foreign-key check on the tenant row takes.
        # With FOR UPDATE, committing anything that references the tenant (a case, a message)
        # would wait for open audit appends, and a transaction that already holds such a lock
        # (an immediate constraint check) could deadlock with another append.
        locked = Tenant.objects.select_for_update(no_key=True).only("pk", "public_id")
        locked_tenant = locked.get(pk=tenant.pk)
        last = (
            AuditEvent.objects.filter(tenant_id=tenant.pk)
            .order_by("-sequence")
            .values_list("sequence", "digest")
            .first()
        )
        sequence, previous = (last[0] + 1, last[1]) if last else (1, GENESIS_DIGEST)
        event = AuditEvent(
            tenant_id=tenant.pk,
            sequence=sequence,
            at=_event_time(actor),
            actor=actor,
            actor_label=label,
            verb=verb,
            object_type=object_type,
            object_id=object_id,
            case_public_id=case.public_id if case is not None else None,
            previous_digest=previous,
        )
        event.digest = _digest(_key(), event, str(locked_tenant.public_id))
        event.save(force_insert=True)
    return event


# audit_record_cases inserts its events with one statement (or, where the database limits a
# statement's parameters, a few): the fields that differ per event as rows of a VALUES list, the
# ones shared by the whole batch once, and no model instance per event. With psycopg's
# client-side binding every parameter is found in the statement and quoted in Python, which for
# 2,000 events cost more than the INSERT itself (bulk_create: 22,000 parameters); here the values
# that need no quoting (integers, ids and hex digests, see _LITERAL) are written into the
# statement as literals and only the rest (the case's UUID on PostgreSQL) is bound.
_ROW_FIELDS = ("tenant", "sequence", "object_id", "case_public_id", "previous_digest", "digest")
_SHARED_FIELDS = ("at", "actor", "actor_label", "verb", "object_type")
_LITERAL = re.compile(r"[A-Za-z0-9._:-]{0,64}")  # cannot end a quoted SQL string


def _values_sql(value: object, params: list[Any]) -> str:
    """``value`` as it goes into a VALUES row: an integer or a string of :data:`_LITERAL` as
    an SQL literal, anything else as a bound ``%s`` parameter (its value appended to
    ``params``)."""
    if type(value) is int:
        return str(value)
    if type(value) is str and _LITERAL.fullmatch(value):
        return f"'{value}'"
    params.append(value)
    return "%s"


def _insert_events(shared: Mapping[str, object], rows: Sequence[Sequence[object]]) -> None:
    """``INSERT … SELECT column1, …, <shared values> FROM (VALUES (<row>), …)``: ``rows`` hold
    the values of :data:`_ROW_FIELDS` in that order, already as the database takes them
    (``Field.get_db_prep_save``), ``shared`` the values of :data:`_SHARED_FIELDS` (PostgreSQL
    and SQLite both name a VALUES list's columns ``column1``, ``column2`` …)."""
    meta = AuditEvent._meta
    quote = connection.ops.quote_name
    row_fields = [cast("Field[Any, Any]", meta.get_field(name)) for name in _ROW_FIELDS]
    shared_fields = [cast("Field[Any, Any]", meta.get_field(name)) for name in _SHARED_FIELDS]
    columns = ", ".join(quote(str(field.column)) for field in (*row_fields, *shared_fields))
    shared_params = [
        field.get_db_prep_save(shared[field.name], connection) for field in shared_fields
    ]
    width = len(row_fields)
    selected = ", ".join([f"column{i}" for i in range(1, width + 1)] + ["%s"] * len(shared_fields))
    limit = connection.features.max_query_params
    per_statement = len(rows) if limit is None else (limit - len(shared_params)) // width
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            params: list[Any] = list(shared_params)
            values = ", ".join(
                "(" + ", ".join([_values_sql(value, params) for value in row]) + ")"
                for row in rows[start : start + per_statement]
            )
            # Names from the model, ``%s`` parameters and the literals of _values_sql only.
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({columns}) SELECT {selected} "  # noqa: S608
                f"FROM (VALUES {values}) AS batch",
                params,
            )


def audit_record_cases(
    *,
    cases: Sequence[tuple[int, uuid.UUID]],
    actor: User | None,
    verb: str,
    actor_label: str | None = None,
) -> int:
    """One event ``verb`` per case, given as (tenant id, case public id), each appended to its
    tenant's chain as :func:`audit_record` would append them one after another, but in a few
    statements for the whole batch (retention deletes thousands of cases at a time): the
    tenants' rows are locked together (in id order, so two batches cannot deadlock), their chain
    heads are read in one query and all events are inserted at once, inside the caller's
    transaction. The locks are held until that transaction ends. Returns the number of events
    appended."""
    if verb not in VERBS:
        raise ValueError(f"unknown audit verb {verb!r}")
    label = _label(actor, actor_label)
    if not cases:
        return 0
    tenant_ids = sorted({tenant_id for tenant_id, _case in cases})
    at = _event_time(actor)
    at_text = at.astimezone(datetime.UTC).isoformat()
    actor_text = "" if actor is None else str(actor.pk)
    key = _key()
    with transaction.atomic():
        # The same lock as audit_record (see there), then the heads under it.
        public_ids = dict(
            Tenant.objects.select_for_update(no_key=True)
            .filter(pk__in=tenant_ids)
            .order_by("pk")
            .values_list("pk", "public_id")
        )
        last = AuditEvent.objects.filter(tenant_id=OuterRef("pk")).order_by("-sequence")
        heads: dict[int, tuple[int, str]] = {
            pk: (sequence or 0, digest or GENESIS_DIGEST)
            for pk, sequence, digest in Tenant.objects.filter(pk__in=tenant_ids)
            .annotate(
                last_sequence=Subquery(last.values("sequence")[:1]),
                last_digest=Subquery(last.values("digest")[:1]),
            )
            .values_list("pk", "last_sequence", "last_digest")
        }
        tenant_public_ids = {pk: str(public_id) for pk, public_id in public_ids.items()}
        uuid_field = AuditEvent._meta.get_field("case_public_id")
        database = connections[DEFAULT_DB_ALIAS]  # the object itself, not the proxy
        rows: list[tuple[int, int, str, object, str, str]] = []
        for tenant_id, case_public_id in cases:
            sequence, previous = heads[tenant_id]
            sequence += 1
            case_text = str(case_public_id)
            digest = _digest_of(
                key,
                previous_digest=previous,
                tenant=tenant_public_ids[tenant_id],
                sequence=sequence,
                at=at_text,
                actor=actor_text,
                actor_label=label,
                verb=verb,
                object_type="case",
                object_id=case_text,
                case=case_text,
            )
            heads[tenant_id] = (sequence, digest)
            case_value = uuid_field.get_db_prep_save(case_public_id, database)
            rows.append((tenant_id, sequence, case_text, case_value, previous, digest))
        shared = {
            "at": at,
            "actor": None if actor is None else actor.pk,
            "actor_label": label,
            "verb": verb,
            "object_type": "case",
        }
        _insert_events(shared, rows)
    return len(rows)


def events_for_case(case: Case) -> QuerySet[AuditEvent]:
    """The case's own audit trail, oldest first (also after the case itself was deleted)."""
    return AuditEvent.objects.filter(
        tenant_id=case.tenant_id, case_public_id=case.public_id
    ).order_by("sequence")


def _check_tenant(
    key: bytes, tenant: Tenant, anchor: tuple[int, str] | None
) -> tuple[list[AuditProblem], AuditHead | None, int]:
    problems: list[AuditProblem] = []
    public_id = str(tenant.public_id)
    expected, previous, count = 1, GENESIS_DIGEST, 0
    anchor_seen = False
    events = AuditEvent.objects.filter(tenant_id=tenant.pk).order_by("sequence")
    for event in events.iterator(chunk_size=2000):
        count += 1

        def problem(reason: str, event: AuditEvent = event) -> None:
            problems.append(AuditProblem(tenant.slug, event.sequence, event.pk, reason))

        if event.sequence > expected:
            missing = (
                f"event {expected}"
                if event.sequence == expected + 1
                else f"events {expected} to {event.sequence - 1}"
            )
            problem(f"sequence gap: {missing} missing (removed)")
        elif not hmac.compare_digest(event.previous_digest, previous):
            # After a gap the link is broken anyway; report it only where it says more.
            problem(REASON_LINK)
        if not hmac.compare_digest(event.digest, _digest(key, event, public_id)):
            problem(REASON_EDITED)
        if anchor is not None and event.sequence == anchor[0]:
            anchor_seen = True
            if not hmac.compare_digest(event.digest, anchor[1]):
                problem("digest differs from the recorded anchor (rewritten)")
        expected, previous = event.sequence + 1, event.digest
    if anchor is not None and not anchor_seen:
        problems.append(
            AuditProblem(
                tenant.slug,
                anchor[0],
                None,
                f"recorded anchor event {anchor[0]} is missing (tail truncated or removed)",
            )
        )
    head = AuditHead(tenant.slug, expected - 1, previous) if count else None
    return problems, head, count


def audit_check(
    *, tenant: Tenant | None = None, anchors: Mapping[str, tuple[int, str]] | None = None
) -> AuditReport:
    """Verify the chains of ``tenant`` (or of every tenant) in constant memory.

    ``anchors`` maps a tenant slug to a (sequence, digest) recorded earlier from
    :attr:`AuditReport.heads`; an anchor that is gone or differs is a problem, which is how a
    truncated tail shows.
    """
    key = _key()
    tenants = [tenant] if tenant is not None else list(Tenant.objects.order_by("slug"))
    problems: list[AuditProblem] = []
    heads: list[AuditHead] = []
    events = 0
    for each in tenants:
        anchor = (anchors or {}).get(each.slug)
        found, head, count = _check_tenant(key, each, anchor)
        problems.extend(found)
        if head is not None:
            heads.append(head)
        events += count
    return AuditReport(tuple(problems), tuple(heads), events, len(tenants))


def audit_verify(*, tenant: Tenant | None = None) -> list[AuditProblem]:
    """Every place where a chain is broken (edited, removed or reordered events); empty if
    none. See the module docstring for what the chain alone cannot show."""
    return list(audit_check(tenant=tenant).problems)
