"""What goes over the channel layer: event types and ids, never content (DESIGN §3, §4).

Each connected consumer receives the id, loads the message from the database and decrypts it
with its own session's key before sending it down its own socket.
"""

from __future__ import annotations

import asyncio
import threading

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from intake.models import Case


def case_group(case: Case) -> str:
    return f"case.{case.public_id.hex}"


def _send(case: Case, event: dict[str, str]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(layer.group_send)(case_group(case), event)
        return
    # Called from a thread that runs an event loop of its own (a sync caller inside an async
    # context): send from a short-lived thread instead of blocking that loop.
    sender = threading.Thread(
        target=lambda: asyncio.run(layer.group_send(case_group(case), event)), daemon=True
    )
    sender.start()
    sender.join(timeout=10)


def announce_message(case: Case, message_id: str) -> None:
    """After commit: tell everyone watching the case that a message exists (its id only)."""
    transaction.on_commit(lambda: _send(case, {"type": "chat.message", "message_id": message_id}))


def announce_read(case: Case, side: str) -> None:
    """After commit: messages written by ``side`` were read by the other side."""
    transaction.on_commit(lambda: _send(case, {"type": "chat.read", "side": side}))
