"""Prometheus metrics at /metrics (whistle/metrics.py): by route name, behind a bearer token,
only on the operator's hosts; the scrape-time gauges from real rows and the real broker."""

from __future__ import annotations

import datetime
import re
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone
from prometheus_client import REGISTRY

import crypto
from casework.models import ReminderSent
from intake.models import Case
from tests.casework.helpers import filed_case
from tests.fixtures import World, staff_client
from tests.intake.journey import base, reporter
from whistle.tenants.models import TenantHostname

TOKEN = "metrics-token-0123456789abcdef0123456789"


def scrape(**headers: Any) -> tuple[int, str]:
    response = Client().get("/metrics", **headers)
    return response.status_code, response.content.decode()


def authorised() -> str:
    status, text = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert status == 200
    return text


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db
@override_settings(METRICS_TOKEN="")
def test_without_a_token_setting_metrics_is_the_ordinary_404() -> None:
    missing = Client().get("/metricz")
    status, text = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert status == 404

    def neutral(html: str) -> str:  # the page's CSRF token and language-switch target differ
        return re.sub(r'value="[^"]*"', 'value=""', html)

    assert neutral(text) == neutral(missing.content.decode())


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
def test_without_or_with_a_wrong_token_metrics_is_404() -> None:
    assert scrape()[0] == 404
    assert scrape(HTTP_AUTHORIZATION="Bearer wrong-token-0123456789abcdef012345")[0] == 404
    assert scrape(HTTP_AUTHORIZATION=f"Basic {TOKEN}")[0] == 404
    assert scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}x")[0] == 404
    assert scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")[0] == 200


@override_settings(METRICS_TOKEN=TOKEN)
def test_metrics_is_404_on_tenant_hosts_and_reporter_paths_and_200_by_address(
    worlds: tuple[World, World],
) -> None:
    a, b = worlds
    TenantHostname.objects.create(
        tenant=b.tenant, hostname="hinweise.betadorf.example", verified_at=timezone.now()
    )
    token = {"Authorization": f"Bearer {TOKEN}"}
    on_host = Client(HTTP_HOST="hinweise.betadorf.example").get("/metrics", headers=token)
    assert on_host.status_code == 404
    assert Client().get(base(a) + "metrics", headers=token).status_code == 404
    assert Client().get(base(a) + "metrics/", headers=token).status_code == 404
    # A process scraped at its own address (a pod's IP) answers; an address that a tenant
    # registered as its host name does not.
    assert Client(HTTP_HOST="10.1.2.3:8000").get("/metrics", headers=token).status_code == 200
    assert Client(HTTP_HOST="[fd00::7]:8000").get("/metrics", headers=token).status_code == 200
    TenantHostname.objects.create(tenant=a.tenant, hostname="10.1.2.4", verified_at=timezone.now())
    assert Client(HTTP_HOST="10.1.2.4").get("/metrics", headers=token).status_code == 404
    assert Client(HTTP_HOST="10.1.2.3:8000").get("/metrics").status_code == 404


@override_settings(METRICS_TOKEN=TOKEN)
def test_requests_are_counted_by_route_name_never_by_path_or_tenant(
    worlds: tuple[World, World],
) -> None:
    a, b = worlds
    landing = ("intake:landing", "GET", "2xx")
    before = sample("whistle_http_requests_total", route=landing[0], method="GET", status="2xx")
    for world in (a, b):
        assert reporter().get(base(world)).status_code == 200
    assert Client().get(base(a) + "no-such-page/").status_code == 404
    assert staff_client(a.handler).get("/staff/").status_code in (200, 302)
    after = sample("whistle_http_requests_total", route=landing[0], method="GET", status="2xx")
    assert after == before + 2
    assert sample("whistle_http_requests_total", route="unmatched", method="GET", status="4xx")
    assert sample(
        "whistle_http_request_duration_seconds_count", route="intake:landing", method="GET"
    )
    text = authorised()
    assert 'route="intake:landing"' in text
    for world in (a, b):
        assert world.tenant.slug not in text
        assert world.tenant.name not in text
    assert "/t/" not in text
    assert "/staff/" not in text


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
def test_a_busy_argon2_slot_is_counted_and_waits_are_timed() -> None:
    busy = sample("whistle_argon2_busy_total")
    waits = sample("whistle_argon2_slot_wait_seconds_count")
    waited = sample("whistle_argon2_slot_wait_seconds_sum")
    old = crypto.slot_config()
    crypto.configure_slots(1, 0.05)
    try:
        crypto.derive_key(b"secret", salt=b"s" * 16, params=crypto.TEST_PARAMS)
        # Another request holds the only slot.
        with crypto.argon2_slot(), pytest.raises(crypto.BusyError):
            crypto.derive_key(b"secret", salt=b"s" * 16, params=crypto.TEST_PARAMS)
    finally:
        crypto.configure_slots(*old)
    assert sample("whistle_argon2_busy_total") == busy + 1
    # Three waits: the first derivation's, the holder's and the refused one's (which waited
    # its whole timeout).
    assert sample("whistle_argon2_slot_wait_seconds_count") == waits + 3
    assert sample("whistle_argon2_slot_wait_seconds_sum") >= waited + 0.05
    assert "whistle_argon2_busy_total" in authorised()


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("celery")
    yield client
    client.delete("celery")
    client.close()


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
def test_queue_depth_is_the_length_of_the_real_broker_queue(broker: redis.Redis) -> None:
    from whistle.celery import app

    assert sample("whistle_celery_queue_depth") == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "AlwaysEagerIgnored": the test settings run eagerly
        app.send_task("whistle.tasks.purge_expired_sessions")
        app.send_task("whistle.tasks.purge_expired_sessions")
    assert broker.llen("celery") == 2
    assert sample("whistle_celery_queue_depth") == 2
    assert "whistle_celery_queue_depth 2.0" in authorised()
    assert sample("whistle_metrics_source_up", source="queue") == 1


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN, CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_a_broker_outage_leaves_the_gauge_out_and_the_scrape_succeeds() -> None:
    text = authorised()
    assert 'whistle_metrics_source_up{source="queue"} 0.0' in text
    assert not [line for line in text.splitlines() if line.startswith("whistle_celery_queue")]
    assert 'whistle_metrics_source_up{source="retention"} 1.0' in text


@override_settings(METRICS_TOKEN=TOKEN)
def test_retention_backlog_and_reminder_lag_from_real_rows(
    worlds: tuple[World, World],
) -> None:
    a, b = worlds
    assert sample("whistle_retention_backlog_cases") == 0
    assert sample("whistle_reminder_lag_seconds") == 0
    _lead, case_a, _receipt = filed_case(a)
    _lead, case_b, _receipt = filed_case(b)
    today = datetime.datetime.now(tz=datetime.UTC).date()
    closed = Case.objects.filter(pk__in=[case_a.pk, case_b.pk])
    # Due today: tonight's run deletes it, no backlog yet. Due yesterday: a backlog of one.
    closed.update(status=Case.Status.CLOSED, delete_on=today)
    assert sample("whistle_retention_backlog_cases") == 0
    Case.objects.filter(pk=case_a.pk).update(delete_on=today - datetime.timedelta(days=1))
    assert sample("whistle_retention_backlog_cases") == 1
    # A case on legal hold is kept on purpose: no backlog.
    Case.objects.filter(pk=case_a.pk).update(legal_hold=True)
    assert sample("whistle_retention_backlog_cases") == 0

    now = timezone.now()
    sent = ReminderSent.objects.create(
        case=case_a, deadline="acknowledge", stage="due", on_date=today, sent_at=now
    )
    ReminderSent.objects.filter(pk=sent.pk).update(created_at=now - datetime.timedelta(hours=5))
    assert sample("whistle_reminder_lag_seconds") == 0
    waiting = ReminderSent.objects.create(
        case=case_b, deadline="acknowledge", stage="due", on_date=today
    )
    ReminderSent.objects.filter(pk=waiting.pk).update(created_at=now - datetime.timedelta(hours=2))
    lag = sample("whistle_reminder_lag_seconds")
    assert 2 * 3600 <= lag < 3 * 3600
    assert "whistle_reminder_lag_seconds" in authorised()
    ReminderSent.objects.filter(pk=waiting.pk).update(sent_at=timezone.now())
    assert sample("whistle_reminder_lag_seconds") == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_open_websockets_are_counted_by_side(world_a: World) -> None:
    from asgiref.sync import sync_to_async

    from tests.chat.test_consumers import asetup, connect, headers, reporter_path, staff_path

    async def open_sockets(side: str) -> float:
        # A scrape reads the database too (the scrape-time gauges): not on the event loop.
        return await sync_to_async(sample)("whistle_websocket_connections", side=side)

    office = await open_sockets("office")
    reporter_side = await open_sockets("reporter")
    lead, case, mailbox = await asetup(world_a)
    ok_staff, office_socket = await connect(staff_path(world_a, case), headers(lead))
    ok_reporter, reporter_socket = await connect(reporter_path(world_a), headers(mailbox))
    assert ok_staff and ok_reporter
    assert await open_sockets("office") == office + 1
    assert await open_sockets("reporter") == reporter_side + 1
    # A refused socket (no session) is never counted.
    refused, _socket = await connect(reporter_path(world_a), headers(Client()))
    assert not refused
    assert await open_sockets("reporter") == reporter_side + 1
    await office_socket.disconnect()
    await reporter_socket.disconnect()
    assert await open_sockets("office") == office
    assert await open_sockets("reporter") == reporter_side
