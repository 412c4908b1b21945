"""What goes over the channel layer: event types and ids, never content (DESIGN §3, §4).

Each connected consumer receives the id, loads the message from the database and decrypts it
with its own session's key before sending it down its own socket.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils.crypto import salted_hmac

from intake.models import Case

logger = logging.getLogger(__name__)
# A publish waits at most this long: with Redis unreachable (or black-holed) the request that
# committed goes on; open pages catch up from the database when they reconnect.
PUBLISH_TIMEOUT = 2.0


def case_group(case: Case) -> str:
    return f"case.{case.public_id.hex}"


def session_group(session_key: str) -> str:
    """The sockets opened with one session. Named by a keyed hash: the session key is a
    credential and must not travel to Redis."""
    return "session." + salted_hmac("whistle.chat.session-group", session_key).hexdigest()[:40]


def staff_group(user_pk: int) -> str:
    """The sockets of one staff account (told to re-check when its password changes)."""
    return f"staff.{user_pk}"


def _send_group(group: str, event: dict[str, str]) -> None:
    """Publish an event after commit. Best effort (DESIGN §3): a failure is logged without
    content (the event type only) and never reaches the caller."""
    try:
        layer = get_channel_layer()
    except Exception as error:  # a misconfigured or unreachable layer
        _publish_failed(event, error)
        return
    if layer is None:
        return

    async def send() -> None:
        try:
            await asyncio.wait_for(layer.group_send(group, event), PUBLISH_TIMEOUT)
        except Exception as error:  # Redis down, timed out, refused
            _publish_failed(event, error)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(send)()
        return
    # Called from a thread that runs an event loop of its own (a sync caller inside an async
    # context): send from a short-lived thread instead of blocking that loop.
    sender = threading.Thread(target=lambda: asyncio.run(send()), daemon=True)
    sender.start()
    sender.join(timeout=PUBLISH_TIMEOUT + 1)


async def publish(layer: Any, group: str, event: dict[str, str]) -> None:
    """``group_send`` from a consumer's event loop, best effort like ``_send_group``: a socket
    that stored a message still confirms it when Redis is down (the other side's page catches
    up when it reconnects)."""
    try:
        await asyncio.wait_for(layer.group_send(group, event), PUBLISH_TIMEOUT)
    except Exception as error:  # Redis down, timed out, refused
        _publish_failed(event, error)


def _publish_failed(event: dict[str, str], error: BaseException) -> None:
    logger.warning(
        "channel layer event %s not published (%s); pages catch up when they reconnect",
        event.get("type", "?"),
        type(error).__name__,
    )


def message_event(message_id: str, side: str, origin: str = "") -> dict[str, str]:
    """``side``: who wrote it (reporter or office, as in ``chat.read``); ``origin``: the
    channel name of the socket that posted it (it shows its own message itself and skips the
    event)."""
    return {"type": "chat.message", "message_id": message_id, "side": side, "origin": origin}


def read_event(side: str) -> dict[str, str]:
    return {"type": "chat.read", "side": side}


def announce_message(case: Case, message_id: str, side: str) -> None:
    """After commit: tell everyone watching the case that a message exists (its id only)."""
    transaction.on_commit(lambda: _send_group(case_group(case), message_event(message_id, side)))


def announce_read(case: Case, side: str) -> None:
    """After commit: messages written by ``side`` were read by the other side."""
    transaction.on_commit(lambda: _send_group(case_group(case), read_event(side)))


RECHECK_EVENT = {"type": "session.recheck"}


def announce_session_change(session_key: str) -> None:
    """After commit: a session was deleted (logout, rotation, expiry): its sockets re-check
    it at once (and close)."""
    group = session_group(session_key)
    transaction.on_commit(lambda: _send_group(group, RECHECK_EVENT))


def announce_case_change(case: Case) -> None:
    """After commit: the case changed (status, office, deletion): its sockets re-check."""
    group = case_group(case)
    transaction.on_commit(lambda: _send_group(group, RECHECK_EVENT))


def announce_staff_change(user_pk: int) -> None:
    """After commit: an account's credentials changed: its sockets re-check their session."""
    group = staff_group(user_pk)
    transaction.on_commit(lambda: _send_group(group, RECHECK_EVENT))
