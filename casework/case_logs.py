"""The disclosure log (HinSchG § 9) and the hand-over log of a case, as the export shows them:
decrypted and redacted like every other piece of case text (casework/export.py)."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.safestring import SafeString

import crypto
from casework.models import Handover
from intake.disclosures import disclosures_for_office
from intake.models import Case
from intake.services import record_context

if TYPE_CHECKING:
    from casework.export import Redactor

#: The kind of a hand-over's encrypted record (recipient, files), casework.handover.
HANDOVER_RECORD = "handover"


@dataclass(frozen=True)
class LoggedDisclosure:
    requested_on: datetime.date
    recipient: SafeString
    purpose: SafeString
    basis: str
    notice: str
    withheld_reason: SafeString | None
    state: str
    answered_on: datetime.date | None
    disclosed_on: datetime.date | None
    disclosed_by: SafeString | None


def disclosure_log(case: Case, case_key: bytes, r: Redactor) -> list[LoggedDisclosure]:
    out = []
    for view in disclosures_for_office(case=case, case_key=case_key):
        d = view.disclosure
        out.append(
            LoggedDisclosure(
                requested_on=d.requested_on,
                recipient=r.html(view.recipient),
                purpose=r.html(view.purpose),
                basis=str(d.get_ground_display() if d.ground else d.get_basis_display()),
                notice=str(d.get_notice_display()) if d.notice else "",
                withheld_reason=r.html(view.withheld_reason) if view.withheld_reason else None,
                state=str(d.get_state_display()),
                answered_on=d.answered_on,
                disclosed_on=d.disclosed_on,
                disclosed_by=r.html(d.disclosed_by.display_name) if d.disclosed_by else None,
            )
        )
    return out


@dataclass(frozen=True)
class HandoverView:
    handover: Handover
    recipient: str
    files: list[str]


def handovers_for(*, case: Case, case_key: bytes) -> list[HandoverView]:
    """The hand-over log of the case, oldest first, decrypted."""
    views = []
    for handover in Handover.objects.filter(case=case).select_related("by"):
        details = json.loads(
            crypto.decrypt_record(
                case_key,
                bytes(handover.details_ciphertext),
                context=record_context(case, HANDOVER_RECORD, handover.public_id),
            )
        )
        views.append(
            HandoverView(
                handover=handover,
                recipient=str(details.get("recipient", "")),
                files=[str(f.get("name", "")) for f in details.get("files", [])],
            )
        )
    return views


@dataclass(frozen=True)
class LoggedHandover:
    handed_on: datetime.date
    recipient: SafeString
    kind: str
    by: SafeString | None
    files: list[SafeString]
    with_conversation: bool
    with_notes: bool
    redaction_count: int


def handover_log(case: Case, case_key: bytes, r: Redactor) -> list[LoggedHandover]:
    return [
        LoggedHandover(
            handed_on=v.handover.handed_on,
            recipient=r.html(v.recipient),
            kind=str(v.handover.get_kind_display()),
            by=r.html(v.handover.by.display_name) if v.handover.by else None,
            files=[r.html(name) for name in v.files],
            with_conversation=v.handover.with_conversation,
            with_notes=v.handover.with_notes,
            redaction_count=v.handover.redaction_count,
        )
        for v in handovers_for(case=case, case_key=case_key)
    ]
