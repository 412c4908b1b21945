"""Conversation services and rendering: the written-out insert stores what the ORM would, read
markers in batches, the messages a process keeps at hand, one message as HTML."""

from __future__ import annotations

import asyncio
import datetime
import secrets
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import IntegrityError, OperationalError
from django.db.models.signals import post_save, pre_save
from django.utils import translation

from chat import live
from chat.models import Message
from chat.rendering import message_html
from chat.services import (
    MessageView,
    message_new,
    message_post,
    messages_mark_read,
    messages_store,
    view_of,
)
from intake.models import Case
from tests.casework.helpers import filed_case
from tests.fixtures import World

pytestmark = pytest.mark.django_db


def test_no_signal_receivers_for_messages() -> None:
    # message_post writes the row itself (chat.services._insert): a receiver would never run.
    assert not pre_save.has_listeners(Message)
    assert not post_save.has_listeners(Message)


def a_case(world: World) -> Case:
    """A filed case, loaded as the access helpers load it (tenant and office with it)."""
    _lead, case, _receipt = filed_case(world)
    return Case.objects.select_related("tenant", "office").get(pk=case.pk)


def test_posted_message_reads_back_through_the_orm(world_a: World) -> None:
    case = a_case(world_a)
    key = secrets.token_bytes(32)
    posted = message_post(
        case=case,
        case_key=key,
        side=Message.Side.OFFICE,
        body="Können Sie das Datum nennen?",
        author=world_a.handler,
        announce=False,
    )
    assert posted.pk is not None and not posted._state.adding
    stored = Message.objects.get(pk=posted.pk)
    assert (stored.public_id, stored.case_id, stored.side) == (posted.public_id, case.pk, "office")
    assert stored.author_id == world_a.handler.pk and stored.read is False
    assert stored.created_on == posted.created_on
    view = view_of(case=case, case_key=key, message=stored, viewer_side="reporter")
    assert view.body == "Können Sie das Datum nennen?"
    # A reporter's message never names a handler, whatever the caller passed.
    anonymous = message_post(
        case=case,
        case_key=key,
        side=Message.Side.REPORTER,
        body="x",
        author=world_a.handler,
        announce=False,
    )
    assert Message.objects.get(pk=anonymous.pk).author_id is None


def test_mark_read_in_batches_reports_only_what_was_unread(world_a: World) -> None:
    case = a_case(world_a)
    key = secrets.token_bytes(32)
    first, second = (
        message_post(case=case, case_key=key, side="reporter", body=b, announce=False)
        for b in ("a", "b")
    )
    Message.objects.filter(pk=first.pk).update(read=True)
    assert messages_mark_read(pks=[first.pk, second.pk]) == {second.pk}
    assert set(Message.objects.filter(case=case).values_list("read", flat=True)) == {True}
    assert messages_mark_read(pks=[first.pk, second.pk]) == set()


def test_recent_messages_are_kept_briefly_and_only_for_their_case(
    world_a: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = a_case(world_a)
    posted = message_post(
        case=case, case_key=secrets.token_bytes(32), side="office", body="x", announce=False
    )
    recent = live.RecentMessages()
    recent.add(posted)
    assert recent.get(str(posted.public_id), case.pk) is posted
    assert recent.get(str(posted.public_id), case.pk + 1) is None  # another case's socket
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + live.RECENT_SECONDS + 1)
    assert recent.get(str(posted.public_id), case.pk) is None


def test_recent_messages_are_bounded(world_a: World, monkeypatch: pytest.MonkeyPatch) -> None:
    case = a_case(world_a)
    monkeypatch.setattr(live, "RECENT_MAX", 3)
    key = secrets.token_bytes(32)
    posted = [
        message_post(case=case, case_key=key, side="office", body=str(i), announce=False)
        for i in range(5)
    ]
    recent = live.RecentMessages()
    for message in posted:
        recent.add(message)
    assert [recent.get(str(m.public_id), case.pk) is not None for m in posted] == [
        False,
        False,
        True,
        True,
        True,
    ]


@pytest.mark.parametrize(
    ("viewer", "mine", "read", "language", "expected"),
    [
        ("reporter", True, False, "en", ["You", "not read yet"]),
        ("reporter", True, True, "de", ["Sie", "von der Meldestelle gelesen"]),
        ("reporter", False, False, "en", ["The office"]),
        ("office", False, False, "en", ["Reporter"]),
        ("office", True, True, "en", ["read by the reporter"]),
    ],
)
def test_message_html(
    world_a: World, viewer: str, mine: bool, read: bool, language: str, expected: list[str]
) -> None:
    case = a_case(world_a)
    message = Message(
        case=case, side=viewer if mine else "other", read=read, created_on=case.received_on
    )
    view = MessageView(
        message=message, body='<script>alert("x")</script>\nline two', attachments=[], mine=mine
    )
    with translation.override(language):
        html = message_html(view, viewer)
    assert html.startswith(f'<li class="msg {"msg-mine" if mine else "msg-theirs"}"')
    assert f'data-message-id="{message.public_id}"' in html
    # The body is escaped and keeps its line breaks.
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;<br>line two" in html
    assert "<script>" not in html
    for text in expected:
        assert text in html
    if not mine:
        assert "read-marker" not in html


def test_message_date_in_the_active_language(world_a: World) -> None:
    case = a_case(world_a)
    message = Message(case=case, side="office", created_on=datetime.date(2026, 3, 5))
    view = MessageView(message=message, body="x", attachments=[], mine=True)
    with translation.override("en"):
        english = message_html(view, "office")
    with translation.override("de"):
        german = message_html(view, "office")
    assert "March 5, 2026" in english and "5. März 2026" in german


@pytest.mark.django_db(transaction=True)  # foreign keys are checked at commit
def test_a_batch_with_a_failing_message_stores_the_others(world_a: World) -> None:
    case = a_case(world_a)
    key = secrets.token_bytes(32)
    good = message_new(case=case, case_key=key, side="office", body="kept")
    orphan = message_new(case=case, case_key=key, side="office", body="lost")
    orphan.case_id = case.pk + 10_000  # its case is gone: a foreign key violation
    later = message_new(case=case, case_key=key, side="reporter", body="kept too")
    errors = messages_store(messages=[good, orphan, later])
    assert errors[0] is None and errors[2] is None
    assert isinstance(errors[1], IntegrityError)
    stored = Message.objects.filter(case=case).order_by("id")
    assert [m.public_id for m in stored] == [good.public_id, later.public_id]
    assert good.pk is not None and later.pk is not None


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_posts_written_together_take_one_statement(
    world_a: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = await sync_to_async(a_case)(world_a)
    key = secrets.token_bytes(32)
    calls: list[int] = []
    real = messages_store

    def counting(*, messages: list[Message]) -> list[Any]:
        calls.append(len(messages))
        return real(messages=messages)

    monkeypatch.setattr(live, "messages_store", counting)
    posts = live.Posts()
    messages = [message_new(case=case, case_key=key, side="office", body=str(i)) for i in range(3)]
    await asyncio.gather(*(posts.store(m) for m in messages))
    assert calls == [3]
    count = await sync_to_async(Message.objects.filter(case=case).count)()
    assert count == 3 and all(m.pk is not None for m in messages)
    # A message that cannot be stored fails its own socket's post.
    orphan = message_new(case=case, case_key=key, side="office", body="lost")
    orphan.case_id = case.pk + 10_000
    with pytest.raises(IntegrityError):
        await posts.store(orphan)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_read_markers_survive_a_failed_batch(
    world_a: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    case = await sync_to_async(a_case)(world_a)
    key = secrets.token_bytes(32)
    first, second = [
        await sync_to_async(message_post)(
            case=case, case_key=key, side="reporter", body=b, announce=False
        )
        for b in ("a", "b")
    ]

    def unavailable(*, pks: list[int]) -> set[int]:
        raise OperationalError("the database is away")

    monkeypatch.setattr(live, "messages_mark_read", unavailable)
    marks = live.ReadMarks()
    marks.add(first.pk, "case.x", "reporter")
    await asyncio.sleep(live.FLUSH_AFTER * 4)
    assert "1 read markers could not be written" in caplog.text
    monkeypatch.setattr(live, "messages_mark_read", messages_mark_read)
    marks.add(second.pk, "case.x", "reporter")
    await asyncio.sleep(live.FLUSH_AFTER * 4)
    read = await sync_to_async(
        lambda: dict(Message.objects.filter(case=case).values_list("pk", "read"))
    )()
    assert read == {first.pk: False, second.pk: True}
