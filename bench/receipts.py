"""Benchmark a flood of concurrent receipt logins against one server process (run by hand,
prints figures).

    .venv/bin/python bench/receipts.py [--logins 200] [--cases 20] [--idle-requests 40]

Creates the database ``whistle_bench_receipts`` afresh (Redis db 10, flushed first) with one
tenant, one office whose lead has TOTP and the office keys, and ``--cases`` cases filed through
``intake.services.case_submit`` with the production Argon2id parameters (every receipt check
costs what it costs in production). Settings: the production module with ``WHISTLE_MODE=test``
(plain HTTP), the production defaults for the database pool (10), the Argon2 slots (2) and
their timeout (5 s).

It starts ONE ``manage.py serve``, logs the lead in (password and TOTP code) and measures the
office inbox (a staff page that needs the database) ``--idle-requests`` times one after the
other: the idle p95 and the server's resident memory (the baseline; no Argon2 has run in it
yet). Then ``--logins`` reporters post the mailbox login form at once (a barrier releases
them together), from a child process so that their client threads do not share a GIL with
the thread that times the staff page: 40 % right receipts (half of the cases), 30 % wrong
secrets on the lookup parts of the other half, 30 % unknown receipts. While they run, the
inbox is requested in a loop and the server's resident memory sampled every 10 ms. Printed:

- the logins' answers by kind and status: expected no 5xx but 503 "busy" (the excess that
  found no Argon2 slot within the timeout), 302 for right receipts that got a slot, 200 for
  wrong and unknown ones, 429 where the tenant's budget for lookup parts with recent failures
  was spent;
- the server's peak resident memory against the bound baseline + slots x KDF memory + 64 MiB;
- the inbox's p95 during the flood against 2 x its idle p95, and any inbox answer that was
  not 200;
- how long the flood took.

The figures mean something only on an otherwise idle machine: server, PostgreSQL, Redis and
this client share the cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# bench/ holds files named like the apps: the repository root goes first on sys.path.
if str(ROOT) not in sys.path[:1]:
    sys.path.insert(0, str(ROOT))
from bench._common import (  # noqa: E402
    Browser,
    machine,
    percentile,
    rss_kib,
    run_setup,
    staff_login,
    start_server,
)

PYTHON = sys.executable
DB = "whistle_bench_receipts"
ENV = {
    **os.environ,
    "WHISTLE_MODE": "test",
    "DJANGO_SETTINGS_MODULE": "whistle.settings",
    "SECRET_KEY": "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEF",
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
    "REDIS_URL": "redis://127.0.0.1:6379/10",
    "ALLOWED_HOSTS": "127.0.0.1",
    "RECEIPT_PEPPER": "bench-receipt-pepper-0123456789abcdef",
    "LOG_LEVEL": "WARNING",
    "WHISTLE_VAR_DIR": str(ROOT / "var" / "bench"),
    "MEDIA_ROOT": str(ROOT / "var" / "bench" / "files"),
}
PASSWORD = "bench password 123456"  # noqa: S105 (the bench's own throwaway account)
LEAD_EMAIL = "lead@bench.example"
SLUG = "bench"
MIB = 1024


# --- data (a subprocess: Django set up against the fresh database) ---------------------------


def make_data(cases: int) -> None:
    """Tenant, office, lead (TOTP, office keys) and ``cases`` cases with production Argon2id
    receipt wraps; prints the office, the TOTP key, the receipts and the KDF parameters."""
    import django

    django.setup()
    from django.conf import settings
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from crypto import PRODUCTION_PARAMS, slot_config
    from intake.services import case_submit
    from whistle.accounts.models import User
    from whistle.keys.services import handler_key_unlock, kdf_params, office_keys_setup
    from whistle.tenants.models import Membership
    from whistle.tenants.services import membership_add, office_create, tenant_create

    assert settings.WHISTLE_KDF_PARAMS == "production" and kdf_params() == PRODUCTION_PARAMS
    tenant = tenant_create(slug=SLUG, name="Benchstadt", published=True)
    office = office_create(owner=tenant, name="Meldestelle Bench")
    lead = User.objects.create_user(LEAD_EMAIL, PASSWORD, name="Lea Lead")
    device = TOTPDevice.objects.create(user=lead, name="app", confirmed=True)
    membership_add(office=office, user=lead, role=Membership.Role.LEAD)
    private = handler_key_unlock(user=lead, password=PASSWORD)
    office_keys_setup(office=office, actor=lead, actor_private=private)
    receipts = [
        case_submit(tenant=tenant, office=office, answers={"what": "bench"}).receipt.formatted
        for _ in range(cases)
    ]
    print(
        json.dumps(
            {
                "office": str(office.public_id),
                "totp_key": device.key,
                "receipts": receipts,
                "kdf_mib": PRODUCTION_PARAMS.memory_kib // MIB,
                "slots": slot_config()[0],
            }
        )
    )


def prepare(cases: int) -> dict[str, Any]:
    import redis

    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB], check=True)
    redis.Redis.from_url(ENV["REDIS_URL"]).flushdb()
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=ENV, check=True)
    return run_setup(__file__, ["--make-data", str(cases)], ROOT, ENV)  # type: ignore[no-any-return]


# --- receipts as typed ---------------------------------------------------------------------


def wrong_secret(receipt: str, n: int) -> str:
    """The same lookup part, another secret part, a valid check character."""
    from crypto import _base32

    values = _base32.to_values(_base32.normalise(receipt))[:27]
    values[25] = (values[25] + n // 31) % 32
    values[26] = (values[26] + 1 + n % 31) % 32
    return _base32.group(_base32.to_text([*values, _base32.damm(values)]), 4)


def login_mix(receipts: list[str], logins: int) -> list[tuple[str, str]]:
    from crypto import generate_receipt

    half = max(1, len(receipts) // 2)
    right, attacked = receipts[:half], receipts[half:] or receipts[:half]
    mix: list[tuple[str, str]] = []
    for i in range(logins):
        slot = i % 10
        if slot < 4:
            mix.append(("right", right[i % len(right)]))
        elif slot < 7:
            mix.append(("wrong", wrong_secret(attacked[i % len(attacked)], i + 1)))
        else:
            mix.append(("unknown", generate_receipt().formatted))
    return mix


# --- measuring -------------------------------------------------------------------------------


def timed_get(browser: Browser, path: str) -> tuple[int, float]:
    start = time.perf_counter()
    status, _body = browser.request("GET", path)
    return status, (time.perf_counter() - start) * 1000


def flood_child(port: int, csrf: str) -> None:
    """The flood, in a process of its own (``--flood-child``): its 200 client threads must not
    share a GIL with the thread that times the staff page. Reads the mix as JSON from stdin,
    prints ``start`` when the barrier releases the logins, then one JSON line of results."""
    mix = [tuple(item) for item in json.loads(sys.stdin.readline())]
    barrier = threading.Barrier(len(mix) + 1)
    results: list[tuple[str, int, float]] = []
    lock = threading.Lock()

    def one(kind: str, receipt: str) -> None:
        browser = Browser(port, timeout=300)
        browser.cookies["csrftoken"] = csrf
        barrier.wait()
        start = time.perf_counter()
        try:
            status, _body = browser.form(f"/t/{SLUG}/mailbox/", {"receipt": receipt})
        except OSError:
            status = 0  # connection refused or reset: counted apart
        with lock:
            results.append((kind, status, (time.perf_counter() - start) * 1000))

    threads = [threading.Thread(target=one, args=item, daemon=True) for item in mix]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    print("start", flush=True)
    for thread in threads:
        thread.join()
    print(json.dumps({"results": results, "seconds": time.perf_counter() - start}), flush=True)


def flood(
    port: int, mix: list[tuple[str, str]], csrf: str, started: threading.Event
) -> tuple[list[tuple[str, int, float]], float]:
    """All logins at once, from a child process; (kind, status, ms) per login and the flood's
    wall time in s. ``started`` is set when the logins are released."""
    child = subprocess.Popen(
        [PYTHON, __file__, "--flood-child", str(port), csrf],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(json.dumps(mix) + "\n")
    child.stdin.flush()
    assert child.stdout.readline().strip() == "start"
    started.set()
    outcome = json.loads(child.stdout.readline())
    child.wait(timeout=60)
    results = [(kind, int(status), float(ms)) for kind, status, ms in outcome["results"]]
    return results, float(outcome["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--logins", type=int, default=200)
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--idle-requests", type=int, default=40)
    parser.add_argument("--make-data", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--flood-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.flood_child is not None:
        flood_child(int(args.flood_child[0]), args.flood_child[1])
        return
    if args.make_data is not None:
        os.environ.update(ENV)
        make_data(args.make_data)
        return

    data = prepare(args.cases)
    server, port = start_server(ROOT, ENV)
    try:
        lead = staff_login(port, LEAD_EMAIL, PASSWORD, data["totp_key"])
        inbox = f"/staff/offices/{data['office']}/"
        for _ in range(5):  # warm-up: templates, pool
            assert timed_get(lead, inbox)[0] == 200
        idle = sorted(timed_get(lead, inbox)[1] for _ in range(args.idle_requests))
        baseline_kib = rss_kib(server.pid)

        reporter = Browser(port)
        assert reporter.request("GET", f"/t/{SLUG}/mailbox/")[0] == 200
        os.environ.update(ENV)  # crypto helpers below need no Django, only the package
        mix = login_mix(data["receipts"], args.logins)

        peak = [baseline_kib]
        started, done = threading.Event(), threading.Event()
        busy_staff: list[tuple[int, float]] = []

        def sample_rss() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss_kib(server.pid))
                time.sleep(0.01)

        def staff_loop() -> None:
            started.wait()
            while not done.is_set():
                busy_staff.append(timed_get(lead, inbox))

        samplers = [threading.Thread(target=f, daemon=True) for f in (sample_rss, staff_loop)]
        for thread in samplers:
            thread.start()
        results, seconds = flood(port, mix, reporter.cookies["csrftoken"], started)
        done.set()
        for thread in samplers:
            thread.join()

        by_kind = Counter((kind, status) for kind, status, _ms in results)
        statuses = Counter(status for _kind, status, _ms in results)
        server_errors = sum(n for status, n in statuses.items() if status >= 500 and status != 503)
        failed = statuses.get(0, 0)
        bound_kib = baseline_kib + data["slots"] * data["kdf_mib"] * MIB + 64 * MIB
        idle_p95 = percentile(idle, 0.95)
        flood_ms = sorted(ms for _status, ms in busy_staff)
        flood_p95 = percentile(flood_ms, 0.95)
        staff_not_ok = Counter(status for status, _ms in busy_staff if status != 200)
        login_ms = sorted(ms for _kind, _status, ms in results)

        print(f"machine: {machine(f'load average {os.getloadavg()[0]:.2f}')}")
        print(
            f"{len(mix)} concurrent receipt logins against one process, production Argon2id "
            f"({data['kdf_mib']} MiB), {data['slots']} slots; flood took {seconds:.1f} s, "
            f"login p50 {percentile(login_ms, 0.5):.0f} ms, max {login_ms[-1]:.0f} ms"
        )
        for (kind, status), n in sorted(by_kind.items()):
            print(f"  {kind:8} {status}: {n}")
        print(
            f"statuses: {dict(sorted(statuses.items()))}; 5xx other than 503 busy: "
            f"{server_errors} (target 0); connections refused/reset: {failed}"
        )
        print(
            f"server RSS: baseline {baseline_kib / MIB:.0f} MiB, peak {peak[0] / MIB:.0f} MiB, "
            f"bound {bound_kib / MIB:.0f} MiB (baseline + {data['slots']} x "
            f"{data['kdf_mib']} MiB + 64 MiB): {'ok' if peak[0] <= bound_kib else 'OVER'}"
        )
        print(
            f"staff inbox p95: idle {idle_p95:.0f} ms ({len(idle)} requests), during the flood "
            f"{flood_p95:.0f} ms ({len(flood_ms)} requests), target <= {2 * idle_p95:.0f} ms: "
            f"{'ok' if flood_p95 <= 2 * idle_p95 else 'OVER'}; not 200: {dict(staff_not_ok)}"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
