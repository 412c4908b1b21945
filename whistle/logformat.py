"""``LOG_FORMAT=json``: one JSON object per line for a log collector (README, "Configuration").

Each line has ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``; a record about a
request (Django's ``django.request`` lines, ``whistle.outage``) adds ``route`` (the route name,
never the path), ``method`` and ``status``, and its message names the route where it named the
path: reporter paths carry the tenant's slug, and the log collector is no place for tenant
names. Any ``/t/<slug>`` left in a message is blanked as well. An exception adds ``exception``
(its type and traceback, as the text format prints it).

The standard library is enough (``json``); the logging filters of ``LOGGING`` (client
addresses) run before any formatter, so they hold in both formats.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import re

from django.http import HttpRequest

from whistle.metrics import route_name

_TENANT_PATH = re.compile(r"/t/[-a-z0-9]{1,63}(?=/|\b|$)")


def _request_paths(request: HttpRequest) -> set[str]:
    paths = {request.path, request.path_info}
    with contextlib.suppress(Exception):  # a malformed request still gets its line
        paths.add(request.get_full_path())
    return {p for p in paths if p}


def _is_path(arg: object, paths: set[str]) -> bool:
    return isinstance(arg, str) and arg in paths


def _message(record: logging.LogRecord, request: HttpRequest | None) -> str:
    if request is not None and record.args:
        paths = _request_paths(request)
        route = route_name(request)
        if isinstance(record.args, tuple):
            args: object = tuple(route if _is_path(arg, paths) else arg for arg in record.args)
        else:
            args = {k: route if _is_path(v, paths) else v for k, v in record.args.items()}
        record = logging.makeLogRecord({**record.__dict__, "args": args})
    return _TENANT_PATH.sub("/t/-", record.getMessage())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        request = getattr(record, "request", None)
        if not isinstance(request, HttpRequest):
            request = None
        entry: dict[str, object] = {
            "time": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": _message(record, request),
        }
        if request is not None:
            entry["route"] = route_name(request)
            entry["method"] = request.method
            status = getattr(record, "status_code", None)
            if isinstance(status, int):
                entry["status"] = status
        if record.exc_info:
            entry["exception"] = _TENANT_PATH.sub("/t/-", self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = _TENANT_PATH.sub("/t/-", record.exc_text)
        return json.dumps(entry, ensure_ascii=False, default=str)
