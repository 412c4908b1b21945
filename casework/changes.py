"""The one audited path for changes of a case (AUD-1; DESIGN §3): every service that changes a
case or what belongs to it (messages, files, notes, exclusions, holds, deletion proposals)
runs its change inside ``case_change``, which

1. opens a transaction (or a savepoint inside the caller's),
2. locks the case row (``SELECT … FOR NO KEY UPDATE``) and refreshes the caller's ``Case``
   instance from it, so the service checks the state *after* any change that committed while
   it waited: of two handlers acting on the same case at once, the second sees the first one's
   result (and a ``WorkflowError`` where the step is no longer allowed) instead of both
   succeeding,
3. writes the audit event(s) in the same transaction: the event commits with the change or
   neither does. A change that recorded no event fails (``AuditMissing``) and rolls back.

Example::

    from casework.changes import WorkflowError, case_change

    def case_label_set(*, case: Case, actor: User, label: str) -> None:
        with case_change(case=case, actor=actor, verb="case.label_set"):
            if not case.is_open:  # read after the lock: current
                raise WorkflowError(_("The case is closed."))
            case.label = label
            case.save(update_fields=["label"])

    # several events, or the event's object decided inside:
    with case_change(case=case, actor=actor) as change:
        note = Note.objects.create(...)
        change.record("case.note_added", object_type="note", object_id=str(note.public_id))

A new verb goes into ``casework.audit_labels.VERB_LABELS`` (which also makes it valid for
``casework.audit.audit_record``). Changes of the directory below casework (memberships, roles,
tenant admins, key grants) are announced by whistle with signals and recorded by
``casework.receivers`` in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from casework.audit import audit_record
from casework.models import AuditEvent
from intake.models import Case
from whistle.accounts.models import User


class WorkflowError(Exception):
    """The requested change is not allowed in the case's current state (message says why)."""


class AuditMissing(RuntimeError):
    """A change of a case ended without recording what happened (a programming error)."""


@dataclass
class CaseChange:
    """The change under way: the locked case and the events recorded so far."""

    case: Case
    actor: User | None
    actor_label: str | None = None
    events: list[AuditEvent] = field(default_factory=list)
    nothing: bool = False

    def record(self, verb: str, *, object_type: str = "case", object_id: str = "") -> AuditEvent:
        """Append an audit event about this case (or one of its parts: ``object_type`` and
        ``object_id`` name it; by default the case itself)."""
        event = audit_record(
            tenant=self.case.tenant,
            actor=self.actor,
            verb=verb,
            object_type=object_type,
            object_id=object_id or str(self.case.public_id),
            case=self.case,
            actor_label=self.actor_label,
        )
        self.events.append(event)
        return event

    def unchanged(self) -> None:
        """Nothing was changed after all (the request asked for the current state): no event
        is needed. Call it before writing anything."""
        self.nothing = True


def lock_case(case: Case) -> Case:
    """Lock ``case``'s row until the transaction ends and bring ``case`` up to date with it
    (fields changed by others meanwhile; their cached related objects are dropped). Raises
    ``WorkflowError`` when the case no longer exists (deleted meanwhile)."""
    locked = Case.objects.select_for_update(no_key=True).filter(pk=case.pk).first()
    if locked is None:
        raise WorkflowError(_("This case no longer exists."))
    for each in Case._meta.concrete_fields:
        value = getattr(locked, each.attname)
        if getattr(case, each.attname) != value:
            setattr(case, each.attname, value)
            if each.is_relation:
                case._state.fields_cache.pop(each.name, None)
    return case


@contextmanager
def case_change(
    *,
    case: Case,
    actor: User | None,
    verb: str | None = None,
    object_type: str = "case",
    object_id: str = "",
    actor_label: str | None = None,
) -> Iterator[CaseChange]:
    """Run a change of ``case`` under its row lock and with its audit event, in one
    transaction (see the module docstring). ``verb`` (with ``object_type``/``object_id``) is
    recorded when the block ends without an exception; more events with ``CaseChange.record``.
    ``actor=None`` is the reporter, or a system job with ``actor_label="system:<job>"``."""
    with transaction.atomic():
        lock_case(case)
        change = CaseChange(case=case, actor=actor, actor_label=actor_label)
        yield change
        if verb is not None:
            change.record(verb, object_type=object_type, object_id=object_id)
        if not change.events and not change.nothing:
            raise AuditMissing("a change of a case recorded no audit event")
