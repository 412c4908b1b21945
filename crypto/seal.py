"""Sealing to a public key: HPKE (RFC 9180) base mode, MLKEM768_X25519 / HKDF-SHA256 / AES-256-GCM.

Format: ``0x01 | 0x20 | enc (1,120) | ciphertext | tag (16)``. A sealed 32-byte key is 1,170
bytes. The HPKE ``info`` is ``0x01 | 0x20 | caller info``, so the prefix is bound too.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke

from crypto._common import SUITE_SEAL, TAG_LEN, header, require_bytes
from crypto.errors import DecryptionError
from crypto.keys import load_private_key, load_public_key

_SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
_PREFIX = header(SUITE_SEAL)
ENC_LEN = 1120  # ML-KEM-768 ciphertext (1,088) + X25519 ephemeral public key (32)
SEAL_OVERHEAD = 2 + ENC_LEN + TAG_LEN


def seal(public_key: bytes, plaintext: bytes, *, info: bytes) -> bytes:
    """Encrypt ``plaintext`` so that only the holder of the matching private key can read it.

    Args:
        public_key: serialised public key from :func:`crypto.keys.generate_keypair`.
        plaintext: the bytes to seal (typically a 32-byte case key).
        info: non-empty binding of purpose and ids, e.g.
            ``b"whistle/case-key/v1|tenant=...|case=..."``. The same ``info`` must be given
            to :func:`unseal`.

    Returns:
        ``len(plaintext) + 1,138`` bytes.

    Raises:
        KeyFormatError: the public key is malformed.
        ValueError: ``info`` is empty.
    """
    require_bytes(info, "info")
    require_bytes(plaintext, "plaintext", allow_empty=True)
    public = load_public_key(public_key)
    return _PREFIX + _SUITE.encrypt(plaintext, public, info=_PREFIX + info)


def unseal(private_key: bytes, sealed: bytes, *, info: bytes) -> bytes:
    """Open what :func:`seal` produced.

    Args:
        private_key: serialised private key matching the public key used to seal.
        sealed: the output of :func:`seal`.
        info: exactly the ``info`` given to :func:`seal`.

    Returns:
        The plaintext.

    Raises:
        DecryptionError: wrong key, wrong ``info``, tampered data or unknown version/suite.
        KeyFormatError: the private key is malformed.
        ValueError: ``info`` is empty.
    """
    require_bytes(info, "info")
    private = load_private_key(private_key)
    if not isinstance(sealed, bytes | bytearray) or len(sealed) < SEAL_OVERHEAD:
        raise DecryptionError("sealed data too short")
    if bytes(sealed[:2]) != _PREFIX:
        raise DecryptionError("unsupported version or suite")
    try:
        return _SUITE.decrypt(bytes(sealed[2:]), private, info=_PREFIX + info)
    except (InvalidTag, ValueError):
        raise DecryptionError("authentication failed") from None
