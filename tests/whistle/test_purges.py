"""The purges of issue 7 besides cases (RET-1): expired sessions and stale login counters go on
schedule, and every scheduled job names a task that exists."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from whistle.accounts.models import LoginThrottle
from whistle.accounts.tasks import purge_stale_throttles
from whistle.celery import app
from whistle.tasks import purge_expired_sessions

pytestmark = pytest.mark.django_db


def test_expired_sessions_are_purged_and_live_ones_kept() -> None:
    live, expired = SessionStore(), SessionStore()
    live["x"] = expired["x"] = 1
    live.save()
    expired.save()
    Session.objects.filter(session_key=expired.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert purge_expired_sessions() == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]


def test_login_counters_are_forgotten_a_day_after_the_last_failure() -> None:
    now = timezone.now()
    LoginThrottle.objects.create(
        key="stale", failures=3, last_failure=now - datetime.timedelta(days=2)
    )
    LoginThrottle.objects.create(
        key="fresh", failures=3, last_failure=now - datetime.timedelta(hours=2)
    )
    assert purge_stale_throttles() == 1
    assert list(LoginThrottle.objects.values_list("key", flat=True)) == ["fresh"]


def test_every_scheduled_job_is_a_registered_task() -> None:
    app.loader.import_default_modules()
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "whistle.tasks.purge_expired_sessions",
        "whistle.accounts.tasks.purge_stale_throttles",
        "casework.tasks.run_retention",
        "casework.tasks.purge_orphan_files",
    } <= names
    assert names <= set(app.tasks)


def test_the_orphan_purge_runs_every_five_minutes() -> None:
    """A file without a row goes within ORPHAN_FILE_MINUTES and one run's interval."""
    entry = settings.CELERY_BEAT_SCHEDULE["purge-orphan-files"]
    assert len(entry["schedule"].minute) == 12
