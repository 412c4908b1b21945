"""What the websocket consumers of one process share: the thread pool for database work, the
messages waiting to be stored, the messages this process's sockets posted a moment ago, and the
read markers waiting to be written.

A socket encrypts and renders its message on the event loop (cheaper than a thread hop) and
hands it to ``Posts``, which stores what the process's sockets posted meanwhile in one thread
hop and one ``INSERT`` (``chat.services.messages_store``); the socket acknowledges ("sent") and
announces the id only once its message is committed. Batches form by themselves under load:
one is written at a time, and what arrives meanwhile is the next.

A message posted on a socket is announced to the case's group by its id only. A socket of the
same process that receives the id takes the stored ciphertext of that message from
``RecentMessages`` (kept here by the posting socket, never the text) instead of loading it
again, decrypts it with its own session's case key and renders it, on the event loop: no
database round trip and no thread hop for the commonest event. A socket of another process, or
one that comes too late, loads it from the database as before.

Displaying the other side's message sets its read marker. ``ReadMarks`` writes the markers of
all sockets of the process in one statement per short interval (``FLUSH_AFTER``) and tells each
case's group only after that commit, so a writer never sees "read" for a message whose marker
is not stored. If the process ends within that interval, those markers stay unset: the messages
show as unread (and may cause one content-free notice), nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections

from chat.events import publish, read_event
from chat.models import Message
from chat.services import messages_mark_read, messages_store

# Threads for the consumers' database and crypto work, per process (each holds one database
# connection while it works). SQLite (the embedded default) takes one writer at a time.
DB_THREADS = ThreadPoolExecutor(
    max_workers=1 if "sqlite" in str(settings.DATABASES["default"]["ENGINE"]) else 2,
    thread_name_prefix="chat-db",
)
# How long a posted message's ciphertext stays at hand for the other sockets of the process.
RECENT_SECONDS = 30.0
RECENT_MAX = 4096
# Read markers are written at most this long after the socket displayed the message.
FLUSH_AFTER = 0.05

T = TypeVar("T")
logger = logging.getLogger(__name__)


def _with_connection(func: Callable[[], T]) -> T:
    close_old_connections()
    try:
        return func()
    finally:
        close_old_connections()


async def in_thread(func: Callable[[], T]) -> T:
    """Run ``func`` (database, crypto) in ``DB_THREADS``, with Django's connection housekeeping
    around it as for a request, in a copy of the caller's context (the row-level-security
    principal, whistle.rls). (The executor directly, not asgiref's ``sync_to_async``: nothing
    here needs its thread-sensitivity.)"""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    return await loop.run_in_executor(DB_THREADS, partial(context.run, _with_connection, func))


@dataclass(frozen=True)
class Posted:
    message: Message
    at: float


class RecentMessages:
    """Messages posted on this process's sockets in the last ``RECENT_SECONDS``, by public id:
    the stored row (ciphertext, no text). Used from the event loop only."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, Posted] = OrderedDict()

    def add(self, message: Message) -> None:
        self._items[str(message.public_id)] = Posted(message, time.monotonic())
        while len(self._items) > RECENT_MAX:
            self._items.popitem(last=False)

    def get(self, public_id: str, case_pk: int) -> Message | None:
        """The message with this id if it belongs to this case and is recent enough."""
        posted = self._items.get(public_id)
        if posted is None or posted.message.case_id != case_pk:
            return None
        if time.monotonic() - posted.at > RECENT_SECONDS:
            del self._items[public_id]
            return None
        return posted.message


class _Batches:
    """Work of all sockets of the process, done in batches by one task per event loop: the
    task drains what is pending, and what arrives meanwhile forms its next batch. (A task of an
    earlier event loop, in tests, is dead: a new one starts on the running loop.)"""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    def _wake(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._drain())

    async def _drain(self) -> None:
        raise NotImplementedError


class ReadMarks(_Batches):
    """Read markers to write, at most ``FLUSH_AFTER`` after a socket displayed the message."""

    def __init__(self) -> None:
        super().__init__()
        # message pk -> (the case's group, the side that wrote it)
        self._pending: dict[int, tuple[str, str]] = {}

    def add(self, message_pk: int, group: str, writer_side: str) -> None:
        self._pending[message_pk] = (group, writer_side)
        self._wake()

    async def _drain(self) -> None:
        await asyncio.sleep(FLUSH_AFTER)
        while self._pending:
            batch, self._pending = self._pending, {}
            try:
                marked = await in_thread(partial(messages_mark_read, pks=list(batch)))
            except Exception:
                # The database is away: these markers stay unset (the messages show as
                # unread); the error names no content.
                logger.exception("%d read markers could not be written", len(batch))
                continue
            layer = get_channel_layer()
            if layer is None:
                continue
            for group, side in sorted({batch[pk] for pk in marked}):
                await publish(layer, group, read_event(side))


class Posts(_Batches):
    """Messages posted on this process's sockets, stored in batches: each ``store`` waits until
    its message is committed. One thread hop and one statement for a batch instead of one per
    message: a hop costs more than the insert itself while the event loop is busy."""

    def __init__(self) -> None:
        super().__init__()
        self._pending: list[tuple[Message, asyncio.Future[None]]] = []

    async def store(self, message: Message) -> None:
        stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((message, stored))
        self._wake()
        await stored

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending, []
            errors: list[BaseException | None]
            try:
                errors = list(
                    await in_thread(
                        partial(messages_store, messages=[message for message, _ in batch])
                    )
                )
            except Exception as failure:  # handed to every socket waiting on this batch
                errors = [failure] * len(batch)
            for (_, stored), error in zip(batch, errors, strict=True):
                # The socket went away meanwhile (its message is stored all the same), or, in
                # tests, its event loop is gone.
                if stored.done() or stored.get_loop() is not loop:
                    continue
                if error is None:
                    stored.set_result(None)
                else:
                    stored.set_exception(error)


recent_messages = RecentMessages()
posts = Posts()
read_marks = ReadMarks()
