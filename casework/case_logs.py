"""The disclosure log (HinSchG § 9) and the hand-over log of a case, as the export shows them:
decrypted and redacted like every other piece of case text (casework/export.py)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.safestring import SafeString

from intake.disclosures import disclosures_for_office
from intake.models import Case

if TYPE_CHECKING:
    from casework.export import Redactor


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
