"""Deadline reminders (DL-1, DL-2, DL-3): content-free e-mails, each sent exactly once.

Every run (Celery beat, hourly) looks at open cases whose acknowledgement or feedback is
outstanding, in each tenant's own calendar:

- two days before the due date ("before"), on the due date ("due"), and every day after it
  ("overdue", the escalation: office leads are told too);
- to the assignee, or to the office leads while nobody is assigned; to the deputy as well
  when the assignee is marked away.

A ``ReminderSent`` row (unique per case, deadline, stage and day) is written before the mail
is queued, so a second run on the same day queues nothing new. The mail task gets the row's id
only; it sends under the row's lock and marks the row sent *after* sending
(``casework.tasks.send_reminder_mail``): a worker killed while mailing leaves it unmarked, the
task runs again (acknowledged late), and a second run after the mark sends nothing. Rows whose
mail was not sent (the broker was down, the task failed) are queued again by the next run.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from casework.models import CaseExclusion, ReminderSent
from intake.models import Case, tenant_today
from whistle.accounts.models import User
from whistle.tenants.models import Membership

BEFORE_DAYS = 2

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


def due_reminders() -> Iterator[Due]:
    open_cases = (
        Case.objects.exclude(status=Case.Status.CLOSED)
        .filter(Q(acknowledged_on__isnull=True) | Q(feedback_given_on__isnull=True))
        .filter(key_for_office__isnull=False)
        .select_related("tenant", "office", "assignee", "deputy")
        .order_by("id")
    )
    for case in open_cases.iterator(chunk_size=500):
        today = tenant_today(case.tenant)
        if case.acknowledged_on is None:
            stage = stage_for(case.acknowledge_due, today)
            if stage:
                yield Due(case, "acknowledge", stage, today)
        if case.feedback_given_on is None:
            stage = stage_for(case.feedback_due, today)
            if stage:
                yield Due(case, "feedback", stage, today)


def recipients(case: Case, stage: str) -> list[User]:
    """Who is told: assignee (or the leads when unassigned), the deputy when the assignee is
    away, and the leads on escalation. Never anyone excluded from the case."""
    leads = [
        m.user
        for m in Membership.objects.filter(
            office=case.office, role=Membership.Role.LEAD
        ).select_related("user")
    ]
    people: list[User] = []
    if case.assignee is not None:
        people.append(case.assignee)
        away = Membership.objects.filter(office=case.office, user=case.assignee, away=True).exists()
        if away and case.deputy is not None:
            people.append(case.deputy)
    else:
        people.extend(leads)
    if stage == "overdue":
        people.extend(leads)
    excluded = set(CaseExclusion.objects.filter(case=case).values_list("user_id", flat=True))
    unique: dict[int, User] = {}
    for person in people:
        if person.is_active and person.pk not in excluded:
            unique[person.pk] = person
    return list(unique.values())


# Unsent reminders are queued again by later runs for this long (a day's reminder that could
# not go out for longer is superseded by the next day's).
RETRY_DAYS = 1


def _queue(reminder_pk: int) -> None:
    """Queue one reminder's mail. Best effort: the next run queues it again while unsent."""
    from casework.tasks import send_reminder_mail

    try:
        send_reminder_mail.delay(reminder_pk)
    except Exception as error:  # broker down or the eager task failed
        logger.warning("reminder mail not queued (%s); the next run retries", type(error).__name__)


def schedule_reminders() -> list[int]:
    """Record each reminder due today once and queue its mail (after commit), and queue again
    the recent ones whose mail has not gone out; returns the row ids queued."""
    recorded = []
    for due in due_reminders():
        try:
            with transaction.atomic():
                sent = ReminderSent.objects.create(
                    case=due.case, deadline=due.deadline, stage=due.stage, on_date=due.on_date
                )
        except IntegrityError:
            continue  # already recorded today
        recorded.append(sent.pk)
    since = timezone.now().date() - datetime.timedelta(days=RETRY_DAYS + 1)
    queued = list(
        ReminderSent.objects.filter(sent_at__isnull=True, on_date__gte=since)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for pk in queued:
        transaction.on_commit(partial(_queue, pk))
    return queued
