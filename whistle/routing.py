"""Websocket routes. The conversation consumers arrive with the chat app."""

from __future__ import annotations

from typing import Any

websocket_urlpatterns: list[Any] = []
