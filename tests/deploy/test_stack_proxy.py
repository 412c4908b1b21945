"""The local stack's reverse proxy (deploy/stack_proxy.py): round robin per connection, bytes
passed both ways untouched (a websocket after its upgrade is just that), a backend that refuses
is skipped, and its log holds no client address."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import refused_port, wait_for

ROOT = Path(__file__).resolve().parents[2]


class Backend:
    """Says its name, then echoes every line back in capitals."""

    def __init__(self, name: str) -> None:
        backend_name = name.encode()

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(backend_name + b"\n")
                while line := self.rfile.readline():
                    self.wfile.write(line.upper())

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def backends() -> Iterator[tuple[Backend, Backend]]:
    a, b = Backend("A"), Backend("B")
    yield a, b
    for backend in (a, b):
        with contextlib.suppress(OSError):
            backend.close()


def _talk(port: int, line: bytes) -> tuple[bytes, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        stream = conn.makefile("rwb")
        name = stream.readline().strip()
        stream.write(line)
        stream.flush()
        return name, stream.readline()


def test_round_robin_per_connection_and_a_refusing_backend_is_skipped(
    backends: tuple[Backend, Backend],
) -> None:
    a, b = backends
    listen = refused_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    proxy = subprocess.Popen(
        [
            sys.executable,
            "deploy/stack_proxy.py",
            "--listen",
            f"127.0.0.1:{listen}",
            f"127.0.0.1:{a.port}",
            f"127.0.0.1:{b.port}",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def output() -> str:
        log.seek(0)
        return log.read().decode(errors="replace")

    try:
        wait_for(lambda: "listening on" in output(), what="the proxy")
        names = []
        for i in range(4):
            name, echoed = _talk(listen, f"hello {i}\n".encode())
            assert echoed == f"HELLO {i}\n".encode()
            names.append(name)
        assert names in ([b"A", b"B", b"A", b"B"], [b"B", b"A", b"B", b"A"])

        b.close()  # B refuses from now on: every connection goes to A
        assert [_talk(listen, b"x\n")[0] for _ in range(3)] == [b"A", b"A", b"A"]

        proxy.terminate()
        assert proxy.wait(timeout=30) == 0
        # No client address in the proxy's log: the only addresses are its own and the
        # backends', on the "listening on" line.
        assert output().count("127.0.0.1:") == 3, output()
    finally:
        if proxy.poll() is None:
            proxy.kill()
            proxy.wait(timeout=30)
        log.close()
