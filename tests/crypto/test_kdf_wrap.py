"""Argon2id derivation, the slot limit, and key wrapping."""

from __future__ import annotations

import os
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import (
    PRODUCTION_PARAMS,
    TEST_PARAMS,
    Argon2Params,
    BusyError,
    DecryptionError,
    argon2_slot,
    configure_slots,
    derive_key,
    slot_config,
    unwrap_key,
    unwrap_with_secret,
    wrap_key,
    wrap_params,
    wrap_with_secret,
)
from crypto.errors import KeyFormatError
from tests.crypto.helpers import flipped

SALT = b"s" * 16
KEK = os.urandom(32)
CASE_KEY = os.urandom(32)
CTX = b"whistle/case-key/v1|receipt|tenant=t1|case=c1"
WRAPPED = wrap_key(KEK, CASE_KEY, context=CTX)
SECRET = b"correct horse battery staple"
PEPPER = b"p" * 32
SECRET_WRAPPED = wrap_with_secret(SECRET, CASE_KEY, params=TEST_PARAMS, context=CTX, pepper=PEPPER)


def test_derive_key_is_deterministic_and_sensitive() -> None:
    base = derive_key(SECRET, salt=SALT, params=TEST_PARAMS)
    assert len(base) == 32
    assert derive_key(SECRET, salt=SALT, params=TEST_PARAMS) == base
    assert derive_key(SECRET + b"!", salt=SALT, params=TEST_PARAMS) != base
    assert derive_key(SECRET, salt=b"t" * 16, params=TEST_PARAMS) != base
    assert derive_key(SECRET, salt=SALT, params=TEST_PARAMS, pepper=PEPPER) != base
    other = Argon2Params(memory_kib=TEST_PARAMS.memory_kib, iterations=2, lanes=1)
    assert derive_key(SECRET, salt=SALT, params=other) != base
    assert len(derive_key(SECRET, salt=SALT, params=TEST_PARAMS, length=64)) == 64


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"salt": b"short"}, "salt"),
        ({"length": 8}, "length"),
        ({"length": 65}, "length"),
    ],
)
def test_derive_key_rejects_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    arguments: dict[str, object] = {"salt": SALT, "params": TEST_PARAMS, **kwargs}
    with pytest.raises(ValueError, match=match):
        derive_key(SECRET, **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("memory_kib", "iterations", "lanes"),
    [
        (7, 1, 1),
        (15, 1, 2),
        (1024, 0, 1),
        (1024, 65, 1),
        (1024, 1, 0),
        (1024, 1, 17),
        (2**20 + 1, 1, 1),
    ],
)
def test_params_bounds(memory_kib: int, iterations: int, lanes: int) -> None:
    with pytest.raises(ValueError, match="Argon2Params"):
        Argon2Params(memory_kib=memory_kib, iterations=iterations, lanes=lanes)


def test_params_encoding() -> None:
    for params in (TEST_PARAMS, PRODUCTION_PARAMS):
        assert len(params.encode()) == 12
        assert Argon2Params.decode(params.encode()) == params
    with pytest.raises(ValueError):
        Argon2Params.decode(b"\x00" * 11)


@pytest.mark.usefixtures("restore_slots")
def test_busy_when_slots_exhausted() -> None:
    configure_slots(1, 0.05)
    with argon2_slot():
        started = time.monotonic()
        with pytest.raises(BusyError):
            derive_key(SECRET, salt=SALT, params=TEST_PARAMS)
        waited = time.monotonic() - started
        with pytest.raises(BusyError):
            unwrap_with_secret(SECRET, SECRET_WRAPPED, context=CTX, pepper=PEPPER)
    assert 0.04 <= waited < 1.0
    # The slot is free again.
    assert derive_key(SECRET, salt=SALT, params=TEST_PARAMS)


@pytest.mark.usefixtures("restore_slots")
def test_busy_across_threads() -> None:
    configure_slots(1, 0.05)
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with argon2_slot():
            holding.set()
            release.wait(2)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(2)
        with pytest.raises(BusyError):
            derive_key(SECRET, salt=SALT, params=TEST_PARAMS)
    finally:
        release.set()
        holder.join()
    assert derive_key(SECRET, salt=SALT, params=TEST_PARAMS)


@pytest.mark.usefixtures("restore_slots")
def test_waiters_proceed_when_a_slot_frees() -> None:
    configure_slots(2, 5.0)
    assert slot_config() == (2, 5.0)
    results: list[bytes] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(derive_key(SECRET, salt=SALT, params=TEST_PARAMS))
        )
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6
    assert len(set(results)) == 1


@pytest.mark.usefixtures("restore_slots")
def test_reconfigure_while_held() -> None:
    configure_slots(1, 0.01)
    with argon2_slot():
        configure_slots(1, 0.01)  # the held slot belongs to the old semaphore
        assert derive_key(SECRET, salt=SALT, params=TEST_PARAMS)
    assert derive_key(SECRET, salt=SALT, params=TEST_PARAMS)


@pytest.mark.parametrize(("count", "timeout"), [(0, 1.0), (-1, 1.0), (1, -0.1)])
def test_configure_slots_rejects_bad_values(count: int, timeout: float) -> None:
    with pytest.raises(ValueError):
        configure_slots(count, timeout)


def test_wrap_key_round_trip() -> None:
    assert WRAPPED[:2] == b"\x01\x50"
    assert len(WRAPPED) == 32 + 30
    assert unwrap_key(KEK, WRAPPED, context=CTX) == CASE_KEY


def test_wrap_key_wrong_kek_or_context() -> None:
    with pytest.raises(DecryptionError):
        unwrap_key(os.urandom(32), WRAPPED, context=CTX)
    with pytest.raises(DecryptionError):
        unwrap_key(KEK, WRAPPED, context=CTX + b"x")
    with pytest.raises(KeyFormatError):
        unwrap_key(b"short", WRAPPED, context=CTX)
    with pytest.raises(ValueError, match="context"):
        wrap_key(KEK, CASE_KEY, context=b"")


@settings(max_examples=150)
@given(st.data())
def test_wrap_key_any_flipped_byte_fails(data: st.DataObject) -> None:
    with pytest.raises(DecryptionError):
        unwrap_key(KEK, data.draw(flipped(WRAPPED)), context=CTX)


def test_wrap_with_secret_round_trip() -> None:
    assert SECRET_WRAPPED[:2] == b"\x01\x51"
    assert len(SECRET_WRAPPED) == 32 + 58
    assert wrap_params(SECRET_WRAPPED) == TEST_PARAMS
    assert unwrap_with_secret(SECRET, SECRET_WRAPPED, context=CTX, pepper=PEPPER) == CASE_KEY


def test_wrap_with_secret_wrong_inputs() -> None:
    for secret, context, pepper in [
        (SECRET + b"x", CTX, PEPPER),
        (SECRET, CTX + b"x", PEPPER),
        (SECRET, CTX, b""),
        (SECRET, CTX, PEPPER[:-1] + b"q"),
    ]:
        with pytest.raises(DecryptionError):
            unwrap_with_secret(secret, SECRET_WRAPPED, context=context, pepper=pepper)


def test_wrap_with_secret_salts_are_random() -> None:
    again = wrap_with_secret(SECRET, CASE_KEY, params=TEST_PARAMS, context=CTX, pepper=PEPPER)
    assert again[14:30] != SECRET_WRAPPED[14:30]


def test_old_params_still_open() -> None:
    # Parameters travel with the blob: a wrap made with other costs opens with no hint.
    old = Argon2Params(memory_kib=512, iterations=2, lanes=2)
    wrapped = wrap_with_secret(SECRET, CASE_KEY, params=old, context=CTX)
    assert wrap_params(wrapped) == old
    assert unwrap_with_secret(SECRET, wrapped, context=CTX) == CASE_KEY


def test_out_of_bounds_params_rejected_before_argon2() -> None:
    huge = (2**31).to_bytes(4, "big")
    tampered = SECRET_WRAPPED[:2] + huge + SECRET_WRAPPED[6:]
    with pytest.raises(DecryptionError):
        wrap_params(tampered)
    with pytest.raises(DecryptionError):
        unwrap_with_secret(SECRET, tampered, context=CTX, pepper=PEPPER)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_wrap_with_secret_any_flipped_byte_fails(data: st.DataObject) -> None:
    with pytest.raises(DecryptionError):
        unwrap_with_secret(SECRET, data.draw(flipped(SECRET_WRAPPED)), context=CTX, pepper=PEPPER)


@pytest.mark.parametrize("cut", [0, 1, 2, 29, 30, 41, 57, len(SECRET_WRAPPED) - 1])
def test_wrap_with_secret_truncated(cut: int) -> None:
    with pytest.raises(DecryptionError):
        unwrap_with_secret(SECRET, SECRET_WRAPPED[:cut], context=CTX, pepper=PEPPER)


@pytest.mark.real_kdf
def test_production_params() -> None:
    # docs/crypto.md: 128 MiB, t=3, p=1 (about 0.26 s on the reference machine).
    assert PRODUCTION_PARAMS.memory_kib >= 128 * 1024
    assert PRODUCTION_PARAMS.iterations >= 3
    assert PRODUCTION_PARAMS.lanes == 1
    wrapped = wrap_with_secret(SECRET, CASE_KEY, params=PRODUCTION_PARAMS, context=CTX)
    assert wrap_params(wrapped) == PRODUCTION_PARAMS
    assert unwrap_with_secret(SECRET, wrapped, context=CTX) == CASE_KEY
