"""Benchmark the retention purge at scale while an office works (run by hand, prints figures).

    .venv/bin/python bench/retention.py [--cases 100000] [--tenants 100] [--requests 100]
    .venv/bin/python bench/retention.py --cases 24000 --profile-batches 6 [--batch-size N]

About five minutes at 100,000 cases (a minute to generate, 30 s of baseline, the purge, the
verification); the second form only profiles (see below).

Creates the database ``whistle_bench_ret`` afresh (Redis db 7, files in
``var/bench/retention-files``) and fills it, in bulk SQL, with ``--cases`` closed cases whose
retention period is over (``delete_on`` 1-90 days ago, no legal hold, deletion notice sent, both
wrapped case keys set to random bytes of realistic size) spread round robin over ``--tenants``
tenants with one office each. Every such case has 2 messages, 2 case records (answers, contact
details), 1 note, 1 attachment row with a real 1 KiB file under ``files/xxxx/…`` and one audit
event (``case.created``, chained per tenant). A further tenant, the "busy office", holds
``--busy`` open cases (a quarter with an unread reporter message) and a lead with TOTP and
office keys, logged in over HTTP (password, then a TOTP code). Then ``VACUUM ANALYZE``.

Measured, against ``manage.py serve`` (uvicorn, one process) on a free loopback port:

1. baseline: the busy office's inbox (first page), ``--requests`` requests one after another
   with ``--pause`` seconds between them: p50/p95;
2. ``/usr/bin/time -v manage.py retention_run`` in a child process (the scheduled job's
   service, default batch size) while the same inbox is requested with the same pacing until
   the purge ends: purge wall time, its peak RSS (``time -v``) and its RSS sampled every second
   (flat or growing), deletions per second over time, commits and WAL written, the inbox
   p50/p95 during the purge. Targets: <= 60 s per 100,000 cases, flat memory, inbox p95 within
   20 % of the baseline;
3. verification: no case row, message, record, note, attachment or file of the purged cases
   left; one finished deletion record and one ``case.deleted`` audit event per purged case;
   audit chains of the purged tenants intact; the busy office untouched.

``--profile-batches K`` instead runs ``retention_run`` in this process for K batches of
``--batch-size`` (default: ``casework.retention.BATCH_SIZE``), stopped through ``after_batch``,
with the steps of :data:`PROFILED` timed and every SQL statement and COMMIT attributed to the
step running, and prints the breakdown (no server, no HTTP).

The figures mean something only on an otherwise idle machine (two cores shared by server,
PostgreSQL, purge and client): the share of CPU time used by other processes is printed.

Run it as a script from the repository root; it puts the root first on ``sys.path`` before
importing anything of Whistle (``bench/`` holds files named like the apps).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import threading
import time
import zoneinfo
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# bench/ holds files named like the apps: the repository root goes first on sys.path.
if str(ROOT) not in sys.path[:1]:
    sys.path.insert(0, str(ROOT))
from bench._common import (  # noqa: E402
    Browser,
    column_defaults,
    machine,
    percentile,
    postgres_version,
    rss_kib,
    run_setup,
    staff_login,
    start_server,
)

PYTHON = sys.executable
DB = "whistle_bench_ret"
DSN = f"host=127.0.0.1 port=5432 user=postgres dbname={DB}"
MEDIA = ROOT / "var" / "bench" / "retention-files"
ENV = {
    **os.environ,
    "WHISTLE_MODE": "test",
    "DJANGO_SETTINGS_MODULE": "whistle.settings",
    "SECRET_KEY": "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEF",
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
    "REDIS_URL": "redis://127.0.0.1:6379/7",
    "ALLOWED_HOSTS": "127.0.0.1",
    "RECEIPT_PEPPER": "bench-receipt-pepper-0123456789abcdef",
    "LOG_LEVEL": "WARNING",
    "WHISTLE_VAR_DIR": str(ROOT / "var" / "bench"),
    "MEDIA_ROOT": str(MEDIA),
}
PASSWORD = "bench password 123456"  # noqa: S105 (the bench's own throwaway account)
LEAD_EMAIL = "lead@busy.example"
BUSY_NAME = "Meldestelle Busy"
FILE_BYTES = 1024
PURGE_TARGET_S_PER_100K = 60
INBOX_TOLERANCE = 0.20
# What is measured: the scheduled job's service through its management command.
PURGE_COMMAND = ["manage.py", "retention_run"]


# --- setup through the ORM (a subprocess: Django set up against the fresh database) -----------


def make_setup(tenants: int) -> None:
    """The busy tenant with its office, a lead (TOTP, office keys); ``tenants`` further tenants
    with one office each, whose cases will be purged. Prints what the bench needs as JSON."""
    import django

    django.setup()
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from whistle.accounts.models import User
    from whistle.keys.services import handler_key_unlock, office_keys_setup
    from whistle.tenants.models import Membership, Office, Tenant
    from whistle.tenants.services import membership_add, office_create, tenant_create

    busy_tenant = tenant_create(slug="busy", name="Busystadt", published=True)
    office = office_create(owner=busy_tenant, name=BUSY_NAME)
    lead = User.objects.create_user(LEAD_EMAIL, PASSWORD, name="Lea Lead")
    device = TOTPDevice.objects.create(user=lead, name="app", confirmed=True)
    membership_add(office=office, user=lead, role=Membership.Role.LEAD)
    private = handler_key_unlock(user=lead, password=PASSWORD)
    office_keys_setup(office=office, actor=lead, actor_private=private)

    others = Tenant.objects.bulk_create(
        Tenant(slug=f"purge-{i}", name=f"Gemeinde {i}") for i in range(tenants)
    )
    offices = Office.objects.bulk_create(
        Office(owner=t, name=f"Meldestelle {t.name}") for t in others
    )
    Office.tenants.through.objects.bulk_create(
        Office.tenants.through(office_id=o.pk, tenant_id=o.owner_id) for o in offices
    )
    print(
        json.dumps(
            {
                "busy_tenant_pk": busy_tenant.pk,
                "busy_office_pk": office.pk,
                "busy_office": str(office.public_id),
                "lead_pk": lead.pk,
                "totp_key": device.key,
                "purge_tenant_pks": [t.pk for t in others],
            }
        )
    )


# --- bulk data in SQL -------------------------------------------------------------------------


def rand_bytes(n_md5: int, seed: str) -> str:
    """SQL for ``16 * n_md5`` bytes that look random (a random md5 repeated: below the TOAST
    threshold nothing is compressed, so the stored size is what ciphertext would take)."""
    return f"decode(repeat(md5(random()::text || {seed}), {n_md5}), 'hex')"


# The columns of every generated case, in the order the SELECTs below give them.
INSERT_CASE = """INSERT INTO intake_case (public_id, tenant_id, office_id, questionnaire_id,
    category, channel, status, receipt_lookup, office_keypair_id, key_for_office,
    key_for_receipt, has_contact, received_on, acknowledged_on, feedback_given_on,
    closed_on, outcome, in_scope, feedback_extended_until, delete_on,
    retention_extended, deletion_notice_sent, legal_hold, legal_hold_review_on,
    hold_review_sent_for, assignee_id, deputy_id)"""


def sql_steps(
    args: argparse.Namespace, real: dict[str, Any], today: datetime.date
) -> list[tuple[str, str]]:
    t = f"DATE '{today.isoformat()}'"
    n = args.cases
    tenants = args.tenants
    busy_t, busy_o, lead = real["busy_tenant_pk"], real["busy_office_pk"], real["lead_pk"]
    pks = ", ".join(str(pk) for pk in real["purge_tenant_pks"])
    return [
        (
            "office list",
            f"""CREATE TABLE bench_offices AS
            SELECT (row_number() OVER (ORDER BY o.id) - 1)::int AS n, o.id AS office_id,
                o.owner_id AS tenant_id
            FROM tenants_office o WHERE o.owner_id IN ({pks})""",  # noqa: S608
        ),
        (
            f"{n:,} closed cases due for deletion in {tenants} tenants (both wrapped keys set)",
            f"""{INSERT_CASE}
            SELECT gen_random_uuid(), o.tenant_id, o.office_id, NULL, 'procurement', 'web',
                'closed', 'p' || d.g, NULL, {rand_bytes(72, "d.g")}, {rand_bytes(5, "'r' || d.g")},
                true, d.closed - 200, d.closed - 197, d.closed - 120, d.closed,
                'not_substantiated', true, NULL, d.del, false, true, false, NULL, NULL, NULL, NULL
            FROM (SELECT g, {t} - (1 + g % 90) AS del,
                    ({t} - (1 + g % 90) - interval '3 years')::date AS closed
                FROM generate_series(0, {n - 1}) g) d
            JOIN bench_offices o ON o.n = d.g % {tenants}
            ORDER BY d.g""",  # noqa: S608
        ),
        (
            "list of the purged cases (for the verification)",
            f"""CREATE TABLE bench_purged AS
            SELECT c.id, c.public_id, c.tenant_id FROM intake_case c
            WHERE c.tenant_id IN ({pks});
            CREATE INDEX ON bench_purged (id)""",  # noqa: S608
        ),
        (
            "2 messages per purged case",
            f"""INSERT INTO chat_message (public_id, case_id, side, author_id, body_ciphertext,
                created_on, read)
            SELECT gen_random_uuid(), c.id,
                CASE WHEN k = 1 THEN 'reporter' ELSE 'office' END, NULL,
                {rand_bytes(24, "c.id")}, c.received_on + 10 * k, true
            FROM intake_case c CROSS JOIN generate_series(1, 2) k
            WHERE c.tenant_id IN ({pks}) ORDER BY c.id, k""",  # noqa: S608
        ),
        (
            "2 case records per purged case (answers, contact)",
            f"""INSERT INTO intake_caserecord (public_id, case_id, kind, ciphertext)
            SELECT gen_random_uuid(), c.id, k,
                CASE WHEN k = 'answers' THEN {rand_bytes(96, "c.id")}
                    ELSE {rand_bytes(12, "c.id")} END
            FROM intake_case c CROSS JOIN unnest(ARRAY['answers', 'contact']) k
            WHERE c.tenant_id IN ({pks}) ORDER BY c.id""",  # noqa: S608
        ),
        (
            "1 note per purged case",
            f"""INSERT INTO casework_note (public_id, case_id, author_id, body_ciphertext,
                created_on)
            SELECT gen_random_uuid(), c.id, NULL, {rand_bytes(16, "c.id")}, c.received_on + 5
            FROM intake_case c WHERE c.tenant_id IN ({pks}) ORDER BY c.id""",  # noqa: S608
        ),
        (
            "1 attachment row per purged case (files/xxxx/<32 hex>, as intake names them)",
            f"""INSERT INTO intake_attachment (public_id, case_id, side, storage_name,
                stored_size, meta_ciphertext)
            SELECT gen_random_uuid(), c.id, 'reporter',
                'files/' || substr(h, 1, 4) || '/' || substr(h, 5) || substr(h, 1, 4),
                {FILE_BYTES}, {rand_bytes(12, "c.id")}
            FROM (SELECT id, md5(public_id::text) AS h FROM intake_case
                WHERE tenant_id IN ({pks})) c ORDER BY c.id""",  # noqa: S608
        ),
        (
            f"{args.busy:,} open cases in the busy office (received in the last 120 days)",
            f"""{INSERT_CASE}
            SELECT gen_random_uuid(), {busy_t}, {busy_o}, NULL,
                (ARRAY['procurement', 'tax', 'environment', 'other'])[1 + g % 4], 'web',
                (ARRAY['received', 'acknowledged', 'scope_checked', 'plausibility',
                    'investigation', 'measures', 'feedback_given'])[1 + g % 7],
                'b' || g, NULL, NULL, NULL, g % 5 = 0, {t} - (g % 120),
                CASE WHEN g % 7 > 0 THEN {t} - (g % 120) + 2 END,
                CASE WHEN g % 7 = 6 THEN {t} - (g % 120) + 60 END,
                NULL, '', CASE WHEN g % 7 > 1 THEN true END, NULL, NULL, false, false, false,
                NULL, NULL, CASE WHEN g % 2 = 0 THEN {lead} END, NULL
            FROM generate_series(0, {args.busy - 1}) g ORDER BY g""",  # noqa: S608
        ),
        (
            "an unread reporter message for a quarter of the busy office's cases",
            f"""INSERT INTO chat_message (public_id, case_id, side, author_id, body_ciphertext,
                created_on, read)
            SELECT gen_random_uuid(), id, 'reporter', NULL, {rand_bytes(24, "id")},
                received_on, false
            FROM intake_case
            WHERE office_id = {busy_o} AND abs(hashtext(receipt_lookup)) % 4 = 0""",  # noqa: S608
        ),
        (
            "one audit event per case (case.created), chained per tenant",
            """INSERT INTO casework_auditevent (tenant_id, sequence, at, actor_id, actor_label,
                verb, object_type, object_id, case_public_id, previous_digest, digest)
            SELECT c.tenant_id,
                COALESCE(m.top, 0) + row_number() OVER (PARTITION BY c.tenant_id ORDER BY c.id),
                c.received_on::timestamp AT TIME ZONE 'UTC', NULL, 'reporter', 'case.created',
                'case', c.public_id::text, c.public_id, repeat('0', 64),
                md5(c.public_id::text) || md5(c.id::text)
            FROM intake_case c
            LEFT JOIN (SELECT tenant_id, max(sequence) AS top FROM casework_auditevent
                GROUP BY tenant_id) m ON m.tenant_id = c.tenant_id""",
        ),
        ("drop the office list", "DROP TABLE bench_offices"),
    ]


def run_sql(steps: list[tuple[str, str]], tables: list[str]) -> None:
    import psycopg
    from psycopg import sql as pgsql

    defaults = column_defaults(tables)
    with psycopg.connect(DSN, autocommit=True) as conn:
        for table, column, value in defaults:
            conn.execute(
                pgsql.SQL("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}").format(
                    pgsql.Identifier(table), pgsql.Identifier(column), pgsql.Literal(value)
                )
            )
        for label, sql in steps:
            start = time.perf_counter()
            for statement in sql.split(";"):
                conn.execute(statement)
            print(f"  {label}: {time.perf_counter() - start:.1f} s", flush=True)
        for table, column, _value in defaults:
            conn.execute(
                pgsql.SQL("ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT").format(
                    pgsql.Identifier(table), pgsql.Identifier(column)
                )
            )


def seal_audit_chains() -> int:
    """Give the seeded ``case.created`` events real previous digests and digests (HMAC as
    ``audit_record`` computes it), so ``audit_check`` can verify whole chains after the purge."""
    import psycopg

    from casework.audit import GENESIS_DIGEST, _digest, _key
    from casework.models import AuditEvent
    from whistle.tenants.models import Tenant

    key = _key()
    rows: list[tuple[int, str, str]] = []
    for tenant in Tenant.objects.all():
        previous = GENESIS_DIGEST
        events = AuditEvent.objects.filter(tenant=tenant).order_by("sequence")
        for event in events.iterator(chunk_size=5000):
            if event.verb == "case.created":
                event.previous_digest = previous
                event.digest = _digest(key, event, str(tenant.public_id))
                rows.append((event.pk, event.previous_digest, event.digest))
            previous = event.digest
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE sealed (id bigint, previous text, digest text)")
        with conn.cursor().copy("COPY sealed FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute(
            "UPDATE casework_auditevent e SET previous_digest = s.previous, digest = s.digest "
            "FROM sealed s WHERE e.id = s.id"
        )
    return len(rows)


def write_files() -> int:
    """One 1 KiB file per attachment row, where storage expects it (a plain write per file)."""
    import psycopg

    block = secrets.token_bytes(FILE_BYTES)
    made: set[str] = set()
    count = 0
    query = "COPY (SELECT storage_name FROM intake_attachment) TO STDOUT"
    with psycopg.connect(DSN) as conn, conn.cursor() as cur, cur.copy(query) as copy:
        for row in copy.rows():
            name = str(row[0])
            folder = name.rsplit("/", 1)[0]
            if folder not in made:
                (MEDIA / folder).mkdir(parents=True, exist_ok=True)
                made.add(folder)
            (MEDIA / name).write_bytes(block)
            count += 1
    return count


def prepare(args: argparse.Namespace) -> dict[str, Any]:
    import psycopg

    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB], check=True)
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=ENV, check=True)
    subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-n", "7", "flushdb"], check=True, capture_output=True
    )
    shutil.rmtree(MEDIA, ignore_errors=True)
    MEDIA.mkdir(parents=True)
    start = time.perf_counter()
    real: dict[str, Any] = run_setup(
        __file__, ["--make-setup", f"--tenants={args.tenants}"], ROOT, ENV
    )
    print(
        f"  busy office with a lead (TOTP, office keys), {args.tenants} tenants: "
        f"{time.perf_counter() - start:.1f} s",
        flush=True,
    )
    today = datetime.datetime.now(tz=zoneinfo.ZoneInfo("Europe/Berlin")).date()  # tenant_today
    run_sql(
        sql_steps(args, real, today),
        [
            "intake_case",
            "chat_message",
            "intake_caserecord",
            "casework_note",
            "intake_attachment",
            "casework_auditevent",
        ],
    )
    start = time.perf_counter()
    sealed = seal_audit_chains()
    print(
        f"  audit chains sealed with real digests ({sealed:,} events): "
        f"{time.perf_counter() - start:.1f} s"
    )
    start = time.perf_counter()
    files = write_files()
    print(f"  {files:,} files of {FILE_BYTES} bytes: {time.perf_counter() - start:.1f} s")
    with psycopg.connect(DSN, autocommit=True) as conn:
        start = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        print(f"  VACUUM ANALYZE: {time.perf_counter() - start:.1f} s", flush=True)
        for table in (
            "intake_case",
            "chat_message",
            "intake_caserecord",
            "casework_note",
            "intake_attachment",
            "casework_auditevent",
        ):
            row = conn.execute(
                "SELECT reltuples::bigint, pg_size_pretty(pg_total_relation_size(oid)) "
                "FROM pg_class WHERE relname = %s",
                (table,),
            ).fetchone()
            assert row is not None
            print(f"  {table}: {row[0]:,} rows, {row[1]} with indexes")
    return real


# --- HTTP -------------------------------------------------------------------------------------


def summary(times: list[float]) -> tuple[float, float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), percentile(ordered, 0.95), ordered[-1]


def inbox_once(browser: Browser, path: str) -> float:
    start = time.perf_counter()
    status, body = browser.request("GET", path)
    elapsed = (time.perf_counter() - start) * 1000
    ok = status == 200 and BUSY_NAME.encode() in body and body.count(b"<tr") > 1  # rows listed
    assert ok, (status, body[:500])
    return elapsed


def baseline_inbox(
    args: argparse.Namespace, browser: Browser, inbox: str
) -> tuple[float, float, float, float, int]:
    """p50, p95, max of ``--requests`` inbox requests, the CPU share of other processes and
    the number of PostgreSQL sessions opened meanwhile."""
    import psycopg

    with psycopg.connect(DSN, autocommit=True) as conn:
        sessions = db_counters(conn)[3]
        ticks_before = cpu_snapshot()
        times = []
        for _ in range(args.requests):
            times.append(inbox_once(browser, inbox))
            time.sleep(args.pause)
        other = other_share(ticks_before, cpu_snapshot())
        sessions = db_counters(conn)[3] - sessions
    return (*summary(times), other, sessions)


# --- machine and process figures ----------------------------------------------------------------


def cpu_snapshot() -> tuple[int, dict[str, int]]:
    """(busy ticks of the whole machine, {pid: CPU ticks} of every process that is not ours)
    from /proc. Ours: this process and its descendants, and the PostgreSQL processes except
    backends of other databases. Other processes are counted directly (by the growth of their
    own ticks), because ours include short-lived ones whose ticks vanish when they exit: the
    server opens a PostgreSQL connection per request (see ``sessions`` in the output)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    busy = sum(int(v) for v in fields[:8]) - int(fields[3]) - int(fields[4])  # minus idle, iowait
    me = str(os.getpid())
    procs: dict[str, tuple[str, str, int, bool]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        rest = text[text.rindex(")") + 2 :].split()
        pg_ours = False
        if comm == "postgres":
            try:
                cmdline = (stat.parent / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            backend = re.match(r"postgres: [^:]+: \S+ (\S+) \S+\(\d+\)", cmdline)
            pg_ours = not backend or backend.group(1) == DB
        procs[stat.parent.name] = (comm, rest[1], int(rest[11]) + int(rest[12]), pg_ours)
    ours = {me}
    for _ in range(3):  # children, grandchildren (time -v -> manage.py)
        ours |= {pid for pid, (_c, ppid, _t, _pg) in procs.items() if ppid in ours}
    others = {pid: t for pid, (_c, _p, t, pg) in procs.items() if pid not in ours and not pg}
    return busy, others


def other_share(before: tuple[int, dict[str, int]], after: tuple[int, dict[str, int]]) -> float:
    """Share of the machine's busy CPU time that other processes used between two snapshots."""
    busy = after[0] - before[0]
    other = sum(max(t - before[1].get(pid, 0), 0) for pid, t in after[1].items())
    return min(other / max(busy, 1), 1.0)


def child_of(pid: int) -> int | None:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(kids[0]) if kids else None


def db_counters(conn: Any) -> tuple[int, int, int, int]:
    """(commits, rollbacks, WAL position in bytes, sessions opened) of the bench database."""
    conn.execute("SELECT pg_stat_clear_snapshot()")
    row = conn.execute(
        "SELECT xact_commit, xact_rollback, pg_current_wal_lsn() - '0/0'::pg_lsn, sessions "
        "FROM pg_stat_database WHERE datname = current_database()"
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def time_v(text: str, label: str) -> str:
    match = re.search(rf"^\s*{re.escape(label)}: (.+)$", text, re.M)
    return match.group(1).strip() if match else "?"


# --- the purge under load -----------------------------------------------------------------------


def purge_under_load(args: argparse.Namespace, browser: Browser, inbox: str) -> dict[str, Any]:
    """Run ``manage.py retention_run`` under ``/usr/bin/time -v`` and request the inbox with
    the baseline's pacing until it ends. RSS and progress are sampled by a thread."""
    import psycopg

    log_dir = ROOT / "var" / "bench"
    out_path, err_path = log_dir / "retention-run.out", log_dir / "retention-run.time"
    samples: list[tuple[float, int, int]] = []  # (seconds, RSS KiB, deletion records finished)
    done = threading.Event()
    with psycopg.connect(DSN, autocommit=True) as conn:
        before = db_counters(conn)
        ticks_before = cpu_snapshot()
        with out_path.open("wb") as out, err_path.open("wb") as err:
            start = time.perf_counter()
            proc = subprocess.Popen(
                ["/usr/bin/time", "-v", PYTHON, *PURGE_COMMAND],
                cwd=ROOT,
                env=ENV,
                stdout=out,
                stderr=err,
            )

            def sample() -> None:
                with psycopg.connect(DSN, autocommit=True) as sconn:
                    while not done.is_set():
                        child = child_of(proc.pid)
                        rss = rss_kib(child) if child else 0
                        row = sconn.execute(
                            "SELECT count(*) FROM casework_deletionrecord WHERE finished"
                        ).fetchone()
                        if rss and row is not None:
                            samples.append((time.perf_counter() - start, rss, int(row[0])))
                        done.wait(1.0)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            during: list[tuple[float, float]] = []  # (seconds into the purge, ms)
            deadline = start + args.purge_timeout
            while proc.poll() is None and time.perf_counter() < deadline:
                at = time.perf_counter() - start
                during.append((at, inbox_once(browser, inbox)))
                time.sleep(args.pause)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
                raise SystemExit(f"purge still running after {args.purge_timeout} s: killed")
            wall = time.perf_counter() - start
            done.set()
            sampler.join()
        ticks_after = cpu_snapshot()
        after = db_counters(conn)
    time_text = err_path.read_text(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"retention_run failed ({proc.returncode}):\n{time_text[-3000:]}")
    return {
        "wall": wall,
        "during": during,
        "samples": samples,
        "commits": after[0] - before[0],
        "rollbacks": after[1] - before[1],
        "wal": after[2] - before[2],
        "other_cpu": other_share(ticks_before, ticks_after),
        "maxrss_kib": int(time_v(time_text, "Maximum resident set size (kbytes)") or 0),
        "time_wall": time_v(time_text, "Elapsed (wall clock) time (h:mm:ss or m:ss)"),
        "user": time_v(time_text, "User time (seconds)"),
        "sys": time_v(time_text, "System time (seconds)"),
        "cpu": time_v(time_text, "Percent of CPU this job got"),
        "stdout": out_path.read_text(errors="replace").strip(),
    }


def verify(args: argparse.Namespace, real: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(what, found, expected) after the purge."""
    import psycopg

    n = args.cases
    checks = [
        (
            "purged cases' case rows left",
            "SELECT count(*) FROM intake_case c JOIN bench_purged p USING (id)",
            0,
        ),
        (
            "their messages left",
            "SELECT count(*) FROM chat_message m JOIN bench_purged p ON p.id = m.case_id",
            0,
        ),
        (
            "their case records left",
            "SELECT count(*) FROM intake_caserecord r JOIN bench_purged p ON p.id = r.case_id",
            0,
        ),
        (
            "their notes left",
            "SELECT count(*) FROM casework_note x JOIN bench_purged p ON p.id = x.case_id",
            0,
        ),
        (
            "their attachment rows left",
            "SELECT count(*) FROM intake_attachment a JOIN bench_purged p ON p.id = a.case_id",
            0,
        ),
        (
            "finished deletion records of the purged cases",
            "SELECT count(*) FROM casework_deletionrecord d JOIN bench_purged p "
            "ON p.public_id = d.case_public_id WHERE d.finished AND d.reason = 'retention'",
            n,
        ),
        (
            "deletion records with counts 2 records / 2 messages / 1 note / 1 attachment",
            "SELECT count(*) FROM casework_deletionrecord WHERE counts = "
            """'{"records": 2, "messages": 2, "attachments": 1, "notes": 1}'::jsonb""",
            n,
        ),
        (
            "unfinished deletion records",
            "SELECT count(*) FROM casework_deletionrecord WHERE NOT finished",
            0,
        ),
        (
            "case.deleted audit events of the purged cases",
            "SELECT count(*) FROM casework_auditevent e JOIN bench_purged p "
            "ON p.public_id = e.case_public_id WHERE e.verb = 'case.deleted'",
            n,
        ),
        (
            "busy office cases left (untouched)",
            f"SELECT count(*) FROM intake_case WHERE office_id = {real['busy_office_pk']}",  # noqa: S608
            args.busy,
        ),
    ]
    out = []
    with psycopg.connect(DSN, autocommit=True) as conn:
        for label, sql, expected in checks:
            row = conn.execute(sql).fetchone()
            out.append((label, int(row[0]) if row else -1, expected))
    files = sum(len(names) for _dir, _sub, names in os.walk(MEDIA / "files"))
    out.append(("files left in storage (all were the purged cases')", files, 0))
    from casework.audit import audit_check
    from whistle.tenants.models import Tenant

    broken = 0
    for tenant in Tenant.objects.filter(pk__in=real["purge_tenant_pks"]):
        broken += len(audit_check(tenant=tenant).problems)
    out.append(("audit chain problems in the purged tenants (audit_check)", broken, 0))
    return out


def startup_seconds() -> float:
    """Wall time of a management command that does nothing much (interpreter + Django)."""
    start = time.perf_counter()
    subprocess.run(
        [PYTHON, "manage.py", "check", "-v0"], cwd=ROOT, env=ENV, check=True, capture_output=True
    )
    return time.perf_counter() - start


# --- profile: where the time goes, in process ------------------------------------------------------


class Stop(Exception):
    pass


# (step, the step it runs inside): the functions of casework.retention.engine that are timed.
PROFILED = [
    ("_shred_batch", None),
    ("_record_deletions", "_shred_batch"),
    ("audit_record_cases", "_shred_batch"),
    ("finish_batch", None),
    ("delete_file", "finish_batch"),
]


def profile(batches: int, batch_size: int) -> None:
    """``retention_run`` in this process for ``batches`` batches, the steps of
    :data:`PROFILED` timed and every SQL statement and commit attributed to the innermost step
    running (outside them: the selection of due cases)."""
    from django.db import connection

    from casework.retention import engine as retention

    outside = "select due cases"
    stack = [outside]
    wall: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    sql_n: dict[str, int] = defaultdict(int)
    sql_s: dict[str, float] = defaultdict(float)
    by_statement: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*a: Any, **kw: Any) -> Any:
            stack.append(name)
            start = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                wall[name] += time.perf_counter() - start
                calls[name] += 1
                stack.pop()

        return wrapper

    def note(sql: str, seconds: float) -> None:
        step = stack[-1]
        sql_n[step] += 1
        sql_s[step] += seconds
        shape = re.sub(r"IN \((%s, )*%s\)", "IN (…)", re.sub(r"\s+", " ", sql))[:100]
        entry = by_statement[(step, shape)]
        entry[0] += 1
        entry[1] += seconds

    def execute(ex: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return ex(sql, params, many, context)
        finally:
            note(sql, time.perf_counter() - start)

    db: Any = connection  # COMMIT does not pass through execute_wrapper
    original_commit = db._commit

    def commit() -> None:
        start = time.perf_counter()
        try:
            original_commit()
        finally:
            note("COMMIT", time.perf_counter() - start)

    db._commit = commit
    for name, _parent in PROFILED:
        setattr(retention, name, timed(name, getattr(retention, name)))

    done = [0]

    def after_batch() -> None:
        done[0] += 1
        if done[0] >= batches:
            raise Stop

    start = time.perf_counter()
    with connection.execute_wrapper(execute), contextlib.suppress(Stop):
        # pause=0: the profile shows the work; the pause between batches is not work
        retention.retention_run(batch_size=batch_size, after_batch=after_batch, pause=0)
    total = time.perf_counter() - start
    cases = batches * batch_size
    print(
        f"\nprofile: {cases:,} cases in {batches} batches of {batch_size}: {total:.1f} s "
        f"= {cases / total:.0f} cases/s (100,000 cases: ~{100_000 / cases * total:.0f} s)"
    )
    print(f"{'step':22} {'calls':>6} {'own s':>7} {'SQL n':>7} {'SQL s':>7}")
    for step, parent in [(outside, None), *PROFILED]:
        if step == outside:
            own = total - sum(wall[name] for name, p in PROFILED if p is None)
        else:
            own = wall[step] - sum(wall[name] for name, p in PROFILED if p == step)
        label = f"  {step}" if parent else step
        print(f"{label:22} {calls[step]:6} {own:7.2f} {sql_n[step]:7} {sql_s[step]:7.2f}")
    print(
        f"per case: {sum(sql_n.values()) / cases:.2f} SQL statements (COMMIT included), "
        f"{sum(sql_s.values()) * 1000 / cases:.2f} ms in SQL, {total * 1000 / cases:.2f} ms "
        "in all"
    )
    print("statements by total time (step: count, s, statement):")
    for (step, sql), (count, seconds) in sorted(by_statement.items(), key=lambda kv: -kv[1][1])[
        :20
    ]:
        print(f"  {step[:18]:18} {int(count):6} {seconds:6.2f}  {sql}")


# --- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--busy", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--pause", type=float, default=0.25, help="seconds between requests")
    parser.add_argument("--purge-timeout", type=int, default=3 * 3600)
    parser.add_argument("--profile-batches", type=int, default=0)
    parser.add_argument(
        "--batch-size", type=int, default=0, help="for --profile-batches (default: BATCH_SIZE)"
    )
    parser.add_argument("--make-setup", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.make_setup:
        make_setup(args.tenants)
        return
    os.environ.update(ENV)
    import django

    django.setup()  # reads settings only: the database is created below

    print(f"machine: {machine(f'PostgreSQL {postgres_version()}')}")
    print(
        f"generating {args.cases:,} due cases in {args.tenants} tenants and a busy office of "
        f"{args.busy:,} open cases:",
        flush=True,
    )
    start = time.perf_counter()
    real = prepare(args)
    print(f"  total: {time.perf_counter() - start:.0f} s", flush=True)

    if args.profile_batches:
        from casework.retention import BATCH_SIZE

        profile(args.profile_batches, args.batch_size or BATCH_SIZE)
        return

    server, port = start_server(ROOT, ENV)
    try:
        browser = staff_login(port, LEAD_EMAIL, PASSWORD, real["totp_key"])
        inbox = f"/staff/offices/{real['busy_office']}/"
        for _ in range(5):  # warm-up
            inbox_once(browser, inbox)
        b50, b95, bmax, base_other, sessions = baseline_inbox(args, browser, inbox)
        print(
            f"\nbaseline inbox, {args.requests} requests ({args.pause} s apart): p50 {b50:.0f} ms, "
            f"p95 {b95:.0f} ms, max {bmax:.0f} ms (other processes: {base_other:.0%} of CPU; "
            f"{sessions} PostgreSQL sessions opened)",
            flush=True,
        )

        print("purging (manage.py retention_run) while the inbox is requested …", flush=True)
        r = purge_under_load(args, browser, inbox)
        times = [ms for _at, ms in r["during"]]
        d50, d95, dmax = summary(times)
        target_s = PURGE_TARGET_S_PER_100K * args.cases / 100_000
        startup = startup_seconds()
        print(f"\nmachine: {machine(f'PostgreSQL {postgres_version()}')}")
        print(f"purge: {r['stdout']}")
        print(
            f"  wall {r['wall']:.1f} s for {args.cases:,} cases = "
            f"{args.cases / r['wall']:.0f} cases/s, {r['wall'] * 1000 / args.cases:.2f} ms/case "
            f"(target <= {target_s:.0f} s: {'ok' if r['wall'] <= target_s else 'MISSED'}); "
            f"time -v: {r['time_wall']}, user {r['user']} s, sys {r['sys']} s, CPU {r['cpu']}; "
            f"interpreter + Django start-up alone {startup:.1f} s"
        )
        print(
            f"  PostgreSQL: {r['commits']:,} transactions committed, read-only autocommit "
            f"statements and the server's included ({r['commits'] / args.cases:.2f} per case), "
            f"{r['rollbacks']} rollbacks, {r['wal'] / 2**20:.0f} MiB WAL "
            f"({r['wal'] / args.cases / 1024:.1f} KiB per case)"
        )
        print(f"  other processes used {r['other_cpu']:.0%} of the busy CPU time meanwhile")
        samples = r["samples"]
        rss = [s[1] for s in samples]
        print(
            f"  peak RSS (time -v) {r['maxrss_kib'] / 1024:.0f} MiB; sampled every 1 s: "
            f"{len(rss)} samples, min {min(rss) / 1024:.0f} MiB, max {max(rss) / 1024:.0f} MiB"
        )
        print("  over time (s: RSS MiB, deletions finished, cases/s since the previous row):")
        rows = [
            samples[min(len(samples) - 1, round(i * (len(samples) - 1) / 10))] for i in range(11)
        ]
        prev_t, prev_n = 0.0, 0
        for at, kib, finished in rows:
            rate = (finished - prev_n) / (at - prev_t) if at > prev_t else 0
            print(f"    {at:7.0f} s: {kib / 1024:6.1f} MiB, {finished:7,} finished, {rate:6.0f}/s")
            prev_t, prev_n = at, finished
        working = [kib for _at, kib, finished in samples if finished > 0]
        if working:
            first, last = working[0], working[-1]
            growth = (last - first) / 1024
            print(
                f"  RSS once the first batch was finished {first / 1024:.1f} MiB, at the end "
                f"{last / 1024:.1f} MiB (max {max(working) / 1024:.1f}): growth {growth:.1f} MiB"
                f" ({growth * 1024 * 1024 / args.cases:.0f} bytes per case; flat would be ~0)"
            )
        else:
            print("  RSS growth: the purge ended before a sample after its first batch")
        limit = b95 * (1 + INBOX_TOLERANCE)
        print(
            f"inbox during the purge, {len(times)} requests: p50 {d50:.0f} ms, p95 {d95:.0f} ms, "
            f"max {dmax:.0f} ms vs baseline p95 {b95:.0f} ms (target <= {limit:.0f} ms: "
            f"{'ok' if d95 <= limit else 'MISSED'})"
        )
        tenth = r["wall"] / 10
        parts = []
        for i in range(10):
            part = sorted(ms for at, ms in r["during"] if i * tenth <= at < (i + 1) * tenth)
            if part:
                parts.append(f"{percentile(part, 0.95):.0f}")
        print(f"  p95 per tenth of the purge: {', '.join(parts)} ms")
        a50, a95, amax, after_other, _sessions = baseline_inbox(args, browser, inbox)
        print(
            f"inbox after the purge (same server, {args.requests} requests): p50 {a50:.0f} ms, "
            f"p95 {a95:.0f} ms, max {amax:.0f} ms (other processes: {after_other:.0%} of CPU)"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)

    print("\nverification:")
    failed = 0
    for label, found, expected in verify(args, real):
        ok = found == expected
        failed += not ok
        print(f"  {label}: {found:,} (expected {expected:,}) {'ok' if ok else 'FAILED'}")
    if failed:
        raise SystemExit(f"{failed} verification(s) failed")


if __name__ == "__main__":
    main()
