from __future__ import annotations

from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone


@shared_task
def purge_expired_sessions() -> int:
    """Delete expired sessions (staff and reporter) so nothing lingers in the session table."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
