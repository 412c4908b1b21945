"""Issue 12, point 5: a flood of receipt logins drains no connection pool.

One ``manage.py serve`` process with the production settings module and a deliberately small
PostgreSQL pool (2) and one Argon2 slot (timeout 2 s); the receipts are wrapped with the
production Argon2id parameters. Sixty concurrent logins (right, wrong, unknown and mistyped
receipts, two tenants) while the reporter landing page, which needs the database, is asked
for again and again. Before the fix every login held a pooled connection while it waited for
the Argon2 slot: the pool ran dry and requests failed with ``PoolTimeout`` (500), the landing
page included. Now the excess gets "busy, try again" (503) with what was typed kept, and
nothing else of the process notices.
"""

from __future__ import annotations

import http.client
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import override_settings

import crypto
from intake.services import case_submit
from tests.chat.test_two_servers import START_TIMEOUT, Server, _test_database_url
from tests.fixtures import World
from tests.intake.receipts import BUSY, with_typo, with_wrong_secret
from tests.keys.test_key_hierarchy import setup_keys
from tests.plugins.sensitive import SensitiveRegistry

pytestmark = pytest.mark.django_db(transaction=True)

PENDING = "words written before the session ended"
REQUEST_TIMEOUT = 120.0


@pytest.fixture
def server(transactional_db: None) -> Iterator[Server]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "whistle.settings",
        "WHISTLE_MODE": "test",
        "SECRET_KEY": settings.SECRET_KEY,
        "RECEIPT_PEPPER": settings.RECEIPT_PEPPER,
        "ALLOWED_HOSTS": ",".join(settings.WHISTLE_HOSTS),
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DATABASE_POOL_SIZE": "2",
        "ARGON2_MAX_CONCURRENT": "1",
        "ARGON2_SLOT_TIMEOUT": "2",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    process = Server("receipts", env)
    try:
        process.wait_ready(time.monotonic() + START_TIMEOUT)
        yield process
    finally:
        process.stop()


class Reporter:
    """A browser without JavaScript: cookies, the CSRF token, no redirects followed."""

    def __init__(self, port: int, cookies: dict[str, str] | None = None) -> None:
        self.port = port
        self.cookies = dict(cookies or {})

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        headers = {
            "Host": f"127.0.0.1:{self.port}",
            "Accept-Language": "en",
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
        }
        body = None
        if form is not None:
            headers["Origin"] = f"http://127.0.0.1:{self.port}"
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode({"csrfmiddlewaretoken": self.cookies["csrftoken"], **form})
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            page = response.read().decode(errors="replace")
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name] = rest.split(";", 1)[0]
            return response.status, page
        finally:
            conn.close()


def test_a_flood_of_receipt_logins_leaves_the_pool_to_everyone(
    worlds: tuple[World, World], server: Server, sensitive: SensitiveRegistry
) -> None:
    a, b = worlds
    for world in worlds:
        setup_keys(world)
    # Receipts wrapped as in production: each check costs 128 MiB and a core for ~0.3 s.
    with override_settings(WHISTLE_KDF_PARAMS="production"):
        receipts = {
            (world.tenant.slug, role, n): case_submit(
                tenant=world.tenant, office=world.office, answers={}
            ).receipt.formatted
            for world, role, count in ((a, "right", 8), (b, "right", 2), (a, "attacked", 3))
            for n in range(count)
        }
    for receipt in receipts.values():
        sensitive.add(receipt, receipt.replace("-", ""))
    rights = [(slug, r) for (slug, role, _n), r in receipts.items() if role == "right"]
    attacked = [r for (_slug, role, _n), r in receipts.items() if role == "attacked"]
    logins: list[tuple[str, str, str]] = [
        *((kind, slug, r) for kind, slug, r in (("right", s, r) for s, r in rights * 3)),
        *(("wrong", "alpha", with_wrong_secret(r, n)) for r in attacked for n in range(1, 6)),
        *(("unknown", "alpha", crypto.generate_receipt().formatted) for _ in range(10)),
        *(("typo", "beta", with_typo(rights[-1][1])) for _ in range(5)),
    ]
    assert len(logins) == 60

    browser = Reporter(server.port)
    assert browser.request("GET", "/t/alpha/mailbox/")[0] == 200
    start = threading.Barrier(len(logins))

    def login(kind: str, slug: str, receipt: str) -> tuple[str, int, str]:
        reporter = Reporter(server.port, {"csrftoken": browser.cookies["csrftoken"]})
        start.wait()
        status, page = reporter.request(
            "POST", f"/t/{slug}/mailbox/", {"receipt": receipt, "pending_message": PENDING}
        )
        return kind, status, page

    landing: list[int] = []
    with ThreadPoolExecutor(max_workers=len(logins)) as pool:
        futures = [pool.submit(login, *item) for item in logins]
        # The landing page needs the database: it is served all through the flood.
        while not all(f.done() for f in futures) or len(landing) < 3:
            landing.append(Reporter(server.port).request("GET", "/t/alpha/")[0])
        results = [f.result() for f in futures]

    statuses = sorted(status for _kind, status, _page in results)
    assert set(landing) == {200}, landing
    assert set(statuses) <= {200, 302, 429, 503}, (statuses, server.output())
    for kind, status, page in results:
        expected = {"right": {302, 503}, "wrong": {200, 429, 503}, "unknown": {200, 429, 503}}
        assert status in expected.get(kind, {200}), (kind, status)
        if status == 503:
            assert BUSY in page and PENDING in page
    assert any(status == 302 for _kind, status, _page in results)

    # Once the flood is over, each tenant's reporter gets straight in.
    for slug, receipt in (rights[0], rights[-1]):
        assert (
            Reporter(server.port, browser.cookies).request(
                "POST", f"/t/{slug}/mailbox/", {"receipt": receipt}
            )[0]
            == 302
        )
    output = server.output(tail=10**7)
    assert "Traceback" not in output and "PoolTimeout" not in output, output
    assert not any(receipt in output for receipt in receipts.values())
