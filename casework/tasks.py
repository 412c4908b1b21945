from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from casework.models import ReminderSent
from casework.reminders import recipients, schedule_reminders


@shared_task
def send_deadline_reminders() -> int:
    """Beat job: record and queue today's deadline reminders (idempotent)."""
    return len(schedule_reminders())


@shared_task
def send_reminder_mail(reminder_id: int) -> int:
    """Send one content-free reminder; the argument is an id, nothing else."""
    reminder = (
        ReminderSent.objects.select_related("case__office", "case__assignee")
        .filter(pk=reminder_id)
        .first()
    )
    if reminder is None:
        return 0
    case = reminder.case
    sent = 0
    for person in recipients(case, reminder.stage):
        with translation.override(settings.LANGUAGE_CODE):
            subject = render_to_string(
                "casework/mail/reminder_subject.txt", {"reminder": reminder}
            ).strip()
            body = render_to_string(
                "casework/mail/reminder.txt",
                {
                    "reminder": reminder,
                    "office": case.office,
                    "base_url": settings.WHISTLE_BASE_URL,
                },
            )
        sent += send_mail(subject, body, None, [person.email])
    return sent


@shared_task
def run_retention() -> int:
    """Beat job: delete what is due, finish interrupted deletions, send notices and reviews."""
    from casework.retention import retention_run

    return retention_run().deleted


@shared_task
def purge_orphan_files() -> int:
    from casework.retention import purge_orphan_files as purge

    return purge()
