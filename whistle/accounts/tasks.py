from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from whistle.accounts.invitations import invitations_purge
from whistle.accounts.models import KnownDevice, LoginThrottle


@shared_task
def purge_stale_throttles() -> int:
    """Forget failed-login counters a day after their last failure."""
    cutoff = timezone.now() - timedelta(days=1)
    deleted, _ = LoginThrottle.objects.filter(last_failure__lt=cutoff).delete()
    # Known-device cookies past their lifetime are refused anyway; drop their rows.
    expired = timezone.now() - timedelta(days=settings.STAFF_DEVICE_DAYS)
    devices, _ = KnownDevice.objects.filter(created_at__lt=expired).delete()
    return deleted + devices


@shared_task
def purge_invitations() -> int:
    """Delete used and expired invitation links (whistle/accounts/invitations.py)."""
    return invitations_purge()
