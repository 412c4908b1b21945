"""Celery tasks of the conversation: ids in, the work in ``chat.notices``."""

from __future__ import annotations

from celery import shared_task


@shared_task
def notify_office(case_pk: int) -> int:
    """The office's content-free notice for a reporter's message (``chat.notices``)."""
    from chat.notices import office_notice_send

    return office_notice_send(case_pk=case_pk)
