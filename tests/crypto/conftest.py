"""Fixtures for the crypto library tests (pure: no database, no Django)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from crypto import KeyPair, configure_slots, generate_keypair, slot_config


@pytest.fixture(scope="session")
def keypair() -> KeyPair:
    return generate_keypair()


@pytest.fixture
def key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def restore_slots() -> Iterator[None]:
    """Put the Argon2 slot configuration back as it was (Django may have configured it)."""
    saved = slot_config()
    yield
    configure_slots(*saved)
