"""Settings for processes that tests start (servers, Celery workers): the test settings, with
what those processes must do for real when the test says so.

- ``WHISTLE_TEST_EAGER=0``: tasks go to the broker (``REDIS_URL``, or
  ``WHISTLE_TEST_BROKER_URL`` when the test gives the broker an address of its own).
- ``EMAIL_HOST`` set: mail goes over SMTP to that host (a server the test runs).
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = os.environ.get("WHISTLE_TEST_EAGER", "1") == "1"
CELERY_BROKER_URL = os.environ.get("WHISTLE_TEST_BROKER_URL") or CELERY_BROKER_URL  # noqa: F405
if os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
