"""Hand-over (WF-4, CF-3): a redacted dossier of the case for a named recipient — the
organisation's unit that must act, an authority, an investigator — and the record of what was
handed to whom and when.

The dossier reuses the export's redaction (casework/export.py): every phrase the handler
enters is blacked out before rendering, and the reporter's contact details are added to those
phrases automatically, so a name or address the reporter gave as contact is blacked out
wherever it also appears in the report or the conversation. The contact details themselves,
the internal audit trail and the disclosure log are never part of a dossier; the conversation
and the internal notes only when the handler includes them. Files are left out unless the
handler ticks each one: their contents cannot be redacted (the page says so), only their names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

import crypto
from casework.case_logs import HANDOVER_RECORD as RECORD_KIND
from casework.changes import WorkflowError, case_change
from casework.export import (
    MIN_PHRASE_LENGTH,
    Redactor,
    _write_zip,  # the export's streaming ZIP writer, shared on purpose
    case_file,
    clean_phrases,
    html_to_pdf,
)
from casework.models import Handover
from intake import services as intake_services
from intake.models import Case, tenant_today
from intake.services import record_context
from whistle.accounts.models import User

MAX_RECIPIENT = 300


@dataclass(frozen=True)
class Dossier:
    """The made dossier: a PDF (``pdf``) or a ZIP of the PDF and the ticked files (``spool``,
    an ``EncryptedSpool`` at its start, for the caller to stream and close)."""

    handover: Handover
    pdf: bytes | None
    spool: crypto.EncryptedSpool | None


def contact_phrases(case: Case, case_key: bytes) -> list[str]:
    """The reporter's contact details as phrases to black out (too short ones cannot be)."""
    contact = intake_services.case_contact(case=case, case_key=case_key) or {}
    return [
        value
        for value in clean_phrases(str(v) for v in contact.values())
        if len(value) >= MIN_PHRASE_LENGTH
    ]


def _encrypt(case: Case, case_key: bytes, handover: Handover, data: dict[str, Any]) -> None:
    handover.details_ciphertext = crypto.encrypt_record(
        case_key,
        json.dumps(data, ensure_ascii=False).encode("utf-8"),
        context=record_context(case, RECORD_KIND, handover.public_id),
    )


def case_hand_over(
    *,
    case: Case,
    actor: User,
    case_key: bytes,
    recipient: str,
    kind: str,
    redactions: list[str],
    file_ids: list[str],
    with_conversation: bool = False,
    with_notes: bool = False,
) -> Dossier:
    """Make the redacted dossier for ``recipient`` and record the hand-over; audited."""
    recipient = recipient.strip()
    if not recipient:
        raise WorkflowError(_("Name the recipient of the dossier."))
    if len(recipient) > MAX_RECIPIENT:
        raise WorkflowError(
            _("The recipient's name may have at most %(count)d characters.")
            % {"count": MAX_RECIPIENT}
        )
    if kind not in Handover.Kind.values:
        raise WorkflowError(_("Choose who the recipient is."))
    redactor = Redactor([*redactions, *contact_phrases(case, case_key)])
    collected = case_file(case=case, case_key=case_key, actor=actor, redactor=redactor)
    by_id = {str(f.attachment.public_id): f for f in collected.files}
    if any(file_id not in by_id for file_id in file_ids):
        raise WorkflowError(_("One of the files chosen is no longer part of the case."))
    files = [f for f in collected.files if str(f.attachment.public_id) in file_ids]
    handover = Handover(
        case=case,
        kind=kind,
        by=actor,
        handed_on=tenant_today(case.tenant),
        with_conversation=with_conversation,
        with_notes=with_notes,
        file_count=len(files),
        redaction_count=len(redactor.phrases),
    )
    context = {
        **collected.context,
        "files": files,
        "with_files": bool(files),
        "recipient": redactor.html(recipient),
        "kind": Handover.Kind(kind).label,
        "with_conversation": with_conversation,
        "with_notes": with_notes,
        "language": get_language() or "de",
        "handed_at": timezone.now(),
    }
    html = render_to_string("casework/handover_pdf.html", context)
    pdf = html_to_pdf(redactor.document(html))
    spool = None
    if files:
        spool = crypto.EncryptedSpool()
        try:
            _write_zip(spool, case, case_key, pdf, files)
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
    names = {
        str(v.attachment.public_id): str(v.meta.get("name", ""))
        for v in intake_services.case_attachments(case=case, case_key=case_key)
    }
    details = {
        "recipient": recipient,
        "files": [{"id": f_id, "name": names.get(f_id, "")} for f_id in file_ids],
    }
    try:
        with case_change(case=case, actor=actor) as change:
            _encrypt(case, case_key, handover, details)
            handover.save()
            change.record(
                "case.handed_over", object_type="handover", object_id=str(handover.public_id)
            )
    except BaseException:
        if spool is not None:
            spool.close()
        raise
    return Dossier(handover=handover, pdf=None if files else pdf, spool=spool)
