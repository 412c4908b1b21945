"""Benchmark the reporter side over HTTP against a real server (run by hand, prints figures).

    .venv/bin/python bench/intake.py [--reports 40] [--upload-mb 200]

Starts PostgreSQL-backed Whistle (database ``whistle_bench``, Redis db 13, production Argon2id
parameters) with ``manage.py serve`` on a free loopback port and measures:

1. submission latency (the "send report" POST only) of a 10-answer report without files,
   p50/p95, against the target p95 ≤ receipt-KDF time + 100 ms;
2. a single ``--upload-mb`` file sent to the reporter mailbox: throughput on loopback and the
   server process's peak memory growth (VmHWM), against ≥ 100 MB/s and ≤ 64 MB.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/ holds files named like the apps: the repository root goes first on sys.path.
if str(ROOT) not in sys.path[:1]:
    sys.path.insert(0, str(ROOT))
from bench._common import Browser, rss_kib, start_server  # noqa: E402

PYTHON = sys.executable
DB = "whistle_bench"
ENV = {
    **os.environ,
    "WHISTLE_MODE": "test",
    "DJANGO_SETTINGS_MODULE": "whistle.settings",
    "SECRET_KEY": "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEF",
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
    "REDIS_URL": "redis://127.0.0.1:6379/13",
    "ALLOWED_HOSTS": "127.0.0.1",
    "RECEIPT_PEPPER": "bench-receipt-pepper-0123456789abcdef",
    "LOG_LEVEL": "WARNING",
    "WHISTLE_VAR_DIR": str(ROOT / "var" / "bench"),
    "MEDIA_ROOT": str(ROOT / "var" / "bench" / "files"),
    "WHISTLE_MAX_REQUEST_MB": "1200",
    "INTAKE_SUBMISSIONS_PER_TENANT_HOUR": "100000",
}
STEPS: dict[str, dict[str, object]] = {
    "what": {
        "what": "Invoices were approved twice. " * 20,
        "when_period": "March to May",
        "where": "Building authority",
    },
    "who": {"who": "Head of unit", "how_known": "documents", "harmed": ["public", "organisation"]},
    "more": {
        "ongoing": "yes",
        "reported_elsewhere": "no",
        "evidence_more": "Ledger",
        "truthful": "on",
    },
}


def prepare() -> None:
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB], check=True)
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=ENV, check=True)
    script = """
import django; django.setup()
from whistle.tenants.services import tenant_create, office_create, membership_add
from whistle.accounts.models import User
from whistle.keys.services import handler_key_unlock, office_keys_setup
t = tenant_create(slug="bench", name="Benchstadt")
t.max_file_mb = 1100; t.max_case_mb = 1100; t.save()
o = office_create(owner=t, name="Meldestelle Bench")
u = User.objects.create_user("lead@bench.example", "bench password 123456")
membership_add(office=o, user=u, role="lead")
office_keys_setup(office=o, actor=u, actor_private=handler_key_unlock(user=u, password="bench password 123456"))
"""
    subprocess.run([PYTHON, "-c", script], cwd=ROOT, env=ENV, check=True)


def write_report(browser: Browser) -> None:
    browser.request("GET", "/t/bench/report/")
    status, _ = browser.form("/t/bench/report/", {"category": "procurement"})
    assert status == 302, status
    for step, data in STEPS.items():
        status, body = browser.form(f"/t/bench/report/step/{step}/", data)
        assert status == 302, body[:300]
    assert browser.form("/t/bench/report/contact/", {"mode": "anonymous"})[0] == 302


def receipt_of(html: bytes) -> str:
    return "-".join(re.findall(r'<span class="group">([0-9A-Z]{4})</span>', html.decode()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=40)
    parser.add_argument("--upload-mb", type=int, default=200)
    args = parser.parse_args()

    prepare()
    server, port = start_server(ROOT, ENV)
    try:
        sys.path.insert(0, str(ROOT))
        os.environ.update(ENV)
        import django

        django.setup()
        from crypto import PRODUCTION_PARAMS, derive_key

        start = time.perf_counter()
        for _ in range(3):
            derive_key(b"x" * 12, salt=secrets.token_bytes(16), params=PRODUCTION_PARAMS)
        kdf_ms = (time.perf_counter() - start) / 3 * 1000

        latencies = []
        receipt = ""
        for _ in range(args.reports):
            browser = Browser(port)
            write_report(browser)
            start = time.perf_counter()
            status, page = browser.form("/t/bench/report/submit/", {})
            latencies.append((time.perf_counter() - start) * 1000)
            assert status == 200, page[:300]
            receipt = receipt_of(page)
        latencies.sort()
        p50 = statistics.median(latencies)
        p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]

        browser = Browser(port)
        browser.request("GET", "/t/bench/mailbox/")
        assert browser.form("/t/bench/mailbox/", {"receipt": receipt})[0] == 302
        browser.request("GET", "/t/bench/mailbox/")
        boundary = uuid.uuid4().hex
        size = args.upload_mb * 1024 * 1024
        block = secrets.token_bytes(1024 * 1024)
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
            f"{browser.cookies['csrftoken']}\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="body"\r\n\r\nlarge file\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        rss_before = rss_kib(server.pid)
        peak = [rss_before]
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.is_set():
                peak[0] = max(peak[0], rss_kib(server.pid))
                time.sleep(0.005)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        conn.putrequest("POST", "/t/bench/mailbox/message/", skip_host=True)
        conn.putheader("Host", f"127.0.0.1:{port}")
        conn.putheader("Origin", f"http://127.0.0.1:{port}")
        conn.putheader("Cookie", "; ".join(f"{k}={v}" for k, v in browser.cookies.items()))
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + size + len(tail)))
        conn.endheaders()
        start = time.perf_counter()
        conn.send(head)
        for _ in range(args.upload_mb):
            conn.send(block)
        conn.send(tail)
        response = conn.getresponse()
        response.read()
        upload_s = time.perf_counter() - start
        assert response.status == 302, response.status
        sampling.set()
        sampler.join()
        growth_mib = (peak[0] - rss_before) / 1024

        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
        print(f"receipt KDF (Argon2id production params): {kdf_ms:.0f} ms")
        print(
            f"submission latency over {args.reports} reports: p50 {p50:.0f} ms, p95 {p95:.0f} ms "
            f"(target p95 <= {kdf_ms + 100:.0f} ms)"
        )
        print(
            f"upload of {args.upload_mb} MB: {upload_s:.1f} s = {args.upload_mb / upload_s:.0f} MB/s "
            "(target >= 100 MB/s)"
        )
        print(
            f"server peak memory growth during the upload: {max(growth_mib, 0):.1f} MiB (target <= 64 MiB)"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
