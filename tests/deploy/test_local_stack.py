"""The whole stack without containers (issue 14 point 5): ``deploy/local-stack.sh`` as an
operator runs it — production settings, two ``manage.py serve`` processes (A and B) behind the
round-robin proxy, a real Celery worker and a real Celery beat — on a database of its own and
the test Redis, with mail going to an SMTP server this test runs.

One journey through it:

1. a reporter files a report through process A (no JavaScript) and the office lead, logged in
   with password and TOTP code through process B, acknowledges it; the reporter's mailbox on
   A shows the acknowledgement;
2. the lead's reply posted on B reaches the reporter's websockets on A and through the proxy
   (the Redis channel layer between processes);
3. the reporter's message makes the worker mail the office's notice; the SMTP server holds
   the answer, the worker is killed (SIGKILL) mid-send, the script starts it again and the
   notice goes out once, after the visibility timeout (acks late);
4. the case is made overdue in the database; beat (reminders every 2 s here) has the worker
   mail the lead's reminder to the SMTP server;
5. SIGTERM stops every process of the stack.

Nothing typed by the reporter or the lead, nor the receipt, reaches any process's log.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from django.conf import settings
from django_otp.oath import TOTP
from psycopg import sql
from websockets.sync.client import ClientConnection, connect

from tests.chat.test_two_servers import QUIET
from tests.live import Browser, SmtpEdge, refused_port, wait_for
from tests.plugins.sensitive import SensitiveRegistry

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "local-stack.sh"
DATA = ROOT / "tests" / "deploy" / "stack_data.py"
# Short for the test (the deployed default is 600 s): a killed worker's task comes back after
# this many seconds. Tasks are stopped at half of it (whistle/settings.py), well after the
# moment the test kills the worker.
VISIBILITY_TIMEOUT = 10
START_TIMEOUT = 120.0
SENTINELS = (
    "SENTINEL-stack-report-1729",
    "SENTINEL-stack-ack-1730",
    "SENTINEL-stack-reply-1731",
    "SENTINEL-stack-reporter-1732",
)


@dataclass
class Stack:
    process: subprocess.Popen[bytes]
    directory: Path
    env: dict[str, str]
    port: int
    port_a: int
    port_b: int
    output_path: Path

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def log(self, name: str) -> str:
        path = self.directory / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.directory.glob("*.log*"))
        )

    def pid(self, name: str) -> int:
        path = self.directory / f"{name}.pid"
        text = path.read_text().strip() if path.exists() else ""
        return int(text) if text else 0

    def ready(self) -> bool:
        assert self.process.poll() is None, self.output() + self.logs()
        return "Whistle stack ready" in self.output()

    def data(self, *args: str) -> Any:
        out = subprocess.run(
            [sys.executable, str(DATA), *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        ).stdout
        return json.loads(out.strip().splitlines()[-1])


def _free_port() -> int:
    return refused_port()  # bound and released: free now


def _stack_database_url(name: str) -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{name}"


def _drop_database(name: str) -> None:
    db = settings.DATABASES["default"]
    with psycopg.connect(
        dbname="postgres",
        host=str(db.get("HOST") or "127.0.0.1"),
        port=str(db.get("PORT") or 5432),
        user=str(db.get("USER") or "postgres"),
        password=str(db.get("PASSWORD") or "") or None,
        autocommit=True,
    ) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _process_group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def smtp() -> Iterator[SmtpEdge]:
    # Holding starts at step 3 of the test: the new report's notice goes out first.
    edge = SmtpEdge(hold=False)
    yield edge
    edge.close()


@pytest.fixture
def stack(tmp_path: Path, smtp: SmtpEdge) -> Iterator[Stack]:
    database = f"{settings.DATABASES['default']['NAME']}_localstack"[:63]
    _drop_database(database)
    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.flushdb()
    directory = tmp_path / "stack"
    env = {
        # A clean environment: nothing of this test process's settings leaks in.
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "LANG": "C.UTF-8",
        "PYTHON": sys.executable,
        "STACK_DIR": str(directory),
        "STACK_PORT": str(_free_port()),
        "STACK_PORT_A": str(_free_port()),
        "STACK_PORT_B": str(_free_port()),
        "DATABASE_URL": _stack_database_url(database),
        "REDIS_URL": settings.REDIS_URL,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
        # The no-JS journey without waiting between steps, and a cheap proof of work.
        "INTAKE_MIN_STEP_SECONDS": "0",
        "INTAKE_POW_BITS": "4",
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "REMINDER_INTERVAL_SECONDS": "2",
    }
    output_path = tmp_path / "local-stack.out"
    with output_path.open("wb") as output:
        process = subprocess.Popen(
            ["bash", str(SCRIPT)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # as from a terminal: the script leads its process group
        )
    stack = Stack(
        process=process,
        directory=directory,
        env={**env, "DJANGO_SETTINGS_MODULE": "whistle.settings", "PYTHONPATH": str(ROOT)},
        port=int(env["STACK_PORT"]),
        port_a=int(env["STACK_PORT_A"]),
        port_b=int(env["STACK_PORT_B"]),
        output_path=output_path,
    )
    # The stack's own settings for the data helper (the script writes the secrets' files).
    try:
        wait_for(stack.ready, timeout=START_TIMEOUT, what="the stack to start")
        stack.env |= {
            "WHISTLE_MODE": "production",
            "SECRET_KEY_FILE": str(directory / "secret_key"),
            "RECEIPT_PEPPER_FILE": str(directory / "receipt_pepper"),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "WHISTLE_BASE_URL": f"http://127.0.0.1:{stack.port}",
            "MEDIA_ROOT": str(directory / "files"),
            "STATIC_ROOT": str(directory / "static"),
            "WHISTLE_VAR_DIR": str(directory),
            "EMAIL_USE_TLS": "false",
        }
        yield stack
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # anything the script left behind
        _drop_database(database)
        broker.flushdb()


# --- the browsers --------------------------------------------------------------------------


def _post(browser: Browser, path: str, form: dict[str, str]) -> tuple[int, str, str]:
    answer = browser.post(path, form)
    return answer.status, answer.headers.get("location", ""), answer.body


def _receipt(html: str) -> str:
    groups = re.findall(r'<span class="group">([0-9A-Z]{4})</span>', html)
    assert len(groups) == 7, html[:3000]
    return "-".join(groups)


def _file_report(port: int, slug: str) -> str:
    """The reporter's journey without JavaScript; returns the receipt."""
    reporter = Browser(port=port)
    root = f"/t/{slug}/"
    assert reporter.get(root + "report/").status == 200
    assert _post(reporter, root + "report/", {"category": "environment"})[0] == 302
    steps = {
        "what": {"what": SENTINELS[0], "where": "Bauamt", "when_period": "Mai"},
        "who": {"who": "someone", "how_known": "myself", "harmed": "public"},
        "more": {"ongoing": "yes", "reported_elsewhere": "no", "truthful": "on"},
    }
    for step, form in steps.items():
        status, _, body = _post(reporter, root + f"report/step/{step}/", form)
        assert status == 302, body[:3000]
    assert _post(reporter, root + "report/contact/", {"mode": "anonymous"})[0] == 302
    assert reporter.get(root + "report/check/").status == 200
    status, location, body = _post(reporter, root + "report/submit/", {})
    if status == 302:
        answer = reporter.get(location)
        status, body = answer.status, answer.body
    assert status == 200, body[:3000]
    return _receipt(body)


def _mailbox(port: int, slug: str, receipt: str) -> Browser:
    reporter = Browser(port=port)
    assert reporter.get(f"/t/{slug}/mailbox/").status == 200
    status, _, body = _post(reporter, f"/t/{slug}/mailbox/", {"receipt": receipt})
    assert status == 302, body[:3000]
    return reporter


def _staff_login(port: int, email: str, password: str, totp_key: str) -> Browser:
    lead = Browser(port=port)
    assert lead.get("/staff/login/").status == 200
    status, _, body = _post(lead, "/staff/login/", {"email": email, "password": password})
    assert status == 302, body[:3000]
    code = f"{TOTP(bytes.fromhex(totp_key)).token():06d}"
    status, _, body = _post(lead, "/staff/verify/", {"code": code})
    assert status == 302, body[:3000]
    return lead


def _socket(port: int, path: str, browser: Browser) -> ClientConnection:
    cookies = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    return connect(
        f"ws://127.0.0.1:{port}{path}",
        additional_headers={"Origin": f"http://127.0.0.1:{port}", "Cookie": cookies},
        proxy=None,
        open_timeout=30,
        close_timeout=2,
        logger=QUIET,
    )


def _wait_message(ws: ClientConnection, containing: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    seen = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            data = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            break
        if data.get("type") == "message" and containing in data.get("html", ""):
            return
        seen.append(data.get("type"))
    pytest.fail(f"no message event within {timeout} s (saw {seen})")


def _kill_tree(pid: int) -> None:
    """SIGKILL a process and its children (the prefork pool of a Celery worker)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            children += [int(c) for c in (task / "children").read_text().split()]
    for victim in (pid, *children):
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)


# --- the test ------------------------------------------------------------------------------


def test_the_whole_stack_with_real_workers(
    stack: Stack, smtp: SmtpEdge, sensitive: SensitiveRegistry
) -> None:
    sensitive.add(*SENTINELS)
    made = stack.data("make-data")
    slug, office = made["slug"], made["office"]

    # The proxy forwards HTTP to the processes.
    for _ in range(2):
        assert Browser(port=stack.port).get("/readyz").status == 200

    # 1. Filed through A, acknowledged through B, the acknowledgement seen on A.
    receipt = _file_report(stack.port_a, slug)
    sensitive.add(receipt)
    (case,) = stack.data("cases")["cases"]
    # The office is told at once that a report arrived (content-free), by the worker.
    wait_for(lambda: len(smtp.delivered) == 1, timeout=90, what="the new-report notice")
    assert made["email"] in smtp.delivered[0]
    lead = _staff_login(stack.port_b, made["email"], made["password"], made["totp_key"])
    case_path = f"/staff/offices/{office}/cases/{case['id']}/"
    page = lead.get(case_path)
    assert page.status == 200 and SENTINELS[0] in page.body, page.body[:3000]
    status, _, body = _post(lead, case_path + "do/acknowledge/", {"message": SENTINELS[1]})
    assert status == 302, body[:3000]
    assert stack.data("cases")["cases"][0]["acknowledged_on"]
    reporter = _mailbox(stack.port_a, slug, receipt)
    assert SENTINELS[1] in reporter.get(f"/t/{slug}/mailbox/").body

    # 2. The lead's reply on B reaches the reporter's sockets on A and through the proxy.
    with (
        _socket(stack.port_a, f"/t/{slug}/ws/mailbox/", reporter) as on_a,
        _socket(stack.port, f"/t/{slug}/ws/mailbox/", reporter) as via_proxy,
    ):
        status, _, body = _post(lead, case_path + "do/reply/", {"body": SENTINELS[2]})
        assert status == 302, body[:3000]
        _wait_message(on_a, SENTINELS[2])
        _wait_message(via_proxy, SENTINELS[2])

    # 3. The reporter's message on A: the worker mails the office's notice; killed mid-send,
    # started again by the script, it sends it once the visibility timeout is over.
    assert len(smtp.delivered) == 1
    smtp.hold = True
    status, _, body = _post(reporter, f"/t/{slug}/mailbox/message/", {"body": SENTINELS[3]})
    assert status == 302, body[:3000]
    assert smtp.held.wait(timeout=60), stack.logs()
    killed = stack.pid("worker")
    _kill_tree(killed)
    wait_for(lambda: stack.pid("worker") not in (0, killed), what="the worker started again")
    assert len(smtp.delivered) == 1
    smtp.hold = False
    smtp.release.set()
    wait_for(lambda: len(smtp.delivered) == 2, timeout=90, what="the notice after the restart")
    notice = smtp.delivered[1]
    assert made["email"] in notice
    assert "exited with status" in stack.log("worker")
    # The mail arrives before the worker logs the task's end: wait for the line, do not race it.
    wait_for(
        lambda: bool(
            re.search(
                r"casework\.tasks\.notify_office\[[^\]]+\] succeeded",
                stack.log("worker").split("exited with status", 1)[1],
            )
        ),
        what="the restarted worker's notice task to succeed",
    )

    # 4. Overdue feedback: beat's reminder job runs on the worker, the mail reaches the sink.
    stack.data("overdue", case["id"])
    wait_for(lambda: len(smtp.delivered) == 3, timeout=60, what="the reminder mail")
    assert made["email"] in smtp.delivered[2]
    wait_for(
        lambda: (
            stack.data("reminders", case["id"])["reminders"]
            == [{"deadline": "feedback", "stage": "overdue", "sent": True}]
        ),
        what="the reminder marked sent",
    )
    assert "Sending due task deadline-reminders" in stack.log("beat")
    wait_for(
        lambda: bool(
            re.search(
                r"casework\.tasks\.send_reminder_mail\[[^\]]+\] succeeded", stack.log("worker")
            )
        ),
        what="the reminder task to succeed",
    )
    assert len(smtp.delivered) == 3  # each notice once, the reminder once

    # Nothing the reporter or the lead typed, nor the receipt, in any log or mail.
    everything = stack.output() + "".join(
        p.read_text(errors="replace") for p in stack.directory.glob("*.log*")
    )
    for secret in (*SENTINELS, receipt):
        assert secret not in everything
        assert all(secret not in mail for mail in smtp.delivered)

    # 5. SIGTERM stops every process of the stack.
    stack.process.send_signal(signal.SIGTERM)
    assert stack.process.wait(timeout=90) == 0, stack.output()
    wait_for(
        lambda: not _process_group_alive(stack.process.pid),
        what="every process of the stack to end",
    )
    assert "stopped" in stack.output()


def _settings_of(**env: str) -> dict[str, Any]:
    """CELERY_BROKER_TRANSPORT_OPTIONS and the reminders' schedule, as a process started with
    ``env`` sees them."""
    code = (
        "import json; from django.conf import settings as s; "
        "print(json.dumps({'options': s.CELERY_BROKER_TRANSPORT_OPTIONS, "
        "'reminders': str(s.CELERY_BEAT_SCHEDULE['deadline-reminders']['schedule'])}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **env},
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_dead_workers_tasks_are_looked_for_every_sixth_of_the_visibility_timeout() -> None:
    default = _settings_of()
    assert default["options"]["visibility_timeout"] == 600
    # Kombu's own 10 s x every 10th sweep: unchanged in production.
    assert default["options"]["unacked_restore_interval"] == 10
    assert default["options"]["unacked_restore_throttle"] == 10
    assert "<crontab: 17 * * * *" in default["reminders"]

    short = _settings_of(CELERY_VISIBILITY_TIMEOUT="10", REMINDER_INTERVAL_SECONDS="2")
    assert short["options"]["unacked_restore_interval"] == 1
    assert short["options"]["unacked_restore_throttle"] == 1
    assert short["reminders"] == "2"
