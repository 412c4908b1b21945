"""Key wrapping: under a key-encryption key, or under a secret stretched with Argon2id.

Formats (see docs/crypto.md):

* ``wrap_key``: ``0x01 | 0x50 | nonce (12) | ciphertext | tag (16)``, AAD ``0x01 | 0x50 | context``.
* ``wrap_with_secret``: ``version | 0x51 | m (4) | t (4) | p (4) | salt (16) | nonce (12) |
  ciphertext | tag (16)``; the KEK is ``derive_key(secret, salt, m, t, p, pepper)`` with the
  derivation the version byte names (``0x02``: :data:`crypto.kdf.KDF_V2`, written today;
  ``0x01``: :data:`crypto.kdf.KDF_V1`, still opened) and the AAD is the 30-byte header followed
  by ``context``. Parameters and version travel with the blob, so raising the defaults later
  still opens old wraps (and :func:`wrap_is_current` tells when to re-wrap).
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto._common import (
    NONCE_LEN,
    SUITE_WRAP,
    SUITE_WRAP_SECRET,
    TAG_LEN,
    aead_open,
    aead_seal,
    require_bytes,
)
from crypto.errors import DecryptionError
from crypto.kdf import (
    ENCODED_PARAMS_LEN,
    KDF_V2,
    KDF_VERSION,
    KDF_VERSIONS,
    Argon2Params,
    derive_key,
)

SALT_LEN = 16
_SECRET_HEADER_LEN = 2 + ENCODED_PARAMS_LEN + SALT_LEN


def wrap_key(kek: bytes, key: bytes, *, context: bytes) -> bytes:
    """Encrypt key material under a 32-byte key-encryption key (AES-256-GCM).

    Args:
        kek: 32-byte key-encryption key (e.g. a recovery key's ``key``).
        key: the key material to protect (a case key, a serialised private key...).
        context: non-empty binding of purpose and ids, e.g.
            ``b"whistle/office-key/v1|office=...|recovery"``.

    Returns:
        ``len(key) + 30`` bytes.

    Raises:
        KeyFormatError: ``kek`` is not 32 bytes.
        ValueError: ``key`` or ``context`` is empty.
    """
    require_bytes(key, "key")
    require_bytes(context, "context")
    return aead_seal(kek, SUITE_WRAP, key, context)


def unwrap_key(kek: bytes, wrapped: bytes, *, context: bytes) -> bytes:
    """Open what :func:`wrap_key` produced.

    Raises:
        DecryptionError: wrong KEK, wrong context, tampered data or unknown version/suite.
        KeyFormatError: ``kek`` is not 32 bytes.
        ValueError: ``context`` is empty.
    """
    require_bytes(context, "context")
    return aead_open(kek, SUITE_WRAP, wrapped, context)


def wrap_with_secret(
    secret: bytes,
    key: bytes,
    *,
    params: Argon2Params,
    context: bytes,
    pepper: bytes = b"",
) -> bytes:
    """Encrypt key material under a key derived from a password or receipt secret.

    A random 16-byte salt is drawn, the KEK is derived with the current Argon2id derivation
    (:data:`crypto.kdf.KDF_VERSION`, through the slot limit, see
    :func:`crypto.kdf.configure_slots`), and version, ``params`` and salt are stored in the
    output.

    Args:
        secret: password bytes or a receipt's ``secret``.
        key: key material to protect.
        params: Argon2id cost (``PRODUCTION_PARAMS`` in production); one lane.
        context: non-empty binding of purpose and ids.
        pepper: optional server-side secret (see :func:`crypto.kdf.derive_key`); the same
            pepper is needed to unwrap.

    Returns:
        ``len(key) + 58`` bytes.

    Raises:
        BusyError: no Argon2id slot became free in time.
        ValueError: ``key`` or ``context`` is empty, or ``params`` has more than one lane.
    """
    require_bytes(key, "key")
    require_bytes(context, "context")
    salt = secrets.token_bytes(SALT_LEN)
    head = bytes((KDF_VERSION, SUITE_WRAP_SECRET)) + params.encode() + salt
    kek = derive_key(secret, salt=salt, params=params, pepper=pepper, version=KDF_VERSION)
    nonce = secrets.token_bytes(NONCE_LEN)
    return head + nonce + AESGCM(kek).encrypt(nonce, bytes(key), head + context)


def _parse_secret_header(wrapped: bytes) -> tuple[int, Argon2Params, bytes]:
    if not isinstance(wrapped, bytes | bytearray) or len(wrapped) < (
        _SECRET_HEADER_LEN + NONCE_LEN + TAG_LEN
    ):
        raise DecryptionError("wrapped key too short")
    version, suite = wrapped[0], wrapped[1]
    if version not in KDF_VERSIONS or suite != SUITE_WRAP_SECRET:
        raise DecryptionError("unsupported version or suite")
    try:
        params = Argon2Params.decode(bytes(wrapped[2 : 2 + ENCODED_PARAMS_LEN]))
    except ValueError:
        # Out-of-bounds parameters are treated as tampering, before any costly work.
        raise DecryptionError("invalid Argon2 parameters") from None
    if version == KDF_V2 and params.lanes != 1:
        raise DecryptionError("invalid Argon2 parameters")  # v2 (libsodium) has one lane
    return version, params, bytes(wrapped[2 + ENCODED_PARAMS_LEN : _SECRET_HEADER_LEN])


def wrap_params(wrapped: bytes) -> Argon2Params:
    """Return the Argon2id parameters stored in a :func:`wrap_with_secret` blob.

    Costs nothing: no derivation is run. To decide whether to re-wrap after a successful
    unwrap, use :func:`wrap_is_current`, which also compares the derivation version.

    Raises:
        DecryptionError: not a well-formed ``wrap_with_secret`` blob.
    """
    return _parse_secret_header(wrapped)[1]


def wrap_kdf_version(wrapped: bytes) -> int:
    """Return the derivation version (:data:`crypto.kdf.KDF_V1` or ``KDF_V2``) of a wrap.

    Raises:
        DecryptionError: not a well-formed ``wrap_with_secret`` blob.
    """
    return _parse_secret_header(wrapped)[0]


def wrap_is_current(wrapped: bytes, params: Argon2Params) -> bool:
    """True if ``wrapped`` was made with ``params`` and the current derivation.

    Call it after a successful unwrap and re-wrap with the same secret when it is False (as
    one re-hashes a password on login): the wrap then opens with today's faster derivation
    and costs. Costs nothing.

    Raises:
        DecryptionError: not a well-formed ``wrap_with_secret`` blob.
    """
    version, stored, _salt = _parse_secret_header(wrapped)
    return version == KDF_VERSION and stored == params


def unwrap_with_secret(
    secret: bytes,
    wrapped: bytes,
    *,
    context: bytes,
    pepper: bytes = b"",
) -> bytes:
    """Open what :func:`wrap_with_secret` produced, with the parameters stored in it.

    Structure and parameter bounds are checked before Argon2id runs, so malformed input costs
    nothing.

    Raises:
        DecryptionError: wrong secret or pepper, wrong context, tampered data, parameters out
            of bounds or unknown version/suite.
        BusyError: no Argon2id slot became free in time (not a wrong secret: retry later).
        ValueError: ``context`` is empty.
    """
    require_bytes(context, "context")
    version, params, salt = _parse_secret_header(wrapped)
    head = bytes(wrapped[:_SECRET_HEADER_LEN])
    nonce = bytes(wrapped[_SECRET_HEADER_LEN : _SECRET_HEADER_LEN + NONCE_LEN])
    kek = derive_key(secret, salt=salt, params=params, pepper=pepper, version=version)
    try:
        return AESGCM(kek).decrypt(
            nonce, bytes(wrapped[_SECRET_HEADER_LEN + NONCE_LEN :]), head + context
        )
    except InvalidTag:
        raise DecryptionError("authentication failed") from None
