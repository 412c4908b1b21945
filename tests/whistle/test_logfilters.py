"""The NoClientAddress filter on uvicorn's loggers (whistle/logfilters.py)."""

from __future__ import annotations

import logging

import pytest

from whistle.logfilters import NoClientAddress


def _through(msg: str, *args: object) -> str | None:
    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, msg, args, None)
    return record.getMessage() if NoClientAddress().filter(record) else None


@pytest.mark.parametrize(
    "client", ["127.0.0.1:53412", "203.0.113.7:443", "::1:53412", "[2001:db8::1]:8443"]
)
def test_handshake_lines_are_dropped(client: str) -> None:
    assert _through('%s - "WebSocket %s" [accepted]', client, "/ws/mailbox/") is None
    assert _through('%s - "WebSocket %s" 403', client, "/ws/mailbox/") is None


@pytest.mark.parametrize(
    ("msg", "args", "expected"),
    [
        ("%sHTTP connection made", ("127.0.0.1:53412 - ",), "- - HTTP connection made"),
        ("%sWebSocket connection lost", ("::1:53412 - ",), "- - WebSocket connection lost"),
        ("%s - ASGI", (("203.0.113.7", 53412),), "- - ASGI"),
        ("client 198.51.100.2:4711 went away", (), "client - went away"),
        # The server's own address, given as separate host and port, stays readable.
        (
            "%s running on %s://%s:%d",
            ("Uvicorn", "http", "127.0.0.1", 8000),
            "Uvicorn running on http://127.0.0.1:8000",
        ),
        ("Finished server process [%d]", (4242,), "Finished server process [4242]"),
    ],
)
def test_other_lines_lose_only_the_address(
    msg: str, args: tuple[object, ...], expected: str
) -> None:
    assert _through(msg, *args) == expected
