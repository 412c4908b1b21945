"""Serve Whistle's embedded default: HTTP and websockets on one process, jobs in-process."""

from __future__ import annotations

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
        scheduler = None
        if settings.CELERY_TASK_ALWAYS_EAGER:
            scheduler = InProcessScheduler()
            scheduler.start()
        try:
            uvicorn.run(
                "whistle.asgi:application",
                host=options["host"],
                port=options["port"],
                lifespan="off",
                access_log=False,  # access logs would hold reporters' addresses
                proxy_headers=False,
                server_header=False,
            )
        finally:
            if scheduler is not None:
                scheduler.stop()
