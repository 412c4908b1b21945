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
    staff_group,
)
from chat.live import in_thread, posts, read_marks, recent_messages
from chat.models import Message
from chat.rendering import message_html
from chat.services import MAX_BODY, MessageView, message_live, message_new, messages_for, view_of
from intake.models import Case
from intake.views.mailbox import SEEN
from whistle import rls
from whistle.accounts.middleware import AUTH_AT, SEEN_AT
from whistle.accounts.models import User
from whistle.metrics import websocket_closed, websocket_opened

CLOSE_REFUSED = 4403
# Read the stored session again at least this often (seconds), whatever the socket knows.
# Every change that ends a socket's right sends an event (chat.receivers), so this is the safety
# net for changes made without signals (bulk updates, raw deletes): each re-check reads the
# session, the account, its second factor and the case access (~5 ms of a core).
RECHECK = 300.0
# Move the stored session's idle clock at most this often (seconds).
TOUCH_EVERY = 60.0


@dataclass
class _RequestLike:
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
    side: ClassVar[str] = ""
    seen_key: ClassVar[str] = ""

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
        return 0.0

    def absolute_timeout(self) -> float:
        return float("inf")

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
        """(seen, auth) of a stored session, or None when it is over."""
        now = time.time()
        seen = float(session.get(self.seen_key, 0))
        auth = self._auth_time(session)
        if auth is None or now - seen > self.idle_timeout():
            return None
        if now - auth > self.absolute_timeout():
            return None
        return seen, auth

    def _auth_time(self, session: Any) -> float | None:
        return 0.0

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
        if (
            now - live.checked < self.recheck_every
            and now - live.seen <= self.idle_timeout()
            and now - live.auth <= self.absolute_timeout()
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
        if session.get(self.seen_key) is not None:
            session[self.seen_key] = max(seen, float(session.get(self.seen_key, 0)))
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

    async def _post(self, body: str) -> None:
        access = self.access
        assert access is not None  # noqa: S101
        # Encrypting and rendering one message is cheaper than a thread hop: on the event
        # loop; the insert joins the process's next batch (chat.live.Posts).
        message = message_new(
            case=access.case, case_key=access.key, side=self.side, body=body, author=self.author()
        )
        await posts.store(message)
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
            # A reporter socket is opened at "<reporter prefix>ws/mailbox/": file links in
            # its messages go under the same prefix.
            prefix = str(self.scope.get("path", "/")).removesuffix("ws/mailbox/") or "/"
            html = message_html(view, self.side, prefix)
        return {"type": "message", "id": str(view.message.public_id), "html": html}


class HandlerConsumer(ConversationConsumer):
    side = Message.Side.OFFICE

    def authenticate(self, *, with_key: bool = True) -> Access | None:
        from django.contrib.auth import HASH_SESSION_KEY
        from django.http import Http404
        from django.utils.crypto import constant_time_compare

        from casework.access import access_case
        from intake.services import case_key_for_office
        from whistle.keys.services import VAULT_HANDLER_PRIVATE, KeyAccessError
        from whistle.vault import SessionVault

        scope_user = self.scope.get("user")
        if not isinstance(scope_user, User):
            return None
        # The principal's own account, read afresh (deactivation, password); not tenant data.
        # Everything of the case is looked up through casework.access below.
        user = User.objects.filter(pk=scope_user.pk, is_active=True).first()
        session = self.stored_session()
        if user is None or session.get("_auth_user_id") != str(user.pk):
            return None
        if not constant_time_compare(
            session.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()
        ):
            return None
        if not self._verified(user, session):
            return None
        live = self._liveness(session)
        if live is None:
            return None
        kwargs = self.scope["url_route"]["kwargs"]
        try:
            _membership, case = access_case(
                user=user, office_id=kwargs["office_id"], case_id=kwargs["case_id"]
            )
        except Http404:
            return None
        if not with_key:
            return Access(case=case, key=b"", live=live)
        vault = SessionVault(_RequestLike(self.scope.get("cookies", {}), session))  # type: ignore[arg-type]
        private = vault.get(VAULT_HANDLER_PRIVATE)
        if private is None:
            return None
        try:
            key = case_key_for_office(case=case, user=user, handler_private=private)
        except KeyAccessError:
            return None
        self.scope["user"] = user
        return Access(case=case, key=key, live=live)

    def _verified(self, user: User, session: Any) -> bool:
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.models import Device

        persistent_id = session.get(DEVICE_ID_SESSION_KEY)
        device = Device.from_persistent_id(persistent_id) if persistent_id else None
        return device is not None and device.user_id == user.pk

    def _auth_time(self, session: Any) -> float | None:
        auth = session.get(AUTH_AT)
        return None if auth is None else float(auth)

    def idle_timeout(self) -> float:
        return float(settings.STAFF_IDLE_TIMEOUT)

    def absolute_timeout(self) -> float:
        return float(settings.STAFF_ABSOLUTE_TIMEOUT)

    seen_key = SEEN_AT

    def author(self) -> User | None:
        user = self.scope.get("user")
        return user if isinstance(user, User) else None

    def extra_groups(self) -> tuple[str, ...]:
        user = self.scope.get("user")
        return (staff_group(user.pk),) if isinstance(user, User) else ()


class ReporterConsumer(ConversationConsumer):
    side = Message.Side.REPORTER

    def authenticate(self, *, with_key: bool = True) -> Access | None:
        from intake.access import access_reporter_case
        from intake.views.mailbox import VAULT_CASE, VAULT_KEY
        from whistle.vault import SessionVault

        tenant = self.scope.get("tenant")
        if tenant is None:
            return None
        session = self.stored_session()
        live = self._liveness(session)
        if live is None:
            return None
        vault = SessionVault(_RequestLike(self.scope.get("cookies", {}), session))  # type: ignore[arg-type]
        case_id, key = vault.get(VAULT_CASE), vault.get(VAULT_KEY)
        if case_id is None or key is None:
            return None
        case = access_reporter_case(tenant=tenant, case_id=case_id.decode())
        if case is None:
            return None
        return Access(case=case, key=key, live=live)

    def idle_timeout(self) -> float:
        return float(settings.REPORTER_IDLE_TIMEOUT)

    seen_key = SEEN
