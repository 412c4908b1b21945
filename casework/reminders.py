"""Deadline reminders (DL-1, DL-2, DL-3): content-free e-mails, each sent exactly once.

Every run (Celery beat, hourly) looks at open cases whose acknowledgement or feedback is
outstanding, in each tenant's own calendar:

- two days before the due date ("before"), on the due date ("due"), and every day after it
  ("overdue", the escalation: office leads are told too);
- to the assignee, or to the office leads while nobody is assigned; a member marked away is
  replaced by their deputy (DL-3, see :func:`recipients`).

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
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from casework.models import CaseExclusion, ReminderSent
from intake.models import Case, tenant_today
from whistle.accounts.models import User
from whistle.tenants.models import Membership, Office

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
    return (
        Case.objects.exclude(status=Case.Status.CLOSED)
        .filter(Q(acknowledged_on__isnull=True) | Q(feedback_given_on__isnull=True))
        .filter(key_for_office__isnull=False)
    )


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


def recipients(case: Case, stage: str) -> list[User]:
    """Who is told: the assignee (or the leads when unassigned), and the leads on escalation.

    Absence (DL-3): a member marked away is not told; their reminder goes to the deputy they
    named (``Membership.deputy``), else to the case's deputy when they are its assignee, else
    to the office's present leads; only when nobody else is there are they told themself.
    Someone who is no longer a member of the case's office is not told (an assignee who was
    removed counts as no assignee). Never anyone excluded from the case, nor inactive."""
    members = {
        m.user_id: m
        for m in Membership.objects.filter(office=case.office).select_related("user", "deputy")
    }
    excluded = set(CaseExclusion.objects.filter(case=case).values_list("user_id", flat=True))
    leads = [m.user for m in members.values() if m.is_lead]

    def present(user: User | None) -> bool:
        return (
            user is not None
            and user.is_active
            and user.pk in members
            and not members[user.pk].away
            and user.pk not in excluded
        )

    def covered(person: User) -> list[User]:
        membership = members[person.pk]
        if not membership.away:
            return [person]
        case_deputy = case.deputy if person.pk == case.assignee_id else None
        for substitute in (membership.deputy, case_deputy):
            if present(substitute):
                return [substitute]  # type: ignore[list-item]
        return [lead for lead in leads if present(lead)] or [person]

    people: list[User] = []
    if case.assignee is not None and case.assignee_id in members:
        people.extend(covered(case.assignee))
    else:
        for lead in leads:
            people.extend(covered(lead))
    if stage == "overdue":
        for lead in leads:
            people.extend(covered(lead))
    unique: dict[int, User] = {}
    for person in people:
        if person.is_active and person.pk not in excluded:
            unique[person.pk] = person
    return list(unique.values())


def flood_digest_recipients(office: Office) -> list[tuple[User, int]]:
    """Who gets the office's flood digest today and how many cases it counts for each: the
    active leads, each counting the cases they are not excluded from; none for a lead excluded
    from every one of them."""
    cases = [case.pk for case in flood_cases_due(office)]
    if not cases:
        return []
    excluded: dict[int, int] = {}
    for user_id in CaseExclusion.objects.filter(case__in=cases).values_list("user_id", flat=True):
        excluded[user_id] = excluded.get(user_id, 0) + 1
    leads = (
        Membership.objects.filter(office=office, role=Membership.Role.LEAD, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
    )
    counted = [(m.user, len(cases) - excluded.get(m.user_id, 0)) for m in leads]
    return [(user, count) for user, count in counted if count > 0]


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
    """Record each reminder due today once (per case; for flood cases one digest per office)
    and queue its mail (after commit), and queue again the recent ones whose mail has not gone
    out; returns the row ids queued."""
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
    for pk in queued:
        transaction.on_commit(partial(_queue, pk))
    return queued
