from __future__ import annotations

import json

import pytest
from django.test import Client, override_settings


def test_healthz() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}


@pytest.mark.django_db
@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_readyz_checks_database_redis_and_broker() -> None:
    response = Client().get("/readyz")
    assert response.status_code == 200, response.content
    assert json.loads(response.content) == {
        "database": "ok",
        "redis": "ok",
        "broker": "ok",
        "status": "ok",
    }


@pytest.mark.django_db
@override_settings(REDIS_URL="redis://127.0.0.1:1/0", CELERY_TASK_ALWAYS_EAGER=False)
def test_readyz_is_503_when_redis_is_down() -> None:
    from whistle.celery import app

    old = app.conf.broker_url
    app.conf["broker_url"] = "redis://127.0.0.1:1/0"
    try:
        response = Client().get("/readyz")
    finally:
        app.conf["broker_url"] = old
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["redis"] == "unavailable"
    assert body["broker"] == "unavailable"
    assert body["database"] == "ok"
