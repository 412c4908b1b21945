"""``crypto.on_slot_wait``: how the application observes Argon2 slot waits without crypto
knowing of it (whistle.metrics registers its histogram and busy counter here)."""

from __future__ import annotations

import pytest

import crypto
from crypto import kdf


def test_callbacks_see_every_wait_and_a_failing_one_never_fails_a_derivation() -> None:
    seen: list[bool] = []

    def broken(_seconds: float, _acquired: bool) -> None:
        raise RuntimeError("an observer's bug")

    def record(seconds: float, acquired: bool) -> None:
        assert seconds >= 0
        seen.append(acquired)

    old = crypto.slot_config()
    crypto.on_slot_wait(broken)
    crypto.on_slot_wait(record)
    crypto.on_slot_wait(record)  # once only
    try:
        crypto.configure_slots(1, 0)
        crypto.derive_key(b"secret", salt=b"s" * 16, params=crypto.TEST_PARAMS)
        with crypto.argon2_slot(), pytest.raises(crypto.BusyError):
            crypto.derive_key(b"secret", salt=b"s" * 16, params=crypto.TEST_PARAMS)
    finally:
        kdf._slot_wait_callbacks.remove(broken)
        kdf._slot_wait_callbacks.remove(record)
        crypto.configure_slots(*old)
    assert seen == [True, True, False]
