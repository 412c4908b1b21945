"""Content-free e-mail to the office when the reporter wrote: at most one per case per hour,
and none while everything is read. The task gets the case's id only."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

NOTIFY_EVERY = timedelta(hours=1)


@shared_task
def notify_office(case_pk: int) -> int:
    from casework.reminders import recipients
    from chat.models import Message, OfficeNotification
    from intake.models import Case

    now = timezone.now()
    with transaction.atomic():
        case = (
            Case.objects.select_for_update(of=("self",))
            .select_related("office", "assignee", "deputy")
            .filter(pk=case_pk)
            .first()
        )
        if case is None:
            return 0
        unread = Message.objects.filter(case=case, side=Message.Side.REPORTER, read=False).exists()
        state = OfficeNotification.objects.filter(case=case).first()
        if not unread or (state is not None and now - state.last_sent_at < NOTIFY_EVERY):
            return 0
        OfficeNotification.objects.update_or_create(case=case, defaults={"last_sent_at": now})
        people = recipients(case, "due")
    sent = 0
    for person in people:
        with translation.override(settings.LANGUAGE_CODE):
            subject = render_to_string("chat/mail/new_message_subject.txt").strip()
            body = render_to_string(
                "chat/mail/new_message.txt",
                {"office": case.office, "base_url": settings.WHISTLE_BASE_URL},
            )
        sent += send_mail(subject, body, None, [person.email])
    return sent
