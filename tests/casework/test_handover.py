"""Hand-over of a redacted dossier (issue 15, point 6; WF-4, CF-3): the export's redaction plus
the reporter's contact details, files only when ticked one by one with the warning confirmed,
a record of what went to whom and when (encrypted recipient, audited) on the case page and in
the export; only members with access reach it."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from casework.models import AuditEvent, Handover
from intake.models import Attachment, Case
from tests.casework.helpers import case_url
from tests.casework.test_export import assert_not_in_pdf, download, pdf_text
from tests.fixtures import World, make_staff, staff_client
from tests.intake.journey import ANSWERS, base, open_mailbox, reporter, submit_report
from tests.keys.test_key_hierarchy import setup_keys
from whistle.tenants.services import membership_add, office_create

CONTACT_NAME = "Ada Quarzberg"
ACCUSED = "Mr Smithfield"
RECIPIENT = "Personalabteilung Alphastadt"
FILE_BYTES = b"ledger line\n" * 20
KEPT = ANSWERS["what"]["what"]


def case_for_handover(world: World) -> tuple[Client, Case]:
    """A report with contact details and a file; a conversation naming the reporter and the
    accused; an internal note."""
    lead, _recovery = setup_keys(world)
    client = reporter()
    files = {"evidence": [SimpleUploadedFile("ledger.txt", FILE_BYTES, "text/plain")]}
    receipt, _page = submit_report(client, world, contact={"name": CONTACT_NAME}, files=files)
    case = Case.objects.get(tenant=world.tenant)
    for action, data in (
        ("acknowledge", {"message": "We received your report."}),
        ("note", {"body": "Internal: check the cash book"}),
    ):
        assert lead.post(case_url(world, case, f"do/{action}/"), data).status_code == 302
    open_mailbox(client, world, receipt)
    client.post(
        base(world) + "mailbox/message/",
        {"body": f"I am {CONTACT_NAME}; {ACCUSED} shredded the invoices."},
    )
    return lead, case


def hand_over(client: Client, world: World, case: Case, **data: Any) -> Any:
    payload = {"recipient": RECIPIENT, "kind": "unit", "redactions": "", **data}
    return client.post(case_url(world, case, "handover/"), payload, HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.django_db
def test_dossier_is_redacted_recorded_and_logged(world_a: World) -> None:
    lead, case = case_for_handover(world_a)
    form = lead.get(case_url(world_a, case, "handover/"), HTTP_ACCEPT_LANGUAGE="en")
    assert form.status_code == 200
    page = form.content.decode()
    assert "ledger.txt" in page and "cannot be redacted" in page

    response = hand_over(lead, world_a, case, redactions=ACCUSED, with_conversation="on")
    assert response.status_code == 200, response.content.decode()[:2000]
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "no-store"
    pdf = download(response)
    text = re.sub(r"\s+", " ", pdf_text(pdf))
    assert RECIPIENT in text and KEPT in text
    assert "shredded the invoices" in text  # the conversation was included …
    for phrase in (CONTACT_NAME, ACCUSED):  # … with the reporter's name and the accused's out
        assert_not_in_pdf(pdf, phrase)
    assert "check the cash book" not in text  # notes were not ticked
    assert "ledger.txt" not in text  # nor the file

    handover = Handover.objects.get(case=case)
    assert handover.kind == "unit" and handover.file_count == 0 and handover.with_conversation
    assert handover.by == world_a.handler and handover.redaction_count == 2
    assert RECIPIENT.encode() not in bytes(handover.details_ciphertext)
    event = AuditEvent.objects.get(case_public_id=case.public_id, verb="case.handed_over")
    assert event.object_id == str(handover.public_id) and event.actor == world_a.handler

    # The case page and the export show the hand-over log.
    page = lead.get(case_url(world_a, case), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert RECIPIENT in page and "the organisation&#x27;s unit that must act" in page
    export = lead.post(
        case_url(world_a, case, "export/"),
        {"redactions": "", "format": "pdf"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    export_text = re.sub(r"\s+", " ", pdf_text(download(export)))
    assert "Hand-overs" in export_text and RECIPIENT in export_text


@pytest.mark.django_db
def test_files_only_when_ticked_and_the_warning_confirmed(world_a: World) -> None:
    lead, case = case_for_handover(world_a)
    attachment = Attachment.objects.get(case=case)
    response = hand_over(lead, world_a, case, include_files=[str(attachment.public_id)])
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "confirm that you know their contents are not redacted" in page
    assert RECIPIENT in page  # what was typed is kept
    assert not Handover.objects.exists()

    response = hand_over(
        lead,
        world_a,
        case,
        kind="authority",
        include_files=[str(attachment.public_id)],
        files_not_redacted="on",
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download(response))) as archive:
        names = archive.namelist()
        assert names[0] == "case.pdf" and len(names) == 2
        assert archive.read(names[1]) == FILE_BYTES  # the original: not redacted
        text = re.sub(r"\s+", " ", pdf_text(archive.read("case.pdf")))
    assert "Files handed over" in text and "ledger.txt" in text
    handover = Handover.objects.get(case=case)
    assert handover.file_count == 1 and handover.kind == "authority"
    page = lead.get(case_url(world_a, case), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "files (not redacted): ledger.txt" in page

    # A made-up file id is refused; a missing recipient too, with the rest kept.
    response = hand_over(
        lead, world_a, case, include_files=[str(case.public_id)], files_not_redacted="on"
    )
    assert response.status_code == 200 and Handover.objects.count() == 1
    response = hand_over(lead, world_a, case, recipient="", redactions="Smithfield")
    assert "Smithfield" in response.content.decode() and Handover.objects.count() == 1


@pytest.mark.django_db
def test_only_members_with_access_hand_over(worlds: tuple[World, World]) -> None:
    a, b = worlds
    lead, case = case_for_handover(a)
    url = case_url(a, case, "handover/")
    other_office = office_create(owner=a.tenant, name="Second office")
    neighbour = make_staff("neighbour@alpha.example")
    membership_add(office=other_office, user=neighbour)
    for client in (staff_client(b.handler), staff_client(a.admin), staff_client(neighbour)):
        assert client.get(url).status_code == 404
        assert client.post(url, {"recipient": RECIPIENT, "kind": "unit"}).status_code == 404
    assert staff_client(b.handler).get(case_url(b, case, "handover/")).status_code == 404
    assert not Handover.objects.exists()
    assert lead.get(url).status_code == 200
