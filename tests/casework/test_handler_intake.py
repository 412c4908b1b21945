"""Reports received by phone, letter or in person (CH-4), and key events in the audit trail."""

from __future__ import annotations

import re

import pytest

from casework.models import AuditEvent
from intake.models import Case
from tests.fixtures import World, make_staff, staff_client
from tests.intake.journey import open_mailbox, reporter
from tests.keys.test_key_hierarchy import setup_keys
from whistle.tenants.services import membership_add


@pytest.mark.django_db
def test_handler_records_a_phone_report_and_hands_out_a_receipt(world_a: World) -> None:
    lead, _recovery = setup_keys(world_a)
    url = f"/staff/offices/{world_a.office.public_id}/record/"
    page = lead.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    response = lead.post(
        url,
        {
            "tenant": str(world_a.tenant.public_id),
            "channel": "phone",
            "category": "other",
            "what": "Caller says the canteen ignores hygiene rules.",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    html = response.content.decode()
    groups = re.findall(r'<span class="group">([0-9A-Z]{4})</span>', html)
    assert len(groups) == 7
    case = Case.objects.get()
    assert case.channel == "phone"
    assert AuditEvent.objects.filter(
        case_public_id=case.public_id, verb="case.handler_intake"
    ).exists()
    # The reporter continues online with the slip's code.
    mailbox = open_mailbox(reporter(), world_a, "-".join(groups))
    assert "canteen ignores hygiene rules" in mailbox


@pytest.mark.django_db
def test_key_events_are_audited(world_a: World) -> None:
    lead, _recovery = setup_keys(world_a)
    colleague = make_staff("colleague@alpha.example")
    membership_add(office=world_a.office, user=colleague)
    staff_client(colleague)
    lead.post(f"/staff/offices/{world_a.office.public_id}/keys/grant/{colleague.public_id}/")
    verbs = list(AuditEvent.objects.filter(tenant=world_a.tenant).values_list("verb", flat=True))
    assert "key.office_created" in verbs and "key.granted" in verbs


@pytest.mark.django_db(transaction=True)
def test_a_handler_recorded_report_holds_no_connection_while_waiting_for_argon2(
    world_a: World,
) -> None:
    """Argon2 runs before the case's transaction (DESIGN §3), for handlers' reports too."""
    import threading
    import time

    from django.db import connection, connections

    from crypto.kdf import argon2_slot, configure_slots, slot_config
    from tests.intake.test_submission import _connections_in_use, _waiting_for_a_slot

    lead, _recovery = setup_keys(world_a)
    url = f"/staff/offices/{world_a.office.public_id}/record/"
    data = {
        "tenant": str(world_a.tenant.public_id),
        "channel": "letter",
        "category": "other",
        "what": "A letter about the canteen.",
    }
    before = slot_config()
    configure_slots(1, 60)
    result: dict[str, int] = {}

    def send() -> None:
        try:
            result["status"] = lead.post(url, data, HTTP_ACCEPT_LANGUAGE="en").status_code
        finally:
            connections.close_all()

    try:
        with argon2_slot():
            # In use before the request: this thread's (closed next) and any an earlier test's
            # thread still holds.
            baseline = _connections_in_use() - (1 if connection.connection is not None else 0)
            connection.close()
            sender = threading.Thread(target=send)
            sender.start()
            deadline = time.monotonic() + 30
            while not _waiting_for_a_slot():
                assert time.monotonic() < deadline and sender.is_alive(), "never waited"
                time.sleep(0.01)
            # A connection given back is "available" only once the pool has reset it (in the
            # pool's own worker, whistle/pgreset.py): wait for that, while the request cannot
            # move on (this thread holds the only slot). Compared with what was in use before
            # the request started: a thread of an earlier test may still hold one.
            settled = time.monotonic() + 30
            while _connections_in_use() > baseline:
                assert time.monotonic() < settled, "the waiting request holds a connection"
                time.sleep(0.01)
        sender.join(timeout=60)
    finally:
        configure_slots(*before)
    assert result["status"] == 200
    case = Case.objects.get()
    assert AuditEvent.objects.filter(
        case_public_id=case.public_id, verb="case.handler_intake"
    ).exists()


@pytest.mark.django_db
def test_a_busy_server_keeps_what_the_handler_entered(world_a: World) -> None:
    from crypto.kdf import argon2_slot, configure_slots, slot_config

    lead, _recovery = setup_keys(world_a)
    url = f"/staff/offices/{world_a.office.public_id}/record/"
    data = {
        "tenant": str(world_a.tenant.public_id),
        "channel": "phone",
        "category": "other",
        "what": "A caller about the canteen.",
    }
    before = slot_config()
    configure_slots(1, 0)
    try:
        with argon2_slot():  # every slot taken: no Argon2 run can start
            response = lead.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
    finally:
        configure_slots(*before)
    assert response.status_code == 503
    page = response.content.decode()
    assert "The service is very busy right now. Nothing was saved" in page
    assert "A caller about the canteen." in page
    assert not Case.objects.exists()
