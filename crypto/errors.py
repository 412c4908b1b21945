"""Exceptions raised by :mod:`crypto`.

Rules every message follows: it never contains key material, plaintext, a receipt or a
recovery key, so an exception may be logged as it is.

Programming errors (an empty ``context``, a chunk size out of range, a wrong type) raise
:class:`ValueError`; malformed key bytes raise :class:`KeyFormatError`; anything wrong with a
ciphertext raises :class:`DecryptionError`.
"""

from __future__ import annotations

from typing import Literal

FormatReason = Literal["length", "characters", "checksum"]


class CryptoError(Exception):
    """Base class of every error raised by the crypto library."""


class DecryptionError(CryptoError):
    """A ciphertext could not be opened.

    Raised for every cause alike: wrong key, tampered or truncated data, wrong context or
    ``info``, unknown version or suite. The cause is deliberately not distinguished beyond a
    short fixed message, so callers cannot build an oracle from it.
    """


class KeyFormatError(CryptoError):
    """Serialised key bytes have the wrong length, version, suite or encoding."""


class BusyError(CryptoError):
    """No Argon2id slot became free within the configured timeout (see ``configure_slots``)."""


class ReceiptFormatError(CryptoError):
    """A typed receipt is malformed; ``reason`` says how, for a clear message in the UI.

    ``reason`` is one of ``"length"`` (too short or too long once separators are removed),
    ``"characters"`` (a character outside the alphabet) or ``"checksum"`` (a typo caught by the
    check character). The receipt text is never part of the message.
    """

    def __init__(self, reason: FormatReason) -> None:
        super().__init__(f"receipt format error: {reason}")
        self.reason: FormatReason = reason


class RecoveryKeyFormatError(CryptoError):
    """A typed recovery key is malformed.

    ``reason`` is one of ``"length"``, ``"characters"`` or ``"checksum"``; for ``"checksum"``,
    ``group`` is the 1-based number of the first group whose check character does not match,
    so the UI can point at it. The key text is never part of the message.
    """

    def __init__(self, reason: FormatReason, group: int | None = None) -> None:
        where = f" (group {group})" if group is not None else ""
        super().__init__(f"recovery key format error: {reason}{where}")
        self.reason: FormatReason = reason
        self.group = group
