"""Whistle's cryptographic library: pure functions over bytes, no Django.

Formats, parameters and the threat model are specified in ``docs/crypto.md``. Everything a
caller needs is re-exported here; submodules starting with ``_`` are internal.
"""

from __future__ import annotations

from crypto.errors import (
    BusyError,
    CryptoError,
    DecryptionError,
    KeyFormatError,
    ReceiptFormatError,
    RecoveryKeyFormatError,
)
from crypto.kdf import (
    KDF_V1,
    KDF_V2,
    KDF_VERSION,
    PRODUCTION_PARAMS,
    TEST_PARAMS,
    Argon2Params,
    argon2_slot,
    configure_slots,
    derive_key,
    on_slot_wait,
    run_in_slot,
    slot_config,
)
from crypto.keys import KeyPair, generate_keypair, key_fingerprint, public_from_private
from crypto.receipts import Receipt, generate_receipt, parse_receipt
from crypto.records import (
    RecordContext,
    decrypt_blob,
    decrypt_record,
    encrypt_blob,
    encrypt_record,
)
from crypto.recovery import RecoveryKey, generate_recovery_key, parse_recovery_key
from crypto.seal import seal, unseal
from crypto.spool import EncryptedSpool
from crypto.streams import (
    DEFAULT_CHUNK_SIZE,
    ciphertext_size,
    decrypt_bytes_stream,
    decrypt_stream,
    encrypt_bytes_stream,
    encrypt_stream,
    iter_decrypt,
    padded_size,
)
from crypto.wrap import (
    unwrap_key,
    unwrap_with_secret,
    wrap_is_current,
    wrap_kdf_version,
    wrap_key,
    wrap_params,
    wrap_with_secret,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "KDF_V1",
    "KDF_V2",
    "KDF_VERSION",
    "PRODUCTION_PARAMS",
    "TEST_PARAMS",
    "Argon2Params",
    "BusyError",
    "CryptoError",
    "DecryptionError",
    "EncryptedSpool",
    "KeyFormatError",
    "KeyPair",
    "Receipt",
    "ReceiptFormatError",
    "RecordContext",
    "RecoveryKey",
    "RecoveryKeyFormatError",
    "argon2_slot",
    "ciphertext_size",
    "configure_slots",
    "decrypt_blob",
    "decrypt_bytes_stream",
    "decrypt_record",
    "decrypt_stream",
    "derive_key",
    "encrypt_blob",
    "encrypt_bytes_stream",
    "encrypt_record",
    "encrypt_stream",
    "generate_keypair",
    "generate_receipt",
    "generate_recovery_key",
    "iter_decrypt",
    "key_fingerprint",
    "on_slot_wait",
    "padded_size",
    "parse_receipt",
    "parse_recovery_key",
    "public_from_private",
    "run_in_slot",
    "seal",
    "slot_config",
    "unseal",
    "unwrap_key",
    "unwrap_with_secret",
    "wrap_is_current",
    "wrap_kdf_version",
    "wrap_key",
    "wrap_params",
    "wrap_with_secret",
]
