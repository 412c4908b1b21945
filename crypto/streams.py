"""Chunked authenticated encryption of files in constant memory (STREAM construction).

Format (see docs/crypto.md for the full table)::

    header  = 0x01 | 0x40 | chunk_size (uint32 BE) | salt (32)            38 bytes
    chunk_i = AES-256-GCM(subkey, nonce_i, frame_i, aad=header)           chunk_size + 16 bytes
                                                                           (the last may be shorter)
    subkey  = HKDF-SHA256(ikm=key, salt=salt, info=b"whistle/stream/v1|" + context)
    nonce_i = i (uint88 BE) | 0x01 if last chunk else 0x00
    frame_i = n_i (uint32 BE) | n_i real bytes | zero padding

Every non-final frame is exactly ``chunk_size`` bytes; the final one is 4 to ``chunk_size``.
``n_i`` counts the real bytes in chunk ``i``, so the real length is authenticated chunk by
chunk and the decryptor never has to hold back data to strip padding.

What each part defends against: the per-file salt gives every file its own subkey (a chunk
moved from another file under the same key fails); the counter in the nonce catches
reordering and dropped chunks; the last-chunk flag catches truncation at a chunk boundary and
appended data; the header as AAD of every chunk catches header tampering.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto._common import SUITE_STREAM, TAG_LEN, check_key, header, require_bytes
from crypto.errors import DecryptionError

#: 64 KiB: AES-GCM runs at several GB/s here, so per-chunk Python overhead is what matters;
#: at 64 KiB it is already small (docs/performance.md) and memory stays ~2 chunks.
DEFAULT_CHUNK_SIZE = 64 * 1024
MIN_CHUNK_SIZE = 1024
#: Bound also applied when reading a header, so a tampered header cannot make us buffer more.
MAX_CHUNK_SIZE = 4 * 1024 * 1024
SALT_LEN = 32
HEADER_LEN = 2 + 4 + SALT_LEN
#: Padded streams are at least this long: every file under 16 KiB looks the same.
PAD_MINIMUM = 16 * 1024

_PREFIX = header(SUITE_STREAM)
_INFO_LABEL = b"whistle/stream/v1|"
_FRAME_LEN = 4


def padded_size(length: int) -> int:
    """Return the padded length of ``length`` real bytes: Padmé of ``max(length, 16 KiB)``.

    Padmé (Nikitin et al., PURBs, PETS 2019) keeps only about log2(log2 L) significant bits
    of the length and rounds the rest up. It leaks O(log log L) bits of the length for an
    overhead below 6.25 % from the 16 KiB floor (3.1 % from 64 KiB), where power-of-two
    buckets cost up to 100 %.
    """
    if length < 0:
        raise ValueError("length must not be negative")
    length = max(length, PAD_MINIMUM)
    exponent = length.bit_length() - 1
    low_bits = exponent - exponent.bit_length()
    mask = (1 << low_bits) - 1
    return (length + mask) & ~mask


def ciphertext_size(length: int, *, pad: bool = True, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """Return the exact size of :func:`encrypt_stream`'s output for ``length`` plaintext bytes."""
    _check_chunk_size(chunk_size)
    payload = padded_size(length) if pad else length
    capacity = chunk_size - _FRAME_LEN
    chunks = max(1, -(-payload // capacity))
    return HEADER_LEN + payload + chunks * (_FRAME_LEN + TAG_LEN)


def _check_chunk_size(chunk_size: int) -> None:
    if not isinstance(chunk_size, int) or not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be between {MIN_CHUNK_SIZE} and {MAX_CHUNK_SIZE}")


def _subkey(key: bytes, salt: bytes, context: bytes) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_INFO_LABEL + context)
    return AESGCM(hkdf.derive(bytes(key)))


def _nonce(counter: int, final: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


def _read_exact(src: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes, fewer only at end of file (pipes and sockets return short reads)."""
    data = src.read(size)
    if not data or len(data) == size:
        return data or b""
    parts = [data]
    got = len(data)
    while got < size:
        more = src.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def _layout(src: BinaryIO, capacity: int, pad: bool) -> Iterator[tuple[bytes, int, bool]]:
    """Yield ``(real_bytes, payload_len, final)`` per chunk, reading one chunk ahead.

    The lookahead is what lets a single pass know which chunk is the last one and, at end of
    input, how much padding the now-known length needs.
    """
    emitted = 0
    current = _read_exact(src, capacity)
    while len(current) == capacity:
        following = _read_exact(src, capacity)
        if not following:
            break
        yield current, capacity, False
        emitted += capacity
        current = following
    remaining = (padded_size(emitted + len(current)) if pad else emitted + len(current)) - emitted
    real = current
    while True:
        take = min(remaining, capacity)
        remaining -= take
        yield real, take, remaining == 0
        if remaining == 0:
            return
        real = b""


def encrypt_stream(
    key: bytes,
    src: BinaryIO,
    dst: BinaryIO,
    *,
    context: bytes,
    pad: bool = True,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> int:
    """Encrypt everything readable from ``src`` into ``dst``, holding ~2 chunks in memory.

    Args:
        key: 32-byte key (the case key); a fresh per-file subkey is derived from it.
        src: binary file-like object read to its end.
        dst: binary file-like object written to.
        context: non-empty binding, e.g. ``b"whistle/attachment/v1|tenant=..|case=..|id=.."``;
            the same must be given to decrypt.
        pad: pad the length with :func:`padded_size` so the stored size leaks less.
        chunk_size: frame size in bytes (1 KiB to 4 MiB), stored in the header.

    Returns:
        Number of ciphertext bytes written (equals :func:`ciphertext_size`).

    Raises:
        KeyFormatError: the key is not 32 bytes.
        ValueError: empty context or chunk size out of range.
    """
    check_key(key)
    require_bytes(context, "context")
    _check_chunk_size(chunk_size)
    salt = secrets.token_bytes(SALT_LEN)
    head = _PREFIX + chunk_size.to_bytes(4, "big") + salt
    aead = _subkey(key, salt, context)
    zeros = bytes(chunk_size)
    dst.write(head)
    written = len(head)
    for counter, (real, payload_len, final) in enumerate(
        _layout(src, chunk_size - _FRAME_LEN, pad)
    ):
        frame = b"".join((len(real).to_bytes(4, "big"), real, zeros[: payload_len - len(real)]))
        chunk = aead.encrypt(_nonce(counter, final), frame, head)
        dst.write(chunk)
        written += len(chunk)
    return written


def _decrypt_chunks(key: bytes, src: BinaryIO, context: bytes) -> Iterator[bytes]:
    check_key(key)
    require_bytes(context, "context")
    head = _read_exact(src, HEADER_LEN)
    if len(head) < HEADER_LEN:
        raise DecryptionError("stream header truncated")
    if head[:2] != _PREFIX:
        raise DecryptionError("unsupported version or suite")
    chunk_size = int.from_bytes(head[2:6], "big")
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise DecryptionError("invalid stream header")
    aead = _subkey(key, head[6:], context)
    sealed_len = chunk_size + TAG_LEN
    data_ended = False
    counter = 0
    current = _read_exact(src, sealed_len)
    while True:
        # A short chunk can only be the last; a full one is last only if nothing follows.
        following = _read_exact(src, sealed_len) if len(current) == sealed_len else b""
        final = not following
        if len(current) < _FRAME_LEN + TAG_LEN:
            raise DecryptionError("stream truncated")
        try:
            frame = aead.decrypt(_nonce(counter, final), current, head)
        except InvalidTag:
            raise DecryptionError("stream chunk failed authentication") from None
        real = int.from_bytes(frame[:_FRAME_LEN], "big")
        payload_len = len(frame) - _FRAME_LEN
        # Only a key holder can produce such frames; still refuse non-canonical layouts.
        if real > payload_len or (data_ended and real):
            raise DecryptionError("invalid stream framing")
        data_ended = real < payload_len
        if real:
            yield frame[_FRAME_LEN : _FRAME_LEN + real]
        if final:
            return
        counter += 1
        current = following


def decrypt_stream(key: bytes, src: BinaryIO, dst: BinaryIO, *, context: bytes) -> int:
    """Decrypt what :func:`encrypt_stream` produced from ``src`` into ``dst``.

    Each chunk is authenticated before it is written, but truncation is only known at the
    end: if this raises, ``dst`` holds a partial plaintext that must be discarded.

    Returns:
        Number of plaintext bytes written (padding removed).

    Raises:
        DecryptionError: wrong key or context, tampered, truncated, reordered, spliced or
            extended stream, unknown version/suite.
        KeyFormatError: the key is not 32 bytes.
    """
    total = 0
    for piece in _decrypt_chunks(key, src, context):
        dst.write(piece)
        total += len(piece)
    return total


def iter_decrypt(
    key: bytes,
    src: BinaryIO,
    *,
    context: bytes,
    chunk_size: int | None = None,
) -> Iterator[bytes]:
    """Yield the plaintext of a stream piece by piece (e.g. for ``StreamingHttpResponse``).

    Args:
        key: the 32-byte key given to :func:`encrypt_stream`.
        src: binary file-like object holding the ciphertext.
        context: the context given to :func:`encrypt_stream`.
        chunk_size: largest piece to yield; by default one stream chunk's plaintext.

    Every piece comes from an authenticated chunk, but truncation or appended data is only
    detected at the end, as a :class:`DecryptionError` raised from the generator: a response
    that has started must then be aborted (the client sees a broken download).
    """
    if chunk_size is not None and chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    for piece in _decrypt_chunks(key, src, context):
        if chunk_size is None or len(piece) <= chunk_size:
            yield piece
        else:
            for start in range(0, len(piece), chunk_size):
                yield piece[start : start + chunk_size]


def encrypt_bytes_stream(
    key: bytes,
    plaintext: bytes,
    *,
    context: bytes,
    pad: bool = True,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> bytes:
    """Convenience: :func:`encrypt_stream` over an in-memory ``plaintext``."""
    out = io.BytesIO()
    encrypt_stream(key, io.BytesIO(plaintext), out, context=context, pad=pad, chunk_size=chunk_size)
    return out.getvalue()


def decrypt_bytes_stream(key: bytes, blob: bytes, *, context: bytes) -> bytes:
    """Convenience: :func:`decrypt_stream` of an in-memory ``blob``."""
    out = io.BytesIO()
    decrypt_stream(key, io.BytesIO(blob), out, context=context)
    return out.getvalue()
