from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from asgiref.sync import sync_to_async
from django.db import connections


@pytest.fixture(autouse=True)
async def _close_consumer_connections() -> AsyncIterator[None]:
    """Consumers use the database from asgiref's sync thread; close those connections after
    each test so the test database can be dropped."""
    yield
    await sync_to_async(connections.close_all)()
