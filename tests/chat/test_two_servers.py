"""Two server processes, one conversation: events cross processes through the Redis channel layer.

Two ``manage.py serve`` processes (uvicorn, as deployed) share the test database and Redis.
The reporter's socket is on process B; the office writes through process A, once over its own
socket and once through the case page's reply form (HTTP); the reporter answers on B and the
office's socket on A receives it, read markers included.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from websockets.sync.client import ClientConnection, connect

from tests.casework.helpers import case_url, filed_case
from tests.fixtures import World
from tests.intake.journey import open_mailbox, reporter
from tests.plugins.sensitive import SensitiveRegistry

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
LOG = logging.getLogger(__name__)
# The client library logs frames and handshake headers (cookies, message bodies) at DEBUG, and
# pytest captures DEBUG: give the sockets a logger that keeps only warnings.
QUIET = logging.getLogger("tests.chat.two_servers.websockets")
QUIET.setLevel(logging.WARNING)
START_TIMEOUT = 20.0
RECEIVE_TIMEOUT = 5.0
# Longer than channels_redis's blocking read (5 s) plus Redis's timer granularity.
IDLE_SECONDS = 7.0


def _test_database_url() -> str:
    """The database this test runs in (pytest-django's ``test_…``), as a URL for the servers."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or "5432"
    return f"postgres://{auth}{host}:{port}/{quote(db['NAME'], safe='')}"


class Server:
    """``manage.py serve`` in its own process, with its output kept for failure messages.

    It listens on port 0 and the port the kernel gave it is read from uvicorn's start-up line:
    a port picked here and handed over could be taken by a parallel test run meanwhile."""

    RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.port = 0
        self.log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", "0"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self, tail: int = 4000) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-tail:]

    def wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"server {self.name} exited early:\n{self.output()}")
            if not self.port and (found := self.RUNNING.search(self.output(tail=10**6))):
                self.port = int(found[1])
            if self.port:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                    return
                except OSError:
                    pass
            time.sleep(0.1)
        pytest.fail(f"server {self.name} did not accept connections in time:\n{self.output()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        # Captured with the test's logs: shown if it failed.
        LOG.info("server %s (exit %s):\n%s", self.name, self.process.returncode, self.output())
        self.log.close()


@pytest.fixture
def servers(transactional_db: None) -> Iterator[tuple[Server, Server]]:
    """Processes A and B on the test database and the test Redis; stopped before the database
    is flushed (this fixture depends on it, so it is torn down first)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        # tests/settings.py put SECRET_KEY, RECEIPT_PEPPER, ALLOWED_HOSTS, WHISTLE_MODE into
        # os.environ with setdefault: the servers get the same values as this process.
        "SECRET_KEY": settings.SECRET_KEY,
        "RECEIPT_PEPPER": settings.RECEIPT_PEPPER,
        "ALLOWED_HOSTS": ",".join(settings.WHISTLE_HOSTS),
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    started: list[Server] = []
    try:
        started.append(Server("A", env))
        started.append(Server("B", env))
        deadline = time.monotonic() + START_TIMEOUT
        for server in started:
            server.wait_ready(deadline)
        yield started[0], started[1]
    finally:
        for server in started:
            server.stop()


def _cookie_header(client: Client) -> str:
    return "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())


def _socket(server: Server, path: str, client: Client) -> ClientConnection:
    return connect(
        f"ws://127.0.0.1:{server.port}{path}",
        additional_headers={"Origin": server.origin, "Cookie": _cookie_header(client)},
        proxy=None,
        open_timeout=RECEIVE_TIMEOUT,
        close_timeout=2,
        logger=QUIET,
    )


def _receive_type(
    ws: ClientConnection, kind: str, containing: str = "", timeout: float = RECEIVE_TIMEOUT
) -> dict[str, Any]:
    """The next event of ``kind`` whose HTML contains ``containing`` (others are skipped), or
    fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    seen = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            data = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            break
        if data.get("type") == kind and containing in data.get("html", ""):
            return data  # type: ignore[no-any-return]
        seen.append(data.get("type"))
    pytest.fail(f"no matching {kind!r} event within {timeout} s (skipped {seen})")


def _http_reply(server: Server, client: Client, path: str, body: str) -> int:
    """The case page's reply form, posted to ``server`` like a browser (CSRF cookie and token,
    Origin header)."""
    cookies = {name: morsel.value for name, morsel in client.cookies.items()}

    def request(method: str, url: str, data: bytes | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=RECEIVE_TIMEOUT)
        headers = {
            "Host": f"127.0.0.1:{server.port}",
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        }
        if method == "POST":
            headers["Origin"] = server.origin
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, url, body=data, headers=headers)
            response = conn.getresponse()
            content = response.read()
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    cookies[name] = rest.split(";", 1)[0]
            return response.status, content
        finally:
            conn.close()

    status, page = request("GET", path)
    assert status == 200, page[:500]
    assert cookies.get("csrftoken"), "the case page sets the CSRF cookie"
    form = urlencode({"csrfmiddlewaretoken": cookies["csrftoken"], "body": body}).encode()
    status, page = request("POST", path + "do/reply/", form)
    return status


def test_events_cross_server_processes(
    world_a: World, servers: tuple[Server, Server], sensitive: SensitiveRegistry
) -> None:
    a, b = servers
    sensitive.add(
        "SENTINEL-two-servers-socket", "SENTINEL-two-servers-answer", "SENTINEL-two-servers-form"
    )
    lead, case, receipt = filed_case(world_a)
    mailbox = reporter()
    open_mailbox(mailbox, world_a, receipt)
    staff_path = f"/ws/staff/offices/{world_a.office.public_id}/cases/{case.public_id}/"
    reporter_path = f"/t/{world_a.tenant.slug}/ws/mailbox/"

    with (
        _socket(b, reporter_path, mailbox) as reporter_ws,
        _socket(a, staff_path, lead) as office_ws,
    ):
        # The office writes on process A; the reporter's socket on process B shows it.
        office_ws.send(json.dumps({"type": "send", "body": "SENTINEL-two-servers-socket"}))
        sent = _receive_type(office_ws, "sent")
        received = _receive_type(reporter_ws, "message", "SENTINEL-two-servers-socket")
        assert received["id"] == sent["id"]
        # B displayed it and marked it read: the read marker comes back to A.
        _receive_type(office_ws, "read")

        # The reporter answers on B; the office's socket on A receives it.
        reporter_ws.send(json.dumps({"type": "send", "body": "SENTINEL-two-servers-answer"}))
        _receive_type(office_ws, "message", "SENTINEL-two-servers-answer")

        # The reply form of the case page, posted to A over HTTP, reaches the socket on B too.
        status = _http_reply(a, lead, case_url(world_a, case), "SENTINEL-two-servers-form")
        assert status == 302
        _receive_type(reporter_ws, "message", "SENTINEL-two-servers-form")

    # Nothing of the conversation reached the servers' own output (DESIGN §7).
    for server in servers:
        assert "SENTINEL-two-servers" not in server.output(tail=10**7), server.name


# redis-py 8 gives every connection a 5 s socket timeout by default. A channel layer that waits
# for events with a blocking read longer than that (channels_redis' queue layer: BZPOPMIN of
# 5 s) loses idle consumers unless CHANNEL_LAYERS says otherwise; the publish/subscribe layer
# in use polls its subscription every 0.1 s. Whatever the layer, an idle socket must live on.
def test_idle_sockets_survive_longer_than_the_redis_read_timeout(
    world_a: World, servers: tuple[Server, Server]
) -> None:
    a, b = servers
    lead, case, receipt = filed_case(world_a)
    mailbox = reporter()
    open_mailbox(mailbox, world_a, receipt)
    staff_path = f"/ws/staff/offices/{world_a.office.public_id}/cases/{case.public_id}/"
    with (
        _socket(b, f"/t/{world_a.tenant.slug}/ws/mailbox/", mailbox) as reporter_ws,
        _socket(a, staff_path, lead) as office_ws,
    ):
        time.sleep(IDLE_SECONDS)  # nobody writes: both processes wait on Redis
        office_ws.send(json.dumps({"type": "send", "body": "after a pause"}))
        _receive_type(reporter_ws, "message", "after a pause")


def test_requests_reuse_pooled_database_connections(transactional_db: None) -> None:
    """Under ASGI every request's synchronous part runs on a thread of its own; a server with
    the production settings (``whistle.settings``, not the test settings) must not open, and
    leave open, a database connection per request: its pool keeps a handful."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "whistle.settings",
        "WHISTLE_MODE": "test",
        "SECRET_KEY": settings.SECRET_KEY,
        "RECEIPT_PEPPER": settings.RECEIPT_PEPPER,
        "ALLOWED_HOSTS": ",".join(settings.WHISTLE_HOSTS),
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DATABASE_POOL_SIZE": "4",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    server = Server("production settings", env)
    try:
        server.wait_ready(time.monotonic() + START_TIMEOUT)

        def connections_now() -> int:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                )
                row = cursor.fetchone()
            return int(row[0]) if row else 0

        def ready() -> int:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=RECEIVE_TIMEOUT)
            try:
                conn.request("GET", "/readyz", headers={"Host": f"127.0.0.1:{server.port}"})
                return conn.getresponse().status
            finally:
                conn.close()

        assert ready() == 200
        before = connections_now()
        assert {ready() for _ in range(20)} == {200}
        assert connections_now() - before <= 4
    finally:
        server.stop()
