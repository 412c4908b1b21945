"""Retention policy and holds (RET-1): when a closed case is deleted, and what stops or moves
that date — a legal hold (until released; its review date brings a reminder,
``casework.retention.notices``) or a one-time extension by a year. Changes go through the
audited path (``casework.changes``)."""

from __future__ import annotations

import datetime

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.utils.translation import gettext as _

from casework.changes import WorkflowError, case_change
from casework.notes import note_create
from intake.models import Case, tenant_today
from whistle.accounts.models import User
from whistle.tenants.models import Tenant

EXTENSION_YEARS = 1


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
    with case_change(case=case, actor=actor, verb="case.legal_hold"):
        case.legal_hold = True
        case.legal_hold_review_on = review_on
        case.save(update_fields=["legal_hold", "legal_hold_review_on"])
        note_create(
            case=case,
            actor=actor,
            case_key=case_key,
            body=_("Legal hold: %(reason)s") % {"reason": reason.strip()},
        )


def case_release_hold(*, case: Case, actor: User) -> None:
    """Deletion goes ahead again by the policy (a case past its date is deleted by the next
    run)."""
    with case_change(case=case, actor=actor, verb="case.legal_hold_released"):
        if not case.legal_hold:
            raise WorkflowError(_("The case is not on legal hold."))
        case.legal_hold = False
        case.legal_hold_review_on = None
        case.save(update_fields=["legal_hold", "legal_hold_review_on"])


def case_extend_retention(*, case: Case, actor: User, case_key: bytes, reason: str) -> None:
    """Keep the case one more year, once, with a reason."""
    if not reason.strip():
        raise WorkflowError(_("Please give the reason for keeping the case longer."))
    with case_change(case=case, actor=actor, verb="case.retention_extended"):
        if case.delete_on is None:
            raise WorkflowError(_("Only a closed case has a deletion date."))
        if case.retention_extended:
            raise WorkflowError(_("The retention period can be extended only once."))
        case.delete_on = case.delete_on + relativedelta(years=EXTENSION_YEARS)
        case.retention_extended = True
        case.deletion_notice_sent = False
        case.save(update_fields=["delete_on", "retention_extended", "deletion_notice_sent"])
        note_create(
            case=case,
            actor=actor,
            case_key=case_key,
            body=_("Retention extended: %(reason)s") % {"reason": reason.strip()},
        )


def utc_horizon(days: int = 0) -> datetime.date:
    """No tenant's calendar is ahead of UTC by more than a day: filter in SQL (indexed) up to
    this date (``days`` further on), then apply each tenant's own date."""
    today = datetime.datetime.now(tz=datetime.UTC).date()
    return today + datetime.timedelta(days=1 + days)
