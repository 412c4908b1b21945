"""Reporter receipts: the one code that lets an anonymous reporter back in.

Format: 28 symbols of Crockford base32 shown as 7 groups of 4 joined by hyphens, e.g.
``7KQ2-M9XD-...``::

    8 lookup symbols (40 bits) | 19 secret symbols (95 bits) | 1 check symbol

135 bits of entropy in total. The lookup part lets the server find the case without any key
derivation; the secret part is stretched with Argon2id under the case's salt
(``wrap_with_secret``) and never stored. The check symbol (Damm over GF(32), see
``crypto._base32``) rejects every single-character typo and adjacent swap before any costly
work. Input is case-insensitive; spaces, hyphens and any whitespace are ignored; O reads as 0,
I and L as 1, U as V.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from crypto import _base32
from crypto.errors import ReceiptFormatError

LOOKUP_CHARS = 8
SECRET_CHARS = 19
RECEIPT_CHARS = LOOKUP_CHARS + SECRET_CHARS + 1
GROUP_SIZE = 4
LOOKUP_BITS = LOOKUP_CHARS * _base32.BITS_PER_CHAR
SECRET_BITS = SECRET_CHARS * _base32.BITS_PER_CHAR
SECRET_BYTES = (SECRET_BITS + 7) // 8


@dataclass(frozen=True)
class Receipt:
    """A receipt, split into what the server may see and what it must not keep.

    Attributes:
        lookup: the 8-symbol lookup part as normalised text (40 bits); store it (or a keyed
            hash of it) to find the case. Not unique by chance at scale: 40 bits collide
            around a million cases, so issue with a uniqueness check and retry.
        secret: the 95-bit secret part as 12 big-endian bytes (the top bit is always 0);
            feed it to ``wrap_with_secret``/``unwrap_with_secret``. Never store or log it.
        formatted: the whole code for display, ``XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX``.

    ``secret`` and ``formatted`` are left out of ``repr``.
    """

    lookup: str
    secret: bytes = field(repr=False)
    formatted: str = field(repr=False)


def _from_values(values: list[int]) -> Receipt:
    lookup = _base32.to_text(values[:LOOKUP_CHARS])
    secret_int = _base32.values_to_int(values[LOOKUP_CHARS : LOOKUP_CHARS + SECRET_CHARS])
    return Receipt(
        lookup=lookup,
        secret=secret_int.to_bytes(SECRET_BYTES, "big"),
        formatted=_base32.group(_base32.to_text(values), GROUP_SIZE),
    )


def generate_receipt() -> Receipt:
    """Draw a new receipt from :mod:`secrets` (135 bits: 40 lookup + 95 secret).

    Returns:
        The :class:`Receipt`; show ``formatted`` once to the reporter and keep nothing else
        but what the case needs (``lookup``, and the wrap made with ``secret``).
    """
    data = _base32.int_to_values(secrets.randbits(LOOKUP_BITS), LOOKUP_CHARS)
    data += _base32.int_to_values(secrets.randbits(SECRET_BITS), SECRET_CHARS)
    return _from_values([*data, _base32.damm(data)])


def parse_receipt(text: str) -> Receipt:
    """Parse a receipt as typed by a person. Cheap: never runs a key derivation.

    Normalises (see the module docstring), then checks characters, length and check symbol,
    in that order.

    Args:
        text: the receipt as typed or pasted.

    Returns:
        The :class:`Receipt`, with ``formatted`` in canonical form.

    Raises:
        ReceiptFormatError: with ``reason`` ``"characters"``, ``"length"`` or ``"checksum"``.
    """
    if not isinstance(text, str) or len(text) > _base32.MAX_INPUT_CHARS:
        raise ReceiptFormatError("length")
    normalised = _base32.normalise(text)
    if not _base32.is_valid(normalised):
        raise ReceiptFormatError("characters")
    if len(normalised) != RECEIPT_CHARS:
        raise ReceiptFormatError("length")
    values = _base32.to_values(normalised)
    if _base32.damm(values) != 0:
        raise ReceiptFormatError("checksum")
    return _from_values(values)
