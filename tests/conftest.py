from __future__ import annotations

import pytest

pytest_plugins = ["pytester", "tests.plugins.sensitive", "tests.fixtures"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last. Their Playwright (sync API, one browser for the session) keeps
    an event loop registered as running in the main thread until the session ends, and every
    asyncio test collected after them then fails with "cannot be called from a running event
    loop". The order among the others, and among the browser tests, stays as collected."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
