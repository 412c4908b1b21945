"""Shared helpers for the crypto tests."""

from __future__ import annotations

from hypothesis import strategies as st


@st.composite
def flipped(draw: st.DrawFn, blob: bytes) -> bytes:
    """``blob`` with exactly one byte, at any position, XORed with a non-zero value."""
    index = draw(st.integers(min_value=0, max_value=len(blob) - 1))
    mask = draw(st.integers(min_value=1, max_value=255))
    out = bytearray(blob)
    out[index] ^= mask
    return bytes(out)
