"""In-process runner for the Celery beat schedule, for the embedded default (no broker).

Production runs ``celery beat``; the quickstart has no broker, so this thread reads the same
``CELERY_BEAT_SCHEDULE`` and runs due tasks in the server process. It uses Celery's own
schedule objects to decide what is due, so both paths follow one definition.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from celery.schedules import BaseSchedule
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from whistle.celery import app

logger = logging.getLogger(__name__)


class InProcessScheduler:
    def __init__(self, tick_seconds: float = 30.0) -> None:
        self.tick_seconds = tick_seconds
        self._stop = threading.Event()
        self._last_run: dict[str, datetime] = {}
        self._thread: threading.Thread | None = None

    def due_entries(self, now: datetime) -> list[str]:
        """Names of the schedule entries due at ``now`` (each starts as if it had just run)."""
        due = []
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            schedule: BaseSchedule = entry["schedule"]
            last = self._last_run.setdefault(name, now)
            if schedule.is_due(last).is_due:
                due.append(name)
        return due

    def run_due(self, now: datetime | None = None) -> list[str]:
        now = now or timezone.now()
        ran = []
        for name in self.due_entries(now):
            entry = settings.CELERY_BEAT_SCHEDULE[name]
            self._last_run[name] = now
            try:
                app.tasks[entry["task"]].apply(args=entry.get("args", ()))
                ran.append(name)
            except Exception:
                # Only the entry name: task arguments are ids, but keep logs content-free.
                logger.exception("scheduled job %s failed", name)
            finally:
                close_old_connections()
        return ran

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="whistle-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.tick_seconds):
            self.run_due()
