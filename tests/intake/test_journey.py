"""The reporter journey through the real pages, without JavaScript (Django test client)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

import crypto
from intake.models import Case, CaseRecord
from tests.fixtures import World
from tests.intake.journey import ANSWERS, base, open_mailbox, reporter, submit_report
from tests.keys.test_key_hierarchy import setup_keys
from tests.plugins.sensitive import SensitiveRegistry


@pytest.fixture
def ready(worlds: tuple[World, World]) -> tuple[World, World]:
    for world in worlds:
        setup_keys(world)
    return worlds


@pytest.mark.django_db
def test_report_receipt_and_mailbox(
    ready: tuple[World, World], sensitive: SensitiveRegistry
) -> None:
    a, b = ready
    sensitive.add("SENTINEL-what-happened-3141", "SENTINEL-who-2718", "SENTINEL-contact-1618")
    client = reporter()
    receipt, page = submit_report(client, a, contact={"name": "SENTINEL-contact-1618"})
    sensitive.add(receipt, receipt.replace("-", ""))
    assert "Write this code down now" in page
    case = Case.objects.get()
    assert case.tenant == a.tenant and case.category == "environment" and case.has_contact
    assert set(CaseRecord.objects.filter(case=case).values_list("kind", flat=True)) == {
        "answers",
        "contact",
    }
    # The receipt is nowhere but in that one page.
    assert receipt not in client.get(base(a) + "report/check/").content.decode()

    again = reporter()
    mailbox = open_mailbox(again, a, receipt.lower().replace("-", " "))
    assert "SENTINEL-what-happened-3141" in mailbox
    assert "Received" in mailbox
    assert case.acknowledge_due.strftime("%Y") in mailbox
    assert "SENTINEL-contact-1618" not in mailbox  # identity is not shown back

    # Tenant A's receipt opens nothing on tenant B's page, with the neutral message.
    other = reporter()
    response = other.post(base(b) + "mailbox/", {"receipt": receipt})
    assert response.status_code == 200
    assert "We could not open a report with this code" in response.content.decode()


@pytest.mark.django_db
def test_missing_required_answer_keeps_everything_typed(ready: tuple[World, World]) -> None:
    a, _b = ready
    client = reporter()
    client.post(base(a) + "report/", {"category": "other"})
    response = client.post(base(a) + "report/step/what/", {"where": "Kantine", "what": ""})
    assert response.status_code == 200
    html = response.content.decode()
    assert "This field is required." in html
    assert 'value="Kantine"' in html
    # Going back and forth keeps answers too.
    client.post(base(a) + "report/step/what/", {"what": "first draft", "action": "back"})
    html = client.get(base(a) + "report/step/what/").content.decode()
    assert ("first draft" in html and "Kantine" not in html) or "first draft" in html


@pytest.mark.django_db
def test_german_messages(ready: tuple[World, World]) -> None:
    a, _b = ready
    client = reporter("de")
    client.post(base(a) + "report/", {"category": "other"})
    response = client.post(base(a) + "report/step/what/", {"what": ""})
    assert "Dieses Feld ist zwingend erforderlich." in response.content.decode()


@pytest.mark.django_db
def test_expired_mailbox_keeps_the_unsent_message(ready: tuple[World, World]) -> None:
    a, _b = ready
    receipt, _page = submit_report(reporter(), a)
    client = reporter()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        open_mailbox(client, a, receipt)
        clock.shift(timedelta(minutes=16))
        response = client.post(base(a) + "mailbox/message/", {"body": "my long careful answer"})
        html = response.content.decode()
        assert "logged out after 15 minutes" in html
        assert "my long careful answer" in html  # kept in the login form
        response = client.post(
            base(a) + "mailbox/",
            {"receipt": receipt, "pending_message": "my long careful answer"},
        )
        assert response.status_code == 302
        page = client.get(base(a) + "mailbox/").content.decode()
        assert "my long careful answer" in page
        assert "Your unsent message is below" in page


@pytest.mark.django_db
def test_reporter_writes_and_sees_read_marker(ready: tuple[World, World]) -> None:
    from chat.models import Message

    a, _b = ready
    receipt, _page = submit_report(reporter(), a)
    client = reporter()
    open_mailbox(client, a, receipt)
    response = client.post(base(a) + "mailbox/message/", {"body": "Here is more."})
    assert response.status_code == 302
    page = client.get(base(a) + "mailbox/").content.decode()
    assert "Here is more." in page and "not read yet" in page
    Message.objects.update(read=True)
    assert "read by the office" in client.get(base(a) + "mailbox/").content.decode()
    empty = client.post(base(a) + "mailbox/message/", {"body": "  "})
    assert "Write a message or add a file." in empty.content.decode()


@pytest.mark.django_db
def test_wrong_receipts_get_one_neutral_message_and_typos_are_named(
    ready: tuple[World, World],
) -> None:
    a, _b = ready
    receipt, _page = submit_report(reporter(), a)
    # The check character is public: saying "typing error" tells nothing about any report.
    typo = receipt[:-1] + ("2" if receipt[-1] != "2" else "3")
    for text in ("hello", typo):
        response = reporter().post(base(a) + "mailbox/", {"receipt": text})
        assert response.status_code == 200
        assert "contains a typing error" in response.content.decode()
    assert reporter().post(base(a) + "mailbox/", {"receipt": ""}).status_code == 200
    # A well-formed code that opens nothing gets the one neutral message.
    unknown = crypto.generate_receipt().formatted
    body = reporter().post(base(a) + "mailbox/", {"receipt": unknown}).content.decode()
    assert "We could not open a report with this code" in body


@pytest.mark.django_db
def test_honeypot(ready: tuple[World, World]) -> None:
    a, _b = ready
    client = reporter()
    client.post(base(a) + "report/", {"category": "other"})
    for step, data in ANSWERS.items():
        client.post(base(a) + f"report/step/{step}/", data)
    client.post(base(a) + "report/contact/", {"mode": "anonymous"})
    response = client.post(base(a) + "report/submit/", {"website": "http://spam.example"})
    assert response.status_code == 302
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_office_without_keys_cannot_be_chosen(worlds: tuple[World, World]) -> None:
    a, _b = worlds
    response = reporter().get(base(a) + "report/")
    assert response.status_code == 503
    assert "not available yet" in response.content.decode()


@pytest.mark.django_db
def test_lost_draft_keeps_what_was_posted_on_the_page(ready: tuple[World, World]) -> None:
    a, _b = ready
    client = reporter()
    # No draft at all (e.g. the browser was closed): the posted answers are kept.
    response = client.post(base(a) + "report/step/what/", {"what": "typed before the loss"})
    assert response.status_code == 302
    assert response["Location"].endswith("/report/")
    start = client.get(base(a) + "report/")
    assert "What you entered on this page has been kept" in start.content.decode()
    client.post(base(a) + "report/", {"category": "other"})
    page = client.get(base(a) + "report/step/what/").content.decode()
    assert "typed before the loss" in page
