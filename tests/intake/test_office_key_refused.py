"""A reporter never sends to an office whose public key failed its authenticity check (issue
12, point 12): the office is not offered, and a report already written is kept with a 503 and a
clear message instead of being sealed to a key someone swapped in the database."""

from __future__ import annotations

import pytest

import crypto
from intake.models import Case
from tests.fixtures import World
from tests.intake.journey import ANSWERS, base, reporter, submit_report
from tests.keys.test_key_hierarchy import setup_keys
from whistle.keys.models import OfficeKeyPair


def swap_office_key(world: World) -> None:
    attacker = crypto.generate_keypair()
    OfficeKeyPair.objects.filter(office=world.office).update(public_key=attacker.public)


@pytest.mark.django_db
def test_an_office_with_a_swapped_key_is_not_offered(worlds: tuple[World, World]) -> None:
    world_a, world_b = worlds
    setup_keys(world_a)
    setup_keys(world_b)
    swap_office_key(world_a)
    response = reporter().get(base(world_a) + "report/")
    assert response.status_code == 503
    assert "Reporting is not available yet" in response.content.decode()
    # The other tenant's office is unaffected.
    receipt, _html = submit_report(reporter(), world_b)
    assert receipt


@pytest.mark.django_db
def test_a_written_report_is_kept_when_the_key_is_swapped_before_sending(
    world_a: World,
) -> None:
    setup_keys(world_a)
    client = reporter()
    root = base(world_a)
    assert client.post(root + "report/", {"category": "environment"}).status_code == 302
    for step, data in ANSWERS.items():
        assert client.post(root + f"report/step/{step}/", data).status_code == 302
    assert client.post(root + "report/contact/", {"mode": "anonymous"}).status_code == 302
    swap_office_key(world_a)
    response = client.post(root + "report/submit/", {})
    assert response.status_code == 503
    page = response.content.decode()
    assert "The office cannot receive reports at the moment. Your report is kept" in page
    assert ANSWERS["what"]["what"] in page  # the check page, with everything written
    assert not Case.objects.exists()
