"""Shared constants and the one AEAD helper every symmetric format is built on (internal)."""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.errors import DecryptionError, KeyFormatError

#: Format version, the first byte of every serialised object.
VERSION = 0x01

# Suite ids, the second byte. Every format has its own id, so a blob of one kind can never be
# opened as another even under the same key (the two bytes are always part of the AAD/info).
SUITE_PUBLIC_KEY = 0x10  # ML-KEM-768 + X25519 public key
SUITE_PRIVATE_KEY = 0x11  # ML-KEM-768 seed + X25519 private key
SUITE_SEAL = 0x20  # HPKE base, MLKEM768_X25519 / HKDF-SHA256 / AES-256-GCM
SUITE_BLOB = 0x30  # AES-256-GCM, caller's AAD
SUITE_RECORD = 0x31  # AES-256-GCM, AAD = canonical RecordContext
SUITE_STREAM = 0x40  # HKDF-SHA256 subkey + AES-256-GCM STREAM, 32-bit length framing
SUITE_WRAP = 0x50  # AES-256-GCM key wrap under a KEK
SUITE_WRAP_SECRET = 0x51  # Argon2id (params in blob) + AES-256-GCM key wrap

KEY_LEN = 32
NONCE_LEN = 12
TAG_LEN = 16


def header(suite: int) -> bytes:
    """Return the two-byte version/suite prefix of a format."""
    return bytes((VERSION, suite))


def check_key(key: bytes, what: str = "key") -> None:
    """Raise KeyFormatError unless ``key`` is a 32-byte symmetric key."""
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_LEN:
        raise KeyFormatError(f"{what} must be {KEY_LEN} bytes")


def require_bytes(value: bytes, what: str, *, allow_empty: bool = False) -> None:
    """Raise ValueError unless ``value`` is bytes (and non-empty unless allowed)."""
    if not isinstance(value, bytes | bytearray):
        raise ValueError(f"{what} must be bytes")
    if not allow_empty and not value:
        # An empty context would bind a ciphertext to nothing: always a caller bug.
        raise ValueError(f"{what} must not be empty")


def aead_seal(key: bytes, suite: int, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM with a random nonce: ``version | suite | nonce | ciphertext+tag``.

    The version/suite prefix is authenticated as the start of the AAD.
    """
    check_key(key)
    require_bytes(plaintext, "plaintext", allow_empty=True)
    require_bytes(aad, "aad", allow_empty=True)
    prefix = header(suite)
    # Random 96-bit nonces are safe for well under 2**32 messages per key; every key here is
    # per case, per session or per wrap, far below that.
    nonce = secrets.token_bytes(NONCE_LEN)
    return prefix + nonce + AESGCM(key).encrypt(nonce, plaintext, prefix + aad)


def aead_open(key: bytes, suite: int, blob: bytes, aad: bytes) -> bytes:
    """Open what :func:`aead_seal` produced; any failure raises DecryptionError."""
    check_key(key)
    require_bytes(aad, "aad", allow_empty=True)
    prefix = header(suite)
    if not isinstance(blob, bytes | bytearray) or len(blob) < 2 + NONCE_LEN + TAG_LEN:
        raise DecryptionError("ciphertext too short")
    if bytes(blob[:2]) != prefix:
        raise DecryptionError("unsupported version or suite")
    nonce = blob[2 : 2 + NONCE_LEN]
    try:
        return AESGCM(key).decrypt(nonce, blob[2 + NONCE_LEN :], prefix + aad)
    except InvalidTag:
        raise DecryptionError("authentication failed") from None
