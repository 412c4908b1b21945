from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from whistle.accounts.models import LoginThrottle


@shared_task
def purge_stale_throttles() -> int:
    """Forget failed-login counters a day after their last failure."""
    cutoff = timezone.now() - timedelta(days=1)
    deleted, _ = LoginThrottle.objects.filter(last_failure__lt=cutoff).delete()
    return deleted
