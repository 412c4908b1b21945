"""PostgreSQL and Redis outages (issue 12 point 8): a quick 503 "try again" page in the person's
language with what they typed, never a hang or a 500.

A real server process reaches PostgreSQL through a TCP proxy the test controls. Cutting the
proxy drops every connection and refuses new ones, as when the database host goes away. The
mailbox and a report step then answer 503 within a bound far below the old 10 s, in German
for a German browser, showing the typed text back (escaped, read-only) but never the receipt
or the CSRF token; /readyz says 503 as quickly; once the proxy forwards again the same form
goes through. A second server whose Redis refuses shows that what needs Redis (the receipt
check's throttle) answers 503 too.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connection

from chat.models import Message
from tests.casework.helpers import filed_case
from tests.fixtures import World
from tests.intake.journey import base, open_mailbox, reporter
from tests.live import Browser, Server, TcpProxy, live_env, refused_port, wait_for
from tests.plugins.sensitive import SensitiveRegistry

pytestmark = pytest.mark.django_db(transaction=True)

START_TIMEOUT = 30.0
# Generous for a busy machine, far below the 10 s requests used to hang.
FAST = 5.0
TYPED = "SENTINEL-outage <b>Bauamt</b> & Söhne\nzweite Zeile"


@pytest.fixture
def proxy(transactional_db: None) -> Iterator[TcpProxy]:
    settings_dict = connection.settings_dict
    forward = TcpProxy(settings_dict.get("HOST") or "127.0.0.1", int(settings_dict["PORT"] or 5432))
    yield forward
    forward.close()


@pytest.fixture
def server(proxy: TcpProxy) -> Iterator[Server]:
    url = urlsplit(live_env()["DATABASE_URL"])
    through_proxy = url._replace(netloc=f"{url.username or 'postgres'}@127.0.0.1:{proxy.port}")
    started = Server(
        "database behind a proxy",
        live_env(DATABASE_URL=through_proxy.geturl(), DATABASE_POOL_SIZE="4"),
    )
    try:
        started.wait_ready(time.monotonic() + START_TIMEOUT)
        yield started
    finally:
        started.stop()


def _typed_shown(page: str) -> bool:
    return f"readonly>{html.escape(TYPED)}</textarea>" in page


def test_database_outage_answers_503_fast_in_german_with_the_typed_text(
    world_a: World, proxy: TcpProxy, server: Server, sensitive: SensitiveRegistry
) -> None:
    sensitive.add(TYPED, "SENTINEL-outage")
    _lead, case, receipt = filed_case(world_a)
    client = reporter("de")
    open_mailbox(client, world_a, receipt)
    browser = Browser.from_client(server.port, client, language="de")
    assert browser.get("/readyz").status == 200
    assert browser.get(base(world_a) + "mailbox/").status == 200

    proxy.cut()

    answer = browser.post(base(world_a) + "mailbox/message/", {"body": TYPED})
    assert answer.status == 503, answer.body[:2000]
    assert answer.seconds < FAST
    assert "Vorübergehend nicht erreichbar" in answer.body  # German, as the browser asks
    assert _typed_shown(answer.body)
    assert TYPED not in answer.body  # only escaped
    assert browser.cookies["csrftoken"] not in answer.body
    assert answer.headers["retry-after"]
    assert answer.headers["cache-control"] == "no-store"

    # A report step: the questionnaire's text fields come back; buttons and tokens do not.
    step = browser.post(
        base(world_a) + "report/step/what/",
        {"what": TYPED, "where": "", "action": "next"},
    )
    assert step.status == 503 and step.seconds < FAST
    assert _typed_shown(step.body)
    assert "readonly>next</textarea>" not in step.body

    # The receipt form: never shown back.
    login = browser.post(base(world_a) + "mailbox/", {"receipt": receipt})
    assert login.status == 503 and login.seconds < FAST
    assert receipt not in login.body and "<textarea" not in login.body

    # Another visitor, in English: the landing page (the tenant cannot be looked up).
    english = Browser(port=server.port, language="en")
    landing = english.get(base(world_a))
    assert landing.status == 503 and landing.seconds < FAST
    assert "Temporarily unavailable" in landing.body and "<textarea" not in landing.body

    ready = browser.get("/readyz")
    assert ready.status == 503 and ready.seconds < FAST

    # The database is back: the same form goes through, once.
    proxy.restore()
    wait_for(lambda: browser.get("/readyz").status == 200, what="the database again")
    sent = browser.post(base(world_a) + "mailbox/message/", {"body": TYPED})
    assert sent.status == 302, sent.body[:2000]
    assert Message.objects.filter(case=case).count() == 1
    output = server.output(tail=10**7)
    assert "SENTINEL-outage" not in output and receipt not in output
    assert "service unavailable" in output


def test_redis_outage_keeps_the_mailbox_open(world_a: World, sensitive: SensitiveRegistry) -> None:
    """Redis carries only counters, events and jobs for reporters: with it down, the receipt
    opens the mailbox (the receipt gate checks without delays, AV-1), the page shows the
    report, a message is sent, fast and without a 500; only /readyz says 503."""
    _lead, case, receipt = filed_case(world_a)
    server = Server("redis refused", live_env(REDIS_URL=f"redis://127.0.0.1:{refused_port()}/0"))
    try:
        server.wait_ready(time.monotonic() + START_TIMEOUT)
        browser = Browser(port=server.port, language="de")
        page = browser.get(base(world_a) + "mailbox/")
        assert page.status == 200
        login = browser.post(base(world_a) + "mailbox/", {"receipt": receipt})
        assert login.status == 302, login.body[:2000]
        assert login.seconds < FAST
        mailbox = browser.get(base(world_a) + "mailbox/")
        assert mailbox.status == 200 and mailbox.seconds < FAST
        assert "Ihre Nachricht an die Meldestelle" in mailbox.body, mailbox.body[:2000]
        sent = browser.post(base(world_a) + "mailbox/message/", {"body": TYPED})
        assert sent.status == 302 and sent.seconds < FAST, sent.body[:2000]
        assert Message.objects.filter(case=case).count() == 1
        assert browser.get("/readyz").status == 503
        assert "cache unavailable" in server.output(tail=10**7)
    finally:
        server.stop()


def test_only_outages_become_503_and_only_typed_text_is_shown(rf: Any) -> None:
    """The 500 handler: a bug stays a 500; an outage (also one wrapped in another exception)
    is a 503 showing the text fields of the form, never the receipt, the CSRF token, the
    message carried through the receipt form, the honeypot or buttons."""
    import psycopg_pool
    import redis

    from whistle.outage import server_error_view

    request = rf.post(
        "/t/alpha/mailbox/",
        {
            "receipt": "SECRET-RECEIPT",
            "csrfmiddlewaretoken": "TOKEN-VALUE",
            "pending_message": "HIDDEN-TEXT",
            "website": "HONEYPOT",
            "pow_challenge": "1.1796577000.nonce.18.mac",
            "pow_counter": "123456",
            "action": "next",
            "what": TYPED,
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )

    def answer(error: BaseException) -> Any:
        try:
            raise error
        except BaseException:
            return server_error_view(request)

    assert answer(ValueError("a bug")).status_code == 500
    try:
        raise psycopg_pool.PoolTimeout("no connection")
    except psycopg_pool.PoolTimeout as cause:
        wrapped = RuntimeError("while reading the session")
        wrapped.__cause__ = cause
    for error in (wrapped, redis.exceptions.ConnectionError("refused")):
        response = answer(error)
        assert response.status_code == 503
        page = response.content.decode()
        assert _typed_shown(page)
        for never in (
            "SECRET-RECEIPT",
            "TOKEN-VALUE",
            "HIDDEN-TEXT",
            "HONEYPOT",
            ">next<",
            "nonce",
            "123456",
        ):
            assert never not in page


def test_the_handlers_reply_is_shown_back_but_never_a_login_form(rf: Any) -> None:
    import redis

    from whistle.outage import server_error_view

    def page(path: str, form: dict[str, str]) -> str:
        request = rf.post(path, form, HTTP_ACCEPT_LANGUAGE="de")
        try:
            raise redis.exceptions.TimeoutError("no answer")
        except redis.exceptions.TimeoutError:
            response = server_error_view(request)
        assert response.status_code == 503
        return str(response.content.decode())

    reply = page("/staff/offices/o/cases/c/do/reply/", {"body": TYPED})
    assert _typed_shown(reply) and "Vorübergehend nicht erreichbar" in reply
    login = page("/staff/login/", {"email": "someone@example.org", "password": "PASSWORD-VALUE"})
    assert "PASSWORD-VALUE" not in login and "<textarea" not in login
