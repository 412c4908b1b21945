"""Websocket consumers: who is refused, live delivery, read markers, catch-up."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from chat.models import Message
from intake.models import Case
from tests.casework.helpers import filed_case
from tests.fixtures import World, make_staff, staff_client
from tests.intake.journey import open_mailbox, reporter
from tests.plugins.sensitive import SensitiveRegistry
from whistle.asgi import application
from whistle.tenants.services import membership_add

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def headers(client: Client, origin: str = "http://testserver") -> list[tuple[bytes, bytes]]:
    cookie = "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())
    return [(b"host", b"testserver"), (b"origin", origin.encode()), (b"cookie", cookie.encode())]


def staff_path(world: World, case: Case) -> str:
    return f"/ws/staff/offices/{world.office.public_id}/cases/{case.public_id}/"


def reporter_path(world: World) -> str:
    return f"/t/{world.tenant.slug}/ws/mailbox/"


async def connect(path: str, hdrs: list[tuple[bytes, bytes]]) -> tuple[bool, WebsocketCommunicator]:
    communicator = WebsocketCommunicator(application, path, headers=hdrs)
    connected, _ = await communicator.connect()
    return connected, communicator


async def receive_type(
    communicator: WebsocketCommunicator, kind: str, timeout: float = 3
) -> dict[str, Any]:
    while True:
        data = await communicator.receive_json_from(timeout=timeout)
        if data.get("type") == kind:
            return data  # type: ignore[no-any-return]


def setup(world: World) -> tuple[Client, Case, Client]:
    lead, case, receipt = filed_case(world)
    mailbox = reporter()
    open_mailbox(mailbox, world, receipt)
    return lead, case, mailbox


from asgiref.sync import sync_to_async  # noqa: E402

asetup = sync_to_async(setup)


async def test_live_exchange_both_ways_with_read_markers(
    world_a: World, sensitive: SensitiveRegistry
) -> None:
    sensitive.add("SENTINEL-live-question", "SENTINEL-live-answer")
    lead, case, mailbox = await asetup(world_a)
    ok_staff, office_socket = await connect(staff_path(world_a, case), headers(lead))
    ok_reporter, reporter_socket = await connect(reporter_path(world_a), headers(mailbox))
    assert ok_staff and ok_reporter
    await office_socket.send_json_to({"type": "send", "body": "SENTINEL-live-question"})
    sent = await receive_type(office_socket, "sent")
    received = await receive_type(reporter_socket, "message")
    assert received["id"] == sent["id"] and "SENTINEL-live-question" in received["html"]
    assert "The office" in received["html"] or "Meldestelle" in received["html"]
    # The reporter's socket displayed it: the office sees "read".
    await receive_type(office_socket, "read")
    await reporter_socket.send_json_to({"type": "send", "body": "SENTINEL-live-answer"})
    answer = await receive_type(office_socket, "message")
    assert "SENTINEL-live-answer" in answer["html"]
    # "read" reaches the writer only once the marker is stored (chat.live.ReadMarks).
    await receive_type(reporter_socket, "read")
    await office_socket.disconnect()
    await reporter_socket.disconnect()
    read = await sync_to_async(lambda: list(Message.objects.values_list("read", flat=True)))()
    assert read == [True, True]


async def test_a_reporter_message_on_the_socket_tells_the_office_by_mail(
    world_a: World, sensitive: SensitiveRegistry
) -> None:
    from django.core import mail

    sensitive.add("SENTINEL-socket-note")
    _lead, _case, mailbox = await asetup(world_a)
    mail.outbox.clear()
    ok, reporter_socket = await connect(reporter_path(world_a), headers(mailbox))
    assert ok
    await reporter_socket.send_json_to({"type": "send", "body": "SENTINEL-socket-note"})
    # Stored (and the notice queued after its commit, chat.live.Posts) before "sent" comes.
    await receive_type(reporter_socket, "sent")
    assert [m.to for m in mail.outbox] == [[world_a.handler.email]]
    assert "SENTINEL" not in f"{mail.outbox[0].subject} {mail.outbox[0].body}"
    await reporter_socket.disconnect()


async def test_catch_up_after_reconnect(world_a: World) -> None:
    lead, case, mailbox = await asetup(world_a)
    ok, office_socket = await connect(staff_path(world_a, case), headers(lead))
    assert ok
    await office_socket.send_json_to({"type": "send", "body": "first"})
    first = await receive_type(office_socket, "sent")  # the writer's own view of it
    assert "first" in first["html"]
    await office_socket.disconnect()
    # While the reporter is offline two more messages are written.
    for text in ("second", "third"):
        ok, socket = await connect(staff_path(world_a, case), headers(lead))
        await socket.send_json_to({"type": "send", "body": text})
        await receive_type(socket, "sent")
        await socket.disconnect()
    ok, reporter_socket = await connect(reporter_path(world_a), headers(mailbox))
    # An event still in flight when the socket joined the case's group may arrive live; let
    # those pass, so that what follows is the catch-up's answer alone.
    while not await reporter_socket.receive_nothing(timeout=0.3):
        await reporter_socket.receive_output()
    await reporter_socket.send_json_to({"type": "catch_up", "after": first["id"]})
    got = [(await receive_type(reporter_socket, "message"))["html"] for _ in range(2)]
    assert "second" in got[0] and "third" in got[1]
    assert await reporter_socket.receive_nothing(timeout=0.3)
    await reporter_socket.send_json_to({"type": "catch_up", "after": ""})
    everything = [(await receive_type(reporter_socket, "message"))["html"] for _ in range(3)]
    assert ["first" in everything[0], "second" in everything[1], "third" in everything[2]] == [
        True,
        True,
        True,
    ]
    await reporter_socket.disconnect()


async def test_refusals(worlds: tuple[World, World]) -> None:
    a, b = worlds
    lead, case, mailbox = await asetup(a)

    def people() -> dict[str, Client]:
        other_office = staff_client(b.handler)
        admin = staff_client(a.admin)
        recused = make_staff("recused@alpha.example")
        membership_add(office=a.office, user=recused)
        recused_client = staff_client(recused)
        from casework.models import CaseExclusion

        CaseExclusion.objects.create(
            case=case, user=recused, kind="recusal", created_on=timezone.localdate()
        )
        password_only = Client()
        from tests.fixtures import PASSWORD

        password_only.post("/staff/login/", {"email": a.handler.email, "password": PASSWORD})
        return {
            "other_office": other_office,
            "admin": admin,
            "recused": recused_client,
            "password_only": password_only,
        }

    clients = await sync_to_async(people)()
    for name, client in clients.items():
        ok, _socket = await connect(staff_path(a, case), headers(client))
        assert not ok, name
    # A cross-origin handshake is refused even with valid cookies.
    ok, _socket = await connect(staff_path(a, case), headers(lead, origin="https://evil.example"))
    assert not ok
    ok, _socket = await connect(reporter_path(a), headers(mailbox, origin="https://evil.example"))
    assert not ok
    # Tenant A's mailbox session opens nothing on tenant B's socket.
    ok, _socket = await connect(reporter_path(b), headers(mailbox))
    assert not ok


async def test_expired_reporter_session_is_refused(world_a: World) -> None:
    _lead, _case, mailbox = await asetup(world_a)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=16), tick=False):
        ok, _socket = await connect(reporter_path(world_a), headers(mailbox))
    assert not ok


async def test_logout_over_http_ends_the_socket(world_a: World) -> None:
    lead, case, mailbox = await asetup(world_a)
    ok, office = await connect(staff_path(world_a, case), headers(lead))
    ok2, reporter_socket = await connect(reporter_path(world_a), headers(mailbox))
    assert ok and ok2
    await sync_to_async(lead.post)("/staff/logout/")
    await reporter_socket.send_json_to({"type": "send", "body": "after logout"})
    output = await office.receive_output(timeout=3)
    assert output["type"] == "websocket.close" and output["code"] == 4403
    await reporter_socket.disconnect()


async def test_password_change_elsewhere_ends_the_socket(world_a: World) -> None:
    lead, case, _mailbox = await asetup(world_a)
    ok, office = await connect(staff_path(world_a, case), headers(lead))
    assert ok

    def change_password() -> None:
        from tests.fixtures import PASSWORD
        from whistle.accounts.services import staff_change_password

        staff_change_password(
            user=world_a.handler, old_password=PASSWORD, new_password=PASSWORD + " renewed"
        )

    await sync_to_async(change_password)()
    # No event of the conversation is needed: the account's sockets re-check at once.
    output = await office.receive_output(timeout=3)
    assert output["type"] == "websocket.close" and output["code"] == 4403


async def test_recusal_while_connected_ends_the_socket_at_once(world_a: World) -> None:
    lead, case, _mailbox = await asetup(world_a)
    ok, office = await connect(staff_path(world_a, case), headers(lead))
    assert ok

    def recuse() -> None:
        from casework.services import case_recuse

        case_recuse(case=case, actor=world_a.handler)

    await sync_to_async(recuse)()
    # No clock moves and nothing is sent: the recusal's own event closes the socket.
    output = await office.receive_output(timeout=3)
    assert output["type"] == "websocket.close" and output["code"] == 4403


async def test_membership_removed_while_connected_ends_the_socket_at_once(world_a: World) -> None:
    from whistle.keys.services import membership_remove

    lead, case, _mailbox = await asetup(world_a)
    ok, office = await connect(staff_path(world_a, case), headers(lead))
    assert ok
    await sync_to_async(membership_remove)(office=world_a.office, user=world_a.handler)
    output = await office.receive_output(timeout=3)
    assert output["type"] == "websocket.close" and output["code"] == 4403


async def test_case_deleted_while_connected_ends_both_sockets_at_once(world_a: World) -> None:
    lead, case, mailbox = await asetup(world_a)
    ok, office = await connect(staff_path(world_a, case), headers(lead))
    ok2, reporter_socket = await connect(reporter_path(world_a), headers(mailbox))
    assert ok and ok2
    await sync_to_async(case.delete)()
    for socket in (office, reporter_socket):
        output = await socket.receive_output(timeout=3)
        assert output["type"] == "websocket.close" and output["code"] == 4403


async def test_access_lost_without_a_signal_ends_the_socket_by_the_periodic_recheck(
    world_a: World,
) -> None:
    from chat.consumers import RECHECK
    from whistle.tenants.models import Membership

    lead, case, mailbox = await asetup(world_a)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        ok, office = await connect(staff_path(world_a, case), headers(lead))
        ok2, reporter_socket = await connect(reporter_path(world_a), headers(mailbox))
        assert ok and ok2
        # A change written past the ORM sends no signal: only the periodic re-check sees it.
        await sync_to_async(revoke_without_signals)(Membership._meta.db_table, world_a.handler.pk)
        await reporter_socket.send_json_to({"type": "send", "body": "before the re-check"})
        first = await receive_type(office, "message")
        assert "before the re-check" in first["html"]
        clock.shift(datetime.timedelta(seconds=RECHECK + 1))
        await reporter_socket.send_json_to({"type": "send", "body": "for the office only"})
        output = await office.receive_output(timeout=3)
        while output["type"] != "websocket.close":
            output = await office.receive_output(timeout=3)
        assert output["code"] == 4403
        await reporter_socket.disconnect()


def revoke_without_signals(table: str, user_pk: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE user_id = %s", [user_pk])  # noqa: S608


async def test_idle_limit_applies_on_an_open_socket(world_a: World) -> None:
    _lead, case, mailbox = await asetup(world_a)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        ok, reporter_socket = await connect(reporter_path(world_a), headers(mailbox))
        assert ok
        clock.shift(datetime.timedelta(minutes=16))  # reporter sessions idle out after 15
        await reporter_socket.send_json_to({"type": "send", "body": "too late"})
        output = await reporter_socket.receive_output(timeout=3)
        assert output["type"] == "websocket.close" and output["code"] == 4403
    count = await sync_to_async(Message.objects.filter(case=case).count)()
    assert count == 0


async def test_writing_on_the_socket_keeps_the_session_alive(world_a: World) -> None:
    _lead, _case, mailbox = await asetup(world_a)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        ok, reporter_socket = await connect(reporter_path(world_a), headers(mailbox))
        assert ok
        for minute in (10, 20, 30):  # each step within the 15-minute idle limit
            clock.shift(datetime.timedelta(minutes=10))
            await reporter_socket.send_json_to({"type": "send", "body": f"at minute {minute}"})
            await receive_type(reporter_socket, "sent")
        # The stored session was kept alive too: the mailbox page still opens over HTTP.
        page = await sync_to_async(mailbox.get)(f"/t/{world_a.tenant.slug}/mailbox/")
        assert page.status_code == 200 and "at minute 30" in page.content.decode()
        await reporter_socket.disconnect()


@pytest.mark.parametrize(("accept", "expected"), [("en", "The office"), ("de", "Die Meldestelle")])
async def test_messages_are_rendered_in_the_browsers_language(
    world_a: World, accept: str, expected: str
) -> None:
    lead, case, mailbox = await asetup(world_a)
    ok, office = await connect(staff_path(world_a, case), headers(lead))
    language = [(b"accept-language", accept.encode())]
    ok2, reporter_socket = await connect(reporter_path(world_a), headers(mailbox) + language)
    assert ok and ok2
    await office.send_json_to({"type": "send", "body": "hello"})
    received = await receive_type(reporter_socket, "message")
    assert expected in received["html"]
    await office.disconnect()
    await reporter_socket.disconnect()
