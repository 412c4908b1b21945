"""Conversation use cases: post a message, read the conversation (marking what was read)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

import crypto
from chat.models import Message
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
    return message


@dataclass(frozen=True)
class MessageView:
    message: Message
    body: str
    attachments: list[AttachmentView]
    mine: bool


def messages_for(*, case: Case, case_key: bytes, viewer_side: str) -> list[MessageView]:
    """The conversation, oldest first; the other side's messages are marked read."""
    messages = list(
        Message.objects.filter(case=case).select_related("author").prefetch_related("attachments")
    )
    metas = {a.attachment.pk: a for a in case_attachments(case=case, case_key=case_key)}
    views = []
    for message in messages:
        body = crypto.decrypt_record(
            case_key,
            bytes(message.body_ciphertext),
            context=record_context(case, "message", message.public_id),
        ).decode("utf-8")
        views.append(
            MessageView(
                message=message,
                body=body,
                attachments=[metas[a.pk] for a in message.attachments.all() if a.pk in metas],
                mine=message.side == viewer_side,
            )
        )
    unread = [m.pk for m in messages if m.side != viewer_side and not m.read]
    if unread:
        Message.objects.filter(pk__in=unread).update(read=True)
    return views
