"""Hybrid post-quantum key pairs (ML-KEM-768 + X25519) for offices and handlers.

Serialised formats (see docs/crypto.md):

* public key, 1,218 bytes: ``0x01 | 0x10 | ML-KEM-768 public (1,184) | X25519 public (32)``
* private key, 98 bytes: ``0x01 | 0x11 | ML-KEM-768 seed (64) | X25519 private (32)``

``cryptography`` gives the hybrid HPKE key objects no serialisation of their own, so the two
components are stored side by side and rebuilt on load.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from crypto._common import SUITE_PRIVATE_KEY, SUITE_PUBLIC_KEY, header
from crypto.errors import KeyFormatError

MLKEM_PUBLIC_LEN = 1184
MLKEM_SEED_LEN = 64
X25519_LEN = 32
PUBLIC_KEY_LEN = 2 + MLKEM_PUBLIC_LEN + X25519_LEN
PRIVATE_KEY_LEN = 2 + MLKEM_SEED_LEN + X25519_LEN

_PUBLIC_PREFIX = header(SUITE_PUBLIC_KEY)
_PRIVATE_PREFIX = header(SUITE_PRIVATE_KEY)


@dataclass(frozen=True)
class KeyPair:
    """A serialised hybrid key pair.

    ``public`` (1,218 bytes) may be stored and shown freely. ``private`` (98 bytes) must only
    ever be stored wrapped (``wrap_key``, ``wrap_with_secret`` or ``seal``); it is left out of
    ``repr`` so it cannot end up in a log by accident.
    """

    public: bytes
    private: bytes = field(repr=False)


def _serialise_public(
    mlkem_public: mlkem.MLKEM768PublicKey, x_public: x25519.X25519PublicKey
) -> bytes:
    return _PUBLIC_PREFIX + mlkem_public.public_bytes_raw() + x_public.public_bytes_raw()


def generate_keypair() -> KeyPair:
    """Generate a fresh hybrid key pair from the operating system's CSPRNG.

    Returns:
        A :class:`KeyPair` with the serialised public and private keys.
    """
    mlkem_private = mlkem.MLKEM768PrivateKey.generate()
    x_private = x25519.X25519PrivateKey.generate()
    public = _serialise_public(mlkem_private.public_key(), x_private.public_key())
    private = _PRIVATE_PREFIX + mlkem_private.private_bytes_raw() + x_private.private_bytes_raw()
    return KeyPair(public=public, private=private)


def _split_private(private: bytes) -> tuple[mlkem.MLKEM768PrivateKey, x25519.X25519PrivateKey]:
    if not isinstance(private, bytes | bytearray) or len(private) != PRIVATE_KEY_LEN:
        raise KeyFormatError(f"private key must be {PRIVATE_KEY_LEN} bytes")
    if bytes(private[:2]) != _PRIVATE_PREFIX:
        raise KeyFormatError("unsupported private key version or suite")
    seed = bytes(private[2 : 2 + MLKEM_SEED_LEN])
    x_raw = bytes(private[2 + MLKEM_SEED_LEN :])
    try:
        return (
            mlkem.MLKEM768PrivateKey.from_seed_bytes(seed),
            x25519.X25519PrivateKey.from_private_bytes(x_raw),
        )
    except ValueError:
        raise KeyFormatError("invalid private key") from None


def load_private_key(private: bytes) -> hpke.MLKEM768X25519PrivateKey:
    """Rebuild the HPKE private key object from its serialised form.

    Raises:
        KeyFormatError: wrong length, version or suite.
    """
    mlkem_private, x_private = _split_private(private)
    return hpke.MLKEM768X25519PrivateKey(mlkem_private, x_private)


def load_public_key(public: bytes) -> hpke.MLKEM768X25519PublicKey:
    """Rebuild the HPKE public key object from its serialised form.

    The ML-KEM encapsulation key is checked as FIPS 203 requires (``cryptography`` rejects
    coefficients out of range).

    Raises:
        KeyFormatError: wrong length, version, suite or an invalid ML-KEM key.
    """
    if not isinstance(public, bytes | bytearray) or len(public) != PUBLIC_KEY_LEN:
        raise KeyFormatError(f"public key must be {PUBLIC_KEY_LEN} bytes")
    if bytes(public[:2]) != _PUBLIC_PREFIX:
        raise KeyFormatError("unsupported public key version or suite")
    try:
        mlkem_public = mlkem.MLKEM768PublicKey.from_public_bytes(
            bytes(public[2 : 2 + MLKEM_PUBLIC_LEN])
        )
        x_public = x25519.X25519PublicKey.from_public_bytes(bytes(public[2 + MLKEM_PUBLIC_LEN :]))
    except ValueError:
        raise KeyFormatError("invalid public key") from None
    return hpke.MLKEM768X25519PublicKey(mlkem_public, x_public)


def public_from_private(private: bytes) -> bytes:
    """Return the serialised public key that belongs to a serialised private key.

    Raises:
        KeyFormatError: the private key is malformed.
    """
    mlkem_private, x_private = _split_private(private)
    return _serialise_public(mlkem_private.public_key(), x_private.public_key())


def key_fingerprint(public: bytes) -> str:
    """Return a short, human-comparable fingerprint of a serialised public key.

    SHA-256 of the serialised key, first 160 bits in base32, in groups of four
    (e.g. ``"XJ4Q-..."``). Handy to show an office which key new reports are sealed to.

    Raises:
        KeyFormatError: the public key is malformed.
    """
    load_public_key(public)
    digest = hashlib.sha256(bytes(public)).digest()[:20]
    text = base64.b32encode(digest).decode("ascii")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))
