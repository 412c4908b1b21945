"""Conversation use cases: post a message, read the conversation (marking what was read)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from django.db import transaction

import crypto
from chat.events import announce_message, announce_read
from chat.models import Message
from chat.tasks import notify_office
from intake.drafts import DraftFile
from intake.models import Case, tenant_today
from intake.services import AttachmentView, attachments_create, case_attachments, record_context
from whistle.accounts.models import User

MAX_BODY = 20_000


def message_post(
    *,
    case: Case,
    case_key: bytes,
    side: str,
    body: str,
    author: User | None = None,
    files: Sequence[DraftFile] = (),
) -> Message:
    """Store a message encrypted under the case key, with files already encrypted to storage."""
    with transaction.atomic():
        message = Message(
            case=case,
            side=side,
            author=author if side == Message.Side.OFFICE else None,
            created_on=tenant_today(case.tenant),
        )
        message.body_ciphertext = crypto.encrypt_record(
            case_key,
            body.encode("utf-8"),
            context=record_context(case, "message", message.public_id),
        )
        message.save()
        if files:
            message.attachments.set(
                attachments_create(case=case, case_key=case_key, files=files, side=side)
            )
        announce_message(case, str(message.public_id))
        if side == Message.Side.REPORTER:
            transaction.on_commit(partial(notify_office.delay, case.pk))
    return message


@dataclass(frozen=True)
class MessageView:
    message: Message
    body: str
    attachments: list[AttachmentView]
    mine: bool


def _views(
    *, case: Case, case_key: bytes, messages: Sequence[Message], viewer_side: str
) -> list[MessageView]:
    metas = {a.attachment.pk: a for a in case_attachments(case=case, case_key=case_key)}
    return [
        MessageView(
            message=message,
            body=crypto.decrypt_record(
                case_key,
                bytes(message.body_ciphertext),
                context=record_context(case, "message", message.public_id),
            ).decode("utf-8"),
            attachments=[metas[a.pk] for a in message.attachments.all() if a.pk in metas],
            mine=message.side == viewer_side,
        )
        for message in messages
    ]


def messages_for(
    *, case: Case, case_key: bytes, viewer_side: str, after: Message | None = None
) -> list[MessageView]:
    """The conversation (or what came after ``after``), oldest first; the other side's messages
    are marked read."""
    queryset = Message.objects.filter(case=case)
    if after is not None:
        queryset = queryset.filter(pk__gt=after.pk)
    messages = list(queryset.select_related("author").prefetch_related("attachments"))
    views = _views(case=case, case_key=case_key, messages=messages, viewer_side=viewer_side)
    mark_read(case=case, messages=[m for m in messages if m.side != viewer_side and not m.read])
    return views


def mark_read(*, case: Case, messages: Sequence[Message]) -> None:
    """The viewer displayed these messages of the other side: mark them and tell the writer."""
    unread = [m.pk for m in messages if not m.read]
    if not unread:
        return
    Message.objects.filter(pk__in=unread).update(read=True)
    for side in {m.side for m in messages}:
        announce_read(case, side)


def message_view(*, case: Case, case_key: bytes, message: Message, viewer_side: str) -> MessageView:
    """One message decrypted for display (used by the websocket consumers)."""
    return _views(case=case, case_key=case_key, messages=[message], viewer_side=viewer_side)[0]
