"""The legal deadlines of a case (HinSchG § 17, DL-1, DL-2) in one place: the dates
(``acknowledge_due``, ``feedback_due``) and the same rules as query filters (``overdue`` and
friends), so that the inbox, the reminders and the statistics cannot disagree about when a
case is late. ``Case`` has them as properties and ``Case.objects`` (``CaseQuerySet``) as
filters.

A deadline is *overdue* on the days after its due date while it is not met (on the due date
itself it is "due"). The filters are exact, also at the end of a month: calendar months do not
invert (31 May + 3 months = 31 August, and so does 30 May + 3 months + 1 day), so instead of
subtracting months from today each filter finds the last receipt (or acknowledgement) date
whose deadline is before today, by the very function that computes the deadline.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from dateutil.relativedelta import relativedelta
from django.db.models import Q

ACKNOWLEDGE_DAYS = 7  # HinSchG § 17(1) Nr. 1
FEEDBACK_MONTHS = 3  # HinSchG § 17(2)

_DAY = datetime.timedelta(days=1)


def acknowledge_due(received_on: datetime.date) -> datetime.date:
    """Acknowledgement of receipt is due 7 days after receipt."""
    return received_on + datetime.timedelta(days=ACKNOWLEDGE_DAYS)


def feedback_due(
    *,
    received_on: datetime.date,
    acknowledged_on: datetime.date | None,
    extended_until: datetime.date | None,
) -> datetime.date:
    """Feedback is due 3 months after the acknowledgement, or 3 months and 7 days after
    receipt when none was sent; an external office's extension (DL-2) replaces both."""
    if extended_until is not None:
        return extended_until
    if acknowledged_on is not None:
        return _feedback_after_acknowledgement(acknowledged_on)
    return _feedback_after_receipt(received_on)


def _feedback_after_acknowledgement(acknowledged_on: datetime.date) -> datetime.date:
    return acknowledged_on + relativedelta(months=FEEDBACK_MONTHS)


def _feedback_after_receipt(received_on: datetime.date) -> datetime.date:
    return received_on + relativedelta(months=FEEDBACK_MONTHS, days=ACKNOWLEDGE_DAYS)


def _last_start_before(
    due: Callable[[datetime.date], datetime.date], today: datetime.date, guess: datetime.date
) -> datetime.date:
    """The latest start date whose deadline ``due(start)`` is before ``today`` (``due`` is
    non-decreasing): a deadline counted from ``start`` is overdue iff ``start`` is on or
    before this date."""
    start = guess
    while due(start) < today:
        start += _DAY
    while due(start) >= today:
        start -= _DAY
    return start


def acknowledge_overdue(today: datetime.date) -> Q:
    """Open or not, the acknowledgement is late on ``today``."""
    last = _last_start_before(acknowledge_due, today, today - datetime.timedelta(ACKNOWLEDGE_DAYS))
    return Q(acknowledged_on__isnull=True, received_on__lte=last)


def feedback_overdue(today: datetime.date) -> Q:
    """The feedback is late on ``today``."""
    after_ack = _last_start_before(
        _feedback_after_acknowledgement, today, today - relativedelta(months=FEEDBACK_MONTHS)
    )
    after_receipt = _last_start_before(
        _feedback_after_receipt,
        today,
        today - relativedelta(months=FEEDBACK_MONTHS, days=ACKNOWLEDGE_DAYS),
    )
    return Q(feedback_given_on__isnull=True) & (
        Q(feedback_extended_until__lt=today)
        | Q(feedback_extended_until__isnull=True, acknowledged_on__lte=after_ack)
        | Q(
            feedback_extended_until__isnull=True,
            acknowledged_on__isnull=True,
            received_on__lte=after_receipt,
        )
    )


def overdue(today: datetime.date) -> Q:
    """Either deadline is late on ``today`` (open cases: combine with ``CaseQuerySet.open``)."""
    return acknowledge_overdue(today) | feedback_overdue(today)


def outstanding() -> Q:
    """A deadline is still to be met: no acknowledgement or no feedback yet."""
    return Q(acknowledged_on__isnull=True) | Q(feedback_given_on__isnull=True)
