"""Content-free e-mail to the office when the reporter wrote: at most one per case per hour,
and none while everything is read. The task (``chat.tasks.notify_office``) gets the case's id
only and calls ``office_notice_send``.

Queuing is gated by a per-case cache entry (``chat:notice-gate:<case pk>``: a time, no content)
so that a busy conversation does not publish a task per message. The entry says until when no
further task is needed: set when a task is queued, and by the task to an hour after the last
notice. The task deletes it *before* it looks for unread messages, so a message committed after
that look finds no gate and queues a task of its own. The time is in the entry (not only in the
cache's expiry) so that the gate follows the application's clock.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from casework.reminders import recipients
from chat.models import Message, OfficeNotification
from chat.tasks import notify_office
from intake.models import Case

NOTIFY_EVERY = timedelta(hours=1)


def _gate(case_pk: int) -> str:
    return f"chat:notice-gate:{case_pk}"


def _close_gate(case_pk: int, until: float) -> None:
    # The cache's own expiry only tidies up; the time in the entry decides.
    cache.set(_gate(case_pk), until, timeout=int(2 * NOTIFY_EVERY.total_seconds()))


def queue_office_notice(case_pk: int) -> None:
    """After a reporter's message is committed: queue ``notify_office`` unless a queued task
    will see this message anyway or a notice went out within the hour. (Two processes may both
    queue at the same moment: harmless, the task decides under the case's row lock.)"""
    queue_office_notices([case_pk])


def queue_office_notices(case_pks: Collection[int]) -> None:
    """``queue_office_notice`` for several cases, with one cache round trip for the gates."""
    now = timezone.now().timestamp()
    gates = cache.get_many([_gate(pk) for pk in case_pks])
    for pk in case_pks:
        gate = gates.get(_gate(pk))
        if isinstance(gate, (int, float)) and gate > now:
            continue
        _close_gate(pk, now + NOTIFY_EVERY.total_seconds())
        notify_office.delay(pk)


def office_notice_send(*, case_pk: int) -> int:
    """Mail the office of this case that something new is waiting, if a reporter's message is
    unread and no notice went out within the hour. Returns the number of mails sent."""
    cache.delete(_gate(case_pk))
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
        if not unread:
            return 0
        if state is not None and now - state.last_sent_at < NOTIFY_EVERY:
            # Within the hour after a notice: nothing to queue until the hour is over.
            _close_gate(case_pk, (state.last_sent_at + NOTIFY_EVERY).timestamp())
            return 0
        OfficeNotification.objects.update_or_create(case=case, defaults={"last_sent_at": now})
        transaction.on_commit(partial(_close_gate, case_pk, (now + NOTIFY_EVERY).timestamp()))
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
