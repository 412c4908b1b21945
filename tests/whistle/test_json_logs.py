"""``LOG_FORMAT=json`` (whistle/logformat.py): one JSON object per line, the filters of
``LOGGING`` still in force, route names instead of paths, no tenant names, no content.

The whole server under ``LOG_FORMAT=json`` (client addresses, user agents, cookies, report
text) is checked by tests/whistle/test_serve_logs.py, which runs in both formats."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.test import Client

from tests.fixtures import World
from tests.intake.journey import ANSWERS, base, reporter, submit_report
from tests.plugins.sensitive import SensitiveRegistry
from whistle.logformat import JsonFormatter


class Lines:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    def parsed(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    @property
    def text(self) -> str:
        return self.stream.getvalue()


@pytest.fixture
def json_lines() -> Iterator[Lines]:
    """Everything that reaches the root logger's handlers, formatted as LOG_FORMAT=json does."""
    lines = Lines()
    handler = logging.StreamHandler(lines.stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lines
    finally:
        root.removeHandler(handler)


def test_a_reporters_journey_logs_parse_and_carry_no_path_tenant_or_content(
    worlds: tuple[World, World], json_lines: Lines, sensitive: SensitiveRegistry
) -> None:
    a, _b = worlds
    sensitive.add(ANSWERS["what"]["what"], ANSWERS["who"]["who"])
    from tests.keys.test_key_hierarchy import setup_keys

    setup_keys(a)
    receipt, _page = submit_report(reporter(), a)
    sensitive.add(receipt)
    assert reporter().get(base(a) + "no-such-page/").status_code == 404
    assert Client().get("/no-such-page/").status_code == 404
    lines = json_lines.parsed()
    assert lines, "the 404s are logged"
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line)
    not_found = [line for line in lines if line["logger"] == "django.request"]
    assert len(not_found) == 2
    for line in not_found:
        assert line["message"] == "Not Found: unmatched"
        assert line["route"] == "unmatched"
        assert line["status"] == 404
        assert line["method"] == "GET"
    for never in (a.tenant.slug, a.tenant.name, "no-such-page", receipt, "SENTINEL"):
        assert never not in json_lines.text


def test_an_outage_line_names_the_route_not_the_path(
    world_a: World, json_lines: Lines, rf: Any
) -> None:
    from django.urls import resolve

    from whistle.outage import outage_response

    request = rf.post(f"/t/{world_a.tenant.slug}/report/check/", {"what": "SENTINEL-typed"})
    request.resolver_match = resolve("/report/check/", "whistle.urls_reporter")
    try:
        raise psycopg.OperationalError("connection refused")
    except psycopg.OperationalError as error:
        assert outage_response(request, error).status_code == 503
    (line,) = [line for line in json_lines.parsed() if line["logger"] == "whistle.outage"]
    assert line["route"] == "intake:check"
    assert line["status"] == 503
    assert line["message"].endswith("during POST intake:check")
    assert world_a.tenant.slug not in json_lines.text
    assert "SENTINEL" not in json_lines.text


def test_a_tenant_path_left_in_a_message_or_traceback_is_blanked(json_lines: Lines) -> None:
    log = logging.getLogger("whistle.test")
    log.warning("seen %s", "/t/alpha/mailbox/")
    try:
        raise ValueError("while reading /t/betadorf/report/")
    except ValueError:
        log.exception("failed")
    first, second = json_lines.parsed()
    assert first["message"] == "seen /t/-/mailbox/"
    assert second["exception"].startswith("Traceback")
    assert "/t/-/report/" in second["exception"]
    assert "alpha" not in json_lines.text and "betadorf" not in json_lines.text


def _run_with(log_format: str | None) -> str:
    """A fresh process configured by the settings, logging through uvicorn's loggers."""
    env = {
        key: value for key, value in os.environ.items() if key not in ("LOG_FORMAT", "LOG_LEVEL")
    }
    env.update(DJANGO_SETTINGS_MODULE="tests.settings", PYTHONPATH=str(settings.BASE_DIR))
    if log_format is not None:
        env["LOG_FORMAT"] = log_format
    code = (
        "import django, logging; django.setup(); "
        "error = logging.getLogger('uvicorn.error'); "
        "error.info('%s - \"WebSocket /t/alpha/ws/mailbox/\" [accepted]', ('10.9.8.7', 41234)); "
        "error.info('connection from 10.9.8.7:41235 closed'); "
        "logging.getLogger('whistle.test').warning('plain %s', 42)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stderr


def test_log_format_json_is_one_object_per_line_with_the_filters_in_force() -> None:
    output = _run_with("json")
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    messages = [(line["logger"], line["message"]) for line in lines]
    assert ("uvicorn.error", "connection from - closed") in messages
    assert ("whistle.test", "plain 42") in messages
    assert all(line["level"] in ("INFO", "WARNING") for line in lines)
    assert "10.9.8.7" not in output  # the handshake line is dropped, the address blanked
    assert "WebSocket" not in output


def test_the_text_format_stays_the_default() -> None:
    output = _run_with(None)
    assert "WARNING whistle.test plain 42" in output
    assert not output.lstrip().startswith("{")
    assert "10.9.8.7" not in output
