from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache


def home_view(request: HttpRequest) -> HttpResponse:
    """The operator's root page: neutral, it names no tenant."""
    return render(request, "whistle/home.html")


@never_cache
def healthz_view(request: HttpRequest) -> HttpResponse:
    """The process is alive (liveness probe). Touches nothing else."""
    return JsonResponse({"status": "ok"})


def _check_database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            row = cursor.fetchone()
            return row is not None and row[0] == 1
    except Exception:
        return False


def _check_redis() -> bool:
    if not settings.REDIS_URL:
        return True  # embedded default: in-memory channel layer and cache
    import redis

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False


def _check_broker() -> bool:
    from whistle.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return True  # jobs run in-process
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


@never_cache
def readyz_view(request: HttpRequest) -> HttpResponse:
    """Database, Redis and the job broker are reachable (readiness probe); 503 otherwise."""
    checks = {
        "database": _check_database(),
        "redis": _check_redis(),
        "broker": _check_broker(),
    }
    ready = all(checks.values())
    body = {name: "ok" if ok else "unavailable" for name, ok in checks.items()}
    body["status"] = "ok" if ready else "unavailable"
    return JsonResponse(body, status=200 if ready else 503)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "whistle/csrf_failure.html", status=403)
