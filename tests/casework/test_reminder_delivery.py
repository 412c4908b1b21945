"""Deadline reminders are marked sent after the mail went out (issue 12 point 10).

The SMTP server (an edge we do not own) fails once: the reminder stays unsent and the next
hourly run sends it; after that, no run and no repeated task mails it again.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Sequence
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.test import override_settings

from casework.models import ReminderSent
from casework.tasks import queue_deadline_reminders, send_reminder_mail
from tests.casework.helpers import filed_case
from tests.fixtures import World

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


class DownSmtpBackend(EmailBackend):
    """The SMTP server refuses (what smtplib raises when it cannot connect)."""

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        raise ConnectionRefusedError(111, "Connection refused")


@pytest.mark.django_db
def test_a_reminder_whose_mail_failed_is_sent_by_the_next_run_and_only_once(
    world_a: World, django_capture_on_commit_callbacks: Any
) -> None:
    def run() -> list[int]:
        with django_capture_on_commit_callbacks(execute=True):
            return queue_deadline_reminders()

    start = datetime.datetime(2026, 6, 1, 12, tzinfo=BERLIN)
    with time_machine.travel(start, tick=False) as clock:
        filed_case(world_a)
        mail.outbox.clear()
        clock.move_to(start + datetime.timedelta(days=5))  # two days before the deadline
        with override_settings(
            EMAIL_BACKEND="tests.casework.test_reminder_delivery.DownSmtpBackend"
        ):
            queued = run()  # the mail fails: logged by the queueing, nothing marked
        assert len(queued) == 1
        reminder = ReminderSent.objects.get(pk=queued[0])
        assert reminder.sent_at is None
        assert mail.outbox == []

        clock.shift(datetime.timedelta(hours=1))
        assert run() == queued  # the next hourly run queues it again
        assert len(mail.outbox) == 1
        reminder.refresh_from_db()
        assert reminder.sent_at is not None

        assert run() == []
        assert send_reminder_mail(reminder.pk) == 0  # a repeated task sends nothing
        assert len(mail.outbox) == 1
