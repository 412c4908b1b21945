"""Receipts reach their case: an unknown lookup part or a typo costs no Argon2 run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import crypto
from intake.services import case_answers, case_for_receipt, case_submit
from tests.fixtures import World
from tests.keys.test_key_hierarchy import setup_keys
from tests.plugins.sensitive import SensitiveRegistry


@pytest.fixture
def no_argon2() -> Iterator[None]:
    """Hold the only Argon2 slot: any derivation attempted meanwhile raises BusyError."""
    crypto.configure_slots(1, 0.0)
    try:
        with crypto.argon2_slot():
            yield
    finally:
        crypto.configure_slots(2, 5.0)


@pytest.mark.django_db
def test_receipt_opens_its_case(worlds: tuple[World, World], sensitive: SensitiveRegistry) -> None:
    a, b = worlds
    setup_keys(a)
    submission = case_submit(tenant=a.tenant, office=a.office, answers={"q": "SENTINEL-r-1"})
    sensitive.add(submission.receipt.formatted, "SENTINEL-r-1")
    typed = submission.receipt.formatted.lower().replace("-", " ")
    found = case_for_receipt(tenant=a.tenant, receipt_text=typed)
    assert found is not None
    case, key = found
    assert case == submission.case
    assert case_answers(case=case, case_key=key) == {"q": "SENTINEL-r-1"}
    # The same receipt means nothing on another tenant's page.
    assert case_for_receipt(tenant=b.tenant, receipt_text=typed) is None


@pytest.mark.django_db
def test_unknown_lookup_costs_no_argon2_run(world_a: World, no_argon2: None) -> None:
    unknown = crypto.generate_receipt()
    assert case_for_receipt(tenant=world_a.tenant, receipt_text=unknown.formatted) is None


@pytest.mark.django_db
def test_typo_is_caught_before_any_work(world_a: World, no_argon2: None) -> None:
    receipt = crypto.generate_receipt().formatted
    position = 5
    wrong = "7" if receipt[position] != "7" else "8"
    typo = receipt[:position] + wrong + receipt[position + 1 :]
    with pytest.raises(crypto.ReceiptFormatError) as excinfo:
        case_for_receipt(tenant=world_a.tenant, receipt_text=typo)
    assert excinfo.value.reason == "checksum"


@pytest.mark.django_db
def test_known_lookup_with_wrong_secret_opens_nothing(world_a: World) -> None:
    setup_keys(world_a)
    submission = case_submit(tenant=world_a.tenant, office=world_a.office, answers={})
    other = crypto.generate_receipt()
    # Same lookup part, different secret part, valid check character.
    from crypto import _base32

    values = _base32.to_values(_base32.normalise(submission.receipt.formatted))[:8]
    values += _base32.to_values(_base32.normalise(other.formatted))[8:27]
    forged = _base32.to_text([*values, _base32.damm(values)])
    assert crypto.parse_receipt(forged).lookup == submission.receipt.lookup
    assert case_for_receipt(tenant=world_a.tenant, receipt_text=forged) is None
