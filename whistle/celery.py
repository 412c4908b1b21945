"""The Celery application. Beat entries live in settings (CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whistle.settings")

app = Celery("whistle")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["whistle", "whistle.accounts", "casework", "chat"])
