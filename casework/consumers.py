"""The handler's websocket on a case (the conversation's consumer, ``chat.consumers``, on the
handlers' side): authentication as for the staff pages, access as for the case page
(``casework.access``), and what the handler writes through the audited path."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib.auth import HASH_SESSION_KEY
from django.http import Http404
from django.utils.crypto import constant_time_compare
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from casework.access import access_case
from casework.services import case_message_send
from chat.consumers import Access, ConversationConsumer, SessionRequest
from chat.events import staff_group
from chat.live import in_thread
from chat.models import Message
from intake.services import case_key_for_office
from whistle.accounts.models import User
from whistle.keys.services import VAULT_HANDLER_PRIVATE, KeyAccessError
from whistle.sessions import STAFF
from whistle.vault import SessionVault


class HandlerConsumer(ConversationConsumer):
    """The handler's socket on a case: logged in, second factor verified in this session,
    member of the case's office, not recused or excluded, key unlocked. What the handler writes
    goes through the same audited service as the case page's reply form."""

    side = Message.Side.OFFICE
    rules = STAFF

    def authenticate(self, *, with_key: bool = True) -> Access | None:
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
        vault = SessionVault(SessionRequest(self.scope.get("cookies", {}), session))  # type: ignore[arg-type]
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
        persistent_id = session.get(DEVICE_ID_SESSION_KEY)
        device = Device.from_persistent_id(persistent_id) if persistent_id else None
        return device is not None and device.user_id == user.pk

    def author(self) -> User | None:
        user = self.scope.get("user")
        return user if isinstance(user, User) else None

    def extra_groups(self) -> tuple[str, ...]:
        user = self.scope.get("user")
        return (staff_group(user.pk),) if isinstance(user, User) else ()

    async def store(self, access: Access, body: str) -> Message:
        """Through ``casework.services.case_message_send``: the message and its audit event in
        one transaction under the case's lock (in a database thread; announced by ``_post``
        from this event loop)."""
        user = self.author()
        assert user is not None  # noqa: S101 - authenticated on connect
        return await in_thread(
            partial(
                case_message_send,
                case=access.case,
                actor=user,
                case_key=access.key,
                body=body,
                announce=False,
            )
        )
