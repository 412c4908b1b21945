"""What the benchmarks share: a loopback port and a server on it, a minimal browser, the lead's login with a TOTP
code, percentiles, RSS of a process, the machine's description and the column defaults the
bulk INSERTs need. Imported as ``bench._common`` (the scripts put the repository root first on
``sys.path``)."""

from __future__ import annotations

import http.client
import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode


def run_setup(script: str, args: list[str], root: Path, env: dict[str, str]) -> Any:
    """Run ``script`` with ``args`` in a child process (Django set up against the bench's
    database there) and return the JSON object it prints on its last line."""
    done = subprocess.run(
        [sys.executable, script, *args],
        cwd=root,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        done.check_returncode()
    out = done.stdout
    return json.loads(out.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(root: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """``manage.py serve`` (one process) on a free loopback port, once it accepts connections."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=root,
        env=env,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return server, port


class Browser:
    """Just enough of a browser: cookies, CSRF token, redirects not followed."""

    def __init__(self, port: int, timeout: float = 600) -> None:
        self.port = port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        headers = {"Host": f"127.0.0.1:{self.port}", "Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST":
            headers["Origin"] = f"http://127.0.0.1:{self.port}"
            headers["Content-Type"] = content_type or "application/x-www-form-urlencoded"
            headers["Content-Length"] = str(len(body or b""))
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return response.status, data

    def form(self, path: str, data: dict[str, Any]) -> tuple[int, bytes]:
        pairs: list[tuple[str, str]] = [("csrfmiddlewaretoken", self.cookies.get("csrftoken", ""))]
        for key, value in data.items():
            for item in value if isinstance(value, list) else [value]:
                pairs.append((key, str(item)))
        return self.request("POST", path, urlencode(pairs).encode())


def staff_login(port: int, email: str, password: str, totp_key: str) -> Browser:
    """A staff member logs in with password and TOTP code, through the real pages."""
    from django_otp.oath import TOTP

    browser = Browser(port)
    browser.request("GET", "/staff/login/")
    status, body = browser.form("/staff/login/", {"email": email, "password": password})
    assert status == 302, body[:500]
    code = f"{TOTP(bytes.fromhex(totp_key)).token():06d}"
    status, body = browser.form("/staff/verify/", {"code": code})
    assert status == 302, body[:500]
    return browser


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (``p`` from 0 to 1); NaN for none."""
    if not sorted_values:
        return math.nan
    return sorted_values[max(0, math.ceil(len(sorted_values) * p) - 1)]


def rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def machine(*extra: str) -> str:
    """Cores, CPU model, memory, Python, and whatever the bench adds."""
    model = ""
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name"):
            model = line.split(":", 1)[1].strip()
    mem = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) // 1024 // 1024
    parts = [f"{os.cpu_count()} cores ({model})", f"{mem} GiB", f"Python {sys.version.split()[0]}"]
    return ", ".join([*parts, *extra])


def postgres_version() -> str:
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "SHOW server_version"],
        capture_output=True,
        text=True,
    ).stdout.strip()


def column_defaults(tables: list[str]) -> list[tuple[str, str, Any]]:
    """(table, column, value) for NOT NULL columns of ``tables`` that have a plain default in
    the model but none in the database, so the bulk INSERTs need not name every column the
    schema grows (Django keeps defaults in Python). Needs Django set up."""
    from django.apps import apps
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_name = ANY(%s) AND is_nullable = 'NO' AND column_default IS NULL "
            "AND is_identity = 'NO'",
            [tables],
        )
        bare = set(cursor.fetchall())
    out = []
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.concrete_fields:
            table, column = model._meta.db_table, str(field.column)
            if (table, column) in bare and field.has_default() and not callable(field.default):
                out.append((table, column, field.get_db_prep_save(field.default, connection)))
    return out
