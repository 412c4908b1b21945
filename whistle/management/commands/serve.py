"""Serve Whistle's embedded default: HTTP and websockets on one process, jobs in-process."""

from __future__ import annotations

import gc
import sys
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from whistle.scheduler import InProcessScheduler


class Command(BaseCommand):
    help = "Serve HTTP and websockets with uvicorn; without a broker, run scheduled jobs too."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, **options: Any) -> None:
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
