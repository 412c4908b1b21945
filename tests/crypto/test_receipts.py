"""Receipts: format, entropy, normalisation, and the check character."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import Receipt, ReceiptFormatError, generate_receipt, parse_receipt
from crypto._base32 import ALPHABET
from crypto.receipts import LOOKUP_CHARS, RECEIPT_CHARS, SECRET_BYTES, SECRET_CHARS

FORMAT = re.compile(r"^([0-9A-HJKMNP-TV-Z]{4}-){6}[0-9A-HJKMNP-TV-Z]{4}$")


@st.composite
def receipts(draw: st.DrawFn) -> Receipt:
    """Receipts built from hypothesis-chosen symbols (so shrinking works), check computed."""
    from crypto import _base32
    from crypto.receipts import _from_values

    data = draw(
        st.lists(st.integers(0, 31), min_size=RECEIPT_CHARS - 1, max_size=RECEIPT_CHARS - 1)
    )
    return _from_values([*data, _base32.damm(data)])


def _compact(receipt: Receipt) -> str:
    return receipt.formatted.replace("-", "")


def test_entropy() -> None:
    bits_per_char = math.log2(len(ALPHABET))
    assert len(ALPHABET) == len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)
    assert LOOKUP_CHARS * bits_per_char >= 40
    assert SECRET_CHARS * bits_per_char >= 80
    assert (LOOKUP_CHARS + SECRET_CHARS) * bits_per_char >= 120
    assert SECRET_CHARS * bits_per_char <= SECRET_BYTES * 8


def test_generate_shape() -> None:
    receipt = generate_receipt()
    assert FORMAT.match(receipt.formatted)
    assert len(receipt.lookup) == LOOKUP_CHARS
    assert receipt.formatted.replace("-", "").startswith(receipt.lookup)
    assert len(receipt.secret) == SECRET_BYTES
    assert receipt.secret[0] < 0x80  # 95 bits in 12 bytes
    assert parse_receipt(receipt.formatted) == receipt


def test_generate_is_random() -> None:
    seen = {generate_receipt().formatted for _ in range(200)}
    assert len(seen) == 200
    assert len({r[:9] for r in seen}) == 200


def test_repr_hides_secret() -> None:
    receipt = generate_receipt()
    assert receipt.formatted not in repr(receipt)
    assert _compact(receipt)[LOOKUP_CHARS:] not in repr(receipt)
    assert repr(receipt.secret) not in repr(receipt)


_SEPARATORS = st.sampled_from([" ", "-", "  ", "\t", "\u00a0", "\u2013", "\n", "\u200b", ""])
_READ_ALIKES = {"0": "Oo", "1": "IiLl", "V": "Uu"}


@st.composite
def messy(draw: st.DrawFn, receipt: Receipt) -> str:
    """How a person might type the receipt: any case, separators anywhere, read-alikes."""
    out = [draw(_SEPARATORS)]
    for char in _compact(receipt):
        choices = [char, char.lower(), *_READ_ALIKES.get(char, "")]
        out.append(draw(st.sampled_from(choices)))
        out.append(draw(_SEPARATORS))
    return "".join(out)


@settings(max_examples=200)
@given(st.data(), receipts())
def test_normalisation_round_trip(data: st.DataObject, receipt: Receipt) -> None:
    assert parse_receipt(data.draw(messy(receipt))) == receipt


def test_full_width_input() -> None:
    receipt = generate_receipt()
    full_width = "".join(chr(ord(c) + 0xFEE0) if c != "-" else " " for c in receipt.formatted)
    assert parse_receipt(full_width) == receipt


@settings(max_examples=100)
@given(receipts())
def test_every_substitution_caught(receipt: Receipt) -> None:
    text = _compact(receipt)
    for position in range(len(text)):
        for char in ALPHABET:
            if char == text[position]:
                continue
            typo = text[:position] + char + text[position + 1 :]
            with pytest.raises(ReceiptFormatError) as caught:
                parse_receipt(typo)
            assert caught.value.reason == "checksum"


@settings(max_examples=200)
@given(receipts())
def test_every_adjacent_transposition_caught(receipt: Receipt) -> None:
    text = _compact(receipt)
    for position in range(len(text) - 1):
        a, b = text[position], text[position + 1]
        if a == b:
            continue
        swapped = text[:position] + b + a + text[position + 2 :]
        with pytest.raises(ReceiptFormatError) as caught:
            parse_receipt(swapped)
        assert caught.value.reason == "checksum"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "length"),
        ("ABCD-EFGH", "length"),
        ("x" * 10_000, "length"),
        ("ABCD-EFGH-!JKM", "characters"),
        ("ÄBCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345", "characters"),
    ],
)
def test_reasons(text: str, reason: str) -> None:
    with pytest.raises(ReceiptFormatError) as caught:
        parse_receipt(text)
    assert caught.value.reason == reason
    if text:
        assert text[:8] not in str(caught.value)


def test_too_long_and_missing_check() -> None:
    text = _compact(generate_receipt())
    for wrong in (text[:-1], text + "0", text[1:]):
        with pytest.raises(ReceiptFormatError) as caught:
            parse_receipt(wrong)
        assert caught.value.reason == "length"


def test_message_never_contains_input() -> None:
    text = _compact(generate_receipt())
    typo = text[:-1] + ("0" if text[-1] != "0" else "1")
    with pytest.raises(ReceiptFormatError) as caught:
        parse_receipt(typo)
    assert text[:5] not in str(caught.value)
