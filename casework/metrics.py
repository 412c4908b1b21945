"""Scrape-time gauges of casework's background jobs (registered with whistle.metrics)."""

from __future__ import annotations

import datetime

from django.utils import timezone

from casework.models import ReminderSent
from casework.reminders import retried_since
from intake.models import Case
from whistle.metrics import scrape_gauge


def retention_backlog() -> int:
    """Closed cases past their deletion date in every tenant's calendar (before today in UTC)
    and not deleted: the nightly retention run is behind or failing. A COUNT on the partial
    index ``case_deletion_due``."""
    today = datetime.datetime.now(tz=datetime.UTC).date()
    return Case.objects.filter(
        status=Case.Status.CLOSED,
        legal_hold=False,
        delete_on__isnull=False,
        delete_on__lt=today,
    ).count()


def reminder_lag() -> float:
    """Seconds since the oldest reminder still retried was recorded without its mail going out
    (0 when none waits): the worker, the broker or SMTP is behind or failing. Uses the partial
    index ``reminder_unsent``."""
    oldest = (
        ReminderSent.objects.filter(sent_at__isnull=True, on_date__gte=retried_since())
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if oldest is None:
        return 0.0
    return max(0.0, (timezone.now() - oldest).total_seconds())


def register() -> None:
    scrape_gauge(
        "retention",
        "whistle_retention_backlog_cases",
        "Closed cases past their deletion date and not yet deleted.",
        retention_backlog,
    )
    scrape_gauge(
        "reminders",
        "whistle_reminder_lag_seconds",
        "Age of the oldest reminder whose mail has not gone out (0: none waits).",
        reminder_lag,
    )
