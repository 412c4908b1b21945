"""Websocket consumers for the conversation: thin, each calls chat/services.py.

A consumer authenticates its socket once (handler: logged in, second factor verified in this
session, member of the case's office, not recused or excluded, key unlocked; reporter: a live
mailbox session), joins the case's group and then:

- ``{"type": "send", "body": "…"}`` from its client posts a message through the service;
- ``{"type": "catch_up", "after": "<message id>"}`` sends everything after that message;
- a ``chat.message`` event from the group (an id only) is loaded, decrypted with this socket's
  own session key and sent down as rendered HTML; ``chat.read`` updates read markers.

Every event re-checks the session (idle limits, logout), so a socket never outlives its session.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.generic.websocket import JsonWebsocketConsumer
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from chat.events import case_group
from chat.models import Message
from chat.services import MAX_BODY, message_post, message_view, messages_for
from intake.models import Case
from whistle.accounts.models import User

CLOSE_REFUSED = 4403


@dataclass
class _RequestLike:
    """What SessionVault needs from a request: the cookies and the session."""

    COOKIES: dict[str, str]
    session: Any


class ConversationConsumer(JsonWebsocketConsumer):  # type: ignore[misc]
    side: str = ""
    case: Case | None = None

    def stored_session(self) -> Any:
        """The session as it is in the store now, not the copy taken at connect: a logout
        or an expiry over HTTP must end the socket too."""
        from importlib import import_module

        engine = import_module(settings.SESSION_ENGINE)
        return engine.SessionStore(self.scope["session"].session_key)

    # --- subclasses say who may connect; the defaults refuse everyone ------------------------

    def authenticate(self) -> tuple[Case, bytes] | None:
        return None

    def session_alive(self) -> bool:
        return False

    def touch(self) -> None:
        """The person did something: keep the session's idle clock going."""

    def author(self) -> User | None:
        return None

    # --- lifecycle --------------------------------------------------------------------------

    def connect(self) -> None:
        found = self.authenticate()
        if found is None:
            self.close(code=CLOSE_REFUSED)
            return
        self.case, self._key = found
        self.group = case_group(self.case)
        async_to_sync(self.channel_layer.group_add)(self.group, self.channel_name)
        self.accept()

    def disconnect(self, code: int) -> None:
        if self.case is not None:
            async_to_sync(self.channel_layer.group_discard)(self.group, self.channel_name)

    def _still_allowed(self) -> bool:
        if self.case is None or not self.session_alive():
            self.close(code=CLOSE_REFUSED)
            return False
        return True

    # --- from the client --------------------------------------------------------------------

    def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or not self._still_allowed():
            return
        assert self.case is not None  # noqa: S101 - narrowed by _still_allowed
        kind = content.get("type")
        self.touch()
        if kind == "send":
            body = str(content.get("body", "")).strip()[:MAX_BODY]
            if body:
                message = message_post(
                    case=self.case,
                    case_key=self._key,
                    side=self.side,
                    author=self.author(),
                    body=body,
                )
                self.send_json({"type": "sent", "id": str(message.public_id)})
        elif kind == "catch_up":
            after = None
            try:
                after_id = uuid.UUID(str(content.get("after", "")))
            except ValueError:
                after_id = None
            if after_id is not None:
                after = Message.objects.filter(case=self.case, public_id=after_id).first()
            for view in messages_for(
                case=self.case, case_key=self._key, viewer_side=self.side, after=after
            ):
                self.send_json(self._render(view))

    # --- from the group (ids only) ----------------------------------------------------------

    def chat_message(self, event: dict[str, str]) -> None:
        if not self._still_allowed():
            return
        assert self.case is not None  # noqa: S101
        message = (
            Message.objects.filter(case=self.case, public_id=event["message_id"])
            .select_related("author")
            .prefetch_related("attachments")
            .first()
        )
        if message is None:
            return
        view = message_view(
            case=self.case, case_key=self._key, message=message, viewer_side=self.side
        )
        self.send_json(self._render(view))
        if message.side != self.side and not message.read:
            from chat.services import mark_read

            mark_read(case=self.case, messages=[message])

    def chat_read(self, event: dict[str, str]) -> None:
        if event.get("side") == self.side and self._still_allowed():
            self.send_json({"type": "read"})

    def _render(self, view: Any) -> dict[str, str]:
        with translation.override(self.scope.get("language") or settings.LANGUAGE_CODE):
            html = render_to_string("chat/_message.html", {"m": view, "viewer_side": self.side})
        return {"type": "message", "id": str(view.message.public_id), "html": html}


class HandlerConsumer(ConversationConsumer):
    side = Message.Side.OFFICE

    def authenticate(self) -> tuple[Case, bytes] | None:
        from django.http import Http404

        from casework.access import access_case
        from intake.services import case_key_for_office
        from whistle.keys.services import VAULT_HANDLER_PRIVATE, KeyAccessError
        from whistle.vault import SessionVault

        user = self.scope.get("user")
        if not isinstance(user, User) or not user.is_active or not self._verified(user):
            return None
        if not self.session_alive():
            return None
        kwargs = self.scope["url_route"]["kwargs"]
        try:
            _membership, case = access_case(
                user=user, office_id=kwargs["office_id"], case_id=kwargs["case_id"]
            )
        except Http404:
            return None
        vault = SessionVault(_RequestLike(self.scope.get("cookies", {}), self.scope["session"]))  # type: ignore[arg-type]
        private = vault.get(VAULT_HANDLER_PRIVATE)
        if private is None:
            return None
        try:
            return case, case_key_for_office(case=case, user=user, handler_private=private)
        except KeyAccessError:
            return None

    def _verified(self, user: User) -> bool:
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.models import Device

        persistent_id = self.scope["session"].get(DEVICE_ID_SESSION_KEY)
        device = Device.from_persistent_id(persistent_id) if persistent_id else None
        return device is not None and device.user_id == user.pk

    def session_alive(self) -> bool:
        from whistle.accounts.middleware import AUTH_AT, SEEN_AT

        session = self.stored_session()
        user = self.scope.get("user")
        if not isinstance(user, User) or session.get("_auth_user_id") != str(user.pk):
            return False
        now = timezone.now().timestamp()
        seen = float(session.get(SEEN_AT, 0))
        auth = float(session.get(AUTH_AT, 0))
        return (
            now - seen <= settings.STAFF_IDLE_TIMEOUT
            and now - auth <= settings.STAFF_ABSOLUTE_TIMEOUT
        )

    def touch(self) -> None:
        from whistle.accounts.middleware import SEEN_AT

        session = self.stored_session()
        if session.get(SEEN_AT) is not None:
            session[SEEN_AT] = timezone.now().timestamp()
            session.save()

    def author(self) -> User | None:
        user = self.scope.get("user")
        return user if isinstance(user, User) else None


class ReporterConsumer(ConversationConsumer):
    side = Message.Side.REPORTER

    def authenticate(self) -> tuple[Case, bytes] | None:
        from intake.access import access_reporter_case
        from intake.views.mailbox import VAULT_CASE, VAULT_KEY
        from whistle.vault import SessionVault

        tenant = self.scope.get("tenant")
        if tenant is None or not self.session_alive():
            return None
        vault = SessionVault(_RequestLike(self.scope.get("cookies", {}), self.scope["session"]))  # type: ignore[arg-type]
        case_id, key = vault.get(VAULT_CASE), vault.get(VAULT_KEY)
        if case_id is None or key is None:
            return None
        case = access_reporter_case(tenant=tenant, case_id=case_id.decode())
        if case is None:
            return None
        return case, key

    def session_alive(self) -> bool:
        from intake.views.mailbox import SEEN

        session = self.stored_session()
        seen = float(session.get(SEEN, 0))
        return timezone.now().timestamp() - seen <= settings.REPORTER_IDLE_TIMEOUT

    def touch(self) -> None:
        from intake.views.mailbox import SEEN

        session = self.stored_session()
        if session.get(SEEN) is not None:
            session[SEEN] = timezone.now().timestamp()
            session.save()
