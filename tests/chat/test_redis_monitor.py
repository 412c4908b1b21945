"""The channel layer carries ids and event types only: a sentinel in a conversation never
passes through Redis (watched with MONITOR while the conversation happens)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import redis
from asgiref.sync import sync_to_async
from django.conf import settings

from tests.chat.test_consumers import (
    asetup,
    connect,
    headers,
    receive_type,
    reporter_path,
    staff_path,
)
from tests.fixtures import World

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
SENTINEL = "SENTINEL-never-in-redis-8086"


class Monitor:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._client = redis.Redis.from_url(settings.REDIS_URL)
        self._monitor = self._client.monitor()  # type: ignore[no-untyped-call]
        self._monitor.__enter__()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for command in self._monitor.listen():
                self.lines.append(str(command.get("command", "")))
        except Exception:
            return

    def stop(self) -> str:
        self._monitor.connection.disconnect()
        self._thread.join(timeout=5)
        return "\n".join(self.lines)


async def test_sentinel_never_passes_through_redis(world_a: World, sensitive: Any) -> None:
    sensitive.add(SENTINEL)
    lead, case, mailbox = await asetup(world_a)
    monitor = await sync_to_async(Monitor)()
    try:
        ok1, office = await connect(staff_path(world_a, case), headers(lead))
        ok2, reporter = await connect(reporter_path(world_a), headers(mailbox))
        assert ok1 and ok2
        await office.send_json_to({"type": "send", "body": f"question {SENTINEL}"})
        got = await receive_type(reporter, "message")
        assert SENTINEL in got["html"]
        await reporter.send_json_to({"type": "send", "body": f"answer {SENTINEL}"})
        got = await receive_type(office, "message")
        assert SENTINEL in got["html"]
        await office.disconnect()
        await reporter.disconnect()
    finally:
        seen = await sync_to_async(monitor.stop)()
    assert (
        "group" in seen.lower() or "zadd" in seen.lower() or "evalsha" in seen.lower()
    )  # it did watch
    assert SENTINEL not in seen
    assert str(case.public_id.hex) in seen or "case." in seen  # events name the case group only
