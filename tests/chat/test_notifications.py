"""Content-free e-mail to the office for a new reporter message: at most one per case per
hour until read; nothing is ever sent to reporters."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from tests.casework.helpers import case_url, filed_case
from tests.fixtures import World, staff_client
from tests.intake.journey import base, open_mailbox, reporter


@pytest.mark.django_db
def test_one_mail_per_hour_until_read(
    world_a: World, django_capture_on_commit_callbacks: Any
) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        _lead, case, receipt = filed_case(world_a)
        client = reporter()
        open_mailbox(client, world_a, receipt)
        mail.outbox.clear()

        def write(text: str) -> None:
            open_mailbox(client, world_a, receipt)  # the reporter comes back (sessions idle out)
            with django_capture_on_commit_callbacks(execute=True):
                response = client.post(base(world_a) + "mailbox/message/", {"body": text})
            assert response.status_code == 302

        write("SENTINEL-first-note")
        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == [world_a.handler.email]  # unassigned: the lead
        assert "SENTINEL" not in mail.outbox[0].body and "SENTINEL" not in mail.outbox[0].subject
        clock.shift(datetime.timedelta(minutes=30))
        write("second")
        assert len(mail.outbox) == 1  # within the hour
        clock.shift(datetime.timedelta(minutes=31))
        write("third")
        assert len(mail.outbox) == 2  # an hour later, still unread
        page = staff_client(world_a.handler).get(case_url(world_a, case))  # the office reads it all
        assert page.status_code == 200
        clock.shift(datetime.timedelta(minutes=61))
        with django_capture_on_commit_callbacks(execute=True):
            from casework.tasks import notify_office

            notify_office(str(case.public_id))
        assert len(mail.outbox) == 2  # nothing unread: nothing sent
        write("fourth")
        assert len(mail.outbox) == 3
        recipients = {address for message in mail.outbox for address in message.to}
        assert recipients == {world_a.handler.email}  # never the reporter


@pytest.mark.django_db
def test_a_busy_conversation_queues_one_notice_task(
    world_a: World, django_capture_on_commit_callbacks: Any
) -> None:
    """A reporter writing many messages does not queue a task per message: while a notice
    cannot be due, nothing is queued; once it can, a task is queued again."""
    from celery.signals import task_prerun

    runs: list[str] = []

    def count(sender: Any = None, **kwargs: Any) -> None:
        if sender is not None and sender.name.endswith("notify_office"):
            runs.append(sender.name)

    task_prerun.connect(count, weak=False)
    try:
        start = timezone.now()
        with time_machine.travel(start, tick=False) as clock:
            _lead, _case, receipt = filed_case(world_a)
            client = reporter()
            mail.outbox.clear()

            def write(text: str) -> None:
                open_mailbox(client, world_a, receipt)
                with django_capture_on_commit_callbacks(execute=True):
                    response = client.post(base(world_a) + "mailbox/message/", {"body": text})
                assert response.status_code == 302

            write("one")
            assert (len(runs), len(mail.outbox)) == (1, 1)
            for text in ("two", "three", "four"):
                clock.shift(datetime.timedelta(minutes=5))
                write(text)
            assert (len(runs), len(mail.outbox)) == (1, 1)  # within the hour: nothing queued
            clock.shift(datetime.timedelta(minutes=50))
            write("five")
            assert (len(runs), len(mail.outbox)) == (2, 2)  # the hour is over, still unread
    finally:
        task_prerun.disconnect(count)


@pytest.mark.django_db
def test_the_notice_gate_is_keyed_by_the_public_id(
    world_a: World, django_capture_on_commit_callbacks: Any
) -> None:
    """A gate left in Redis for a row id (a restored or recreated database reuses row ids)
    must not silence the notices of the case that now has that row id."""
    from django.core.cache import cache

    _lead, case, receipt = filed_case(world_a)
    client = reporter()
    open_mailbox(client, world_a, receipt)
    mail.outbox.clear()
    far = (timezone.now() + datetime.timedelta(days=1)).timestamp()
    cache.set(f"chat:notice-gate:{case.pk}", far, timeout=3600)  # another database's case
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(base(world_a) + "mailbox/message/", {"body": "hello"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert cache.get(f"chat:notice-gate:{case.public_id}") is not None
