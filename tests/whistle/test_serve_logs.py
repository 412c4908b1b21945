"""``manage.py serve`` logs nothing that identifies a reporter's connection (README, DESIGN §7).

A real server process (uvicorn, as deployed) at the most verbose log level gets HTTP requests
and websockets from the reporter's side and the office's: accepted, refused and failed
handshakes. Its whole output must contain neither a client address (127.0.0.1 with a client
port, the form uvicorn's ``uvicorn.error`` handshake lines use) nor the user agent the
clients send, nor their cookies, nor the report's text (Django logs the whole template context
of a missing variable at DEBUG).
"""

from __future__ import annotations

import http.client
import json
import os
import re
from collections.abc import Iterator

import pytest
from django.conf import settings
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.chat.test_two_servers import QUIET, START_TIMEOUT, Server, _test_database_url
from tests.fixtures import World
from tests.intake.journey import ANSWERS, base, open_mailbox, reporter
from tests.plugins.sensitive import SensitiveRegistry

pytestmark = pytest.mark.django_db(transaction=True)

AGENT = "Mozilla/5.0 (SENTINEL-agent-7f3a; reporter laptop) Whistle-log-test/1.0"
# The server's own address in "Uvicorn running on http://127.0.0.1:<port>" is not a client's.
ADDRESS = re.compile(r"127\.0\.0\.1(?:'?\s*,\s*|:)(\d+)")
TIMEOUT = 10.0


@pytest.fixture(params=["text", "json"])
def server(request: pytest.FixtureRequest, transactional_db: None) -> Iterator[Server]:
    import time

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "SECRET_KEY": settings.SECRET_KEY,
        "RECEIPT_PEPPER": settings.RECEIPT_PEPPER,
        "ALLOWED_HOSTS": ",".join(settings.WHISTLE_HOSTS),
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "LOG_LEVEL": "DEBUG",
        "LOG_FORMAT": request.param,
        "PYTHONUNBUFFERED": "1",
    }
    process = Server(f"logs ({request.param})", env)
    process.log_format = request.param  # type: ignore[attr-defined]
    try:
        process.wait_ready(time.monotonic() + START_TIMEOUT)
        yield process
    finally:
        process.stop()


def _cookies(client: object) -> str:
    return "; ".join(f"{k}={m.value}" for k, m in client.cookies.items())  # type: ignore[attr-defined]


def _socket(server: Server, path: str, cookie: str) -> ClientConnection:
    return connect(
        f"ws://127.0.0.1:{server.port}{path}",
        additional_headers={"Origin": server.origin, "Cookie": cookie},
        user_agent_header=AGENT,
        proxy=None,
        open_timeout=TIMEOUT,
        close_timeout=2,
        logger=QUIET,
    )


def _get(server: Server, path: str, cookie: str = "") -> tuple[int, int]:
    """GET ``path`` with the test's user agent; returns (status, the client's local port)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        headers = {"User-Agent": AGENT, "Host": f"127.0.0.1:{server.port}"}
        if cookie:
            headers["Cookie"] = cookie
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        assert conn.sock is not None
        return response.status, conn.sock.getsockname()[1]
    finally:
        conn.close()


def test_no_client_address_or_user_agent_in_the_server_output(
    world_a: World, server: Server, sensitive: SensitiveRegistry
) -> None:
    from tests.casework.helpers import filed_case

    report_text = ANSWERS["what"]["what"]
    sensitive.add(report_text, AGENT)  # Server.stop() logs the output into the test's logs
    _lead, _case, receipt = filed_case(world_a)
    mailbox = reporter()
    open_mailbox(mailbox, world_a, receipt)
    cookie = _cookies(mailbox)
    ports: list[int] = []

    for path in (
        base(world_a),
        base(world_a) + "mailbox/",
        base(world_a) + "no-such-page/",
        "/no-such-page/",
        "/healthz",
    ):
        _status, port = _get(server, path, cookie)
        ports.append(port)

    # An accepted reporter socket (uvicorn logs '<address> - "WebSocket <path>" [accepted]').
    with _socket(server, f"/t/{world_a.tenant.slug}/ws/mailbox/", cookie) as ws:
        ports.append(ws.socket.getsockname()[1])
        ws.ping().wait(TIMEOUT)
    # A refused one, without the session ('<address> - "WebSocket <path>" 403').
    with pytest.raises(InvalidStatus):
        _socket(server, f"/t/{world_a.tenant.slug}/ws/mailbox/", "")
    # The server has handled everything above once this last answer arrives.
    _status, port = _get(server, "/healthz")
    ports.append(port)

    server.process.terminate()  # graceful: uvicorn logs its shutdown, then exits
    server.process.wait(timeout=TIMEOUT)
    output = server.output(tail=10**7)
    assert "Uvicorn running on" in output, output[-2000:]  # the output was captured
    leaked = {int(p) for p in ADDRESS.findall(output)} - {server.port}
    assert not leaked, f"client ports in the server output: {sorted(leaked)} (ours: {ports})"
    for port in ports:
        assert f":{port}" not in output and f", {port})" not in output
    assert "SENTINEL-agent" not in output
    assert report_text not in output
    assert cookie.split("=", 1)[1][:12] not in output
    if server.log_format == "json":  # type: ignore[attr-defined]
        # One JSON object per line (LOG_FORMAT=json, whistle/logformat.py): the filters hold
        # as in the text format (above), and no line names a tenant or a reporter path.
        lines = [json.loads(line) for line in output.splitlines() if line.strip()]
        assert any(line["message"].startswith("Uvicorn running on") for line in lines)
        assert {"time", "level", "logger", "message"} <= set(lines[0])
        assert world_a.tenant.slug not in output
        assert world_a.tenant.name not in output
        not_found = [line for line in lines if line["logger"] == "django.request"]
        assert not_found, "the 404 of /no-such-page/ is logged"
        assert all(line["route"] == "unmatched" for line in not_found)
        assert "no-such-page" not in output
