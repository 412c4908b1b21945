"""The Celery application. Beat entries live in settings (CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whistle.settings")

app = Celery("whistle")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["whistle", "whistle.accounts", "casework", "console"])


# Tasks are system work (retention, reminders, notices): the narrow row-level-security path that
# sees every tenant (whistle.rls), for the task's run only.
_principal_tokens: dict[str, Any] = {}


@task_prerun.connect
def _system_principal(task_id: str | None = None, **kwargs: Any) -> None:
    from whistle import rls

    _principal_tokens[str(task_id)] = rls.set_principal(rls.SYSTEM)


@task_postrun.connect
def _end_principal(task_id: str | None = None, **kwargs: Any) -> None:
    from whistle import rls

    token = _principal_tokens.pop(str(task_id), None)
    if token is not None:
        rls.reset_principal(token)
