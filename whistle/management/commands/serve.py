"""Serve Whistle's embedded default: HTTP and websockets on one process, jobs in-process."""

from __future__ import annotations

import gc
import logging
import sys
from typing import Any

import redis
import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from whistle.scheduler import InProcessScheduler

log = logging.getLogger(__name__)


def static_files_missing() -> bool:
    """True when the static files storage needs the manifest that collectstatic writes and it
    is not there (production): every page would then answer 500."""
    from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage

    return isinstance(staticfiles_storage, ManifestFilesMixin) and (
        staticfiles_storage.read_manifest() is None
    )


def broker_without_persistence() -> bool:
    """True when the Celery broker is a Redis that says it keeps no append-only file.

    Queued jobs (office notices, reminders, deletions) live only in the broker: without
    persistence a Redis restart loses them. A Redis that refuses CONFIG (managed services) or
    cannot be reached says nothing here (``/readyz`` reports reachability).
    """
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.REDIS_URL:
        return False
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        return bool(client.config_get("appendonly").get("appendonly") == "no")
    except redis.RedisError:
        return False
    finally:
        client.close()


class Command(BaseCommand):
    help = "Serve HTTP and websockets with uvicorn; without a broker, run scheduled jobs too."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, **options: Any) -> None:
        if static_files_missing():
            raise CommandError(
                "The static files are not collected: run `python manage.py collectstatic "
                "--noinput` first (README, Production). Without them every page answers 500."
            )
        if broker_without_persistence():
            log.warning(
                "Redis, the job broker, keeps no append-only file (appendonly no): queued jobs "
                "are lost when it restarts. Set `appendonly yes` (README, Production)."
            )
        from whistle.asgi import application

        # Everything loaded so far lives as long as the process: move it out of the collector's
        # sight, and collect the oldest generation less often. With hundreds of open sockets a
        # full collection otherwise pauses every socket for ~200 ms every few seconds
        # (docs/performance.md, chat).
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        # The event loop is always runnable under load; a database thread returning from a
        # query waits for the GIL until the loop is made to let go (5 ms by default), and
        # each message needs two such trips. Ask for the hand-over sooner.
        sys.setswitchinterval(0.0005)
        scheduler = None
        if settings.CELERY_TASK_ALWAYS_EAGER:
            scheduler = InProcessScheduler()
            scheduler.start()
        try:
            uvicorn.run(
                application,
                host=options["host"],
                port=options["port"],
                lifespan="off",
                access_log=False,  # access logs would hold reporters' addresses
                # Django's LOGGING, not uvicorn's own: its loggers then go through the
                # NoClientAddress filter (handshake lines name the client's address and port).
                log_config=None,
                proxy_headers=False,
                server_header=False,
                # No compression of websocket frames: it would put reporters' words and
                # attacker-chosen text into one compression context (CRIME/BREACH-style length
                # leaks through TLS), and it costs CPU per frame.
                ws_per_message_deflate=False,
            )
        finally:
            if scheduler is not None:
                scheduler.stop()
