"""Redis down (issue 12 point 7): a message that was stored is reported as sent.

A real server process whose Redis (cache, channel layer, Celery broker) is an address that
refuses connections. The reporter's no-JavaScript mailbox form and the handler's reply form
are posted to it: both answer "sent" (a redirect), each message is stored once, nothing of
them reaches the server's output, and the office's notice that could not be queued is sent
by the catch-up job once Redis is back. A second server whose cache works but whose broker
refuses shows the same for the queuing of the notice alone.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.core import mail

from casework.tasks import catch_up_office_notices
from chat.models import Message, OfficeNotification
from tests.casework.helpers import case_url, filed_case
from tests.fixtures import World
from tests.intake.journey import base, open_mailbox, reporter
from tests.live import Browser, Server, live_env, refused_port
from tests.plugins.sensitive import SensitiveRegistry

pytestmark = pytest.mark.django_db(transaction=True)

START_TIMEOUT = 30.0


def _start(env: dict[str, str]) -> Server:
    server = Server("redis down", env)
    server.wait_ready(time.monotonic() + START_TIMEOUT)
    return server


@pytest.fixture
def redis_down(transactional_db: None) -> Iterator[Server]:
    server = _start(
        live_env(REDIS_URL=f"redis://127.0.0.1:{refused_port()}/0", WHISTLE_TEST_EAGER="0")
    )
    yield server
    server.stop()


@pytest.fixture
def broker_down(transactional_db: None) -> Iterator[Server]:
    server = _start(
        live_env(
            WHISTLE_TEST_EAGER="0",
            WHISTLE_TEST_BROKER_URL=f"redis://127.0.0.1:{refused_port()}/0",
        )
    )
    yield server
    server.stop()


def test_messages_are_sent_and_noticed_later_with_redis_down(
    world_a: World, redis_down: Server, sensitive: SensitiveRegistry
) -> None:
    sensitive.add("SENTINEL-redis-down-reporter", "SENTINEL-redis-down-reply")
    lead, case, receipt = filed_case(world_a)
    client = reporter()
    open_mailbox(client, world_a, receipt)  # logged in while Redis worked
    OfficeNotification.objects.filter(case=case).delete()
    mail.outbox.clear()

    browser = Browser.from_client(redis_down.port, client)
    sent = browser.post(
        base(world_a) + "mailbox/message/", {"body": "SENTINEL-redis-down-reporter"}
    )
    assert sent.status == 302, sent.body[:2000]
    assert sent.headers["location"].endswith("/mailbox/")
    page = browser.get(sent.headers["location"])
    assert page.status == 200
    assert "Your message has been sent to the office." in page.body
    stored = Message.objects.filter(case=case, side=Message.Side.REPORTER)
    assert stored.count() == 1
    # Nothing could be queued; the catch-up job (here in this process, whose Redis works)
    # sends the office's notice once, and only once.
    assert not OfficeNotification.objects.filter(case=case, last_sent_at__isnull=False).exists()
    assert catch_up_office_notices() == 1
    assert [m.to for m in mail.outbox] == [[world_a.handler.email]]
    assert catch_up_office_notices() == 0
    assert len(mail.outbox) == 1

    office = Browser.from_client(redis_down.port, lead)
    page = office.get(case_url(world_a, case))
    assert page.status == 200
    replied = office.post(
        case_url(world_a, case, "do/reply/"), {"body": "SENTINEL-redis-down-reply"}
    )
    assert replied.status == 302, replied.body[:2000]
    assert Message.objects.filter(case=case, side=Message.Side.OFFICE).count() == 1

    output = redis_down.output(tail=10**7)
    assert "SENTINEL-redis-down" not in output
    assert "not published" in output  # the operator sees what was skipped
    assert "office notice" in output


def test_a_notice_that_could_not_be_queued_is_caught_up(
    world_a: World, broker_down: Server, sensitive: SensitiveRegistry
) -> None:
    sensitive.add("SENTINEL-broker-down")
    _lead, case, receipt = filed_case(world_a)
    client = reporter()
    open_mailbox(client, world_a, receipt)
    OfficeNotification.objects.filter(case=case).delete()
    mail.outbox.clear()

    browser = Browser.from_client(broker_down.port, client)
    sent = browser.post(base(world_a) + "mailbox/message/", {"body": "SENTINEL-broker-down"})
    assert sent.status == 302, sent.body[:2000]
    assert Message.objects.filter(case=case, side=Message.Side.REPORTER).count() == 1
    # The gate was not closed for a task that never left: the next message tries again, and
    # the catch-up job sends the notice.
    assert catch_up_office_notices() == 1
    assert len(mail.outbox) == 1
    output = broker_down.output(tail=10**7)
    assert "office notice not queued" in output
    assert "SENTINEL-broker-down" not in output


def test_a_message_sent_over_the_socket_is_confirmed_when_redis_goes_down(
    world_a: World, transactional_db: None, sensitive: SensitiveRegistry
) -> None:
    """Redis goes away while the reporter's page is open: the message written on the socket is
    stored and confirmed ("sent"), so the page does not offer it again (a resend would store it
    twice)."""
    import json

    from django.conf import settings

    from tests.chat.test_two_servers import _socket
    from tests.live import TcpProxy

    sensitive.add("SENTINEL-socket-redis-down")
    redis_url = urlsplit(settings.REDIS_URL)
    proxy = TcpProxy(redis_url.hostname or "127.0.0.1", redis_url.port or 6379)
    server = _start(
        live_env(REDIS_URL=redis_url._replace(netloc=f"127.0.0.1:{proxy.port}").geturl())
    )
    try:
        _lead, case, receipt = filed_case(world_a)
        client = reporter()
        open_mailbox(client, world_a, receipt)
        with _socket(server, f"/t/{world_a.tenant.slug}/ws/mailbox/", client) as ws:
            proxy.cut()
            ws.send(json.dumps({"type": "send", "body": "SENTINEL-socket-redis-down"}))
            deadline = time.monotonic() + 30
            kinds = []
            while time.monotonic() < deadline:
                event = json.loads(ws.recv(timeout=deadline - time.monotonic()))
                kinds.append(event.get("type"))
                if event.get("type") == "sent":
                    break
            assert "sent" in kinds, kinds
        assert Message.objects.filter(case=case, side=Message.Side.REPORTER).count() == 1
        assert "SENTINEL-socket-redis-down" not in server.output(tail=10**7)
    finally:
        server.stop()
        proxy.close()
