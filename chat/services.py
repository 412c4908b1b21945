"""Conversation use cases: post a message, read the conversation (marking what was read)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import DatabaseError, connection, transaction
from django.db.models import Field, Model

import crypto
from chat.events import announce_message, announce_read
from chat.models import Message
from chat.signals import reporter_messages_posted
from intake.drafts import DraftFile
from intake.models import Attachment, Case, tenant_today
from intake.services import (
    AttachmentView,
    attachment_views,
    attachments_create,
    record_context,
)
from whistle.accounts.models import User

MAX_BODY = 20_000


def message_new(
    *, case: Case, case_key: bytes, side: str, body: str, author: User | None = None
) -> Message:
    """A new message of this case, its body encrypted under the case key, not yet stored (for
    ``message_post``, and for ``chat.live.insert_message`` on a socket)."""
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
    return message


def message_post(
    *,
    case: Case,
    case_key: bytes,
    side: str,
    body: str,
    author: User | None = None,
    files: Sequence[DraftFile] = (),
    announce: bool = True,
) -> Message:
    """Store a message encrypted under the case key, with files already encrypted to storage.

    After commit the case's sockets are told (unless ``announce`` is false: a websocket consumer
    announces from its own event loop); a reporter's message is announced with the signal
    ``chat.signals.reporter_messages_posted`` (casework queues the office's e-mail notice).
    """
    # One INSERT needs no transaction of its own; files (rows written beside it) do.
    with transaction.atomic() if files else nullcontext():
        message = message_new(case=case, case_key=case_key, side=side, body=body, author=author)
        _insert([message])
        if files:
            message.attachments.set(
                attachments_create(case=case, case_key=case_key, files=files, side=side)
            )
        if announce:
            announce_message(case, str(message.public_id), side)
        if side == Message.Side.REPORTER:
            _announce_reporter_messages({str(case.public_id)})
    return message


def messages_store(*, messages: Sequence[Message]) -> list[DatabaseError | None]:
    """Store new messages (``message_new``) posted on the sockets of this process, in one
    statement (``chat.live.Posts``), and announce the reporters' ones
    (``chat.signals.reporter_messages_posted``). If the batch fails (a case deleted
    meanwhile), each message is tried alone. Returns, per message, None or the error that
    kept it out."""
    errors: list[DatabaseError | None] = [None] * len(messages)
    try:
        with transaction.atomic():
            _insert(messages)
    except DatabaseError as error:
        if len(messages) == 1:
            errors = [error]
        else:
            for i, message in enumerate(messages):
                try:
                    with transaction.atomic():
                        _insert([message])
                except DatabaseError as single:
                    errors[i] = single
    cases = {
        str(m.case.public_id)
        for m, error in zip(messages, errors, strict=True)
        if error is None and m.side == Message.Side.REPORTER
    }
    if cases:
        _announce_reporter_messages(cases)
    return errors


def _announce_reporter_messages(case_public_ids: set[str]) -> None:
    reporter_messages_posted.send(sender=Message, case_public_ids=case_public_ids)


# The columns of a new message, written by ``_insert``.
_INSERTED = ("public_id", "case", "side", "author", "body_ciphertext", "created_on", "read")


@functools.lru_cache(maxsize=64)
def _insert_sql(vendor: str, rows: int) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(getattr(f, "column", ""))) for f in _inserted_fields())
    row = "(" + ", ".join(["%s"] * len(_INSERTED)) + ")"
    # Table and column names come from the model; values are parameters.
    return (
        f"INSERT INTO {quote(Message._meta.db_table)} ({columns})"  # noqa: S608
        f" VALUES {', '.join([row] * rows)} RETURNING {quote('id')}, {quote('public_id')}"
    )


@functools.cache
def _inserted_fields() -> tuple[Field[Any, Any], ...]:
    return tuple(Message._meta.get_field(name) for name in _INSERTED)  # type: ignore[misc]


def _insert(messages: Sequence[Message]) -> None:
    """``save()`` of new messages, written out as one ``INSERT … RETURNING``: every message is
    an insert, and the ORM's building of one cost as much CPU as running it (0.5 against
    0.25 ms, docs/performance.md). Sends no ``pre_save``/``post_save`` signals; none are
    connected for messages, and ``tests/chat/test_services.py`` fails if one is."""
    fields = _inserted_fields()
    params = [
        f.get_db_prep_save(getattr(message, f.attname), connection)
        for message in messages
        for f in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(connection.vendor, len(messages)), params)
        rows = cursor.fetchall()
    # Matched by public id, not by the order of the returned rows.
    by_id = {uuid.UUID(str(public_id)): pk for pk, public_id in rows}
    for message in messages:
        message.pk = by_id[message.public_id]
        message._state.adding = False
        message._state.db = connection.alias


@dataclass(frozen=True)
class MessageView:
    message: Message
    body: str
    attachments: list[AttachmentView]
    mine: bool


def view_of(
    *,
    case: Case,
    case_key: bytes,
    message: Message,
    viewer_side: str,
    attachments: Iterable[Attachment] = (),
    body: str | None = None,
) -> MessageView:
    """One message for display: its body decrypted (unless the caller has it: its own message
    just posted) and the metadata of its own files only."""
    message.case = case
    if body is None:
        body = crypto.decrypt_record(
            case_key,
            bytes(message.body_ciphertext),
            context=record_context(case, "message", message.public_id),
        ).decode("utf-8")
    return MessageView(
        message=message,
        body=body,
        attachments=attachment_views(case=case, case_key=case_key, attachments=attachments),
        mine=message.side == viewer_side,
    )


def messages_for(
    *, case: Case, case_key: bytes, viewer_side: str, after: str | None = None
) -> list[MessageView]:
    """The conversation, oldest first, or what came after the message whose public id is
    ``after`` (the whole conversation if there is no such message of this case); the other
    side's messages are marked read."""
    queryset = Message.objects.filter(case=case)
    if after:
        try:
            last = queryset.filter(public_id=uuid.UUID(after)).values_list("pk", flat=True).first()
        except ValueError:
            last = None
        if last is not None:
            queryset = queryset.filter(pk__gt=last)
    messages = list(queryset.select_related("author").prefetch_related("attachments"))
    views = [
        view_of(
            case=case,
            case_key=case_key,
            message=message,
            viewer_side=viewer_side,
            attachments=message.attachments.all(),
        )
        for message in messages
    ]
    mark_read(case=case, messages=[m for m in messages if m.side != viewer_side and not m.read])
    return views


def mark_read(*, case: Case, messages: Sequence[Message], announce: bool = True) -> set[str]:
    """The viewer displayed these messages of the other side: mark them and (after commit) tell
    the writer. Returns the sides whose messages were unread."""
    unread = {m.pk: m for m in messages if not m.read}
    if not unread:
        return set()
    marked = messages_mark_read(pks=list(unread))
    for m in unread.values():
        m.read = True
    sides = {unread[pk].side for pk in marked}
    if announce:
        for side in sides:
            announce_read(case, side)
    return sides


def messages_mark_read(*, pks: Collection[int]) -> set[int]:
    """Mark these messages read (the other side displayed them: a page, a catch-up, or the
    batches of ``chat.live.ReadMarks``); returns those that were unread."""
    with transaction.atomic():
        unread = set(
            Message.objects.select_for_update()
            .filter(pk__in=pks, read=False)
            .values_list("pk", flat=True)
        )
        if unread:
            Message.objects.filter(pk__in=unread).update(read=True)
    return unread


@functools.cache
def _live_sql(vendor: str) -> str:
    """The load of one message (see ``_load_live``), for this database's quoting."""
    quote = connection.ops.quote_name
    message, user = quote(Message._meta.db_table), quote(User._meta.db_table)
    through = quote(Message.attachments.through._meta.db_table)
    # Table names come from the models; values are parameters.
    return (
        f"SELECT m.id, m.side, m.author_id, m.body_ciphertext, m.created_on, m.{quote('read')},"  # noqa: S608
        f" u.name, u.email,"
        f" EXISTS (SELECT 1 FROM {through} t WHERE t.message_id = m.id)"
        f" FROM {message} m LEFT JOIN {user} u ON u.id = m.author_id"
        f" WHERE m.case_id = %s AND m.public_id = %s"
    )


@functools.cache
def _take_sql(vendor: str) -> str:
    """The load of one message of the other side that marks it read (see ``_load_live``)."""
    quote = connection.ops.quote_name
    message, read = quote(Message._meta.db_table), quote("read")
    through = quote(Message.attachments.through._meta.db_table)
    # Table names come from the models; values are parameters. The author's name is not
    # needed: the other side's messages show as "the office" or "the reporter".
    return (
        f"UPDATE {message} SET {read} = true"  # noqa: S608
        f" WHERE case_id = %s AND public_id = %s AND side = %s AND NOT {read}"
        f" RETURNING id, side, author_id, body_ciphertext, created_on, {read},"
        f" NULL, NULL, EXISTS (SELECT 1 FROM {through} t WHERE t.message_id = {message}.id)"
    )


_M = TypeVar("_M", bound=Model)


def _instance(model: type[_M], values: dict[str, Any]) -> _M:
    """A model instance from these column values (the others deferred), as the ORM builds it."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(connection.alias, names, [values[name] for name in names])


def _load_live(
    case: Case, public_id: uuid.UUID, *, mark_read_of: str | None = None
) -> tuple[Message, bool, bool] | None:
    """The message and whether it has files, in one statement written out: this runs once per
    socket per message, and building the equivalent ORM query costs more than running it.
    With ``mark_read_of`` (the other side, who wrote it) the same statement marks it read; it
    returns nothing if it was read already (or is not theirs), and then it is only loaded.
    Returns (message, has files, marked read now)."""
    db_id = Message._meta.get_field("public_id").get_db_prep_value(public_id, connection)
    row, marked = None, False
    with connection.cursor() as cursor:
        if mark_read_of is not None:
            cursor.execute(_take_sql(connection.vendor), [case.pk, db_id, mark_read_of])
            row = cursor.fetchone()
            marked = row is not None
        if row is None:
            cursor.execute(_live_sql(connection.vendor), [case.pk, db_id])
            row = cursor.fetchone()
    if row is None:
        return None
    pk, side, author_id, body, created_on, read, name, email, has_files = row
    message = _instance(
        Message,
        {
            "id": pk,
            "public_id": public_id,
            "case_id": case.pk,
            "side": side,
            "author_id": author_id,
            "body_ciphertext": body,
            "created_on": created_on,
            "read": read,
        },
    )
    message.author = (
        None
        if author_id is None or marked
        else _instance(User, {"id": author_id, "name": name, "email": email})
    )
    return message, bool(has_files), marked


def message_live(
    *, case: Case, case_key: bytes, public_id: str, viewer_side: str, writer_side: str = ""
) -> tuple[MessageView, set[str]] | None:
    """A message announced on the case's group, for a socket: loaded with one statement (and
    its files only if it has any) and decrypted; if the other side wrote it (``writer_side``,
    from the event), the same statement marks it read. Returns the view and the sides to
    announce as read (the caller announces them)."""
    other = writer_side if writer_side and writer_side != viewer_side else None
    try:
        found = _load_live(case, uuid.UUID(public_id), mark_read_of=other)
    except ValueError:
        return None
    if found is None:
        return None
    message, has_files, marked = found
    files = list(message.attachments.all()) if has_files else []
    view = view_of(
        case=case, case_key=case_key, message=message, viewer_side=viewer_side, attachments=files
    )
    if marked:
        return view, {message.side}
    if message.side != viewer_side and not message.read:
        # An event that did not say who wrote it: mark it the ordinary way.
        return view, mark_read(case=case, messages=[message], announce=False)
    return view, set()
