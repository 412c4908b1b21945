"""Receipts as an attacker or a clumsy typist would enter them."""

from __future__ import annotations

import crypto
from crypto import _base32

BUSY = "The service is very busy right now"


def with_wrong_secret(receipt: str, n: int = 1) -> str:
    """The same lookup part, another secret part, a valid check character."""
    values = _base32.to_values(_base32.normalise(receipt))[:27]
    values[25] = (values[25] + n // 31) % 32
    values[26] = (values[26] + 1 + n % 31) % 32  # never the real symbol: always wrong
    text = _base32.group(_base32.to_text([*values, _base32.damm(values)]), 4)
    assert crypto.parse_receipt(text).lookup == crypto.parse_receipt(receipt).lookup
    return text


def with_typo(receipt: str) -> str:
    return receipt[:5] + ("7" if receipt[5] != "7" else "8") + receipt[6:]
