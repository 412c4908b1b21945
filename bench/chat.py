"""Benchmark the live conversation over websockets against a real server (run by hand, prints
figures).

    .venv/bin/python bench/chat.py [--pairs 250] [--rates 300] [--duration 20]

Creates the database ``whistle_bench_chat`` afresh (Redis db 8, flushed first) with one tenant,
one office whose lead has TOTP and the office keys, and ``--pairs`` cases filed through
``intake.services.case_submit``. Each case gets a reporter mailbox session built directly
(session row + session vault holding ``mailbox_case`` and ``mailbox_key``, ``_mailbox_seen``
set), as the mailbox login would leave it. The settings are the production module with
``WHISTLE_MODE=test`` (plain HTTP, Redis channel layer, Celery tasks sent to Redis with no
worker); the cases' receipt wraps use the cheap test Argon2id parameters because no receipt is
ever typed here: the bench measures the chat, not the KDF.

It starts ONE ``manage.py serve`` (uvicorn, one process, Redis channel layer) on a free loopback
port, logs the lead in over HTTP (password, then a TOTP code, so the vault cookie holds the
handler key) and opens 2 x ``--pairs`` websockets (25 handshakes at a time): per case the
reporter's socket (``/t/bench/ws/mailbox/``) and the office's
(``/ws/staff/offices/<office>/cases/<case>/``), all office sockets on the lead's one session
unless ``--handler-sessions per-case`` gives each its own copy of that session row.
``--servers 2`` starts a second process and puts the two sockets of each case on different
processes (events then cross processes through Redis).

Then, for each rate of ``--rates`` (messages per second, all pairs together), an open-loop load
of ``--duration`` seconds: message k goes to pair k mod pairs, whose two sides take turns, as
``{"type": "send", "body": "<seq> <unix time>"}``. Measured, after ``--warmup`` seconds:

- delivery latency: from the send on one socket to ``{"type": "message"}`` with that body on
  the other side's socket, p50/p90/p99/max (target p99 <= 100 ms);
- post latency: from the send to the sender's own ``{"type": "sent"}``;
- sustained delivery rate: messages delivered to the other side per second within the window
  (target >= 300/s with 500 connections open); an overloaded server shows here as fewer than
  offered, and as latencies that grow over the window;
- CPU of the server process(es) (and its kernel part), of the PostgreSQL backends serving the
  bench database, Redis, this client, the kernel's interrupt handling and the rest of the
  machine (a warning is printed when something else was busy), and PostgreSQL transactions
  and rows per stored message (``pg_stat_database``, approximate: statistics are flushed about
  once a second). Every message's latencies go to ``var/bench/chat-latencies-<rate>.csv``.

Between rates the backlog of an overloaded step is left to drain (at most 60 s). Everything is
on loopback and every phase has a time limit, so the run ends by itself (about a minute for one
rate). ``--py-spy PATH`` (a py-spy binary, not a dependency of the project) samples the server
during each window into ``var/bench/chat-profile-<rate>-{gil,wall}.txt`` (collapsed stacks).
The figures mean something only on an otherwise idle machine: server, PostgreSQL, Redis and this
client share the cores (the load average is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# This file is named like the ``chat`` app: put the repository root first, so that imports of
# Whistle (in the data subprocess) find the app and not this script.
if str(ROOT) not in sys.path[:1]:
    sys.path.insert(0, str(ROOT))
from bench._common import free_port, machine, percentile, run_setup, staff_login  # noqa: E402

PYTHON = sys.executable
DB = "whistle_bench_chat"
DSN = f"host=127.0.0.1 port=5432 user=postgres dbname={DB}"
REDIS_DB = 8
ENV = {
    **os.environ,
    "WHISTLE_MODE": "test",
    "DJANGO_SETTINGS_MODULE": "whistle.settings",
    "SECRET_KEY": "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEF",
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
    "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
    "ALLOWED_HOSTS": "127.0.0.1",
    "RECEIPT_PEPPER": "bench-receipt-pepper-0123456789abcdef",
    "LOG_LEVEL": "WARNING",
    "WHISTLE_VAR_DIR": str(ROOT / "var" / "bench"),
    "MEDIA_ROOT": str(ROOT / "var" / "bench" / "files"),
}
PASSWORD = "bench password 123456"  # noqa: S105 (the bench's own throwaway account)
LEAD_EMAIL = "lead@bench.example"
SLUG = "bench"
SERVER_LOG = ROOT / "var" / "bench" / "chat-server.log"
BODY_RE = re.compile(r'class="msg-body">(\d+) [0-9.]+<')
P99_TARGET_MS = 100
RATE_TARGET = 300
ANSWERS: dict[str, Any] = {
    "what": "Invoices were approved twice. " * 10,
    "when_period": "March to May",
    "where": "Building authority",
    "who": "Head of unit",
    "how_known": "documents",
    "harmed": ["public"],
    "ongoing": "yes",
    "reported_elsewhere": "no",
    "truthful": True,
}


# --- data (a subprocess: Django set up against the fresh database) ---------------------------


def make_data(pairs: int) -> None:
    """Tenant, office, lead (TOTP, office keys), ``pairs`` cases with a reporter session each;
    prints what the benchmark needs as JSON."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from intake.services import case_submit, questionnaire_current
    from whistle.accounts.models import User
    from whistle.keys.services import handler_key_unlock, office_keys_setup
    from whistle.sessions import MAILBOX_CASE, MAILBOX_KEY, REPORTER_SEEN_AT
    from whistle.tenants.models import Membership
    from whistle.tenants.services import membership_add, office_create, tenant_create
    from whistle.vault import SessionVault

    # Receipts are never typed in this bench: wrap the case keys under them cheaply.
    settings.WHISTLE_KDF_PARAMS = "test"
    tenant = tenant_create(slug=SLUG, name="Benchstadt")
    office = office_create(owner=tenant, name="Meldestelle Bench")
    lead = User.objects.create_user(LEAD_EMAIL, PASSWORD, name="Lea Lead")
    device = TOTPDevice.objects.create(user=lead, name="app", confirmed=True)
    membership_add(office=office, user=lead, role=Membership.Role.LEAD)
    private = handler_key_unlock(user=lead, password=PASSWORD)
    office_keys_setup(office=office, actor=lead, actor_private=private)
    questionnaire = questionnaire_current(tenant)

    class RequestLike:
        def __init__(self, session: SessionStore) -> None:
            self.COOKIES: dict[str, str] = {}
            self.session = session

    cases = []
    for _ in range(pairs):
        key = secrets.token_bytes(32)
        case = case_submit(
            tenant=tenant, office=office, answers=ANSWERS, questionnaire=questionnaire, case_key=key
        ).case
        # What the mailbox login leaves behind (intake/views/mailbox.py, _login).
        session = SessionStore()
        vault = SessionVault(RequestLike(session))  # type: ignore[arg-type]
        vault.put(MAILBOX_CASE, str(case.public_id).encode())
        vault.put(MAILBOX_KEY, key)
        session[REPORTER_SEEN_AT] = timezone.now().timestamp()
        session.save()
        cases.append(
            {
                "case": str(case.public_id),
                "cookies": {
                    settings.SESSION_COOKIE_NAME: session.session_key,
                    settings.VAULT_COOKIE_NAME: vault.cookie_value,
                },
            }
        )
    print(json.dumps({"office": str(office.public_id), "totp_key": device.key, "cases": cases}))


def prepare(pairs: int) -> dict[str, Any]:
    import redis

    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB], check=True)
    redis.Redis.from_url(ENV["REDIS_URL"]).flushdb()
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=ENV, check=True)
    return run_setup(__file__, ["--make-data", str(pairs)], ROOT, ENV)  # type: ignore[no-any-return]


# --- HTTP: the lead's login -------------------------------------------------------------------


def session_copies(cookies: dict[str, str], count: int) -> list[dict[str, str]]:
    """``count`` copies of the lead's session row under new keys (one per office socket)."""
    import psycopg

    name = "whistle_session"
    copies = []
    with psycopg.connect(DSN, autocommit=True) as conn:
        row = conn.execute(
            "SELECT session_data, expire_date FROM django_session WHERE session_key = %s",
            (cookies[name],),
        ).fetchone()
        assert row is not None
        for _ in range(count):
            key = secrets.token_hex(16)
            conn.execute(
                "INSERT INTO django_session (session_key, session_data, expire_date) "
                "VALUES (%s, %s, %s)",
                (key, row[0], row[1]),
            )
            copies.append({**cookies, name: key})
    return copies


# --- measurements around the load ---------------------------------------------------------------


def cpu_times(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process (all its threads) so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid: int) -> float:
    return sum(cpu_times(pid))


def pids_named(*names: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if comm in names:
                found.append(int(entry.name))
    return found


def machine_busy() -> tuple[float, float]:
    """CPU seconds spent on the machine so far (all cores, /proc/stat): everything, and the
    kernel's interrupt handling alone (loopback networking is largely softirq time, which no
    process is charged for)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields[:8]) - idle) / tick, (fields[5] + fields[6]) / tick


@dataclass
class Usage:
    at: float
    server: float
    server_system: float
    postgres: dict[int, float]
    redis: float
    client: float
    machine: tuple[float, float]
    pg: tuple[int, ...]

    @classmethod
    def now(cls, server_pids: list[int]) -> Usage:
        import psycopg

        with psycopg.connect(DSN, autocommit=True) as conn:
            row = conn.execute(
                "SELECT xact_commit, tup_inserted, tup_updated, tup_fetched "
                "FROM pg_stat_database WHERE datname = %s",
                (DB,),
            ).fetchone()
            backends = [
                int(pid)
                for (pid,) in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                    (DB,),
                )
            ]
        times = os.times()
        return cls(
            at=time.monotonic(),
            server=sum(cpu_seconds(pid) for pid in server_pids),
            server_system=sum(cpu_times(pid)[1] for pid in server_pids),
            postgres={pid: cpu_seconds(pid) for pid in backends},
            redis=sum(cpu_seconds(p) for p in pids_named("redis-server")),
            client=times.user + times.system,
            machine=machine_busy(),
            pg=tuple(int(v) for v in row or (0, 0, 0, 0)),
        )

    def cpu_since(self, start: Usage) -> dict[str, float]:
        """Percent of one core over the interval, by part; PostgreSQL counts the backends
        connected to the bench database at both ends (the server's persistent connection)."""
        span = self.at - start.at
        parts = {
            "server": self.server - start.server,
            # A backend that appeared meanwhile (CONN_MAX_AGE reconnects) started within it.
            "postgres": sum(v - start.postgres.get(p, 0.0) for p, v in self.postgres.items()),
            "redis": self.redis - start.redis,
            "client": self.client - start.client,
        }
        parts["interrupts"] = self.machine[1] - start.machine[1]
        kernel = self.server_system - start.server_system
        parts["rest of the machine"] = max(
            0.0, self.machine[0] - start.machine[0] - sum(parts.values())
        )
        shares = {name: value / span * 100 for name, value in parts.items()}
        shares["server in the kernel"] = kernel / span * 100
        return shares


# --- the sockets --------------------------------------------------------------------------------


@dataclass
class Pending:
    sent_at: float
    side: str
    pair: int
    acked_at: float | None = None
    delivered_at: float | None = None


@dataclass
class Peer:
    pair: int
    side: str  # "reporter" or "office"
    path: str
    cookies: dict[str, str]
    port: int
    ws: Any = None
    closed: str = ""
    unacked: deque[int] = field(default_factory=deque)


@dataclass
class Run:
    pending: dict[int, Pending] = field(default_factory=dict)
    unknown: int = 0
    own: int = 0


async def reader(peer: Peer, run: Run) -> None:
    from websockets.exceptions import ConnectionClosed

    try:
        async for raw in peer.ws:
            now = time.monotonic()
            data = json.loads(raw)
            kind = data.get("type")
            if kind == "sent":
                if peer.unacked:
                    entry = run.pending.get(peer.unacked.popleft())
                    if entry is not None:
                        entry.acked_at = now
            elif kind == "message":
                match = BODY_RE.search(data.get("html", ""))
                entry = run.pending.get(int(match[1])) if match else None
                if entry is None:
                    run.unknown += 1
                elif entry.side == peer.side:
                    run.own += 1  # the sender's own socket shows its message too
                elif entry.delivered_at is None:
                    entry.delivered_at = now
    except ConnectionClosed as closed:
        peer.closed = f"{closed.rcvd.code if closed.rcvd else 'no close frame'}"
    else:
        peer.closed = f"{peer.ws.close_code}"


async def open_socket(peer: Peer, compression: str | None) -> float:
    from websockets.asyncio.client import connect

    start = time.monotonic()
    peer.ws = await connect(
        f"ws://127.0.0.1:{peer.port}{peer.path}",
        additional_headers={
            "Origin": f"http://127.0.0.1:{peer.port}",
            "Cookie": "; ".join(f"{k}={v}" for k, v in peer.cookies.items()),
        },
        proxy=None,
        compression=compression,
        open_timeout=30,
        ping_interval=None,  # browsers do not ping; keep the load to the chat itself
        close_timeout=2,
        max_queue=None,
    )
    return time.monotonic() - start


async def load(peers: list[Peer], run: Run, rate: float, duration: float) -> tuple[float, int]:
    """Open loop: message k at start + k / rate to pair k mod pairs, sides taking turns.
    Returns the start time and the number of messages sent."""
    pairs = len(peers) // 2
    turn = [0] * pairs
    loop = asyncio.get_running_loop()
    start = loop.time()
    started = time.monotonic()
    k = 0
    seq = len(run.pending)
    while True:
        target = start + k / rate
        if target > start + duration:
            break
        delay = target - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        pair = k % pairs
        k += 1
        peer = peers[2 * pair + turn[pair]]
        turn[pair] ^= 1
        if peer.closed or peers[2 * pair + turn[pair]].closed:
            continue  # a pair with a dropped socket takes no further part
        seq += 1
        run.pending[seq] = Pending(sent_at=time.monotonic(), side=peer.side, pair=pair)
        peer.unacked.append(seq)
        await peer.ws.send(json.dumps({"type": "send", "body": f"{seq} {time.time():.6f}"}))
    return started, k


async def profile(args: argparse.Namespace, rate: float) -> None:
    """py-spy samples the server during the window, twice: the thread holding the GIL (where the
    Python CPU time goes), and every thread including idle ones (a thread waiting for
    PostgreSQL, Redis or the event loop is where latency is made)."""
    await asyncio.sleep(args.warmup)
    runs = []
    for kind, extra in (("gil", ["--gil"]), ("wall", ["--idle"])):
        out = SERVER_LOG.parent / f"chat-profile-{rate:.0f}-{kind}.txt"
        process = await asyncio.create_subprocess_exec(
            args.py_spy,
            "record",
            "--pid",
            str(args.server_pids[0]),
            "--duration",
            str(max(1, int(args.duration - args.warmup))),
            "--rate",
            "200",
            "--threads",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(out),
            *extra,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        runs.append((process, out))
    for process, out in runs:
        await asyncio.wait_for(process.wait(), timeout=args.duration + 30)
        print(f"  py-spy profile (collapsed stacks per thread): {out}")


async def measure(
    args: argparse.Namespace, ports: list[int], data: dict[str, Any], lead: dict[str, str]
) -> None:
    pairs = len(data["cases"])
    office_cookies = (
        session_copies(lead, pairs) if args.handler_sessions == "per-case" else [lead] * pairs
    )
    peers: list[Peer] = []
    for i, item in enumerate(data["cases"]):
        # With several servers the two sides of a case are on different processes.
        reporter_port, office_port = ports[i % len(ports)], ports[(i + 1) % len(ports)]
        peers.append(Peer(i, "reporter", f"/t/{SLUG}/ws/mailbox/", item["cookies"], reporter_port))
        staff = f"/ws/staff/offices/{data['office']}/cases/{item['case']}/"
        peers.append(Peer(i, "office", staff, office_cookies[i], office_port))

    compression = None if args.no_compression else "deflate"
    gate = asyncio.Semaphore(args.connect_concurrency)
    connect_times: list[float] = []
    refused: list[str] = []

    async def open_one(peer: Peer) -> None:
        async with gate:
            try:
                connect_times.append(await open_socket(peer, compression))
            except Exception as error:
                peer.closed = f"refused ({type(error).__name__}: {error})"
                refused.append(peer.closed)

    run = Run()
    start = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(open_one(p) for p in peers)), timeout=300)
    open_s = time.monotonic() - start
    readers = [asyncio.create_task(reader(p, run)) for p in peers if p.ws is not None]
    connect_times.sort()
    print(
        f"connections: {len(connect_times)} of {len(peers)} open in {open_s:.1f} s "
        f"(handshake p50 {statistics.median(connect_times) * 1000:.0f} ms, "
        f"p99 {percentile(connect_times, 0.99) * 1000:.0f} ms, {args.connect_concurrency} at a time)"
        if connect_times
        else "connections: none opened"
    )
    if refused:
        print(f"  refused: {len(refused)}, e.g. {refused[0]}")

    results = []
    for rate in args.rates:
        before_drop = sum(1 for p in peers if p.closed)
        first_seq = len(run.pending) + 1
        usage_start: Usage | None = None

        async def sample_start(delay: float) -> None:
            nonlocal usage_start
            await asyncio.sleep(delay)
            usage_start = await asyncio.to_thread(Usage.now, args.server_pids)

        sampler = asyncio.create_task(sample_start(args.warmup))
        profiler = asyncio.create_task(profile(args, rate)) if args.py_spy else None
        started, _ = await asyncio.wait_for(
            load(peers, run, rate, args.duration), timeout=args.duration + 60
        )
        usage_end = await asyncio.to_thread(Usage.now, args.server_pids)
        await sampler
        if profiler is not None:
            await profiler
        assert usage_start is not None
        window_start, window_end = started + args.warmup, started + args.duration
        # Let what is in flight arrive (bounded).
        deadline = time.monotonic() + args.grace
        batch = [run.pending[s] for s in range(first_seq, len(run.pending) + 1)]
        while time.monotonic() < deadline and any(e.delivered_at is None for e in batch):
            await asyncio.sleep(0.05)
        measured = [e for e in batch if window_start <= e.sent_at <= window_end]
        latencies = sorted(
            (e.delivered_at - e.sent_at) * 1000 for e in measured if e.delivered_at is not None
        )
        posts = sorted((e.acked_at - e.sent_at) * 1000 for e in measured if e.acked_at is not None)
        lost = sum(1 for e in batch if e.delivered_at is None)
        delivered_in_window = sum(
            1
            for e in batch
            if e.delivered_at is not None and window_start <= e.delivered_at <= window_end
        )
        span = window_end - window_start
        # Each "sent" acknowledgement is one message stored: the database work it caused.
        posted_in_cpu_window = sum(
            1
            for e in batch
            if e.acked_at is not None and usage_start.at <= e.acked_at <= usage_end.at
        )
        pg = [b - a for a, b in zip(usage_start.pg, usage_end.pg, strict=True)]
        per = max(posted_in_cpu_window, 1)
        result = {
            "rate": rate,
            "sent": len(batch),
            "measured": len(measured),
            "delivered_per_s": delivered_in_window / span,
            "p50": percentile(latencies, 0.5),
            "p90": percentile(latencies, 0.9),
            "p99": percentile(latencies, 0.99),
            "max": latencies[-1] if latencies else math.nan,
            "post_p50": percentile(posts, 0.5),
            "post_p99": percentile(posts, 0.99),
            "lost": lost,
            "dropped": sum(1 for p in peers if p.closed) - before_drop,
            "cpu": usage_end.cpu_since(usage_start),
            "xact_per_msg": pg[0] / per,
            "ins_per_msg": pg[1] / per,
            "upd_per_msg": pg[2] / per,
            "fetched_per_msg": pg[3] / per,
        }
        results.append(result)
        report(result, args)
        samples = SERVER_LOG.parent / f"chat-latencies-{rate:.0f}.csv"
        with samples.open("w") as out:
            out.write("seq,sent_s,side,post_ms,delivery_ms\n")
            for seq in range(first_seq, len(run.pending) + 1):
                e = run.pending[seq]
                post = f"{(e.acked_at - e.sent_at) * 1000:.2f}" if e.acked_at else ""
                done = f"{(e.delivered_at - e.sent_at) * 1000:.2f}" if e.delivered_at else ""
                out.write(f"{seq},{e.sent_at - started:.4f},{e.side},{post},{done}\n")
        print(f"  every message's latencies: {samples}")
        if rate != args.rates[-1]:
            # An overloaded step leaves a backlog: let it drain (bounded) before the next one.
            drain = time.monotonic() + 60
            while time.monotonic() < drain and any(e.delivered_at is None for e in batch):
                await asyncio.sleep(0.2)
            await asyncio.sleep(2)

    open_now = sum(1 for p in peers if p.ws is not None and not p.closed)
    print(f"connections still open at the end: {open_now} of {len(peers)}")
    codes: dict[str, int] = {}
    for p in peers:
        if p.closed:
            codes[p.closed] = codes.get(p.closed, 0) + 1
    if codes:
        print(f"  closed or refused, by close code: {codes}")
    if run.unknown:
        print(f"  messages with a body this run did not send: {run.unknown}")
    for p in peers:
        if p.ws is not None:
            await p.ws.close()
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)


def report(r: dict[str, Any], args: argparse.Namespace) -> None:
    ok_p99 = "ok" if r["p99"] <= P99_TARGET_MS else "MISSED"
    ok_rate = "ok" if r["delivered_per_s"] >= RATE_TARGET else "MISSED"
    print(
        f"\noffered {r['rate']:.0f} messages/s for {args.duration:.0f} s "
        f"({r['sent']} sent, {r['measured']} in the {args.duration - args.warmup:.0f} s window):"
    )
    print(
        f"  delivery latency p50 {r['p50']:.1f} ms, p90 {r['p90']:.1f} ms, p99 {r['p99']:.1f} ms, "
        f"max {r['max']:.1f} ms "
        f"(target p99 <= {P99_TARGET_MS} ms: {ok_p99})"
    )
    print(
        f"  post latency (send -> own 'sent') p50 {r['post_p50']:.1f} ms, p99 {r['post_p99']:.1f} ms"
    )
    print(
        f"  delivered {r['delivered_per_s']:.0f} messages/s "
        f"(target >= {RATE_TARGET}/s: {ok_rate}); not delivered within {args.grace:.0f} s: {r['lost']}; "
        f"sockets dropped by the server meanwhile: {r['dropped']}"
    )
    cpu = r["cpu"]
    print(
        f"  CPU, % of one core: server {cpu['server']:.0f} (in the kernel "
        f"{cpu['server in the kernel']:.0f}), PostgreSQL (its backends) "
        f"{cpu['postgres']:.0f}, Redis {cpu['redis']:.0f}, this client {cpu['client']:.0f}, "
        f"kernel interrupts (loopback network) {cpu['interrupts']:.0f}, "
        f"rest of the machine {cpu['rest of the machine']:.0f} (of {100 * (os.cpu_count() or 1)})"
    )
    if cpu["rest of the machine"] > 20:
        print("  WARNING: something else used the CPU meanwhile; these figures are disturbed")
    print(
        f"  PostgreSQL per message (approx.): {r['xact_per_msg']:.1f} transactions, "
        f"{r['ins_per_msg']:.1f} rows inserted, {r['upd_per_msg']:.1f} updated, "
        f"{r['fetched_per_msg']:.1f} fetched"
    )


# --- main -------------------------------------------------------------------------------------


def server_command(port: int) -> list[str]:
    return [PYTHON, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)]


def server_log(index: int) -> Path:
    return SERVER_LOG if index == 0 else SERVER_LOG.with_name(f"chat-server-{index + 1}.log")


def server_errors(path: Path) -> dict[str, int]:
    """Exceptions a server logged, by their last line."""
    if not path.exists():
        return {}
    counts: dict[str, int] = {}
    lines = path.read_text(errors="replace").splitlines()
    for i, line in enumerate(lines):
        if (
            line.startswith(("ERROR:", "Exception inside application"))
            or "Exception in ASGI" in line
        ):
            last = ""
            for follow in lines[i + 1 : i + 200]:
                if follow and not follow.startswith(
                    (" ", "Traceback", "The above", "During handling")
                ):
                    last = follow
                    break
            counts[last[:160]] = counts.get(last[:160], 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=250, help="cases = reporter/office pairs")
    parser.add_argument(
        "--rates",
        type=lambda s: [float(x) for x in s.split(",")],
        default=[300.0],
        help="offered messages per second, comma-separated: one load phase each",
    )
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--grace", type=float, default=5.0, help="seconds to wait for stragglers")
    parser.add_argument(
        "--servers",
        type=int,
        default=1,
        help="server processes (default 1); with more, each case's two sockets are on two of them",
    )
    parser.add_argument("--handler-sessions", choices=("shared", "per-case"), default="shared")
    parser.add_argument("--connect-concurrency", type=int, default=25)
    parser.add_argument("--no-compression", action="store_true", help="no permessage-deflate")
    parser.add_argument(
        "--py-spy", metavar="PATH", help="a py-spy binary: sample the server during each window"
    )
    parser.add_argument("--make-data", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_data is not None:
        make_data(args.make_data)
        return

    from importlib.metadata import version

    packages = ("django", "channels", "channels-redis", "redis", "uvicorn", "uvloop", "websockets")
    print(f"machine: {machine(*(f'{name} {version(name)}' for name in packages))}")
    print(f"load average before: {Path('/proc/loadavg').read_text().split()[:3]}")
    start = time.monotonic()
    data = prepare(args.pairs)
    print(f"data: {args.pairs} cases and reporter sessions in {time.monotonic() - start:.1f} s")
    SERVER_LOG.parent.mkdir(parents=True, exist_ok=True)
    ports: list[int] = []
    servers: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(args.servers):
            ports.append(free_port())
            with server_log(i).open("wb") as log:
                servers.append(
                    subprocess.Popen(
                        server_command(ports[i]),
                        cwd=ROOT,
                        env=ENV,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        deadline = time.monotonic() + 30
        for i, (server, port) in enumerate(zip(servers, ports, strict=True)):
            while True:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the server did not start; see {server_log(i)}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
        lead = staff_login(ports[0], LEAD_EMAIL, PASSWORD, data["totp_key"]).cookies
        args.server_pids = [server.pid for server in servers]
        asyncio.run(asyncio.wait_for(measure(args, ports, data, lead), timeout=900))
        print(f"load average after: {Path('/proc/loadavg').read_text().split()[:3]}")
        for i in range(len(servers)):
            errors = server_errors(server_log(i))
            if errors:
                print(f"server exceptions ({server_log(i)}): {errors}")
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


if __name__ == "__main__":
    main()
