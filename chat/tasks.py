"""Celery tasks of the conversation: ids in, the work in ``chat.notices``."""

from __future__ import annotations

from celery import shared_task


@shared_task
def notify_office(case_id: str) -> int:
    """The office's content-free notice for a reporter's message (``chat.notices``); the
    argument is the case's public id."""
    from chat.notices import office_notice_send

    return office_notice_send(case_id=case_id)


@shared_task
def catch_up_office_notices() -> int:
    """Beat job: send the notices whose queuing failed or whose task was lost."""
    from chat.notices import office_notices_catch_up

    return office_notices_catch_up()
