"""Websocket routes: the conversation, for handlers (staff hosts) and reporters."""

from __future__ import annotations

from typing import Any

from django.urls import path, re_path

from casework.consumers import HandlerConsumer
from chat.consumers import ReporterConsumer

websocket_urlpatterns: list[Any] = [
    path(
        "ws/staff/offices/<uuid:office_id>/cases/<uuid:case_id>/",
        HandlerConsumer.as_asgi(),
    ),
    re_path(r"^t/[-a-z0-9]{1,63}/ws/mailbox/$", ReporterConsumer.as_asgi()),
    path("ws/mailbox/", ReporterConsumer.as_asgi()),
]
