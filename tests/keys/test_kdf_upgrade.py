"""A handler key wrapped with the Argon2id derivation of before issue 12 keeps opening, and the
first login re-wraps it with today's (docs/crypto.md, "Argon2id")."""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import crypto
from tests.fixtures import PASSWORD, World
from whistle.keys import services
from whistle.keys.models import HandlerKey


def _wrap_v1(secret: bytes, key: bytes, *, params: crypto.Argon2Params, context: bytes) -> bytes:
    """A version 0x01 wrap, byte for byte as wrap_with_secret wrote them before issue 12."""
    salt = secrets.token_bytes(16)
    head = bytes((crypto.KDF_V1, 0x51)) + params.encode() + salt
    kek = crypto.derive_key(secret, salt=salt, params=params, version=crypto.KDF_V1)
    nonce = secrets.token_bytes(12)
    return head + nonce + AESGCM(kek).encrypt(nonce, key, head + context)


def test_a_v1_handler_key_opens_and_is_rewrapped_at_login(world_a: World) -> None:
    user = world_a.handler
    pair = crypto.generate_keypair()
    old = _wrap_v1(
        PASSWORD.encode(),
        pair.private,
        params=services.kdf_params(),
        context=services.handler_context(user),
    )
    HandlerKey.objects.filter(user=user).delete()
    HandlerKey.objects.create(user=user, public_key=pair.public, wrapped_private=old)

    assert services.handler_key_unlock(user=user, password=PASSWORD) == pair.private

    stored = bytes(HandlerKey.objects.get(user=user).wrapped_private)
    assert stored != old
    assert crypto.wrap_kdf_version(stored) == crypto.KDF_V2
    assert crypto.wrap_is_current(stored, services.kdf_params())
    assert services.handler_key_unlock(user=user, password=PASSWORD) == pair.private
    assert bytes(HandlerKey.objects.get(user=user).wrapped_private) == stored
