"""Benchmark the reporter side over HTTP against a real server (run by hand, prints figures).

    .venv/bin/python bench/intake.py [--reports 40] [--upload-mb 200] \
        [--reporters 8] [--seconds 60] [--pow-bits 12]

Starts PostgreSQL-backed Whistle (database ``whistle_bench``, Redis db 13, production Argon2id
parameters) with ``manage.py serve`` (one process) on a free loopback port and measures:

1. submission latency (the "send report" POST only) of a 10-answer report without files,
   p50/p95, against the target p95 ≤ receipt-KDF time + 100 ms;
2. a single ``--upload-mb`` file sent to the reporter mailbox: throughput on loopback and the
   server process's peak memory growth (VmHWM), against ≥ 100 MB/s and ≤ 64 MB;
3. ``--reporters`` concurrent reporters for ``--seconds`` (issue 12), twice:
   a. sending reports written beforehand (every page up to the check page, proof of work
      solved, before the clock starts): the submission itself, against the target 0.85 x
      cores given to the server process / receipt-KDF seconds (each submission runs one
      Argon2id wrap; the process has as many Argon2 slots as ``ARGON2_MAX_CONCURRENT``, 2 by
      default). Errors are any answer other than the receipt page, "busy" included;
   b. writing every page, solving the proof of work, sending and confirming the receipt, again
      and again: what a process sustains when everything a reporter does is counted (the
      pages' Python work shares the cores with Argon2; no target).

Flood defences, set for the bench through their settings (intake/flood.py):
``INTAKE_POW_BITS`` is lowered to ``--pow-bits`` (12: about 4,000 SHA-256 runs) because the
proof of work is solved here, in the client, on the same cores as the server: at the
production difficulty the bench would measure its own hashing. ``INTAKE_MIN_STEP_SECONDS`` is
1 s: a solved proof of work replaces the minimum draft age, and a reporter asked to wait
("send it again in N seconds") waits and sends again, as a person would (counted as
``waits``, not as errors). The per-tenant rates are set high so no report is marked as
suspected flood (that costs nothing either way).
"""

from __future__ import annotations

import argparse
import hashlib
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
from collections.abc import Callable
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
    "INTAKE_SUBMISSIONS_PER_TENANT_HOUR": "1000000",
    "INTAKE_SUBMISSIONS_ALERT_HOUR": "1000000",
    "INTAKE_MIN_STEP_SECONDS": "1",
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
t = tenant_create(slug="bench", name="Benchstadt", published=True)
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


def solve(challenge: str) -> str:
    """The proof of work the browser's worker does (intake/static/intake/pow.js), in hashlib."""
    bits = int(challenge.split(".")[3])
    counter = 0
    while True:
        digest = hashlib.sha256(f"{challenge}:{counter}".encode()).digest()
        if int.from_bytes(digest, "big") >> (256 - bits) == 0:
            return str(counter)
        counter += 1


def check_and_send(browser: Browser) -> tuple[int, bytes, int]:
    """Open the check page, solve its proof of work and send; honour a request to wait.
    Returns the final (status, page, number of waits)."""
    waits = 0
    while True:
        status, page = browser.request("GET", "/t/bench/report/check/")
        if status != 200:
            return status, page, waits
        found = re.search(rb'name="pow_challenge" value="([^"]+)"', page)
        data = {}
        if found:
            challenge = found.group(1).decode()
            data = {"pow_challenge": challenge, "pow_counter": solve(challenge)}
        status, page = browser.form("/t/bench/report/submit/", data)
        if status != 302:
            return status, page, waits
        # Asked to wait (too fast without a valid proof of work): the check page says how long.
        status, page = browser.request("GET", "/t/bench/report/check/")
        wait = re.search(rb"send it again in (\d+) second", page)
        if wait is None:
            return status, page, waits
        waits += 1
        time.sleep(int(wait.group(1)))


def concurrent_reporters(port: int, reporters: int, seconds: float) -> tuple[int, int, int, float]:
    """``reporters`` threads writing, sending and confirming reports for ``seconds``; returns
    (submissions, errors, waits, elapsed seconds)."""
    done = [0] * reporters
    errors = [0] * reporters
    waits = [0] * reporters
    stop = time.monotonic() + seconds

    def reporter(index: int) -> None:
        while time.monotonic() < stop:
            browser = Browser(port)
            try:
                write_report(browser)
                status, page, waited = check_and_send(browser)
                waits[index] += waited
                if status != 200 or not receipt_of(page):
                    errors[index] += 1
                    continue
                status, _page = browser.form("/t/bench/report/done/", {"kept": "on"})
                if status != 302:
                    errors[index] += 1
                    continue
                done[index] += 1
            except (AssertionError, OSError):
                errors[index] += 1

    started = time.monotonic()
    in_threads(reporter, reporters)
    return sum(done), sum(errors), sum(waits), time.monotonic() - started


def in_threads(function: Callable[[int], None], count: int) -> None:
    """``function(0)`` … ``function(count - 1)``, each in a thread of its own; returns when all
    have ended."""
    threads = [threading.Thread(target=function, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def written_draft(port: int) -> tuple[Browser, dict[str, str]]:
    """A reporter whose report is written up to the check page, its proof of work solved: what
    is left is the "send report" POST with the returned form data."""
    browser = Browser(port)
    write_report(browser)
    _status, page = browser.request("GET", "/t/bench/report/check/")
    found = re.search(rb'name="pow_challenge" value="([^"]+)"', page)
    assert found, page[:300]
    challenge = found.group(1).decode()
    return browser, {"pow_challenge": challenge, "pow_counter": solve(challenge)}


def written_drafts(port: int, count: int, workers: int) -> list[tuple[Browser, dict[str, str]]]:
    """``count`` written drafts (:func:`written_draft`), written by ``workers`` threads."""
    ready: list[tuple[Browser, dict[str, str]]] = []
    lock = threading.Lock()

    def write(worker: int) -> None:
        for _ in range(count // workers + (1 if worker < count % workers else 0)):
            draft = written_draft(port)
            with lock:
                ready.append(draft)

    in_threads(write, workers)
    return ready


def concurrent_submissions(
    drafts: list[tuple[Browser, dict[str, str]]], reporters: int, seconds: float
) -> tuple[int, int, float]:
    """``reporters`` threads sending the written drafts one after the other for ``seconds`` (or
    until none is left); returns (submissions, errors, elapsed seconds)."""
    queue = list(drafts)
    lock = threading.Lock()
    done = [0] * reporters
    errors = [0] * reporters
    stop = time.monotonic() + seconds

    def reporter(index: int) -> None:
        while time.monotonic() < stop:
            with lock:
                if not queue:
                    return
                browser, data = queue.pop()
            try:
                status, page = browser.form("/t/bench/report/submit/", data)
                if status == 200 and receipt_of(page):
                    done[index] += 1
                else:
                    errors[index] += 1
            except OSError:
                errors[index] += 1

    started = time.monotonic()
    in_threads(reporter, reporters)
    return sum(done), sum(errors), time.monotonic() - started


def receipt_of(html: bytes) -> str:
    return "-".join(re.findall(r'<span class="group">([0-9A-Z]{4})</span>', html.decode()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=40)
    parser.add_argument("--upload-mb", type=int, default=200)
    parser.add_argument("--reporters", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--pow-bits", type=int, default=12)
    args = parser.parse_args()
    ENV["INTAKE_POW_BITS"] = str(args.pow_bits)

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
            browser, pow_data = written_draft(port)
            start = time.perf_counter()
            status, page = browser.form("/t/bench/report/submit/", pow_data)
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

        cores = len(os.sched_getaffinity(server.pid))
        target = 0.85 * cores / (kdf_ms / 1000)
        # Enough written drafts for the target rate plus a fifth, so that running out ends the
        # phase only when the rate is well above the target.
        drafts = written_drafts(port, int(target / 0.85 * 1.2 * args.seconds), args.reporters)
        sent, send_errors, send_elapsed = concurrent_submissions(
            drafts, args.reporters, args.seconds
        )
        submitted, errors, waits, elapsed = concurrent_reporters(port, args.reporters, args.seconds)
        rate = submitted / elapsed

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
        print(
            f"{args.reporters} concurrent reporters sending reports written beforehand, for "
            f"{send_elapsed:.0f} s: {sent} reports = {sent / send_elapsed:.2f} submissions/s "
            f"(target >= 0.85 x {cores} cores / {kdf_ms / 1000:.3f} s = {target:.2f}/s), "
            f"{send_errors} errors (target 0)"
        )
        print(
            f"{args.reporters} concurrent reporters writing every page for {elapsed:.0f} s (proof of work "
            f"{args.pow_bits} bits, solved by the client): {submitted} reports = {rate:.2f} "
            f"submissions/s, {errors} errors (target 0), {waits} waits"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
