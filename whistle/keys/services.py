"""Key hierarchy use cases: handler keys, office keys, grants, recovery, rotation.

Who can do what is decided here, not in views: a grant needs a logged-in *member* of the
office who holds the office key (their handler private key comes from their session vault) or
the office recovery key. A tenant admin or operator who is not a member has no path in.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

import crypto
from crypto.binding import HANDLER, OFFICE, bind_public_key, binding_key, verify_public_key_binding
from whistle.accounts.models import User
from whistle.db import db_release
from whistle.keys.models import HandlerKey, OfficeKeyGrant, OfficeKeyPair, OfficeRecoveryWrap
from whistle.keys.signals import key_event
from whistle.tenants.models import Membership, Office
from whistle.tenants.services import announce

VAULT_HANDLER_PRIVATE = "handler_private"

logger = logging.getLogger("whistle.keys")


def _announce(office: Office, actor: User, verb: str, object_type: str, object_id: str) -> None:
    key_event.send(
        sender=Office,
        tenant=office.owner,
        actor=actor,
        verb=verb,
        object_type=object_type,
        object_id=object_id,
    )


class KeyAccessError(Exception):
    """The actor may not do this, or does not hold the key needed for it."""


class KeyIntegrityError(KeyAccessError):
    """A stored public key is not bound to its owner: it was changed outside Whistle."""


# --- key authenticity (docs/crypto.md, "Key authenticity") ---------------------------------


@functools.lru_cache(maxsize=4)
def _derived_binding_key(secret: str) -> bytes:
    return binding_key(secret.encode("utf-8"))


def _binding_key() -> bytes:
    # The receipt pepper: a server secret kept out of the database and its backups that, unlike
    # SECRET_KEY, is documented never to change (a rotated SECRET_KEY would unbind every key).
    # HKDF with its own label keeps this use apart from the receipt KDF.
    return _derived_binding_key(settings.RECEIPT_PEPPER)


def handler_key_binding(user: User, public: bytes) -> bytes:
    """The binding of a handler public key to its account (handler keys have no versions)."""
    return bind_public_key(
        _binding_key(), kind=HANDLER, owner=str(user.public_id), version=0, public=public
    )


def office_key_binding(office: Office, version: int, public: bytes) -> bytes:
    """The binding of an office public key to its office and generation."""
    return bind_public_key(
        _binding_key(), kind=OFFICE, owner=str(office.public_id), version=version, public=public
    )


def handler_key_genuine(key: HandlerKey) -> bool:
    """Whether the stored handler public key is the one Whistle stored for this account."""
    return verify_public_key_binding(
        _binding_key(),
        None if key.binding is None else bytes(key.binding),
        kind=HANDLER,
        owner=str(key.user.public_id),
        version=0,
        public=bytes(key.public_key),
    )


def keypair_genuine(keypair: OfficeKeyPair) -> bool:
    """Whether the stored office public key is the one Whistle stored for this generation."""
    return verify_public_key_binding(
        _binding_key(),
        None if keypair.binding is None else bytes(keypair.binding),
        kind=OFFICE,
        owner=str(keypair.office.public_id),
        version=keypair.version,
        public=bytes(keypair.public_key),
    )


def kdf_params() -> crypto.Argon2Params:
    if settings.WHISTLE_KDF_PARAMS == "test":
        return crypto.TEST_PARAMS
    return crypto.PRODUCTION_PARAMS


# --- contexts: every wrap names its purpose and the ids it belongs to ------------------------


def handler_context(user: User) -> bytes:
    return f"whistle/handler-key/v1|user={user.public_id}".encode()


def grant_info(keypair: OfficeKeyPair, user: User) -> bytes:
    office, version = keypair.office.public_id, keypair.version
    return f"whistle/office-grant/v1|office={office}|v={version}|user={user.public_id}".encode()


def recovery_context(keypair: OfficeKeyPair) -> bytes:
    return (
        f"whistle/office-recovery/v1|office={keypair.office.public_id}|v={keypair.version}".encode()
    )


def chain_info(old: OfficeKeyPair, new: OfficeKeyPair) -> bytes:
    return (
        f"whistle/office-chain/v1|office={old.office.public_id}|from={old.version}|to={new.version}"
    ).encode()


# --- handler keys ---------------------------------------------------------------------------


def handler_key_unlock(*, user: User, password: str) -> bytes:
    """The user's handler private key, unwrapped with the password just verified.

    Creates the key pair on first login. A wrap that the password does not open (the password
    was reset without the old one) is replaced by a new key pair; the grants made to the old
    one go with it, so the handler waits for a member to grant access again.
    """
    secret = password.encode("utf-8")
    existing = HandlerKey.objects.filter(user=user).first()
    # Argon2 follows: no pooled connection may be held while it waits or runs (DESIGN §3).
    db_release()
    if existing is not None:
        try:
            private = crypto.unwrap_with_secret(
                secret, bytes(existing.wrapped_private), context=handler_context(user)
            )
        except crypto.DecryptionError:
            existing.delete()
        else:
            _handler_key_refresh(existing, user, secret, private)
            return private
    pair = crypto.generate_keypair()
    wrapped = crypto.wrap_with_secret(
        secret, pair.private, params=kdf_params(), context=handler_context(user)
    )
    HandlerKey.objects.create(
        user=user,
        public_key=pair.public,
        wrapped_private=wrapped,
        binding=handler_key_binding(user, pair.public),
    )
    return pair.private


def _handler_key_refresh(key: HandlerKey, user: User, secret: bytes, private: bytes) -> None:
    """After a successful unwrap: upgrade the wrap's cost, repair a changed public key.

    The private key just opened under the account's password (an AEAD wrap bound to the
    account) is genuine, so a public key or binding that does not match it was changed outside
    Whistle: it is put back from the private key, and the event is logged without content.
    """
    fields = []
    # Older costs or derivation (a version 0x01 wrap): re-wrap with today's.
    if not crypto.wrap_is_current(bytes(key.wrapped_private), kdf_params()):
        key.wrapped_private = crypto.wrap_with_secret(
            secret, private, params=kdf_params(), context=handler_context(user)
        )
        fields.append("wrapped_private")
    public = crypto.public_from_private(private)
    key.user = user
    if bytes(key.public_key) != public or not handler_key_genuine(key):
        logger.error(
            "handler key of user %s did not match its binding or private key; restored",
            user.public_id,
        )
        key.public_key = public
        key.binding = handler_key_binding(user, public)
        fields += ["public_key", "binding"]
    if fields:
        key.save(update_fields=fields)


def handler_key_rewrap(*, user: User, old_password: str, new_password: str) -> None:
    """Re-wrap the handler key for a password change (caller holds the transaction)."""
    key = HandlerKey.objects.select_for_update().filter(user=user).first()
    if key is None:
        return
    context = handler_context(user)
    try:
        private = crypto.unwrap_with_secret(
            old_password.encode("utf-8"), bytes(key.wrapped_private), context=context
        )
    except crypto.DecryptionError:
        key.delete()  # unreadable anyway; a new pair is made at the next login
        return
    key.wrapped_private = crypto.wrap_with_secret(
        new_password.encode("utf-8"), private, params=kdf_params(), context=context
    )
    key.save(update_fields=["wrapped_private"])


def handler_key_forget(*, user: User) -> int:
    """A password reset without the old password: the key and every grant to it are lost."""
    deleted, _detail = HandlerKey.objects.filter(user=user).delete()
    return deleted


# --- office keys ----------------------------------------------------------------------------


def current_keypair(office: Office) -> OfficeKeyPair | None:
    """The office's active key generation as stored, genuine or not (for staff key work).

    Opening, granting and renewing use the private key from a member's grant, never the
    stored public key, so they work on this; only sealing needs :func:`active_keypair`.
    """
    return OfficeKeyPair.objects.filter(office=office, active=True).select_related("office").first()


def active_keypair(office: Office) -> OfficeKeyPair | None:
    """The office key pair to seal new cases to, or None when there is none to trust.

    A stored public key that is not bound to this office and generation was swapped outside
    Whistle: nothing is sealed to it. The office counts as not ready (reporters are told to
    try again, nothing is lost) and the event is logged without content.
    """
    keypair = current_keypair(office)
    if keypair is None:
        return None
    if not keypair_genuine(keypair):
        logger.error(
            "office key v%s of office %s failed its binding check; not sealing to it",
            keypair.version,
            office.public_id,
        )
        return None
    # An older generation is genuine too, but made active again by a database write it would
    # receive new cases that a former member or an old recovery key can open.
    if (
        keypair.successor_id is not None
        or OfficeKeyPair.objects.filter(office=office, version__gt=keypair.version).exists()
    ):
        logger.error(
            "office key v%s of office %s is an old generation marked active; not sealing to it",
            keypair.version,
            office.public_id,
        )
        return None
    return keypair


@dataclass(frozen=True)
class WaitingMember:
    membership: Membership
    can_be_granted: bool  # False until the member's first login has made their key pair


@dataclass(frozen=True)
class OfficeKeyStatus:
    keypair: OfficeKeyPair | None
    has_access: bool
    waiting: list[WaitingMember]
    genuine: bool = True  # False: the stored public key fails its binding check

    @property
    def ready(self) -> bool:
        return self.keypair is not None


def office_key_status(*, office: Office, user: User) -> OfficeKeyStatus:
    keypair = current_keypair(office)
    if keypair is None:
        return OfficeKeyStatus(keypair=None, has_access=False, waiting=[])
    genuine = keypair_genuine(keypair)
    granted = set(OfficeKeyGrant.objects.filter(keypair=keypair).values_list("user_id", flat=True))
    members = Membership.objects.filter(office=office).exclude(user_id__in=granted)
    with_keys = set(
        HandlerKey.objects.filter(user__memberships__office=office).values_list(
            "user_id", flat=True
        )
    )
    waiting = [
        WaitingMember(membership=m, can_be_granted=m.user_id in with_keys)
        for m in members.select_related("user").order_by("user__email")
    ]
    return OfficeKeyStatus(
        keypair=keypair, has_access=user.pk in granted, waiting=waiting, genuine=genuine
    )


def _require_member(office: Office, user: User, *, lead: bool = False) -> Membership:
    membership = Membership.objects.filter(office=office, user=user).first()
    if membership is None or (lead and not membership.is_lead):
        raise KeyAccessError("not a member of this office" if membership is None else "not lead")
    return membership


def _seal_grant(
    keypair: OfficeKeyPair, office_private: bytes, user: User, granted_by: User | None
) -> OfficeKeyGrant:
    handler_key = HandlerKey.objects.filter(user=user).select_related("user").first()
    if handler_key is None:
        raise KeyAccessError("the grantee has no handler key yet (first login pending)")
    if not handler_key_genuine(handler_key):
        # Sealing the office key to a public key somebody put into the database would hand
        # them every report of the office.
        logger.error(
            "handler key of user %s failed its binding check; office key not granted to it",
            user.public_id,
        )
        raise KeyIntegrityError("the grantee's public key is not bound to the account")
    sealed = crypto.seal(
        bytes(handler_key.public_key), office_private, info=grant_info(keypair, user)
    )
    grant, _created = OfficeKeyGrant.objects.update_or_create(
        keypair=keypair,
        user=user,
        defaults={"handler_key": handler_key, "sealed_private": sealed, "granted_by": granted_by},
    )
    return grant


def _new_keypair(office: Office, version: int) -> tuple[OfficeKeyPair, bytes]:
    pair = crypto.generate_keypair()
    keypair = OfficeKeyPair.objects.create(
        office=office,
        version=version,
        public_key=pair.public,
        binding=office_key_binding(office, version, pair.public),
        active=True,
    )
    return keypair, pair.private


def _new_recovery(keypair: OfficeKeyPair, office_private: bytes) -> crypto.RecoveryKey:
    recovery = crypto.generate_recovery_key()
    OfficeRecoveryWrap.objects.update_or_create(
        keypair=keypair,
        defaults={
            "wrapped_private": crypto.wrap_key(
                recovery.key, office_private, context=recovery_context(keypair)
            )
        },
    )
    return recovery


@transaction.atomic
def office_keys_setup(*, office: Office, actor: User, actor_private: bytes) -> crypto.RecoveryKey:
    """Create the office's first key pair (by its lead, logged in); returns the recovery key.

    Keys are made by the lead rather than when the operator creates the office, so that the
    recovery key is shown to nobody but the office.
    """
    _require_member(office, actor, lead=True)
    Office.objects.select_for_update().filter(pk=office.pk).get()
    if OfficeKeyPair.objects.filter(office=office).exists():
        raise KeyAccessError("this office has keys already")
    _check_handler_private(actor, actor_private)
    keypair, private = _new_keypair(office, 1)
    _seal_grant(keypair, private, actor, granted_by=actor)
    _announce(office, actor, "key.office_created", "office", str(office.public_id))
    return _new_recovery(keypair, private)


def _check_handler_private(user: User, handler_private: bytes) -> None:
    key = HandlerKey.objects.filter(user=user).first()
    if key is None or crypto.public_from_private(handler_private) != bytes(key.public_key):
        raise KeyAccessError("the session's key does not belong to this account")


def office_private_key(
    *, office: Office, user: User, handler_private: bytes, version: int | None = None
) -> bytes:
    """The office private key of ``version`` (default: active) for a member holding access.

    Older versions are reached through the rotation chain from the member's current grant.
    """
    keypair = current_keypair(office)
    if keypair is None:
        raise KeyAccessError("this office has no keys yet")
    grant = OfficeKeyGrant.objects.filter(keypair=keypair, user=user).first()
    if grant is None:
        raise KeyAccessError("no access granted")
    try:
        private = crypto.unseal(
            handler_private, bytes(grant.sealed_private), info=grant_info(keypair, user)
        )
    except crypto.DecryptionError:
        raise KeyAccessError("the grant does not open with this session's key") from None
    current = keypair
    while version is not None and current.version != version:
        older = OfficeKeyPair.objects.filter(successor=current).select_related("office").first()
        if older is None or older.sealed_for_successor is None:
            raise KeyAccessError("no such key version")
        private = crypto.unseal(
            private, bytes(older.sealed_for_successor), info=chain_info(older, current)
        )
        current = older
    return private


@transaction.atomic
def office_grant(
    *, office: Office, actor: User, actor_private: bytes, grantee: User
) -> OfficeKeyGrant:
    """A member who holds the office key grants it to another member of the same office."""
    _require_member(office, actor)
    _require_member(office, grantee)
    keypair = current_keypair(office)
    if keypair is None:
        raise KeyAccessError("this office has no keys yet")
    private = office_private_key(office=office, user=actor, handler_private=actor_private)
    grant = _seal_grant(keypair, private, grantee, granted_by=actor)
    _announce(office, actor, "key.granted", "user", str(grantee.public_id))
    return grant


@transaction.atomic
def office_recover(*, office: Office, actor: User, recovery_text: str) -> OfficeKeyGrant:
    """Restore the actor's access with the office recovery key (the actor must be a member).

    Raises:
        crypto.RecoveryKeyFormatError: a typo in the key (caught by its check characters).
        KeyAccessError: not a member, no keys, no handler key, or the key is not this office's.
    """
    _require_member(office, actor)
    recovery = crypto.parse_recovery_key(recovery_text)
    keypair = current_keypair(office)
    if keypair is None:
        raise KeyAccessError("this office has no keys yet")
    wrap = OfficeRecoveryWrap.objects.filter(keypair=keypair).first()
    if wrap is None:
        raise KeyAccessError("no recovery wrap")
    try:
        private = crypto.unwrap_key(
            recovery.key, bytes(wrap.wrapped_private), context=recovery_context(keypair)
        )
    except crypto.DecryptionError:
        raise KeyAccessError("this is not the recovery key of this office") from None
    grant = _seal_grant(keypair, private, actor, granted_by=actor)
    _announce(office, actor, "key.recovered", "user", str(actor.public_id))
    return grant


@transaction.atomic
def office_rotate_keys(*, office: Office, actor: User, actor_private: bytes) -> crypto.RecoveryKey:
    """Replace the office key pair; returns the new recovery key (the old one stops working).

    Every member who held the old key gets the new one; the old private key is kept sealed to
    the new public key so existing cases stay readable (see docs/crypto.md, "Rotation").
    """
    _require_member(office, actor, lead=True)
    old = current_keypair(office)
    if old is None:
        raise KeyAccessError("this office has no keys yet")
    old_private = office_private_key(office=office, user=actor, handler_private=actor_private)
    holders = list(
        User.objects.filter(office_grants__keypair=old, memberships__office=office).distinct()
    )
    OfficeKeyPair.objects.filter(pk=old.pk).update(active=False)
    new, new_private = _new_keypair(office, old.version + 1)
    old.active = False
    old.successor = new
    old.sealed_for_successor = crypto.seal(
        bytes(new.public_key), old_private, info=chain_info(old, new)
    )
    old.save(update_fields=["active", "successor", "sealed_for_successor"])
    for holder in holders:
        try:
            _seal_grant(new, new_private, holder, granted_by=actor)
        except KeyIntegrityError:
            # Logged in _seal_grant. Renewing is the way out of a tampered key, so one bad
            # handler key must not stop it: that member is granted again after their next
            # login has put their genuine key back.
            continue
    # The old generation is now reachable only through the chain.
    OfficeKeyGrant.objects.filter(keypair=old).delete()
    OfficeRecoveryWrap.objects.filter(keypair=old).delete()
    _announce(office, actor, "key.rotated", "office", str(office.public_id))
    return _new_recovery(new, new_private)


@transaction.atomic
def membership_remove(*, office: Office, user: User, actor: User | None = None) -> bool:
    """Remove a member and every office key grant they held (one event, "member.removed":
    the grants go with the membership). False if they were no member."""
    OfficeKeyGrant.objects.filter(keypair__office=office, user=user).delete()
    removed, _rows = Membership.objects.filter(office=office, user=user).delete()
    if removed:
        announce(tenant=office.owner, actor=actor, verb="member.removed", user=user)
    return bool(removed)
