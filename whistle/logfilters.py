"""Logging filters: no log line identifies a client's connection (README, DESIGN §7).

uvicorn logs every websocket handshake on ``uvicorn.error`` with the client's address and port
(``127.0.0.1:53412 - "WebSocket /ws/mailbox/" [accepted]``; older versions as a tuple), and
its trace lines start with the same ``address:port - ``. Its access log is off
(``manage.py serve``), and this filter, installed on uvicorn's loggers by ``LOGGING``, drops the
handshake lines (an access log of websockets) and replaces any other client address in a
record by ``-``, so a future uvicorn line with an address cannot slip through either.
"""

from __future__ import annotations

import logging
import re

# "ip:port" (IPv4, or IPv6 as uvicorn prints it: "::1:53412" or "[::1]:53412").
_ADDRESS = re.compile(
    r"(?<![\w.:])(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f.]*)"
    r":\d{1,5}(?![\w.])"
)
_REDACTED = "-"
_HANDSHAKE = '%s - "WebSocket '


def _is_client(value: object) -> bool:
    """A ``(host, port)`` pair as a socket or ASGI scope gives it."""
    return (
        isinstance(value, tuple | list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
    )


def _clean(value: object) -> object:
    if _is_client(value):
        return _REDACTED
    if isinstance(value, str):
        return _ADDRESS.sub(_REDACTED, value)
    return value


class NoClientAddress(logging.Filter):
    """Drop uvicorn's websocket handshake lines; blank client addresses in everything else."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            if record.msg.startswith(_HANDSHAKE):
                return False
            record.msg = _ADDRESS.sub(_REDACTED, record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _clean(arg) for key, arg in record.args.items()}
        return True
