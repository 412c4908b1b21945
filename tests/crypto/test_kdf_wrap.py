"""Argon2id derivation, the slot limit, and key wrapping."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import (
    KDF_V1,
    KDF_V2,
    KDF_VERSION,
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
    wrap_is_current,
    wrap_kdf_version,
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


@pytest.mark.parametrize("version", [KDF_V1, KDF_V2])
def test_derive_key_is_deterministic_and_sensitive(version: int) -> None:
    base = derive_key(SECRET, salt=SALT, params=TEST_PARAMS, version=version)
    assert len(base) == 32
    assert derive_key(SECRET, salt=SALT, params=TEST_PARAMS, version=version) == base
    assert derive_key(SECRET + b"!", salt=SALT, params=TEST_PARAMS, version=version) != base
    assert derive_key(SECRET, salt=b"t" * 16, params=TEST_PARAMS, version=version) != base
    peppered = derive_key(SECRET, salt=SALT, params=TEST_PARAMS, pepper=PEPPER, version=version)
    assert peppered != base
    other = Argon2Params(memory_kib=TEST_PARAMS.memory_kib, iterations=2, lanes=1)
    assert derive_key(SECRET, salt=SALT, params=other, version=version) != base
    assert len(derive_key(SECRET, salt=SALT, params=TEST_PARAMS, length=64, version=version)) == 64


def test_the_versions_differ_and_v2_is_the_default() -> None:
    assert KDF_VERSION == KDF_V2
    v1 = derive_key(SECRET, salt=SALT, params=TEST_PARAMS, pepper=PEPPER, version=KDF_V1)
    v2 = derive_key(SECRET, salt=SALT, params=TEST_PARAMS, pepper=PEPPER, version=KDF_V2)
    assert v1 != v2
    assert derive_key(SECRET, salt=SALT, params=TEST_PARAMS, pepper=PEPPER) == v2
    # Without a pepper the two are still different: v2 always runs the HMAC step.
    assert derive_key(SECRET, salt=SALT, params=TEST_PARAMS, version=KDF_V1) != derive_key(
        SECRET, salt=SALT, params=TEST_PARAMS, version=KDF_V2
    )


def test_v2_takes_one_lane_and_a_16_byte_salt_v1_more() -> None:
    two_lanes = Argon2Params(memory_kib=256, iterations=1, lanes=2)
    with pytest.raises(ValueError, match="lane"):
        derive_key(SECRET, salt=SALT, params=two_lanes)
    with pytest.raises(ValueError, match="lane"):
        wrap_with_secret(SECRET, CASE_KEY, params=two_lanes, context=CTX)
    with pytest.raises(ValueError, match="salt"):
        derive_key(SECRET, salt=b"s" * 17, params=TEST_PARAMS)
    assert derive_key(SECRET, salt=SALT, params=two_lanes, version=KDF_V1)
    assert derive_key(SECRET, salt=b"s" * 17, params=TEST_PARAMS, version=KDF_V1)
    with pytest.raises(ValueError, match="version"):
        derive_key(SECRET, salt=SALT, params=TEST_PARAMS, version=3)


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
    assert SECRET_WRAPPED[:2] == b"\x02\x51"
    assert len(SECRET_WRAPPED) == 32 + 58
    assert wrap_params(SECRET_WRAPPED) == TEST_PARAMS
    assert wrap_kdf_version(SECRET_WRAPPED) == KDF_V2
    assert wrap_is_current(SECRET_WRAPPED, TEST_PARAMS)
    assert not wrap_is_current(SECRET_WRAPPED, PRODUCTION_PARAMS)
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
    old = Argon2Params(memory_kib=512, iterations=2, lanes=1)
    wrapped = wrap_with_secret(SECRET, CASE_KEY, params=old, context=CTX)
    assert wrap_params(wrapped) == old
    assert not wrap_is_current(wrapped, TEST_PARAMS)
    assert unwrap_with_secret(SECRET, wrapped, context=CTX) == CASE_KEY


def test_version_byte_is_authenticated_and_checked_before_argon2() -> None:
    # Marking a v2 wrap as v1 makes it derive with the other KDF: it does not open.
    as_v1 = b"\x01" + SECRET_WRAPPED[1:]
    assert wrap_kdf_version(as_v1) == KDF_V1
    with pytest.raises(DecryptionError):
        unwrap_with_secret(SECRET, as_v1, context=CTX, pepper=PEPPER)
    # An unknown version, or a v2 wrap claiming two lanes, is refused before any derivation.
    for tampered in (
        b"\x03" + SECRET_WRAPPED[1:],
        SECRET_WRAPPED[:13] + b"\x02" + SECRET_WRAPPED[14:],
    ):
        with pytest.raises(DecryptionError):
            wrap_params(tampered)
        with pytest.raises(DecryptionError):
            unwrap_with_secret(SECRET, tampered, context=CTX, pepper=PEPPER)


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


def _runs_while_the_kdf_runs(params: Argon2Params, version: int, rounds: int) -> bool:
    """Whether this thread gets to run while another thread is inside ``derive_key``.

    With a switch interval of a minute the interpreter never takes the GIL away from a thread
    that runs Python code or holds the GIL through a C call: the main thread, waiting in
    ``Thread.start()``, then runs again only once the worker has finished all its rounds. It
    runs earlier only if a derivation released the GIL; it then stops the worker at once.
    """
    stop = threading.Event()
    finished = threading.Event()

    def work() -> None:
        for _ in range(rounds):
            if stop.is_set():
                break
            derive_key(SECRET, salt=SALT, params=params, pepper=PEPPER, version=version)
        finished.set()

    saved = sys.getswitchinterval()
    sys.setswitchinterval(60.0)
    try:
        worker = threading.Thread(target=work)
        worker.start()
        ran_during = not finished.is_set()
        stop.set()
    finally:
        sys.setswitchinterval(saved)
    worker.join()
    return ran_during


@pytest.mark.parametrize("version", [KDF_V1, KDF_V2])
def test_kdf_releases_the_gil(version: int) -> None:
    # The server runs Argon2 in worker threads beside its event loop (and two derivations
    # on two cores at once): a derivation that held the GIL would freeze both.
    assert _runs_while_the_kdf_runs(TEST_PARAMS, version, rounds=5000)


@pytest.mark.real_kdf
def test_production_params() -> None:
    # docs/crypto.md: 128 MiB, t=3, p=1 (about 0.18 s with KDF v2 on the reference machine).
    assert PRODUCTION_PARAMS.memory_kib >= 128 * 1024
    assert PRODUCTION_PARAMS.iterations >= 3
    assert PRODUCTION_PARAMS.lanes == 1
    wrapped = wrap_with_secret(SECRET, CASE_KEY, params=PRODUCTION_PARAMS, context=CTX)
    assert wrap_params(wrapped) == PRODUCTION_PARAMS
    assert wrap_kdf_version(wrapped) == KDF_V2
    assert unwrap_with_secret(SECRET, wrapped, context=CTX) == CASE_KEY


@pytest.mark.real_kdf
def test_production_params_v2_is_the_specified_argon2id() -> None:
    # At the real cost, libsodium's result equals the reference construction (docs/crypto.md)
    # computed with cryptography's Argon2id, and the derivation releases the GIL.
    import hmac

    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    p = PRODUCTION_PARAMS
    password = hmac.digest(PEPPER, b"whistle/argon2id/v2|" + SECRET, "sha256")
    expected = Argon2id(
        salt=SALT, length=32, iterations=p.iterations, lanes=p.lanes, memory_cost=p.memory_kib
    ).derive(password)
    assert derive_key(SECRET, salt=SALT, params=p, pepper=PEPPER) == expected
    assert _runs_while_the_kdf_runs(p, KDF_V2, rounds=20)


@settings(max_examples=60, deadline=None)
@given(
    secret=st.binary(max_size=200),
    pepper=st.binary(max_size=100),
    salt=st.binary(min_size=16, max_size=16),
    memory_kib=st.integers(min_value=8, max_value=300),
    iterations=st.integers(min_value=1, max_value=3),
    length=st.integers(min_value=16, max_value=64),
)
def test_v2_equals_the_specification_for_any_input(
    secret: bytes, pepper: bytes, salt: bytes, memory_kib: int, iterations: int, length: int
) -> None:
    # docs/crypto.md, KDF v2, computed with cryptography's HMAC and Argon2id (not libsodium).
    from cryptography.hazmat.primitives import hashes, hmac
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    mac = hmac.HMAC(pepper, hashes.SHA256())
    mac.update(b"whistle/argon2id/v2|" + secret)
    expected = Argon2id(
        salt=salt, length=length, iterations=iterations, lanes=1, memory_cost=memory_kib
    ).derive(mac.finalize())
    params = Argon2Params(memory_kib=memory_kib, iterations=iterations, lanes=1)
    assert derive_key(secret, salt=salt, params=params, pepper=pepper, length=length) == expected
