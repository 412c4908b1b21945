"""Cases for casework tests, filed through the real reporter pages."""

from __future__ import annotations

from django.test import Client

from intake.models import Case
from tests.fixtures import World
from tests.intake.journey import reporter, submit_report
from tests.keys.test_key_hierarchy import setup_keys


def filed_case(world: World, *, contact: dict[str, str] | None = None) -> tuple[Client, Case, str]:
    """Office keys set up by the lead (whose logged-in client is returned) and one report."""
    lead, _recovery = setup_keys(world)
    receipt, _page = submit_report(reporter(), world, contact=contact)
    case = Case.objects.filter(tenant=world.tenant).order_by("-id").first()
    assert case is not None
    return lead, case, receipt


def case_url(world: World, case: Case, tail: str = "") -> str:
    return f"/staff/offices/{world.office.public_id}/cases/{case.public_id}/{tail}"
