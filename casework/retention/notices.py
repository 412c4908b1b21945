"""Retention's notices to the office (content-free, ``casework.notices``): a closed case will
be deleted in 30 days; a legal hold's review date has come."""

from __future__ import annotations

import datetime

from casework.notices import office_mail
from casework.retention.policy import utc_horizon
from intake.models import Case, tenant_today

NOTICE_DAYS = 30
CHUNK = 2000  # cases read per round trip


def deletion_notices_send() -> int:
    """Once per deletion date: the office is told 30 days ahead (content-free)."""
    sent = 0
    pending = Case.objects.filter(
        status=Case.Status.CLOSED,
        legal_hold=False,
        deletion_notice_sent=False,
        delete_on__isnull=False,
        delete_on__lte=utc_horizon(NOTICE_DAYS),
    ).select_related("tenant", "office", "assignee", "deputy")
    for case in pending.iterator(chunk_size=CHUNK):
        if case.delete_on is None:
            continue
        if case.delete_on - datetime.timedelta(days=NOTICE_DAYS) <= tenant_today(case.tenant):
            updated = Case.objects.filter(pk=case.pk, deletion_notice_sent=False).update(
                deletion_notice_sent=True
            )
            if updated:
                office_mail(
                    case=case,
                    stage="due",
                    template="deletion_notice",
                    context={"delete_on": case.delete_on},
                )
                sent += 1
    return sent


def hold_reviews_send() -> int:
    """The office is reminded to review a legal hold on its review date (once per date)."""
    sent = 0
    holds = Case.objects.filter(
        legal_hold=True,
        legal_hold_review_on__isnull=False,
        legal_hold_review_on__lte=utc_horizon(),
    ).select_related("tenant", "office", "assignee", "deputy")
    for case in holds.iterator(chunk_size=CHUNK):
        review_on = case.legal_hold_review_on
        if review_on is None or review_on > tenant_today(case.tenant):
            continue
        updated = (
            Case.objects.filter(pk=case.pk)
            .exclude(hold_review_sent_for=review_on)
            .update(hold_review_sent_for=review_on)
        )
        if updated:
            office_mail(
                case=case, stage="due", template="hold_review", context={"review_on": review_on}
            )
            sent += 1
    return sent
