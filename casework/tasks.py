"""Celery tasks of casework: ids in, the work in the modules below (tasks sit on top of the
app: nothing but the beat schedule, receivers and other tasks queue them)."""

from __future__ import annotations

import logging
from functools import partial

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from casework.models import ReminderSent
from casework.notices import (
    flood_digest_mail,
    new_report_digest_recipients,
    new_report_digest_send,
    new_report_notice_send,
    new_report_notices_due,
    office_mail,
    office_notice_send,
    office_notices_catch_up,
)
from casework.reminders import flood_cases_due, schedule_reminders
from casework.retention import purge_orphan_files as purge
from casework.retention import retention_run
from intake.models import Case

logger = logging.getLogger(__name__)


@shared_task
def send_deadline_reminders() -> int:
    """Beat job: record and queue today's deadline reminders (idempotent)."""
    return len(queue_deadline_reminders())


def queue_deadline_reminders() -> list[int]:
    """Record today's deadline reminders (``casework.reminders.schedule_reminders``) and queue
    their mails after commit, with those of recent days whose mail has not gone out; returns
    the ids of the rows queued."""
    queued = schedule_reminders()
    for pk in queued:
        transaction.on_commit(partial(_queue_reminder, pk))
    return queued


def _queue_reminder(reminder_pk: int) -> None:
    """Queue one reminder's mail. Best effort: the next run queues it again while unsent."""
    try:
        send_reminder_mail.delay(reminder_pk)
    except Exception as error:  # broker down or the eager task failed
        logger.warning("reminder mail not queued (%s); the next run retries", type(error).__name__)


@shared_task
def send_reminder_mail(reminder_id: int) -> int:
    """Send one content-free reminder, or an office's flood digest; the argument is an id,
    nothing else. The row is locked while mailing and marked sent afterwards, in the same
    transaction: a run killed before the mark is repeated, a run after it sends nothing
    (casework.reminders)."""
    with transaction.atomic():
        reminder = (
            ReminderSent.objects.select_for_update(of=("self",))
            .select_related(
                "case__office", "case__tenant", "case__assignee", "case__deputy", "office"
            )
            .filter(pk=reminder_id)
            .first()
        )
        if reminder is None or reminder.sent_at is not None:
            return 0
        if reminder.case is not None:
            sent = _mail_case_reminder(reminder, reminder.case)
        elif reminder.office is not None:
            office = reminder.office
            cases = [case.pk for case in flood_cases_due(office)]
            sent = flood_digest_mail(office=office, cases=cases)
        else:  # pragma: no cover - excluded by a check constraint
            sent = 0
        reminder.sent_at = timezone.now()
        reminder.save(update_fields=["sent_at"])
    return sent


def _mail_case_reminder(reminder: ReminderSent, case: Case) -> int:
    if case.flood != Case.Flood.NONE:
        # Set apart after the reminder was recorded: the office's flood digest counts it.
        return 0
    return office_mail(
        case=case, stage=reminder.stage, template="reminder", context={"reminder": reminder}
    )


@shared_task
def run_retention() -> int:
    """Beat job: delete what is due, finish interrupted deletions, send notices and reviews."""
    return retention_run().deleted


@shared_task
def purge_orphan_files() -> int:
    """Beat job (every five minutes): abandoned drafts' files, and files without any row."""
    return purge().removed


@shared_task
def notify_office(case_id: str) -> int:
    """The office's content-free notice for a reporter's message (``casework.notices``); the
    argument is the case's public id."""
    return office_notice_send(case_id=case_id)


@shared_task
def catch_up_office_notices() -> int:
    """Beat job: send the notices whose queuing failed or whose task was lost."""
    return office_notices_catch_up()


@shared_task
def send_new_report_notices(case_id: str) -> int:
    """Mail the office members who want to hear of a new report at once (casework.notices);
    the argument is the case's public id, nothing else."""
    return new_report_notice_send(case_id=case_id)


@shared_task
def catch_up_new_report_notices() -> int:
    """Beat job: immediate new-report notices still unsent a few minutes after the report
    arrived (queuing or the mail failed)."""
    sent = 0
    for case_id in new_report_notices_due():
        try:
            sent += new_report_notice_send(case_id=case_id)
        except Exception as error:  # one SMTP failure must not stop the rest
            logger.warning(
                "new-report notice not sent (%s); retried next run", type(error).__name__
            )
    return sent


@shared_task
def send_new_report_digests() -> int:
    """Beat job (daily): each member's digest of new reports (casework.notices)."""
    sent = 0
    for user_id in new_report_digest_recipients():
        try:
            sent += new_report_digest_send(user_id=user_id)
        except Exception as error:  # one SMTP failure must not stop the rest
            logger.warning(
                "new-report digest not sent (%s); retried next run", type(error).__name__
            )
    return sent
