"""``manage.py serve`` refuses to start without collected static files and warns about a job
broker without persistence (README, "Production"; issue 12 point 14)."""

from __future__ import annotations

from pathlib import Path

import redis
from django.conf import settings
from django.test import override_settings

from tests.whistle.test_env import GOOD_PRODUCTION, start_django
from whistle.management.commands.serve import broker_without_persistence


def test_serve_refuses_to_start_before_collectstatic(tmp_path: Path) -> None:
    # Production settings, an empty STATIC_ROOT: every page would answer 500. Say so and stop,
    # before a port is opened or anything else is touched.
    result = start_django({**GOOD_PRODUCTION, "STATIC_ROOT": str(tmp_path)}, "serve", "--port", "0")
    assert result.returncode != 0
    assert "collectstatic" in result.stderr
    assert "Uvicorn running" not in result.stderr + result.stdout


def test_collectstatic_writes_what_serve_needs(tmp_path: Path) -> None:
    from django.contrib.staticfiles.storage import ManifestStaticFilesStorage

    env = {**GOOD_PRODUCTION, "STATIC_ROOT": str(tmp_path)}
    result = start_django(env, "collectstatic", "--noinput", "-v0")
    assert result.returncode == 0, result.stderr[-2000:]
    # The manifest serve looks for is there (reading it needs no server to start).
    assert ManifestStaticFilesStorage(location=tmp_path).read_manifest() is not None


def _appendonly() -> str:
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        return str(client.config_get("appendonly")["appendonly"])
    finally:
        client.close()


@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_broker_persistence_is_read_from_redis() -> None:
    assert broker_without_persistence() == (_appendonly() == "no")


@override_settings(CELERY_TASK_ALWAYS_EAGER=False, REDIS_URL="redis://127.0.0.1:1/0")
def test_an_unreachable_broker_is_not_reported_as_unpersisted() -> None:
    assert broker_without_persistence() is False


@override_settings(CELERY_TASK_ALWAYS_EAGER=True)
def test_no_broker_no_warning() -> None:
    assert broker_without_persistence() is False
