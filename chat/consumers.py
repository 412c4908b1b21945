"""Websocket consumers for the conversation: thin, each calls chat/services.py.

A consumer authenticates its socket once (handler: logged in, second factor verified in this
session, member of the case's office, not recused or excluded, key unlocked; reporter: a live
mailbox session), joins the case's group and then:

- ``{"type": "send", "body": "…"}`` from its client posts a message (encrypted here, stored
  with the process's next batch, ``chat.live.Posts``), announces the id to the case's group
  and answers ``{"type": "sent"}`` with the message rendered for its writer;
- ``{"type": "catch_up", "after": "<message id>"}`` sends everything after that message;
- a ``chat.message`` event from the group (an id only) is loaded (or taken from the messages
  this process posted a moment ago, ``chat.live``), decrypted with this socket's own session
  key and sent down as rendered HTML; ``chat.read`` updates read markers.

The consumers are asynchronous: socket frames and channel-layer traffic stay on the event loop,
and database work is one call into a small thread pool (``chat.live.DB_THREADS``), so that
sockets do not queue behind one another on a single thread.

A socket never outlives its session (``Liveness``): the idle and absolute limits are checked on
every event against the times known to the socket, the stored session is read again when those
say it has run out (another tab may have kept it alive) and at least every ``RECHECK`` seconds,
and at once when the session is deleted (logout, expiry), the account changes (password,
deactivation), the account's access changes (recusal, exclusion, membership) or the case
changes: ``chat.receivers`` sends ``session.recheck`` to the socket's session, account or case
group. The idle clock of the stored session is moved at most every ``TOUCH_EVERY`` seconds.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from functools import partial
from importlib import import_module
from typing import Any, ClassVar

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import translation

from chat.events import (
    case_group,
    message_event,
    publish,
    read_event,
    session_group,
)
from chat.live import in_thread, posts, read_marks, recent_messages
from chat.models import Message
from chat.rendering import message_html
from chat.services import MAX_BODY, MessageView, message_live, message_new, messages_for, view_of
from intake.access import access_reporter_case
from intake.models import Case
from whistle import rls
from whistle.accounts.models import User
from whistle.metrics import websocket_closed, websocket_opened
from whistle.sessions import MAILBOX_CASE, MAILBOX_KEY, REPORTER, SessionRules
from whistle.vault import SessionVault

CLOSE_REFUSED = 4403
# Read the stored session again at least this often (seconds), whatever the socket knows.
# Every change that ends a socket's right sends an event (chat.receivers), so this is the safety
# net for changes made without signals (bulk updates, raw deletes): each re-check reads the
# session, the account, its second factor and the case access (~5 ms of a core).
RECHECK = 300.0
# Move the stored session's idle clock at most this often (seconds).
TOUCH_EVERY = 60.0


@dataclass
class SessionRequest:
    """What SessionVault needs from a request: the cookies and the session."""

    COOKIES: dict[str, str]
    session: Any


@dataclass
class Liveness:
    """What a socket knows of its session: last activity, login time (staff), when the store
    was last read and when this socket last wrote the idle clock."""

    seen: float
    auth: float
    checked: float
    touched: float


@dataclass
class Access:
    case: Case
    key: bytes
    live: Liveness


class ConversationConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """The conversation over a socket, for either side; subclasses say who may connect (the
    reporter's here, the handler's in ``casework.consumers``) and which session rules apply
    (``whistle.sessions``, the same as for their pages)."""

    side: ClassVar[str] = ""
    rules: ClassVar[SessionRules] = REPORTER

    access: Access | None = None
    groups_joined: tuple[str, ...] = ()
    counted = False  # in the open-websockets gauge (whistle.metrics)
    # Spread over sockets, so that sockets opened together do not all re-check (or write their
    # idle clock) at once.
    recheck_every: float = RECHECK
    touch_every: float = TOUCH_EVERY

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recheck_every = RECHECK * (0.75 + secrets.randbelow(250) / 1000)
        self.touch_every = TOUCH_EVERY * (0.75 + secrets.randbelow(250) / 1000)

    # --- subclasses say who may connect; the defaults refuse everyone ------------------------

    def authenticate(self, *, with_key: bool = True) -> Access | None:
        """(In a thread.) Who is on this socket, read from the stored session: the case and
        (unless ``with_key`` is false, for a re-check) its key, or None."""
        return None

    def idle_timeout(self) -> float:
        return self.rules.idle()

    def absolute_timeout(self) -> float:
        return self.rules.absolute()

    def author(self) -> User | None:
        return None

    def extra_groups(self) -> tuple[str, ...]:
        return ()

    # --- the session --------------------------------------------------------------------------

    def stored_session(self) -> Any:
        """The session as it is in the store now, not the copy taken at connect: a logout
        or an expiry over HTTP must end the socket too."""
        engine = import_module(settings.SESSION_ENGINE)
        return engine.SessionStore(self.scope["session"].session_key)

    def _times(self, session: Any) -> tuple[float, float] | None:
        """(seen, auth) of a stored session, or None when it is over (``whistle.sessions``)."""
        times = self.rules.times(session)
        if times is None or self.rules.ended_at(times[0], times[1], time.time()):
            return None
        return times

    def _liveness(self, session: Any) -> Liveness | None:
        times = self._times(session)
        if times is None:
            return None
        now = time.time()
        return Liveness(seen=times[0], auth=times[1], checked=now, touched=now)

    async def alive(self) -> bool:
        """Is the session still on? Cheap while the socket's own knowledge says so."""
        if self.access is None:
            return False
        live = self.access.live
        now = time.time()
        if now - live.checked < self.recheck_every and not self.rules.ended_at(
            live.seen, live.auth, now
        ):
            return True
        return await self.recheck()

    async def recheck(self) -> bool:
        """Read the stored session (and who may see the case) again; the key stays."""
        access = await in_thread(partial(self.authenticate, with_key=False))
        if self.access is None or access is None or access.case.pk != self.access.case.pk:
            self.access = None
            await self.close(code=CLOSE_REFUSED)
            return False
        access.live.seen = max(access.live.seen, self.access.live.seen)
        access.live.touched = self.access.live.touched
        self.access = Access(case=access.case, key=self.access.key, live=access.live)
        return True

    def _touch_store(self, seen: float) -> None:
        session = self.stored_session()
        stored = session.get(self.rules.seen_key)
        if stored is not None:
            self.rules.touch(session, max(seen, float(stored)))
            session.save()

    async def touch(self) -> None:
        """The person did something: keep the idle clock going (in the store at most every
        TOUCH_EVERY seconds)."""
        assert self.access is not None  # noqa: S101 - only called on a live socket
        live = self.access.live
        live.seen = time.time()
        if live.seen - live.touched >= self.touch_every:
            live.touched = live.seen
            await in_thread(partial(self._touch_store, live.seen))

    # --- lifecycle --------------------------------------------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        """As channels' own, without its ``aclose_old_connections()`` hop to the shared sync
        thread before every event: these consumers touch the database only through
        ``in_thread``, which looks after its connections itself."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        # Row-level security's principal for this event's database work (whistle.rls; carried
        # into the database threads by ``in_thread``).
        token = rls.set_principal(self.principal())
        try:
            await handler(message)
        finally:
            rls.reset_principal(token)

    def principal(self) -> rls.Principal:
        """The socket's tenant (reporter pages) or account (staff), as a request's."""
        tenant = self.scope.get("tenant")
        scope = self.scope

        def user_id() -> int | None:
            user = scope.get("user")
            if user is None or not getattr(user, "is_authenticated", False):
                return None
            return int(user.pk)

        return rls.Principal(tenant=None if tenant is None else tenant.pk, user=user_id)

    async def connect(self) -> None:
        access = await in_thread(self.authenticate)
        if access is None:
            await self.close(code=CLOSE_REFUSED)
            return
        self.access = access
        self.groups_joined = (
            case_group(access.case),
            session_group(self.scope["session"].session_key),
            *self.extra_groups(),
        )
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        self.counted = True
        websocket_opened(self.side)

    async def disconnect(self, code: int) -> None:
        if self.counted:
            self.counted = False
            websocket_closed(self.side)
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    # --- from the client --------------------------------------------------------------------

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or not await self.alive():
            return
        await self.touch()
        kind = content.get("type")
        if kind == "send":
            body = str(content.get("body", "")).strip()[:MAX_BODY]
            if body:
                await self._post(body)
        elif kind == "catch_up":
            for payload in await in_thread(partial(self._catch_up, content.get("after"))):
                await self.send_json(payload)

    async def store(self, access: Access, body: str) -> Message:
        """Store a message written on this socket. Encrypting one message is cheaper than a
        thread hop: on the event loop; the insert joins the process's next batch
        (chat.live.Posts). (The handler's socket stores through casework's audited path.)"""
        message = message_new(
            case=access.case, case_key=access.key, side=self.side, body=body, author=self.author()
        )
        await posts.store(message)
        return message

    async def _post(self, body: str) -> None:
        access = self.access
        assert access is not None  # noqa: S101
        message = await self.store(access, body)
        recent_messages.add(message)
        # Stored: from here on nothing may keep the writer from being told "sent" (a resend
        # would store it twice). Publishing is best effort.
        await publish(
            self.channel_layer,
            case_group(access.case),
            message_event(str(message.public_id), self.side, origin=self.channel_name),
        )
        # The acknowledgement carries the message as shown to its writer.
        view = view_of(
            case=access.case, case_key=access.key, message=message, viewer_side=self.side, body=body
        )
        await self.send_json({**self._render(view), "type": "sent"})

    def _catch_up(self, after: object) -> list[dict[str, str]]:
        assert self.access is not None  # noqa: S101
        views = messages_for(
            case=self.access.case,
            case_key=self.access.key,
            viewer_side=self.side,
            after=str(after) if after else None,
        )
        return [self._render(view) for view in views]

    # --- from the groups (ids only) ---------------------------------------------------------

    async def chat_message(self, event: dict[str, str]) -> None:
        if event.get("origin") == self.channel_name or not await self.alive():
            return
        access = self.access
        assert access is not None  # noqa: S101
        posted = recent_messages.get(event["message_id"], access.case.pk)
        if posted is not None:
            # Posted on this process a moment ago: its ciphertext is at hand (chat.live).
            await self.send_json(
                self._render(
                    view_of(
                        case=access.case,
                        case_key=access.key,
                        message=posted,
                        viewer_side=self.side,
                    )
                )
            )
            if posted.side != self.side:
                read_marks.add(posted.pk, case_group(access.case), posted.side)
            return

        def show() -> tuple[dict[str, str], set[str]] | None:
            found = message_live(
                case=access.case,
                case_key=access.key,
                public_id=event["message_id"],
                viewer_side=self.side,
                writer_side=event.get("side", ""),
            )
            if found is None:
                return None
            view, read_sides = found
            return self._render(view), read_sides

        shown = await in_thread(show)
        if shown is None:
            return
        payload, read_sides = shown
        await self.send_json(payload)
        for side in read_sides:
            await publish(self.channel_layer, case_group(access.case), read_event(side))

    async def chat_read(self, event: dict[str, str]) -> None:
        if event.get("side") == self.side and await self.alive():
            await self.send_json({"type": "read"})

    async def session_recheck(self, event: dict[str, str]) -> None:
        if self.access is not None:
            await self.recheck()

    def _render(self, view: MessageView) -> dict[str, str]:
        with translation.override(self.scope.get("language") or settings.LANGUAGE_CODE):
            html = message_html(view, self.side)
        return {"type": "message", "id": str(view.message.public_id), "html": html}


class ReporterConsumer(ConversationConsumer):
    side = Message.Side.REPORTER
    rules = REPORTER

    def authenticate(self, *, with_key: bool = True) -> Access | None:
        tenant = self.scope.get("tenant")
        if tenant is None:
            return None
        session = self.stored_session()
        live = self._liveness(session)
        if live is None:
            return None
        vault = SessionVault(SessionRequest(self.scope.get("cookies", {}), session))  # type: ignore[arg-type]
        case_id, key = vault.get(MAILBOX_CASE), vault.get(MAILBOX_KEY)
        if case_id is None or key is None:
            return None
        case = access_reporter_case(tenant=tenant, case_id=case_id.decode())
        if case is None:
            return None
        return Access(case=case, key=key, live=live)
