"""An inbox that tells cases apart (issue 15 point 3): every row shows the reference, the
channel, the topic and a short label that handlers set on the case page, encrypted under the
case key and decrypted only for the rows of the page shown."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from casework import inbox_rows, services, views
from casework.models import AuditEvent
from intake.models import Case
from tests.casework.helpers import case_url, filed_case
from tests.fixtures import World, staff_client
from tests.intake.journey import reporter, submit_report
from tests.plugins.sensitive import SensitiveRegistry

LABEL = "Kantine Nordwerk Hygiene"


def inbox(client: Any, world: World, query: str = "") -> str:
    response = client.get(
        f"/staff/offices/{world.office.public_id}/{query}", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    text: str = response.content.decode()
    return text


def row_of(html: str, case: Case) -> str:
    rows: list[str] = re.findall(r"<tr>.*?</tr>", html, flags=re.S)
    found = [r for r in rows if case.reference in r]
    assert len(found) == 1, html[:3000]
    return found[0]


@pytest.mark.django_db
def test_a_label_is_encrypted_shown_in_the_inbox_row_and_audited(
    world_a: World, sensitive: SensitiveRegistry
) -> None:
    sensitive.add(LABEL)
    lead, case, _receipt = filed_case(world_a)
    response = lead.post(case_url(world_a, case, "do/label/"), {"label": f"  {LABEL}  "})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.label_ciphertext is not None
    assert LABEL.encode() not in bytes(case.label_ciphertext)
    event = AuditEvent.objects.get(case_public_id=case.public_id, verb="case.label_set")
    assert event.actor == world_a.handler and LABEL not in event.object_id

    page = lead.get(case_url(world_a, case), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'value="{LABEL}"' in page

    row = row_of(inbox(lead, world_a), case)
    assert LABEL in row
    assert case.reference in row
    assert "Online form" in row  # the channel
    assert "Environment" in row  # the topic, in words (category "environment")

    assert lead.post(case_url(world_a, case, "do/label/"), {"label": ""}).status_code == 302
    case.refresh_from_db()
    assert case.label_ciphertext is None
    assert AuditEvent.objects.filter(
        case_public_id=case.public_id, verb="case.label_removed"
    ).exists()
    assert LABEL not in inbox(lead, world_a)


@pytest.mark.django_db
def test_a_label_too_long_is_refused_with_the_text_kept(world_a: World) -> None:
    lead, case, _receipt = filed_case(world_a)
    too_long = "x" * (services.LABEL_MAX + 1)
    response = lead.post(
        case_url(world_a, case, "do/label/"), {"label": too_long}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f"at most {services.LABEL_MAX} characters" in html
    assert f'value="{too_long}"' in html  # what was typed is not lost
    case.refresh_from_db()
    assert case.label_ciphertext is None
    assert not AuditEvent.objects.filter(
        case_public_id=case.public_id, verb="case.label_set"
    ).exists()


@pytest.mark.django_db
def test_handler_recorded_reports_show_their_channel(world_a: World) -> None:
    lead, _case, _receipt = filed_case(world_a)
    lead.post(
        f"/staff/offices/{world_a.office.public_id}/record/",
        {
            "tenant": str(world_a.tenant.public_id),
            "channel": "in_person",
            "category": "other",
            "what": "Visitor reports missing fire exits.",
        },
    )
    recorded = Case.objects.get(channel="in_person")
    row = row_of(inbox(lead, world_a, "?"), recorded)
    assert "In person" in row


@pytest.mark.django_db
def test_the_inbox_decrypts_only_the_labels_of_the_page_shown(
    world_a: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead, first, _receipt = filed_case(world_a)
    for _ in range(2):
        submit_report(reporter(), world_a)
    cases = list(Case.objects.filter(tenant=world_a.tenant).order_by("id"))
    for n, case in enumerate(cases):
        lead.post(case_url(world_a, case, "do/label/"), {"label": f"label number {n}"})

    opened: list[int] = []
    real = services.case_label

    def counting(*, case: Case, case_key: bytes) -> str:
        opened.append(case.pk)
        return real(case=case, case_key=case_key)

    monkeypatch.setattr(inbox_rows, "case_label", counting)
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    html = inbox(lead, world_a)
    # Newest first: the two newest on page 1, the oldest only on page 2.
    assert sorted(opened) == sorted(c.pk for c in cases[1:])
    assert "label number 2" in html and "label number 1" in html
    assert "label number 0" not in html
    opened.clear()
    assert "label number 0" in inbox(lead, world_a, "?page=2")
    assert opened == [first.pk]


@pytest.mark.django_db
def test_labelled_rows_cost_no_extra_queries_per_row(world_a: World) -> None:
    lead, first, _receipt = filed_case(world_a)
    lead.post(case_url(world_a, first, "do/label/"), {"label": "one"})
    inbox(lead, world_a)  # warm up (session, sites …)
    with CaptureQueriesContext(connection) as one_labelled:
        inbox(lead, world_a)
    for _ in range(3):
        submit_report(reporter(), world_a)
    for case in Case.objects.filter(tenant=world_a.tenant):
        lead.post(case_url(world_a, case, "do/label/"), {"label": "more"})
    with CaptureQueriesContext(connection) as four_labelled:
        html = inbox(lead, world_a)
    assert html.count("more") >= 4
    assert len(four_labelled) == len(one_labelled)


@pytest.mark.django_db
def test_another_tenants_handler_cannot_label_the_case(worlds: tuple[World, World]) -> None:
    a, b = worlds
    _lead, case, _receipt = filed_case(a)
    other = staff_client(b.handler)
    assert other.post(case_url(a, case, "do/label/"), {"label": "mine"}).status_code == 404
    # Nor through their own office's address.
    assert other.post(case_url(b, case, "do/label/"), {"label": "mine"}).status_code == 404
    case.refresh_from_db()
    assert case.label_ciphertext is None
