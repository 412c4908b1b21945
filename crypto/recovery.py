"""Office recovery keys: 256 random bits, shown once to the office lead at creation.

Format: 13 groups of 5 Crockford base32 symbols joined by hyphens. Each group is 4 data
symbols followed by 1 check symbol: the Damm check (``crypto._base32``) over the group's
position (0 to 12, as one symbol) followed by its 4 data symbols. A typo is reported with the
group it is in, and a group copied to the wrong place fails too. The 52 data symbols carry
260 bits, a 256-bit number (the first symbol is therefore 0 or 1).

The displayed material is not used as a key directly: ``key`` is
HKDF-SHA256(ikm=the 256 bits, salt=none, info=b"whistle/recovery-key/v1"), a KEK for
``wrap_key``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto import _base32
from crypto.errors import RecoveryKeyFormatError

GROUPS = 13
DATA_PER_GROUP = 4
GROUP_SIZE = DATA_PER_GROUP + 1
RECOVERY_CHARS = GROUPS * GROUP_SIZE
KEY_BITS = 256
_INFO = b"whistle/recovery-key/v1"


@dataclass(frozen=True)
class RecoveryKey:
    """An office recovery key.

    Attributes:
        key: 32-byte KEK derived from the displayed material; wrap the office private key
            under it with ``wrap_key``. Never store it.
        formatted: the text to show once (65 symbols, 13 groups of 5).

    Both are left out of ``repr``.
    """

    key: bytes = field(repr=False)
    formatted: str = field(repr=False)


def _group_check(index: int, data: list[int]) -> int:
    # The group's position is the first symbol of its chain, so moved groups fail.
    return _base32.damm([index, *data])


def _from_raw(raw: int) -> RecoveryKey:
    values = _base32.int_to_values(raw, GROUPS * DATA_PER_GROUP)
    groups = []
    for index in range(GROUPS):
        data = values[index * DATA_PER_GROUP : (index + 1) * DATA_PER_GROUP]
        groups.append(_base32.to_text([*data, _group_check(index, data)]))
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO)
    return RecoveryKey(
        key=hkdf.derive(raw.to_bytes(KEY_BITS // 8, "big")), formatted="-".join(groups)
    )


def generate_recovery_key() -> RecoveryKey:
    """Draw a new 256-bit recovery key from :mod:`secrets`.

    Returns:
        The :class:`RecoveryKey`; show ``formatted`` once, use ``key`` to wrap, keep neither.
    """
    return _from_raw(secrets.randbits(KEY_BITS))


def parse_recovery_key(text: str) -> RecoveryKey:
    """Parse a recovery key as typed by a person (same tolerance as receipts).

    Args:
        text: the key as typed or pasted; case, spaces, hyphens and O/0, I/L/1, U/V
            confusions do not matter.

    Returns:
        The :class:`RecoveryKey` (whose ``key`` equals the one generated with it).

    Raises:
        RecoveryKeyFormatError: ``reason`` ``"characters"``, ``"length"``, or ``"checksum"``
            with ``group`` set to the 1-based number of the first wrong group.
    """
    if not isinstance(text, str) or len(text) > _base32.MAX_INPUT_CHARS:
        raise RecoveryKeyFormatError("length")
    normalised = _base32.normalise(text)
    if not _base32.is_valid(normalised):
        raise RecoveryKeyFormatError("characters")
    if len(normalised) != RECOVERY_CHARS:
        raise RecoveryKeyFormatError("length")
    values = _base32.to_values(normalised)
    data: list[int] = []
    for index in range(GROUPS):
        chunk = values[index * GROUP_SIZE : (index + 1) * GROUP_SIZE]
        if _base32.damm([index, *chunk]) != 0:
            raise RecoveryKeyFormatError("checksum", group=index + 1)
        data += chunk[:DATA_PER_GROUP]
    raw = _base32.values_to_int(data)
    if raw >> KEY_BITS:
        # Two typos in the first group that cancel in its check can still overflow 256 bits.
        raise RecoveryKeyFormatError("checksum", group=1)
    return _from_raw(raw)
