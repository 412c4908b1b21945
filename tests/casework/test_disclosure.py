"""Consent before disclosure (issue 15, point 5; CF-4, HinSchG § 9): the reporter's identity is
passed on only with their consent for that one disclosure, or on a statutory ground with the
written notice beforehand (or the recorded reason why not); logged on the case and in the
export, audited, recipient and purpose encrypted."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from casework.models import AuditEvent
from chat.models import Message
from intake.models import Case, Disclosure
from tests.casework.helpers import case_url, filed_case
from tests.casework.test_export import pdf_text
from tests.fixtures import World
from tests.intake.journey import base, open_mailbox, reporter, submit_report
from tests.keys.test_key_hierarchy import setup_keys

NAME = "SENTINEL-name-Ada"
RECIPIENT = "Staatsanwaltschaft Musterstadt"
PURPOSE = "Witness statement in the fraud investigation"


def act(client: Client, world: World, case: Case, action: str, **data: str) -> Any:
    return client.post(case_url(world, case, f"do/{action}/"), data, HTTP_ACCEPT_LANGUAGE="en")


def verbs(case: Case) -> list[str]:
    return list(
        AuditEvent.objects.filter(case_public_id=case.public_id)
        .order_by("sequence")
        .values_list("verb", flat=True)
    )


def consent_url(world: World, disclosure: Disclosure) -> str:
    return f"{base(world)}mailbox/consent/{disclosure.public_id}/"


@pytest.mark.django_db
def test_consent_is_asked_given_and_serves_one_disclosure(world_a: World) -> None:
    lead, case, receipt = filed_case(world_a, contact={"name": NAME})
    response = act(lead, world_a, case, "request_consent", recipient=RECIPIENT, purpose="")
    assert "Give the purpose of the disclosure." in response.content.decode()
    assert RECIPIENT in response.content.decode()  # what was typed is kept
    assert (
        act(
            lead, world_a, case, "request_consent", recipient=RECIPIENT, purpose=PURPOSE
        ).status_code
        == 302
    )
    disclosure = Disclosure.objects.get(case=case)
    assert disclosure.state == Disclosure.State.REQUESTED
    assert disclosure.basis == Disclosure.Basis.CONSENT
    # Recipient and purpose are case content: encrypted.
    raw = bytes(disclosure.details_ciphertext)
    assert RECIPIENT.encode() not in raw and b"fraud" not in raw

    # Without the consent the contact details stay hidden.
    response = act(lead, world_a, case, "reveal", disclosure=str(disclosure.public_id))
    assert NAME not in response.content.decode()
    assert "cannot be carried out" in response.content.decode()
    response = act(lead, world_a, case, "reveal", disclosure="")
    assert NAME not in response.content.decode()

    # The reporter sees the request and consents, without JavaScript (a plain form).
    client = reporter()
    mailbox = open_mailbox(client, world_a, receipt)
    assert RECIPIENT in mailbox and PURPOSE in mailbox
    assert f'action="{consent_url(world_a, disclosure)}"' in mailbox
    response = client.post(consent_url(world_a, disclosure), {"answer": "consent"})
    assert response.status_code == 302
    disclosure.refresh_from_db()
    assert disclosure.state == Disclosure.State.ALLOWED and disclosure.answered_on
    consent_event = AuditEvent.objects.get(
        case_public_id=case.public_id, verb="disclosure.consent_given"
    )
    assert consent_event.actor is None and consent_event.actor_label == "reporter"
    # Answered once only.
    client.post(consent_url(world_a, disclosure), {"answer": "refuse"})
    disclosure.refresh_from_db()
    assert disclosure.state == Disclosure.State.ALLOWED
    assert "already been answered" in client.get(base(world_a) + "mailbox/").content.decode()

    # Now the handler sees the contact details to pass them on, once.
    response = act(lead, world_a, case, "reveal", disclosure=str(disclosure.public_id))
    assert NAME in response.content.decode()
    disclosure.refresh_from_db()
    assert disclosure.state == Disclosure.State.DISCLOSED
    assert disclosure.disclosed_by == world_a.handler and disclosure.disclosed_on
    response = act(lead, world_a, case, "reveal", disclosure=str(disclosure.public_id))
    assert NAME not in response.content.decode()
    assert verbs(case)[-3:] == [
        "disclosure.consent_requested",
        "disclosure.consent_given",
        "case.identity_disclosed",
    ]
    assert verbs(case).count("case.identity_disclosed") == 1

    # The case page and the export show the log.
    page = lead.get(case_url(world_a, case), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert RECIPIENT in page and PURPOSE in page and "disclosed" in page
    pdf = lead.post(
        case_url(world_a, case, "export/"),
        {"redactions": "", "format": "pdf"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    text = re.sub(r"\s+", " ", pdf_text(pdf.content))
    assert "Disclosures of the reporter's identity" in text
    assert RECIPIENT in text and "the reporter's consent" in text
    assert NAME not in text


@pytest.mark.django_db
def test_a_refused_request_allows_nothing(world_a: World) -> None:
    lead, case, receipt = filed_case(world_a, contact={"name": NAME})
    act(lead, world_a, case, "request_consent", recipient=RECIPIENT, purpose=PURPOSE)
    disclosure = Disclosure.objects.get(case=case)
    client = reporter()
    open_mailbox(client, world_a, receipt)
    response = client.post(consent_url(world_a, disclosure), {"answer": "maybe"})
    disclosure.refresh_from_db()
    assert response.status_code == 302 and disclosure.state == Disclosure.State.REQUESTED
    client.post(consent_url(world_a, disclosure), {"answer": "refuse"})
    disclosure.refresh_from_db()
    assert disclosure.state == Disclosure.State.REFUSED
    assert "disclosure.consent_refused" in verbs(case)
    assert "You refused." in client.get(base(world_a) + "mailbox/").content.decode()
    response = act(lead, world_a, case, "reveal", disclosure=str(disclosure.public_id))
    assert NAME not in response.content.decode()
    assert "refused by the reporter" in response.content.decode()


@pytest.mark.django_db
def test_a_ground_with_written_notice_beforehand(world_a: World) -> None:
    lead, case, receipt = filed_case(world_a, contact={"name": NAME})
    data = {
        "ground": "criminal",
        "recipient": RECIPIENT,
        "purpose": PURPOSE,
        "notice": "send",
        "notice_text": "",
    }
    response = act(lead, world_a, case, "disclose_on_ground", **data)
    assert "Write the reasons" in response.content.decode()
    assert RECIPIENT in response.content.decode()  # kept
    assert not Disclosure.objects.exists()
    data["notice_text"] = "The public prosecutor requested it in writing on 1 December."
    assert act(lead, world_a, case, "disclose_on_ground", **data).status_code == 302
    disclosure = Disclosure.objects.get(case=case)
    assert disclosure.state == Disclosure.State.ALLOWED
    assert disclosure.notice == Disclosure.Notice.SENT and disclosure.ground == "criminal"
    assert verbs(case)[-2:] == ["disclosure.ground_recorded", "disclosure.notice_sent"]

    # The reporter was told in writing, before anything was passed on: ground, recipient, reasons.
    client = reporter()
    mailbox = open_mailbox(client, world_a, receipt)
    assert Message.objects.filter(case=case, side=Message.Side.OFFICE).count() == 1
    assert "requested it in writing on 1 December" in mailbox
    assert "criminal proceedings" in mailbox and RECIPIENT in mailbox
    # Nothing to consent to: no consent form for a ground.
    assert "mailbox/consent/" not in mailbox
    assert client.post(consent_url(world_a, disclosure), {"answer": "refuse"}).status_code == 404

    response = act(lead, world_a, case, "reveal", disclosure=str(disclosure.public_id))
    assert NAME in response.content.decode()
    assert verbs(case)[-1] == "case.identity_disclosed"


@pytest.mark.django_db
def test_a_ground_without_notice_records_why_and_stays_unseen_by_the_reporter(
    world_a: World,
) -> None:
    lead, case, receipt = filed_case(world_a, contact={"name": NAME})
    data = {
        "ground": "court",
        "recipient": "Landgericht",
        "purpose": "Hearing",
        "notice": "withhold",
    }
    response = act(lead, world_a, case, "disclose_on_ground", **data)
    assert "jeopardise" in response.content.decode() and not Disclosure.objects.exists()
    reason = "Court order of 2 December: informing the reporter would jeopardise the hearing"
    act(lead, world_a, case, "disclose_on_ground", **data, withheld_reason=reason)
    disclosure = Disclosure.objects.get(case=case)
    assert disclosure.notice == Disclosure.Notice.WITHHELD
    assert b"Court order" not in bytes(disclosure.details_ciphertext)
    assert verbs(case)[-2:] == ["disclosure.ground_recorded", "disclosure.notice_withheld"]
    assert not Message.objects.filter(case=case).exists()
    page = lead.get(case_url(world_a, case), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert reason in page and "a court decision" in page
    mailbox = open_mailbox(reporter(), world_a, receipt)
    assert "Landgericht" not in mailbox and "Passing on your identity" not in mailbox
    # A ground must be one the law names.
    response = act(
        lead,
        world_a,
        case,
        "disclose_on_ground",
        **{**data, "ground": "curiosity"},
        withheld_reason=reason,
    )
    assert "Choose the legal ground" in response.content.decode()


@pytest.mark.django_db
def test_other_reporters_cannot_answer(worlds: tuple[World, World]) -> None:
    a, b = worlds
    lead, case, receipt = filed_case(a, contact={"name": NAME})
    act(lead, a, case, "request_consent", recipient=RECIPIENT, purpose=PURPOSE)
    disclosure = Disclosure.objects.get(case=case)
    other = reporter()
    other_receipt, _page = submit_report(other, a)
    other_mailbox = open_mailbox(other, a, other_receipt)
    assert RECIPIENT not in other_mailbox
    assert other.post(consent_url(a, disclosure), {"answer": "consent"}).status_code == 404
    setup_keys(b)
    b_client = reporter()
    b_receipt, _page = submit_report(b_client, b)
    open_mailbox(b_client, b, b_receipt)
    path = f"mailbox/consent/{disclosure.public_id}/"
    assert b_client.post(base(b) + path, {"answer": "consent"}).status_code == 404
    # No session: to the login, nothing answered.
    assert reporter().post(base(a) + path, {"answer": "consent"}).status_code == 302
    disclosure.refresh_from_db()
    assert disclosure.state == Disclosure.State.REQUESTED
    assert receipt
