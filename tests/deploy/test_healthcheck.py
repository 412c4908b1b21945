"""deploy/healthcheck.py, the image's HEALTHCHECK, against a real `manage.py serve` with
production settings: it is healthy through the host check and the HTTPS redirect that a plain
request to /healthz would meet (issue 14, point 1)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chat.test_two_servers import START_TIMEOUT, Server
from tests.deploy.helpers import DEPLOY, ROOT
from tests.whistle.test_env import GOOD_PRODUCTION, start_django


def _production_environment(static_root: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("WHISTLE_", "DJANGO_"))}
    for name in [*GOOD_PRODUCTION, "SECRET_KEY_FILE", "DATABASE_URL_FILE"]:
        clean.pop(name, None)
    return {
        **clean,
        **GOOD_PRODUCTION,
        # /healthz touches no database: none is reachable here.
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/whistle",
        "STATIC_ROOT": str(static_root),
        "DJANGO_SETTINGS_MODULE": "whistle.settings",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture(scope="module")
def production_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    static_root = tmp_path_factory.mktemp("static")
    environment = _production_environment(static_root)
    collected = start_django(environment, "collectstatic", "--noinput", "-v0")
    assert collected.returncode == 0, collected.stderr[-2000:]
    server = Server("healthcheck", environment)
    try:
        server.wait_ready(time.monotonic() + START_TIMEOUT)
        yield server
    finally:
        server.stop()


def _check(url: str, allowed_hosts: str | None) -> int:
    environment = {"PATH": os.environ["PATH"]}
    if allowed_hosts is not None:
        environment["ALLOWED_HOSTS"] = allowed_hosts
    result = subprocess.run(
        [sys.executable, str(DEPLOY / "healthcheck.py"), url],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        timeout=30,
        check=False,
    )
    return result.returncode


def test_healthy_with_the_service_host_name(production_server: Server) -> None:
    url = f"http://127.0.0.1:{production_server.port}/healthz"
    assert _check(url, "whistle.example, other.example") == 0


def test_a_plain_request_would_not_reach_healthz(production_server: Server) -> None:
    """Why the check names the host: without it the neutral 404 (unknown host) answers."""
    url = f"http://127.0.0.1:{production_server.port}/healthz"
    assert _check(url, None) == 1
    assert _check(url, "not-a-configured-host.example") == 1


def test_unhealthy_when_nothing_listens(production_server: Server) -> None:
    # A port that was open and is closed now: nothing listens there.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert _check(f"http://127.0.0.1:{port}/healthz", "whistle.example") == 1
