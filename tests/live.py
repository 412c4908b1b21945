"""Real processes and the edges around them, for outage tests (issue 12).

- ``live_env``: the environment for a ``manage.py serve`` or Celery worker process on the test
  database and Redis (``tests/settings_live.py``), with overrides.
- ``TcpProxy``: a TCP proxy the test controls between a process and a service (PostgreSQL,
  Redis); ``cut()`` drops every connection and refuses new ones, ``restore()`` forwards again.
- ``refused_port()``: an address on which nothing listens.
- ``Browser``: a no-JavaScript browser over plain HTTP (cookies, CSRF token, Origin header,
  Accept-Language), starting from a Django test client's cookies.
- ``SmtpEdge``: a tiny SMTP server that holds the first message's answer until told (or until
  the sending process dies), then accepts.
- ``wait_for``: waits for a condition, with a generous bound.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlencode

from django.conf import settings
from django.test import Client

from tests.chat.test_two_servers import Server, _test_database_url

__all__ = [
    "Browser",
    "Server",
    "SmtpEdge",
    "TcpProxy",
    "live_env",
    "refused_port",
    "wait_for",
]

T = TypeVar("T")


def wait_for(condition: Callable[[], T], *, timeout: float = 60.0, what: str = "") -> T:
    """Poll ``condition`` until it returns something true; fail after ``timeout`` seconds (a
    bound far above what any machine needs, never a duration the test relies on)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.05)


def live_env(**overrides: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_live",
        "SECRET_KEY": settings.SECRET_KEY,
        "RECEIPT_PEPPER": settings.RECEIPT_PEPPER,
        "ALLOWED_HOSTS": ",".join(settings.WHISTLE_HOSTS),
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(overrides)
    return env


def refused_port() -> int:
    """A loopback port nobody listens on (bound and released: connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a service. ``cut()`` closes every forwarded connection and
    stops listening (new connections are refused), as when the service's host goes away;
    ``restore()`` listens on the same port again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = int(listener.getsockname()[1])
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        if self._listener is not None:
            # close() alone does not wake a thread blocked in accept(), and the socket would
            # go on accepting; shutdown() does (and the port then refuses).
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self.cut()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str
    seconds: float


@dataclass
class Browser:
    """A browser without JavaScript, talking HTTP to a server process."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    language: str = "en"
    timeout: float = 30.0

    @classmethod
    def from_client(cls, port: int, client: Client, language: str = "en") -> Browser:
        cookies = {name: morsel.value for name, morsel in client.cookies.items()}
        return cls(port=port, cookies=cookies, language=language)

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        headers = {
            "Host": f"127.0.0.1:{self.port}",
            "Accept-Language": self.language,
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
        }
        data = None
        if method == "POST":
            fields = {"csrfmiddlewaretoken": self.cookies.get("csrftoken", ""), **(form or {})}
            data = urlencode(fields).encode()
            headers["Origin"] = f"http://127.0.0.1:{self.port}"
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.monotonic()
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            body = response.read().decode(errors="replace")
            seconds = time.monotonic() - started
            received = {}
            for name, value in response.getheaders():
                received[name.lower()] = value
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key] = rest.split(";", 1)[0]
            return Answer(response.status, received, body, seconds)
        finally:
            conn.close()

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str]) -> Answer:
        return self.request("POST", path, form)


class SmtpEdge:
    """A minimal SMTP server (the edge we do not own). With ``hold`` set, the answer to the
    first message's data is held back (``held`` is set meanwhile) until ``hold`` is cleared
    and ``release`` set, or the client goes away; accepted messages are in ``delivered``."""

    def __init__(self, *, hold: bool) -> None:
        self.hold = hold
        self.held = threading.Event()
        self.release = threading.Event()
        self.delivered: list[str] = []
        self.connections = 0
        edge = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                edge.connections += 1
                self.say("220 edge ESMTP")
                while line := self.rfile.readline():
                    verb = line.decode(errors="replace").strip().upper()
                    if verb.startswith(("EHLO", "HELO")):
                        self.say("250 edge")
                    elif verb.startswith(("MAIL", "RCPT", "RSET", "NOOP")):
                        self.say("250 ok")
                    elif verb == "DATA":
                        self.say("354 go on")
                        message = self.read_data()
                        if edge.hold and not edge.held.is_set():
                            edge.held.set()
                            edge.release.wait(timeout=120)
                            self.say("451 try later")
                            continue
                        edge.delivered.append(message)
                        self.say("250 queued")
                    elif verb == "QUIT":
                        self.say("221 bye")
                        return
                    else:
                        self.say("500 what")

            def read_data(self) -> str:
                lines = []
                while (line := self.rfile.readline()) and line.rstrip(b"\r\n") != b".":
                    lines.append(line.decode(errors="replace"))
                return "".join(lines)

            def say(self, text: str) -> None:
                try:
                    self.wfile.write(text.encode() + b"\r\n")
                    self.wfile.flush()
                except OSError:
                    pass

        class Threading(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Threading(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
