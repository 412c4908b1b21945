"""Internal notes (encrypted under the case key; the reporter never sees them)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

import crypto
from casework.changes import WorkflowError, case_change
from casework.models import Note
from intake import services as intake_services
from intake.models import Case, tenant_today
from whistle.accounts.models import User


def note_add(*, case: Case, actor: User, case_key: bytes, body: str) -> Note:
    """An internal note, encrypted under the case key; the reporter never sees it."""
    if not body.strip():
        raise WorkflowError(_("The note is empty."))
    with case_change(case=case, actor=actor) as change:
        note = note_create(case=case, actor=actor, case_key=case_key, body=body)
        change.record("case.note_added", object_type="note", object_id=str(note.public_id))
    return note


def note_create(*, case: Case, actor: User, case_key: bytes, body: str) -> Note:
    """The note row alone, for a change already under way (``case_change``) whose own event
    says why it was written (a reason given for a hold, an extension, a reveal …)."""
    note = Note(case=case, author=actor, created_on=tenant_today(case.tenant))
    note.body_ciphertext = crypto.encrypt_record(
        case_key,
        body.strip().encode(),
        context=intake_services.record_context(case, "note", note.public_id),
    )
    note.save()
    return note


@dataclass(frozen=True)
class NoteView:
    note: Note
    body: str


def notes_for(*, case: Case, case_key: bytes) -> list[NoteView]:
    return [
        NoteView(
            note=note,
            body=crypto.decrypt_record(
                case_key,
                bytes(note.body_ciphertext),
                context=intake_services.record_context(case, "note", note.public_id),
            ).decode(),
        )
        for note in Note.objects.filter(case=case).select_related("author")
    ]
