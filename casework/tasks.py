from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from casework.models import ReminderSent
from casework.reminders import flood_digest_recipients, recipients, schedule_reminders
from intake.models import Case
from whistle.tenants.models import Office


@shared_task
def send_deadline_reminders() -> int:
    """Beat job: record and queue today's deadline reminders (idempotent)."""
    return len(schedule_reminders())


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
            sent = _mail_flood_digest(reminder.office)
        else:  # pragma: no cover - excluded by a check constraint
            sent = 0
        reminder.sent_at = timezone.now()
        reminder.save(update_fields=["sent_at"])
    return sent


def _mail_case_reminder(reminder: ReminderSent, case: Case) -> int:
    if case.flood != Case.Flood.NONE:
        # Set apart after the reminder was recorded: the office's flood digest counts it.
        return 0
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
                    # Only if the tenant allows it: a reference in a mailbox tells whoever
                    # reads it that a case exists.
                    "reference": case.reference if case.tenant.references_in_mail else "",
                },
            )
        sent += send_mail(subject, body, None, [person.email])
    return sent


def _mail_flood_digest(office: Office) -> int:
    """One e-mail per lead: how many reports set apart as suspected flood have a deadline near
    or passed, and the link to the set-apart list; nothing about any case."""
    sent = 0
    link = settings.WHISTLE_BASE_URL + reverse(
        "casework:set_apart", kwargs={"office_id": office.public_id}
    )
    for person, count in flood_digest_recipients(office):
        with translation.override(settings.LANGUAGE_CODE):
            subject = render_to_string("casework/mail/flood_digest_subject.txt", {}).strip()
            body = render_to_string(
                "casework/mail/flood_digest.txt",
                {"office": office, "count": count, "link": link},
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
    """Beat job (every five minutes): abandoned drafts' files, and files without any row."""
    from casework.retention import purge_orphan_files as purge

    return purge().removed
