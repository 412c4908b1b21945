"""Blobs and case records (AES-256-GCM with bound context)."""

from __future__ import annotations

import dataclasses
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import (
    DecryptionError,
    RecordContext,
    decrypt_blob,
    decrypt_record,
    encrypt_blob,
    encrypt_record,
)
from crypto.errors import KeyFormatError
from tests.crypto.helpers import flipped

KEY = os.urandom(32)
CONTEXT = RecordContext(tenant="t-1", case="c-1", kind="message", record_id="m-1")
PLAINTEXT = b"The invoices from March were backdated."
RECORD = encrypt_record(KEY, PLAINTEXT, context=CONTEXT)
BLOB = encrypt_blob(KEY, PLAINTEXT, aad=b"session")

fields = st.text(min_size=1, max_size=12)
contexts = st.builds(RecordContext, tenant=fields, case=fields, kind=fields, record_id=fields)


def test_record_round_trip() -> None:
    assert RECORD[:2] == b"\x01\x31"
    assert len(RECORD) == len(PLAINTEXT) + 30
    assert decrypt_record(KEY, RECORD, context=CONTEXT) == PLAINTEXT


@settings(max_examples=50)
@given(plaintext=st.binary(max_size=4096), context=contexts)
def test_record_round_trip_any(plaintext: bytes, context: RecordContext) -> None:
    assert decrypt_record(
        KEY, encrypt_record(KEY, plaintext, context=context), context=context
    ) == (plaintext)


@pytest.mark.parametrize("field", ["tenant", "case", "kind", "record_id"])
def test_record_moved_to_other_context_fails(field: str) -> None:
    moved = dataclasses.replace(CONTEXT, **{field: getattr(CONTEXT, field) + "x"})
    with pytest.raises(DecryptionError):
        decrypt_record(KEY, RECORD, context=moved)


@settings(max_examples=100)
@given(other=contexts)
def test_record_any_other_context_fails(other: RecordContext) -> None:
    if other == CONTEXT:
        return
    with pytest.raises(DecryptionError):
        decrypt_record(KEY, RECORD, context=other)


@settings(max_examples=200)
@given(a=contexts, b=contexts)
def test_context_encoding_is_injective(a: RecordContext, b: RecordContext) -> None:
    assert (a.encode() == b.encode()) == (a == b)


def test_context_encoding_not_naive_join() -> None:
    a = RecordContext(tenant="a|b", case="c", kind="k", record_id="r")
    b = RecordContext(tenant="a", case="b|c", kind="k", record_id="r")
    assert a.encode() != b.encode()


@pytest.mark.parametrize("field", ["tenant", "case", "kind", "record_id"])
def test_context_rejects_empty(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(CONTEXT, **{field: ""})


def test_wrong_key_fails() -> None:
    with pytest.raises(DecryptionError):
        decrypt_record(os.urandom(32), RECORD, context=CONTEXT)
    with pytest.raises(DecryptionError):
        decrypt_blob(os.urandom(32), BLOB, aad=b"session")


@pytest.mark.parametrize("bad_key", [b"", b"k" * 16, b"k" * 31, b"k" * 33])
def test_bad_key_length(bad_key: bytes) -> None:
    with pytest.raises(KeyFormatError):
        encrypt_record(bad_key, PLAINTEXT, context=CONTEXT)
    with pytest.raises(KeyFormatError):
        decrypt_blob(bad_key, BLOB, aad=b"session")


@settings(max_examples=200)
@given(st.data())
def test_record_any_flipped_byte_fails(data: st.DataObject) -> None:
    with pytest.raises(DecryptionError):
        decrypt_record(KEY, data.draw(flipped(RECORD)), context=CONTEXT)


@settings(max_examples=200)
@given(st.data())
def test_blob_any_flipped_byte_fails(data: st.DataObject) -> None:
    with pytest.raises(DecryptionError):
        decrypt_blob(KEY, data.draw(flipped(BLOB)), aad=b"session")


def test_blob_round_trip_and_aad() -> None:
    assert BLOB[:2] == b"\x01\x30"
    assert decrypt_blob(KEY, BLOB, aad=b"session") == PLAINTEXT
    with pytest.raises(DecryptionError):
        decrypt_blob(KEY, BLOB, aad=b"session2")
    empty = encrypt_blob(KEY, b"", aad=b"")
    assert decrypt_blob(KEY, empty, aad=b"") == b""


def test_blob_and_record_are_not_interchangeable() -> None:
    # Same key, and the blob's AAD set to the record's canonical context: still refused.
    blob = encrypt_blob(KEY, PLAINTEXT, aad=CONTEXT.encode())
    with pytest.raises(DecryptionError):
        decrypt_record(KEY, blob, context=CONTEXT)
    with pytest.raises(DecryptionError):
        decrypt_blob(KEY, RECORD, aad=CONTEXT.encode())


@pytest.mark.parametrize("cut", [0, 1, 13, 29, len(RECORD) - 1])
def test_truncated_record_fails(cut: int) -> None:
    with pytest.raises(DecryptionError):
        decrypt_record(KEY, RECORD[:cut], context=CONTEXT)


def test_nonces_are_fresh() -> None:
    assert encrypt_record(KEY, PLAINTEXT, context=CONTEXT) != RECORD
