from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

_FAVICON = Path(__file__).resolve().parent / "static" / "whistle" / "favicon.ico"


def favicon_view(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, which browsers ask for on every host whatever the page says: the icon
    itself rather than a 404 in every log and every browser console."""
    response = HttpResponse(_FAVICON.read_bytes(), content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response


def home_view(request: HttpRequest) -> HttpResponse:
    """The operator's root page: neutral, it names no tenant."""
    return render(request, "whistle/home.html")


@never_cache
def healthz_view(request: HttpRequest) -> HttpResponse:
    """The process is alive (liveness probe). Touches nothing else."""
    return JsonResponse({"status": "ok"})


# /readyz answers within this many seconds whatever is down: the checks run side by side and
# one that has not answered by then counts as unavailable.
READY_DEADLINE = 1.8


def _check_database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            row = cursor.fetchone()
            return row is not None and row[0] == 1
    except Exception:
        return False
    finally:
        connection.close()  # this thread's connection goes back to the pool


def _check_redis() -> bool:
    if not settings.REDIS_URL:
        return True  # embedded default: in-memory channel layer and cache
    import redis

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_timeout=settings.REDIS_TIMEOUT,
            socket_connect_timeout=settings.REDIS_TIMEOUT,
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
            conn.ensure_connection(max_retries=1, timeout=settings.REDIS_TIMEOUT)
        return True
    except Exception:
        return False


_CHECKS = {"database": _check_database, "redis": _check_redis, "broker": _check_broker}


@never_cache
def readyz_view(request: HttpRequest) -> HttpResponse:
    """Database, Redis and the job broker are reachable (readiness probe); 503 otherwise.
    Answers within ``READY_DEADLINE`` seconds: a check still waiting then is unavailable."""
    pool = ThreadPoolExecutor(max_workers=len(_CHECKS), thread_name_prefix="readyz")
    try:
        futures = {name: pool.submit(check) for name, check in _CHECKS.items()}
        done, _pending = wait(futures.values(), timeout=READY_DEADLINE)
        checks = {
            name: future in done and future.exception() is None and bool(future.result())
            for name, future in futures.items()
        }
    finally:
        # Do not wait for a check that hangs: it ends by its own timeout.
        pool.shutdown(wait=False, cancel_futures=True)
    ready = all(checks.values())
    body = {name: "ok" if ok else "unavailable" for name, ok in checks.items()}
    body["status"] = "ok" if ready else "unavailable"
    return JsonResponse(body, status=200 if ready else 503)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "whistle/csrf_failure.html", status=403)
