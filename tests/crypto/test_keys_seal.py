"""Key pairs and HPKE sealing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import (
    DecryptionError,
    KeyPair,
    generate_keypair,
    key_fingerprint,
    public_from_private,
    seal,
    unseal,
)
from crypto.errors import KeyFormatError
from crypto.keys import PRIVATE_KEY_LEN, PUBLIC_KEY_LEN, load_public_key
from tests.crypto.helpers import flipped

PAIR = generate_keypair()
OTHER = generate_keypair()
INFO = b"whistle/case-key/v1|tenant=t1|case=c1"
CASE_KEY = bytes(range(32))
SEALED = seal(PAIR.public, CASE_KEY, info=INFO)


def test_keypair_layout() -> None:
    assert len(PAIR.public) == PUBLIC_KEY_LEN == 1218
    assert len(PAIR.private) == PRIVATE_KEY_LEN == 98
    assert PAIR.public[:2] == b"\x01\x10"
    assert PAIR.private[:2] == b"\x01\x11"
    assert PAIR.public != OTHER.public


def test_private_key_not_in_repr() -> None:
    assert PAIR.private.hex() not in repr(PAIR)
    assert repr(PAIR.private) not in repr(PAIR)


def test_public_from_private() -> None:
    assert public_from_private(PAIR.private) == PAIR.public
    assert public_from_private(OTHER.private) == OTHER.public


@pytest.mark.parametrize(
    "bad",
    [b"", PAIR.private[:-1], PAIR.private + b"\x00", b"\x02" + PAIR.private[1:], PAIR.public],
)
def test_malformed_private_key(bad: bytes) -> None:
    with pytest.raises(KeyFormatError):
        public_from_private(bad)
    with pytest.raises(KeyFormatError):
        unseal(bad, SEALED, info=INFO)


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        PAIR.public[:-1],
        PAIR.public + b"\x00",
        b"\x01\x11" + PAIR.public[2:],
        b"\x01\x10" + b"\xff" * 1184 + b"\x00" * 32,  # ML-KEM coefficients out of range
    ],
)
def test_malformed_public_key(bad: bytes) -> None:
    with pytest.raises(KeyFormatError):
        seal(bad, b"x", info=INFO)
    with pytest.raises(KeyFormatError):
        load_public_key(bad)


def test_fingerprint() -> None:
    fingerprint = key_fingerprint(PAIR.public)
    assert fingerprint == key_fingerprint(PAIR.public)
    assert fingerprint != key_fingerprint(OTHER.public)
    assert len(fingerprint.split("-")) == 8


def test_seal_round_trip() -> None:
    assert SEALED[:2] == b"\x01\x20"
    assert len(SEALED) == 1170
    assert unseal(PAIR.private, SEALED, info=INFO) == CASE_KEY


@settings(max_examples=25, deadline=None)
@given(plaintext=st.binary(max_size=2000))
def test_seal_round_trip_any_plaintext(plaintext: bytes) -> None:
    sealed = seal(PAIR.public, plaintext, info=INFO)
    assert len(sealed) == len(plaintext) + 1138
    assert unseal(PAIR.private, sealed, info=INFO) == plaintext


def test_seal_is_randomised() -> None:
    assert seal(PAIR.public, CASE_KEY, info=INFO) != SEALED


def test_wrong_private_key() -> None:
    with pytest.raises(DecryptionError):
        unseal(OTHER.private, SEALED, info=INFO)


@pytest.mark.parametrize(
    "info",
    [b"whistle/case-key/v1|tenant=t2|case=c1", INFO + b"x", INFO[:-1], b"other"],
)
def test_wrong_info(info: bytes) -> None:
    with pytest.raises(DecryptionError):
        unseal(PAIR.private, SEALED, info=info)


def test_empty_info_rejected() -> None:
    with pytest.raises(ValueError, match="info"):
        seal(PAIR.public, CASE_KEY, info=b"")


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_flipped_byte_fails(data: st.DataObject) -> None:
    with pytest.raises(DecryptionError):
        unseal(PAIR.private, data.draw(flipped(SEALED)), info=INFO)


@pytest.mark.parametrize("cut", [0, 1, 2, 100, 1121, 1122, len(SEALED) - 1])
def test_truncated_fails(cut: int) -> None:
    with pytest.raises(DecryptionError):
        unseal(PAIR.private, SEALED[:cut], info=INFO)


def test_appended_fails() -> None:
    with pytest.raises(DecryptionError):
        unseal(PAIR.private, SEALED + b"\x00", info=INFO)


def test_keypair_is_frozen() -> None:
    with pytest.raises(AttributeError):
        PAIR.public = b""  # type: ignore[misc]
    assert isinstance(PAIR, KeyPair)
