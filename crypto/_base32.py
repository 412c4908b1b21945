"""Crockford-style base32 text, input normalisation and the Damm check over GF(32) (internal).

Check character: the Damm algorithm over the quasigroup ``x * y = a . (x XOR y)`` on GF(2^5)
(reduction polynomial x^5 + x^2 + 1, ``a`` = the element x, i.e. 2). The running value starts
at 0 and becomes ``s * d`` for every symbol ``d``; the check symbol is the value after the
data, which brings the running value of data + check back to 0 (``s * s = 0``).

Why it catches every single substitution and every adjacent transposition: unrolled, the
final value is ``XOR_i a^(n-i+1) . d_i``, a linear map. Changing ``d_i`` by ``e != 0`` changes
the result by ``a^k . e``, never 0 in a field. Swapping neighbours ``x != y`` changes it by
``a^k . (x XOR y) . (a XOR 1)``, never 0 because ``a != 1``. (Swaps two apart, ``a^2 != 1``,
are caught too.) The tests check both claims exhaustively on random codes.

This is a checksum for typing errors, not a security mechanism.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
BITS_PER_CHAR = 5
_VALUES = {char: value for value, char in enumerate(ALPHABET)}
_GF_REDUCTION = 0b100101  # x^5 + x^2 + 1 (primitive)

# Read-alike letters that are not in the alphabet map to the symbol they are taken for.
_CONFUSABLES = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})
# Separators people type or paste: hyphen-likes and invisible characters. Whitespace of every
# kind (including NBSP) is dropped by str.isspace.
_SEPARATORS = frozenset(
    "-_.\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d\u200b\u200c\u200d\u2060\ufeff"
)
#: Input longer than this is rejected before any normalisation work.
MAX_INPUT_CHARS = 512


def _times_a(value: int) -> int:
    value <<= 1
    if value & 0b100000:
        value ^= _GF_REDUCTION
    return value


def damm(values: Iterable[int]) -> int:
    """Run the Damm chain over symbol values (0-31) and return the final interim value."""
    interim = 0
    for value in values:
        interim = _times_a(interim ^ value)
    return interim


def normalise(text: str) -> str:
    """Case-fold, map confusables and drop separators; the result may hold invalid chars.

    NFKC first, so full-width forms typed by some input methods become ASCII.
    """
    folded = unicodedata.normalize("NFKC", text).upper().translate(_CONFUSABLES)
    return "".join(c for c in folded if not c.isspace() and c not in _SEPARATORS)


def is_valid(text: str) -> bool:
    """True if every character of already-normalised ``text`` is in the alphabet."""
    return all(c in _VALUES for c in text)


def to_values(text: str) -> list[int]:
    """Symbol values of already-validated ``text``."""
    return [_VALUES[c] for c in text]


def to_text(values: Iterable[int]) -> str:
    """Text of symbol values."""
    return "".join(ALPHABET[v] for v in values)


def int_to_values(number: int, count: int) -> list[int]:
    """``number`` as ``count`` big-endian base-32 digits."""
    return [(number >> (BITS_PER_CHAR * (count - 1 - i))) & 31 for i in range(count)]


def values_to_int(values: Iterable[int]) -> int:
    """Inverse of :func:`int_to_values`."""
    number = 0
    for value in values:
        number = (number << BITS_PER_CHAR) | value
    return number


def group(text: str, size: int, separator: str = "-") -> str:
    """Split ``text`` into groups of ``size`` joined by ``separator``."""
    return separator.join(text[i : i + size] for i in range(0, len(text), size))
