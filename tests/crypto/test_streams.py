"""Chunked file encryption: round trips, every kind of tampering, padding, memory."""

from __future__ import annotations

import io
import os
import tempfile
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import (
    DecryptionError,
    ciphertext_size,
    decrypt_bytes_stream,
    decrypt_stream,
    encrypt_bytes_stream,
    encrypt_stream,
    iter_decrypt,
    padded_size,
)
from crypto.errors import KeyFormatError
from crypto.streams import HEADER_LEN, PAD_MINIMUM
from tests.crypto.helpers import flipped

KEY = os.urandom(32)
CTX = b"whistle/attachment/v1|tenant=t1|case=c1|id=a1"
CHUNK = 1024
SEALED_CHUNK = CHUNK + 16
# 3 full chunks of 1,020 payload bytes and a short final one.
PLAIN = os.urandom(3 * (CHUNK - 4) + 500)
STREAM = encrypt_bytes_stream(KEY, PLAIN, context=CTX, pad=False, chunk_size=CHUNK)


def _chunks(blob: bytes) -> tuple[bytes, list[bytes]]:
    body = blob[HEADER_LEN:]
    return blob[:HEADER_LEN], [
        body[i : i + SEALED_CHUNK] for i in range(0, len(body), SEALED_CHUNK)
    ]


def _fails(blob: bytes, key: bytes = KEY, context: bytes = CTX) -> None:
    with pytest.raises(DecryptionError):
        decrypt_bytes_stream(key, blob, context=context)


def test_layout() -> None:
    head, chunks = _chunks(STREAM)
    assert head[:2] == b"\x01\x40"
    assert int.from_bytes(head[2:6], "big") == CHUNK
    assert [len(c) for c in chunks] == [SEALED_CHUNK] * 3 + [4 + 500 + 16]
    assert len(STREAM) == ciphertext_size(len(PLAIN), pad=False, chunk_size=CHUNK)


def test_round_trip() -> None:
    assert decrypt_bytes_stream(KEY, STREAM, context=CTX) == PLAIN


@settings(max_examples=60, deadline=None)
@given(plaintext=st.binary(max_size=5000), pad=st.booleans(), chunk=st.sampled_from([1024, 1500]))
def test_round_trip_any(plaintext: bytes, pad: bool, chunk: int) -> None:
    blob = encrypt_bytes_stream(KEY, plaintext, context=CTX, pad=pad, chunk_size=chunk)
    assert len(blob) == ciphertext_size(len(plaintext), pad=pad, chunk_size=chunk)
    assert decrypt_bytes_stream(KEY, blob, context=CTX) == plaintext


@pytest.mark.parametrize("size", [0, 1, CHUNK - 4, CHUNK - 3, 2 * (CHUNK - 4), 2 * (CHUNK - 4) + 1])
@pytest.mark.parametrize("pad", [False, True])
def test_round_trip_chunk_boundaries(size: int, pad: bool) -> None:
    plaintext = os.urandom(size)
    blob = encrypt_bytes_stream(KEY, plaintext, context=CTX, pad=pad, chunk_size=CHUNK)
    assert decrypt_bytes_stream(KEY, blob, context=CTX) == plaintext


class _Trickle(io.RawIOBase):
    """A source that returns at most 7 bytes per read, like a slow pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(size, 7) if size >= 0 else 7)


def test_short_reads() -> None:
    out = io.BytesIO()
    encrypt_stream(KEY, _Trickle(PLAIN), out, context=CTX, chunk_size=CHUNK)  # type: ignore[arg-type]
    plain = io.BytesIO()
    decrypt_stream(KEY, _Trickle(out.getvalue()), plain, context=CTX)  # type: ignore[arg-type]
    assert plain.getvalue() == PLAIN


def test_returns_byte_counts() -> None:
    out = io.BytesIO()
    written = encrypt_stream(KEY, io.BytesIO(PLAIN), out, context=CTX, chunk_size=CHUNK)
    assert written == len(out.getvalue())
    out.seek(0)
    assert decrypt_stream(KEY, out, io.BytesIO(), context=CTX) == len(PLAIN)


def test_iter_decrypt() -> None:
    pieces = list(iter_decrypt(KEY, io.BytesIO(STREAM), context=CTX))
    assert b"".join(pieces) == PLAIN
    assert len(pieces) == 4
    small = list(iter_decrypt(KEY, io.BytesIO(STREAM), context=CTX, chunk_size=100))
    assert b"".join(small) == PLAIN
    assert max(len(p) for p in small) == 100


def test_iter_decrypt_raises_at_truncation() -> None:
    pieces = iter_decrypt(KEY, io.BytesIO(STREAM[:-SEALED_CHUNK]), context=CTX)
    with pytest.raises(DecryptionError):
        list(pieces)


def test_wrong_key_and_context() -> None:
    _fails(STREAM, key=os.urandom(32))
    _fails(STREAM, context=CTX + b"x")
    _fails(STREAM, context=b"whistle/attachment/v1|tenant=t2|case=c1|id=a1")


def test_bad_key_and_arguments() -> None:
    with pytest.raises(KeyFormatError):
        encrypt_bytes_stream(b"short", PLAIN, context=CTX)
    with pytest.raises(ValueError, match="context"):
        encrypt_bytes_stream(KEY, PLAIN, context=b"")
    with pytest.raises(ValueError, match="chunk_size"):
        encrypt_bytes_stream(KEY, PLAIN, context=CTX, chunk_size=100)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_flipped_byte_fails(data: st.DataObject) -> None:
    _fails(data.draw(flipped(STREAM)))


def test_every_truncation_fails() -> None:
    # Every proper prefix: dropped chunks, cuts inside a chunk, inside the header.
    for cut in range(len(STREAM)):
        _fails(STREAM[:cut])


def test_drop_last_chunk_fails() -> None:
    head, chunks = _chunks(STREAM)
    _fails(head + b"".join(chunks[:-1]))


def test_drop_middle_chunk_fails() -> None:
    head, chunks = _chunks(STREAM)
    _fails(head + chunks[0] + chunks[2] + chunks[3])


def test_reordered_chunks_fail() -> None:
    head, chunks = _chunks(STREAM)
    _fails(head + chunks[1] + chunks[0] + chunks[2] + chunks[3])
    _fails(head + chunks[0] + chunks[2] + chunks[1] + chunks[3])


def test_chunk_swapped_from_other_file_fails() -> None:
    other = encrypt_bytes_stream(KEY, PLAIN, context=CTX, pad=False, chunk_size=CHUNK)
    head, chunks = _chunks(STREAM)
    other_head, other_chunks = _chunks(other)
    for index in range(len(chunks)):
        spliced = [*chunks]
        spliced[index] = other_chunks[index]
        _fails(head + b"".join(spliced))
    # Even the other file's header with our chunks fails.
    _fails(other_head + b"".join(chunks))


@settings(max_examples=50, deadline=None)
@given(extra=st.binary(min_size=1, max_size=2 * SEALED_CHUNK))
def test_appended_data_fails(extra: bytes) -> None:
    _fails(STREAM + extra)


def test_appended_valid_chunk_fails() -> None:
    _, chunks = _chunks(STREAM)
    _fails(STREAM + chunks[0])
    _fails(STREAM + chunks[-1])


def test_header_chunk_size_tampering_fails() -> None:
    for size in (CHUNK * 2, CHUNK - 1, 2**32 - 1, 0):
        _fails(STREAM[:2] + size.to_bytes(4, "big") + STREAM[6:])


def test_empty_and_garbage_input() -> None:
    _fails(b"")
    _fails(STREAM[:HEADER_LEN])
    _fails(b"\x00" * 100)


def test_padding_hides_nearby_sizes() -> None:
    a = encrypt_bytes_stream(KEY, os.urandom(100_000), context=CTX)
    b = encrypt_bytes_stream(KEY, os.urandom(100_100), context=CTX)
    assert len(a) == len(b)
    tiny = encrypt_bytes_stream(KEY, b"x", context=CTX)
    small = encrypt_bytes_stream(KEY, os.urandom(PAD_MINIMUM - 10), context=CTX)
    assert len(tiny) == len(small)


@settings(max_examples=60, deadline=None)
@given(size=st.integers(min_value=0, max_value=200_000))
def test_padding_round_trips_exactly(size: int) -> None:
    plaintext = b"\xa5" * size
    blob = encrypt_bytes_stream(KEY, plaintext, context=CTX)
    assert len(blob) == ciphertext_size(size)
    assert decrypt_bytes_stream(KEY, blob, context=CTX) == plaintext


@given(size=st.integers(min_value=0, max_value=2**40))
def test_padded_size_properties(size: int) -> None:
    padded = padded_size(size)
    assert padded >= max(size, PAD_MINIMUM)
    # Padme's bound above the 16 KiB floor (exponent >= 14): overhead below 1/16.
    assert padded - max(size, PAD_MINIMUM) < max(size, PAD_MINIMUM) / 16
    assert padded_size(padded) == padded


class _Repeating(io.RawIOBase):
    """``total`` bytes made on the fly from one small buffer."""

    def __init__(self, total: int) -> None:
        self._left = total
        self._buffer = os.urandom(1 << 16)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = min(self._left, len(self._buffer) if size < 0 else size, len(self._buffer))
        self._left -= size
        return self._buffer[:size]


class _Null(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        return len(data)


def test_constant_memory() -> None:
    total = 64 * 1024 * 1024
    # The ciphertext goes to a temporary file, not memory, so it does not count in the peak.
    with tempfile.TemporaryFile() as stored:
        tracemalloc.start()
        try:
            written = encrypt_stream(KEY, _Repeating(total), stored, context=CTX)  # type: ignore[arg-type]
            _, enc_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            stored.seek(0)
            read = decrypt_stream(KEY, stored, _Null(), context=CTX)  # type: ignore[arg-type]
            _, dec_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert written == ciphertext_size(total)
    assert read == total
    assert enc_peak < 16 * 1024 * 1024
    assert dec_peak < 16 * 1024 * 1024
    # In fact a few chunks, not megabytes:
    assert max(enc_peak, dec_peak) < 1024 * 1024
