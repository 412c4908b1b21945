"""A handler key wrapped with the Argon2id derivation of before issue 12 keeps opening, and the
first login re-wraps it with today's (docs/crypto.md, "Argon2id")."""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import crypto
from tests.fixtures import PASSWORD, World
from whistle.keys import services
from whistle.keys.models import HandlerKey


def wrap_v1(
    secret: bytes,
    key: bytes,
    *,
    params: crypto.Argon2Params,
    context: bytes,
    pepper: bytes = b"",
) -> bytes:
    """A version 0x01 wrap, byte for byte as wrap_with_secret wrote them before issue 12."""
    salt = secrets.token_bytes(16)
    head = bytes((crypto.KDF_V1, 0x51)) + params.encode() + salt
    kek = crypto.derive_key(secret, salt=salt, params=params, pepper=pepper, version=crypto.KDF_V1)
    nonce = secrets.token_bytes(12)
    return head + nonce + AESGCM(kek).encrypt(nonce, key, head + context)


def test_a_v1_handler_key_opens_and_is_rewrapped_at_login(world_a: World) -> None:
    user = world_a.handler
    pair = crypto.generate_keypair()
    old = wrap_v1(
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


def test_a_v1_receipt_opens_the_mailbox_and_is_rewrapped_at_login(
    worlds: tuple[World, World],
) -> None:
    from django.conf import settings

    from intake.models import Case
    from intake.services import case_receipt_context
    from tests.intake.journey import open_mailbox, reporter, submit_report
    from tests.keys.test_key_hierarchy import setup_keys

    world_a, _world_b = worlds
    setup_keys(world_a)
    receipt_text, _html = submit_report(reporter(), world_a)
    receipt = crypto.parse_receipt(receipt_text)
    case = Case.objects.get()
    case_key = crypto.unwrap_with_secret(
        receipt.secret,
        bytes(case.key_for_receipt or b""),
        context=case_receipt_context(case),
        pepper=settings.RECEIPT_PEPPER.encode(),
    )
    old = wrap_v1(
        receipt.secret,
        case_key,
        params=services.kdf_params(),
        context=case_receipt_context(case),
        pepper=settings.RECEIPT_PEPPER.encode(),
    )
    Case.objects.filter(pk=case.pk).update(key_for_receipt=old)

    open_mailbox(reporter(), world_a, receipt_text)

    stored = bytes(Case.objects.get(pk=case.pk).key_for_receipt or b"")
    assert stored != old
    assert crypto.wrap_kdf_version(stored) == crypto.KDF_V2
    assert crypto.wrap_is_current(stored, services.kdf_params())
    open_mailbox(reporter(), world_a, receipt_text)  # the new wrap opens too
    assert bytes(Case.objects.get(pk=case.pk).key_for_receipt or b"") == stored
