"""Symmetric encryption of small values: generic blobs and case records (AES-256-GCM).

Format of both: ``0x01 | suite | nonce (12) | ciphertext | tag (16)`` (30 bytes overhead);
suite ``0x30`` for blobs, ``0x31`` for records. The AAD is ``0x01 | suite | aad``, where a
record's ``aad`` is the canonical encoding of its :class:`RecordContext`. Because the suite byte
differs, a blob can never be opened as a record or the other way round, whatever the AAD.
"""

from __future__ import annotations

from dataclasses import dataclass

from crypto._common import SUITE_BLOB, SUITE_RECORD, aead_open, aead_seal

_CONTEXT_LABEL = b"whistle/record/v1"
_MAX_FIELD_BYTES = 0xFFFF


def _length_prefixed(value: bytes) -> bytes:
    return len(value).to_bytes(2, "big") + value


@dataclass(frozen=True)
class RecordContext:
    """Where a record belongs: the AAD that pins a ciphertext to one tenant, case, kind and id.

    All four fields must be non-empty strings of at most 65,535 UTF-8 bytes. Use the public
    identifiers (UUIDs), never anything derived from content.
    """

    tenant: str
    case: str
    kind: str
    record_id: str

    def __post_init__(self) -> None:
        for name in ("tenant", "case", "kind", "record_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"RecordContext.{name} must be a non-empty string")
            if len(value.encode("utf-8")) > _MAX_FIELD_BYTES:
                raise ValueError(f"RecordContext.{name} is too long")

    def encode(self) -> bytes:
        """Return the canonical, unambiguous byte encoding used as AAD.

        Each of the label ``b"whistle/record/v1"``, tenant, case, kind and record_id is
        written as a 2-byte big-endian length followed by its UTF-8 bytes. Length prefixes
        make the encoding injective: ``("a|b", "c")`` and ``("a", "b|c")`` never collide,
        as they would with naive joining.
        """
        fields = (self.tenant, self.case, self.kind, self.record_id)
        return _length_prefixed(_CONTEXT_LABEL) + b"".join(
            _length_prefixed(value.encode("utf-8")) for value in fields
        )


def encrypt_blob(key: bytes, plaintext: bytes, *, aad: bytes) -> bytes:
    """Encrypt ``plaintext`` under a 32-byte key with AES-256-GCM and a random nonce.

    Args:
        key: 32-byte key (e.g. a session vault key).
        plaintext: bytes to encrypt.
        aad: associated data that must be presented again to decrypt (e.g. ``b"session"``);
            it is authenticated, not encrypted, and not stored in the output.

    Returns:
        ``len(plaintext) + 30`` bytes.

    Raises:
        KeyFormatError: the key is not 32 bytes.
    """
    return aead_seal(key, SUITE_BLOB, plaintext, aad)


def decrypt_blob(key: bytes, blob: bytes, *, aad: bytes) -> bytes:
    """Open what :func:`encrypt_blob` produced.

    Raises:
        DecryptionError: wrong key, wrong ``aad``, tampered data or unknown version/suite.
        KeyFormatError: the key is not 32 bytes.
    """
    return aead_open(key, SUITE_BLOB, blob, aad)


def encrypt_record(key: bytes, plaintext: bytes, *, context: RecordContext) -> bytes:
    """Encrypt one case record (answer, message, note, contact data...) under the case key.

    Args:
        key: the 32-byte case key.
        plaintext: the record's content.
        context: where the record belongs; moving the ciphertext anywhere else makes it
            fail to open.

    Returns:
        ``len(plaintext) + 30`` bytes.

    Raises:
        KeyFormatError: the key is not 32 bytes.
    """
    return aead_seal(key, SUITE_RECORD, plaintext, context.encode())


def decrypt_record(key: bytes, blob: bytes, *, context: RecordContext) -> bytes:
    """Open what :func:`encrypt_record` produced, checking it belongs to ``context``.

    Raises:
        DecryptionError: wrong key, other context, tampered data or unknown version/suite.
        KeyFormatError: the key is not 32 bytes.
    """
    return aead_open(key, SUITE_RECORD, blob, context.encode())
