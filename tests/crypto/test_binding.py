"""Key bindings (crypto/binding.py): known answers for the format in docs/crypto.md, and every
field of the bound tuple matters."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.binding import (
    HANDLER,
    OFFICE,
    bind_public_key,
    binding_key,
    verify_public_key_binding,
)

SECRET = b"test-receipt-pepper-5c0f3b9e2a7d4e1f8b6c"
PUBLIC = bytes([1, 16]) + bytes(range(256)) * 4 + bytes(range(192))  # 1,218 bytes
OFFICE_ID = "00000000-0000-4000-8000-000000000001"
USER_ID = "00000000-0000-4000-8000-000000000002"


def test_known_answers() -> None:
    # Stored bindings must keep verifying: never change these values to make a test pass.
    key = binding_key(SECRET)
    assert key.hex() == "dd4867d8adcd9bc5458a9c2a356b7cff0080f8c6a7d43319470dc486abaa9ea1"
    office = bind_public_key(key, kind=OFFICE, owner=OFFICE_ID, version=2, public=PUBLIC)
    assert office.hex() == "7220adcec6ad85d9ccedbd53f449679a0c3d63ceafcda785d7543c814ab594f2"
    handler = bind_public_key(key, kind=HANDLER, owner=USER_ID, version=0, public=PUBLIC)
    assert handler.hex() == "7dfd4c45d24dcc89ff800421905f8f7aa797a62e675210fd246a217eca452d11"


def test_the_format_is_the_documented_one() -> None:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"whistle/key-binding/v1"
    ).derive(SECRET)

    def field(item: bytes) -> bytes:
        return len(item).to_bytes(4, "big") + item

    message = b"".join(
        field(x) for x in (b"whistle/key-binding/v1", b"office", OFFICE_ID.encode(), b"2", PUBLIC)
    )
    expected = hmac.new(key, message, hashlib.sha256).digest()
    assert bind_public_key(key, kind=OFFICE, owner=OFFICE_ID, version=2, public=PUBLIC) == expected


@pytest.mark.parametrize(
    "change",
    [
        {"kind": HANDLER},
        {"owner": USER_ID},
        {"version": 3},
        {"public": PUBLIC[:-1] + b"\x00"},
    ],
)
def test_every_field_is_bound(change: dict[str, object]) -> None:
    key = binding_key(SECRET)
    fields: dict[str, object] = {"kind": OFFICE, "owner": OFFICE_ID, "version": 2, "public": PUBLIC}
    binding = bind_public_key(key, **fields)  # type: ignore[arg-type]
    assert verify_public_key_binding(key, binding, **fields)  # type: ignore[arg-type]
    assert not verify_public_key_binding(key, binding, **{**fields, **change})  # type: ignore[arg-type]
    other = binding_key(b"another server secret of enough length")
    assert not verify_public_key_binding(other, binding, **fields)  # type: ignore[arg-type]


def test_missing_or_malformed_bindings_are_not_genuine() -> None:
    key = binding_key(SECRET)
    for binding in (None, b"", b"\x00" * 31, b"\x00" * 32):
        assert not verify_public_key_binding(
            key, binding, kind=OFFICE, owner=OFFICE_ID, version=1, public=PUBLIC
        )
    with pytest.raises(ValueError):
        bind_public_key(key, kind="other", owner=OFFICE_ID, version=1, public=PUBLIC)
    with pytest.raises(ValueError):
        binding_key(b"short")
