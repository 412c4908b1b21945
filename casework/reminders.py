"""Deadline reminders (DL-1, DL-2, DL-3): content-free e-mails, each sent exactly once.

Every run (Celery beat, hourly) looks at open cases whose acknowledgement or feedback is
outstanding, in each tenant's own calendar:

- two days before the due date ("before"), on the due date ("due"), and every day after it
  ("overdue", the escalation: office leads are told too);
- to the assignee, or to the office leads while nobody is assigned; to the deputy as well
  when the assignee is marked away (``casework.notices.recipients``).

Cases set apart as suspected flood (``Case.flood``, casework.flood) get no reminders of their
own: 300 junk reports would otherwise mean 300 e-mails a day to every lead, and the flood would
bury the handlers' mailboxes instead of the inbox. Instead each office with such open cases
whose deadline is near or has passed gets one *flood digest* a day (in the owner tenant's
calendar), to its active leads: how many reports set apart as suspected flood have such a
deadline, and a link to the set-apart list, nothing about any case. A lead counts only the
cases they are not excluded from, and gets no digest when that leaves none. A case put back
into the inbox gets its own reminders again from the next run.

A ``ReminderSent`` row (unique per case, deadline, stage and day; for a digest, per office and
day) is written before the mail is queued, so a second run on the same day queues nothing new.
The mail task gets the row's id only; it sends under the row's lock and marks the row sent
*after* sending (``casework.tasks.send_reminder_mail``): a worker killed while mailing leaves it
unmarked, the task runs again (acknowledged late), and a second run after the mark sends
nothing. Rows whose mail was not sent (the broker was down, the task failed) are queued again
by the next run. What a digest counts is worked out when it is sent, so a case restored or
closed meanwhile is not counted.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from casework.models import ReminderSent
from intake.models import Case, tenant_today
from whistle.tenants.models import Office

BEFORE_DAYS = 2
#: ``ReminderSent.stage`` of an office's daily digest of cases set apart as suspected flood.
FLOOD_DIGEST = "flood_digest"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Due:
    case: Case
    deadline: str  # "acknowledge" | "feedback"
    stage: str  # "before" | "due" | "overdue"
    on_date: datetime.date


def stage_for(due: datetime.date, today: datetime.date) -> str | None:
    if today > due:
        return "overdue"
    if today == due:
        return "due"
    if today == due - datetime.timedelta(days=BEFORE_DAYS):
        return "before"
    return None


def _open_cases() -> QuerySet[Case]:
    """Open cases with a deadline outstanding and a key (a case being deleted has none)."""
    return Case.objects.deadlines_outstanding()


def _stages(case: Case, today: datetime.date) -> Iterator[tuple[str, str]]:
    """(deadline, stage) of each outstanding deadline of ``case`` that is near or passed."""
    if case.acknowledged_on is None:
        stage = stage_for(case.acknowledge_due, today)
        if stage:
            yield "acknowledge", stage
    if case.feedback_given_on is None:
        stage = stage_for(case.feedback_due, today)
        if stage:
            yield "feedback", stage


def due_reminders() -> Iterator[Due]:
    """Today's per-case reminders: ordinary cases only (flood ones go into the digest)."""
    open_cases = (
        _open_cases()
        .filter(flood=Case.Flood.NONE)
        .select_related("tenant", "office", "assignee", "deputy")
        .order_by("id")
    )
    for case in open_cases.iterator(chunk_size=500):
        today = tenant_today(case.tenant)
        for deadline, stage in _stages(case, today):
            yield Due(case, deadline, stage, today)


def flood_cases_due(office: Office | None = None) -> Iterator[Case]:
    """Open cases set apart as suspected flood (of ``office``, or of every office) with a
    deadline near or passed today in their tenant's calendar."""
    cases = _open_cases().exclude(flood=Case.Flood.NONE)
    if office is not None:
        cases = cases.filter(office=office)
    for case in (
        cases.select_related("tenant", "office__owner").order_by("id").iterator(chunk_size=500)
    ):
        if any(_stages(case, tenant_today(case.tenant))):
            yield case


# Unsent reminders are queued again by later runs for this long (a day's reminder that could
# not go out for longer is superseded by the next day's).
RETRY_DAYS = 1


def _record(**fields: object) -> int | None:
    """Write one ``ReminderSent`` row; None if it was already recorded (today)."""
    try:
        with transaction.atomic():
            return ReminderSent.objects.create(**fields).pk
    except IntegrityError:
        return None


def retried_since() -> datetime.date:
    """Unsent reminders from this day on are queued again by each run (older ones are given
    up: their day has long passed)."""
    return timezone.now().date() - datetime.timedelta(days=RETRY_DAYS + 1)


def schedule_reminders() -> list[int]:
    """Record each reminder due today once (per case; for flood cases one digest per office);
    returns the ids of the rows whose mail is to be queued: today's, and the recent ones whose
    mail has not gone out (the beat task ``casework.tasks.send_deadline_reminders`` queues
    them)."""
    for due in due_reminders():
        _record(case=due.case, deadline=due.deadline, stage=due.stage, on_date=due.on_date)
    offices = {case.office_id: case.office for case in flood_cases_due()}
    for office in offices.values():
        _record(office=office, deadline="", stage=FLOOD_DIGEST, on_date=tenant_today(office.owner))
    queued = list(
        ReminderSent.objects.filter(sent_at__isnull=True, on_date__gte=retried_since())
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return queued
