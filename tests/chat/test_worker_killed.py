"""A Celery worker killed mid-task (issue 12 point 10): the office's notice goes out exactly once.

A real worker process on the real Redis broker runs ``notify_office``; its mail is held by an
SMTP server the test controls, and the worker is killed (SIGKILL) while it waits. The task was
not acknowledged (acks late) and the notice not marked (marked after sending), so after the
visibility timeout a second worker runs it again and the mail goes out; a further run of the
task sends nothing.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import pytest
import redis
from django.conf import settings
from django.core import mail

from chat.models import Message, OfficeNotification
from tests.casework.helpers import filed_case
from tests.fixtures import World
from tests.intake.journey import base, open_mailbox, reporter
from tests.live import SmtpEdge, live_env, wait_for
from tests.plugins.sensitive import SensitiveRegistry
from whistle.celery import app

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:task_always_eager has no effect on send_task"),
]

ROOT = Path(__file__).resolve().parents[2]
# Short for the test; the deployed default is 600 s (whistle/settings.py).
VISIBILITY_TIMEOUT = 6


class Worker:
    def __init__(self, env: dict[str, str]) -> None:
        self.log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "whistle",
                "worker",
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def succeeded(self) -> int:
        return len(
            re.findall(r"Task casework\.tasks\.notify_office\[[^\]]+\] succeeded", self.output())
        )

    def ready(self) -> bool:
        assert self.process.poll() is None, self.output()[-3000:]
        return " ready." in self.output()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self.log.close()


def test_a_notice_interrupted_by_a_killed_worker_is_sent_exactly_once(
    world_a: World, sensitive: SensitiveRegistry
) -> None:
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    sensitive.add("SENTINEL-worker-killed")
    _lead, case, receipt = filed_case(world_a)
    client = reporter()
    open_mailbox(client, world_a, receipt)
    response = client.post(base(world_a) + "mailbox/message/", {"body": "SENTINEL-worker-killed"})
    assert response.status_code == 302
    # This process ran the notice at once (eager tasks); start again from "not yet sent".
    OfficeNotification.objects.filter(case=case).delete()
    mail.outbox.clear()
    assert Message.objects.filter(case=case, read=False).count() == 1

    smtp = SmtpEdge(hold=True)
    env = live_env(
        WHISTLE_TEST_EAGER="0",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp.port),
        EMAIL_USE_TLS="false",
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
    )
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    workers: list[Worker] = []
    try:
        first = Worker(env)
        workers.append(first)
        wait_for(first.ready, what="the first worker")
        app.send_task("casework.tasks.notify_office", args=[str(case.public_id)])
        assert smtp.held.wait(timeout=60), first.output()[-3000:]
        first.kill()  # mid-task: the mail is being sent

        state = OfficeNotification.objects.filter(case=case).first()
        assert state is None or state.last_sent_at is None  # not marked before sending
        assert smtp.delivered == []
        assert broker.zcard("unacked_index") == 1  # the task was not acknowledged

        # The task comes back once its visibility timeout is over: start the next worker then
        # (a worker looks for such tasks when it starts, and then only every 100 s).
        entries: list[tuple[bytes, float]] = list(
            broker.zrange("unacked_index", 0, 0, withscores=True)  # type: ignore[arg-type]
        )
        delivered_at = float(entries[0][1])
        wait_for(
            lambda: time.time() > delivered_at + VISIBILITY_TIMEOUT + 0.5,
            what="the visibility timeout",
        )
        smtp.hold = False
        smtp.release.set()
        second = Worker(env)
        workers.append(second)
        wait_for(lambda: len(smtp.delivered) == 1, what="the notice after the restart")
        wait_for(
            lambda: OfficeNotification.objects.filter(
                case=case, last_sent_at__isnull=False
            ).exists(),
            what="the notice marked sent",
        )
        wait_for(lambda: second.succeeded() == 1, what="the task to finish")

        # Another run of the task (a duplicate delivery, a catch-up) sends nothing.
        app.send_task("casework.tasks.notify_office", args=[str(case.public_id)])
        wait_for(lambda: second.succeeded() == 2, what="the second run")
        assert len(smtp.delivered) == 1
        assert "SENTINEL-worker-killed" not in smtp.delivered[0]
        for worker in workers:
            assert "SENTINEL-worker-killed" not in worker.output()
    finally:
        for worker in workers:
            worker.stop()
        smtp.close()
