"""Case page actions of consent before disclosure (HinSchG § 9): thin, each calls one service
of casework.disclosure. Registered in ``casework.views.ACTIONS``."""

from __future__ import annotations

from django.contrib import messages
from django.utils.translation import gettext as _

from casework import disclosure
from intake.models import Case
from whistle.http import StaffRequest
from whistle.tenants.models import Membership


def act_request_consent(request: StaffRequest, m: Membership, case: Case, key: bytes) -> None:
    disclosure.disclosure_request_consent(
        case=case,
        actor=request.user,
        case_key=key,
        recipient=request.POST.get("recipient", ""),
        purpose=request.POST.get("purpose", ""),
    )
    messages.success(
        request,
        _("The request was sent. The reporter sees it in their mailbox and answers there."),
    )


def act_disclose_on_ground(request: StaffRequest, m: Membership, case: Case, key: bytes) -> None:
    recorded = disclosure.disclosure_record_ground(
        case=case,
        actor=request.user,
        case_key=key,
        ground=request.POST.get("ground", ""),
        recipient=request.POST.get("recipient", ""),
        purpose=request.POST.get("purpose", ""),
        notice=request.POST.get("notice", ""),
        notice_text=request.POST.get("notice_text", ""),
        withheld_reason=request.POST.get("withheld_reason", ""),
    )
    if recorded.notice == recorded.Notice.SENT:
        messages.success(
            request,
            _(
                "The legal ground was recorded and the reporter informed. You can now show the "
                "contact details for this disclosure."
            ),
        )
    else:
        messages.success(
            request,
            _(
                "The legal ground and the reason for not informing the reporter were recorded. "
                "You can now show the contact details for this disclosure."
            ),
        )
