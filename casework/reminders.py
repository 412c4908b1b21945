"""Deadline reminders (DL-1, DL-2, DL-3): content-free e-mails, each sent exactly once.

Every run (Celery beat, hourly) looks at open cases whose acknowledgement or feedback is
outstanding, in each tenant's own calendar:

- two days before the due date ("before"), on the due date ("due"), and every day after it
  ("overdue", the escalation: office leads are told too);
- to the assignee, or to the office leads while nobody is assigned; to the deputy as well
  when the assignee is marked away.

A ``ReminderSent`` row (unique per case, deadline, stage and day) is written before the mail
is queued, so a second run on the same day, or a retried task, sends nothing twice. The mail
task gets the row's id only.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Q

from casework.models import CaseExclusion, ReminderSent
from intake.models import Case, tenant_today
from whistle.accounts.models import User
from whistle.tenants.models import Membership

BEFORE_DAYS = 2


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


def schedule_reminders() -> list[int]:
    """Record each reminder due today once and queue its mail (after commit); returns row ids."""
    from casework.tasks import send_reminder_mail

    queued = []
    for due in due_reminders():
        try:
            with transaction.atomic():
                sent = ReminderSent.objects.create(
                    case=due.case, deadline=due.deadline, stage=due.stage, on_date=due.on_date
                )
                transaction.on_commit(partial(send_reminder_mail.delay, sent.pk))
        except IntegrityError:
            continue  # already sent today
        queued.append(sent.pk)
    return queued
