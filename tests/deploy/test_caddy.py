"""deploy/Caddyfile in a real Caddy (Debian's package, installed by bin/test): routing, the
forwarded headers, and logs without client address or user agent (issue 14, point 2)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.helpers import CADDYFILE

USER_AGENT = "WhistleTestAgent/7.3 (marker-ua-4b1d)"
CLIENT_FORWARDED_FOR = "203.0.113.77"
CLIENT_ADDRESS_FIELDS = ("remote_ip", "client_ip", "remote_port")


def _caddy() -> str:
    executable = shutil.which("caddy")
    if executable is None:
        pytest.fail("Caddy is not installed: bin/test installs Debian's caddy package.")
    return executable


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(condition: Any, what: str, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Upstream:
    name: str
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> int:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                upstream.requests.append((self.path, dict(self.headers.items())))
                if self.headers.get("Upgrade", "").lower() == "websocket":
                    # Switch protocols, then echo one line: enough to see the tunnel.
                    self.send_response(101)
                    self.send_header("Upgrade", "websocket")
                    self.send_header("Connection", "Upgrade")
                    self.end_headers()
                    self.wfile.flush()
                    line = self.rfile.readline()
                    self.wfile.write(f"{upstream.name}:".encode() + line)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                body = upstream.name.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self.server.server_address[1]

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class Proxy:
    site_port: int
    onion_port: int
    web: Upstream
    staff: Upstream
    output: Path

    def get(self, path: str, *, onion: bool = False) -> tuple[int, bytes]:
        port = self.onion_port if onion else self.site_port
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request(
                "GET",
                path,
                headers={
                    "User-Agent": USER_AGENT,
                    "X-Forwarded-For": CLIENT_FORWARDED_FOR,
                    "Referer": "https://referrer.example/marker-referer",
                    "Host": "abcdefghijklmnop.onion" if onion else f"127.0.0.1:{port}",
                },
            )
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def log_entries(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.output.read_text(encoding="utf-8").splitlines():
            if line.startswith("{"):
                entries.append(json.loads(line))
        return entries

    def access_entries(self) -> list[dict[str, Any]]:
        return [e for e in self.log_entries() if e.get("logger", "").startswith("http.log.access")]


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Proxy]:
    web, staff = Upstream("web"), Upstream("staff")
    web_port, staff_port = web.start(), staff.start()
    site_port, onion_port = _free_port(), _free_port()
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "CADDY_ADMIN": "off",
        "WHISTLE_DOMAIN": f"http://127.0.0.1:{site_port}",
        "CADDY_WEB_HOST": "127.0.0.1",
        "CADDY_WEB_PORT": str(web_port),
        "CADDY_STAFF_HOST": "127.0.0.1",
        "CADDY_STAFF_PORT": str(staff_port),
        "CADDY_ONION_PORT": str(onion_port),
        "CADDY_HTTP_PORT": str(_free_port()),
        "CADDY_HTTPS_PORT": str(_free_port()),
    }
    output = tmp_path / "caddy.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [_caddy(), "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    proxy = Proxy(site_port, onion_port, web, staff, output)

    def listening() -> bool:
        assert process.poll() is None, output.read_text(encoding="utf-8")
        for port in (site_port, onion_port):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                return False
        return True

    try:
        _wait_for(listening, "Caddy to listen")
        yield proxy
    finally:
        process.terminate()
        process.wait(timeout=30)
        web.stop()
        staff.stop()


def test_routes_and_forwarded_headers(proxy: Proxy) -> None:
    assert proxy.get("/t/alpha/") == (200, b"web")
    assert proxy.get("/staff/login/") == (200, b"staff")
    assert proxy.get("/ws/staff/case/1/") == (200, b"staff")
    assert [path for path, _ in proxy.web.requests] == ["/t/alpha/"]
    for _path, headers in proxy.web.requests + proxy.staff.requests:
        # Set by Caddy from the connection (plain HTTP here; https behind TLS); the client's
        # own X-Forwarded-For is not passed on, nor is Caddy's: the application never
        # receives the client's address.
        assert headers["X-Forwarded-Proto"] == "http"
        assert "X-Forwarded-For" not in headers
        assert CLIENT_FORWARDED_FOR not in json.dumps(headers)


def _websocket_line(port: int, path: str, line: bytes) -> tuple[bytes, bytes]:
    """Open an upgraded connection through the proxy and send one line; returns the response
    head and what came back through the tunnel."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                f"User-Agent: {USER_AGENT}\r\n\r\n"
            ).encode()
        )
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(4096)
            assert chunk, received
            received += chunk
        head, _, rest = received.partition(b"\r\n\r\n")
        sock.sendall(line)
        while not rest.endswith(b"\n"):
            chunk = sock.recv(4096)
            assert chunk, rest
            rest += chunk
        return head, rest


def test_websocket_upgrades_pass_through(proxy: Proxy) -> None:
    head, echoed = _websocket_line(proxy.site_port, "/ws/staff/case/1/", b"ping\n")
    assert head.startswith(b"HTTP/1.1 101")
    assert echoed == b"staff:ping\n"
    head, echoed = _websocket_line(proxy.site_port, "/ws/t/alpha/mailbox/", b"pong\n")
    assert head.startswith(b"HTTP/1.1 101")
    assert echoed == b"web:pong\n"
    (_path, headers), *_ = proxy.web.requests
    assert headers["Upgrade"] == "websocket"
    assert "X-Forwarded-For" not in headers


def test_onion_listener_serves_reporter_pages_only_as_https(proxy: Proxy) -> None:
    assert proxy.get("/t/alpha/", onion=True) == (200, b"web")
    (path, headers), *_ = proxy.web.requests
    assert path == "/t/alpha/"
    assert headers["X-Forwarded-Proto"] == "https"
    assert headers["Host"] == "abcdefghijklmnop.onion"
    assert "X-Forwarded-For" not in headers
    assert proxy.get("/staff/login/", onion=True)[0] == 404
    assert proxy.get("/ws/staff/x/", onion=True)[0] == 404
    assert proxy.staff.requests == []


METRICS_PATHS = (
    "/metrics",
    "/metrics/",
    "/metrics?format=text",
    "/METRICS",
    "/%6Detrics",
    "//metrics",
    "/./metrics",
    "/t/../metrics",
)


@pytest.mark.parametrize("onion", [False, True], ids=["site", "onion"])
def test_metrics_are_not_reachable_through_the_proxy(proxy: Proxy, onion: bool) -> None:
    """Prometheus scrapes each serve process directly (docs/operations.md, "Observability"):
    the public sites answer /metrics with 404 themselves, whatever the spelling, and the
    application never sees the request (its bearer token is then never guessable from
    outside)."""
    for path in METRICS_PATHS:
        status, _body = proxy.get(path, onion=onion)
        assert status == 404, path
    assert proxy.web.requests == [] and proxy.staff.requests == []
    # Pages whose names merely start with it still pass.
    assert proxy.get("/metricsx", onion=onion) == (200, b"web")
    assert proxy.get("/t/alpha/metrics", onion=onion) == (200, b"web")


def test_logs_hold_no_client_address_or_user_agent(proxy: Proxy) -> None:
    proxy.get("/t/alpha/")
    proxy.get("/t/alpha/", onion=True)
    # An upstream that is down: Caddy's error entry carries the request, filtered too.
    proxy.staff.stop()
    assert proxy.get("/staff/login/")[0] == 502
    _wait_for(lambda: len(proxy.access_entries()) >= 3, "the access log entries")
    _wait_for(
        lambda: any(e.get("logger", "").startswith("http.log.error") for e in proxy.log_entries()),
        "the error log entry",
    )
    text = proxy.output.read_text(encoding="utf-8")
    assert USER_AGENT not in text and "marker-ua" not in text
    assert "marker-referer" not in text
    assert CLIENT_FORWARDED_FOR not in text
    for entry in proxy.log_entries():
        request = entry.get("request", {})
        for name in CLIENT_ADDRESS_FIELDS:
            assert name not in request, entry
        assert "headers" not in request, entry
    access = proxy.access_entries()
    assert {e["request"]["uri"] for e in access} == {"/t/alpha/", "/staff/login/"}
    assert {e["status"] for e in access} == {200, 502}


def _adapted() -> dict[str, Any]:
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": "/nonexistent",
        "WHISTLE_DOMAIN": "whistle.example.org, meldung.example.com",
    }
    result = subprocess.run(
        [_caddy(), "adapt", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        env=environment,
        check=True,
        capture_output=True,
        timeout=60,
    )
    config: dict[str, Any] = json.loads(result.stdout)
    return config


def _handlers(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "handler" in node:
            yield node
        for value in node.values():
            yield from _handlers(value)
    elif isinstance(node, list):
        for value in node:
            yield from _handlers(value)


def test_every_log_of_the_production_config_drops_client_data() -> None:
    """Every log Caddy writes (access logs and its default log, where entries outside a site
    go) deletes the client's address, port and request headers (user agent included)."""
    logs = _adapted()["logging"]["logs"]
    assert "default" in logs and len(logs) >= 2
    for name, log in logs.items():
        encoder = log["encoder"]
        assert encoder["format"] == "filter", name
        deleted = {field for field, f in encoder["fields"].items() if f["filter"] == "delete"}
        assert {
            "request>remote_ip",
            "request>client_ip",
            "request>remote_port",
            "request>headers",
        } <= deleted, name


def test_production_config_serves_the_domains_without_compression() -> None:
    config = _adapted()
    servers = config["apps"]["http"]["servers"]
    hosts = {
        host
        for server in servers.values()
        for route in server["routes"]
        for match in route.get("match", [])
        for host in match.get("host", [])
    }
    assert hosts == {"whistle.example.org", "meldung.example.com"}
    handlers = list(_handlers(servers))
    assert not [h for h in handlers if h["handler"] == "encode"]
    proxies = [h for h in handlers if h["handler"] == "reverse_proxy"]
    assert {p["dynamic_upstreams"]["name"] for p in proxies} == {"web", "web-staff"}
    for proxy in proxies:
        assert proxy["headers"]["request"]["delete"] == ["X-Forwarded-For"]
    onion = [s for s in servers.values() if s["listen"] == ["127.0.0.1:8081"]]
    assert len(onion) == 1
