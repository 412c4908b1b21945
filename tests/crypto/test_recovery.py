"""Office recovery keys."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import (
    RecoveryKey,
    RecoveryKeyFormatError,
    generate_recovery_key,
    parse_recovery_key,
    unwrap_key,
    wrap_key,
)
from crypto._base32 import ALPHABET
from crypto.recovery import GROUPS, _from_raw

FORMAT = re.compile(r"^([0-9A-HJKMNP-TV-Z]{5}-){12}[0-9A-HJKMNP-TV-Z]{5}$")

recovery_keys = st.integers(min_value=0, max_value=2**256 - 1).map(_from_raw)


def test_shape_and_round_trip() -> None:
    recovery = generate_recovery_key()
    assert FORMAT.match(recovery.formatted)
    assert len(recovery.key) == 32
    assert parse_recovery_key(recovery.formatted) == recovery
    assert parse_recovery_key(recovery.formatted.lower().replace("-", " ")) == recovery
    assert recovery.formatted not in repr(recovery)
    assert repr(recovery.key) not in repr(recovery)


def test_key_is_derived_not_displayed_material() -> None:
    recovery = _from_raw(0)
    assert recovery.key != bytes(32)
    assert _from_raw(1).key != recovery.key


def test_distinct() -> None:
    assert len({generate_recovery_key().key for _ in range(50)}) == 50


def test_usable_as_kek() -> None:
    recovery = generate_recovery_key()
    wrapped = wrap_key(recovery.key, b"office private key", context=b"whistle/office/v1|o1")
    again = parse_recovery_key(recovery.formatted)
    assert unwrap_key(again.key, wrapped, context=b"whistle/office/v1|o1") == b"office private key"


@settings(max_examples=40)
@given(recovery_keys)
def test_every_substitution_caught_with_group(recovery: RecoveryKey) -> None:
    text = recovery.formatted.replace("-", "")
    for position in range(len(text)):
        for char in ALPHABET:
            if char == text[position]:
                continue
            with pytest.raises(RecoveryKeyFormatError) as caught:
                parse_recovery_key(text[:position] + char + text[position + 1 :])
            assert caught.value.reason == "checksum"
            assert caught.value.group == position // 5 + 1


@settings(max_examples=100)
@given(recovery_keys)
def test_every_adjacent_transposition_caught(recovery: RecoveryKey) -> None:
    text = recovery.formatted.replace("-", "")
    for position in range(len(text) - 1):
        a, b = text[position], text[position + 1]
        if a != b:
            with pytest.raises(RecoveryKeyFormatError):
                parse_recovery_key(text[:position] + b + a + text[position + 2 :])


@settings(max_examples=50)
@given(recovery_keys, st.data())
def test_swapped_groups_caught(recovery: RecoveryKey, data: st.DataObject) -> None:
    groups = recovery.formatted.split("-")
    i = data.draw(st.integers(0, GROUPS - 1))
    j = data.draw(st.integers(0, GROUPS - 1))
    if groups[i] == groups[j]:
        return
    groups[i], groups[j] = groups[j], groups[i]
    with pytest.raises(RecoveryKeyFormatError):
        parse_recovery_key("-".join(groups))


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "length"), ("ABCDE-FGHJK", "length"), ("ABCDE-!", "characters"), ("y" * 9999, "length")],
)
def test_reasons(text: str, reason: str) -> None:
    with pytest.raises(RecoveryKeyFormatError) as caught:
        parse_recovery_key(text)
    assert caught.value.reason == reason


def test_missing_group() -> None:
    groups = generate_recovery_key().formatted.split("-")
    with pytest.raises(RecoveryKeyFormatError) as caught:
        parse_recovery_key("-".join(groups[:-1]))
    assert caught.value.reason == "length"
