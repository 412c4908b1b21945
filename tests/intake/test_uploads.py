"""Files through the real pages: cleaned of metadata, encrypted under the case key, listed for
the reporter, downloadable by handlers only as attachments; size limits with clear messages."""

from __future__ import annotations

import io

import pikepdf
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

import crypto
from intake.models import Attachment, Case
from intake.services import attachment_stream_context, case_attachments
from tests.fixtures import World, staff_client
from tests.intake.files import builders
from tests.intake.journey import ANSWERS, base, open_mailbox, reporter, submit_report
from tests.keys.test_key_hierarchy import handler_private_of, setup_keys
from tests.plugins.sensitive import SensitiveRegistry


def stored_plaintext(case: Case, key: bytes, attachment: Attachment) -> bytes:
    with default_storage.open(attachment.storage_name, "rb") as handle:
        return b"".join(
            crypto.iter_decrypt(
                key,
                handle,  # type: ignore[arg-type]
                context=attachment_stream_context(
                    str(case.tenant.public_id), str(case.public_id), str(attachment.public_id)
                ),
            )
        )


@pytest.mark.django_db
def test_files_are_cleaned_encrypted_and_listed(
    world_a: World, sensitive: SensitiveRegistry
) -> None:
    sensitive.add(*builders.SENTINELS)
    lead, _recovery = setup_keys(world_a)
    files = [
        SimpleUploadedFile(
            "holiday.jpg", builders.jpeg(orientation=1, size=(64, 48)), "image/jpeg"
        ),
        # The name lies: the type is taken from the content.
        SimpleUploadedFile("minutes.jpg", builders.pdf(), "image/jpeg"),
        SimpleUploadedFile("memo.docx", builders.docx(), "application/octet-stream"),
    ]
    client = reporter()
    client.post(base(world_a) + "report/", {"category": "environment"})
    client.post(base(world_a) + "report/step/what/", ANSWERS["what"])
    client.post(base(world_a) + "report/step/who/", ANSWERS["who"])
    response = client.post(
        base(world_a) + "report/step/more/",
        {**ANSWERS["more"], "evidence": files, "action": "upload"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert ("holiday.jpg" in page and "location (GPS)" in page.lower()) or "gps" in page.lower()
    assert "author" in page.lower()
    client.post(base(world_a) + "report/step/more/", ANSWERS["more"])
    client.post(base(world_a) + "report/contact/", {"mode": "anonymous"})
    receipt_page = client.post(base(world_a) + "report/submit/", {})
    assert receipt_page.status_code == 200

    case = Case.objects.get()
    private = handler_private_of(lead)
    from intake.services import case_key_for_office

    key = case_key_for_office(case=case, user=world_a.handler, handler_private=private)
    views = {v.meta["name"]: v for v in case_attachments(case=case, case_key=key)}
    assert set(views) == {"holiday.jpg", "minutes.jpg", "memo.docx"}
    assert views["minutes.jpg"].meta["kind"] == "pdf"

    jpeg = stored_plaintext(case, key, views["holiday.jpg"].attachment)
    for sentinel in builders.SENTINELS:
        assert sentinel.encode() not in jpeg
    image = Image.open(io.BytesIO(jpeg))
    assert image.size == (64, 48)
    assert 0x8825 not in image.getexif()
    pdf_bytes = stored_plaintext(case, key, views["minutes.jpg"].attachment)
    assert all(sentinel.encode() not in pdf_bytes for sentinel in builders.SENTINELS)
    assert len(pikepdf.open(io.BytesIO(pdf_bytes)).pages) == 2
    docx = stored_plaintext(case, key, views["memo.docx"].attachment)
    assert all(sentinel.encode() not in docx for sentinel in builders.SENTINELS)

    # What is in storage is ciphertext only.
    for view in views.values():
        with default_storage.open(view.attachment.storage_name, "rb") as handle:
            raw = handle.read()
        for sentinel in builders.SENTINELS:
            assert sentinel.encode() not in raw

    # Handlers download files only as attachments, in a sandbox.
    handler = staff_client(world_a.handler)
    url = (
        f"/staff/offices/{world_a.office.public_id}/cases/{case.public_id}/files/"
        f"{views['holiday.jpg'].attachment.public_id}/"
    )
    response = handler.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Content-Type"] == "application/octet-stream"
    assert b"".join(response.streaming_content) == jpeg  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_oversized_file_is_refused_clearly_and_nothing_else_is_lost(world_a: World) -> None:
    setup_keys(world_a)
    world_a.tenant.max_file_mb = 1
    world_a.tenant.save()
    client = reporter()
    client.post(base(world_a) + "report/", {"category": "other"})
    client.post(base(world_a) + "report/step/what/", ANSWERS["what"])
    client.post(base(world_a) + "report/step/who/", ANSWERS["who"])
    big = SimpleUploadedFile("huge.bin", b"\0" * (1024 * 1024 + 1), "application/octet-stream")
    small = SimpleUploadedFile("note.txt", b"small evidence", "text/plain")
    response = client.post(
        base(world_a) + "report/step/more/",
        {**ANSWERS["more"], "evidence_more": "typed text stays", "evidence": [big, small]},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "“huge.bin” was not added: a file may be at most 1 MB." in html
    assert "note.txt" in html
    assert "typed text stays" in html


@pytest.mark.django_db
def test_reporter_adds_a_file_in_the_mailbox(world_a: World) -> None:
    _lead, _recovery = setup_keys(world_a)
    receipt, _page = submit_report(reporter(), world_a)
    client = reporter()
    open_mailbox(client, world_a, receipt)
    response = client.post(
        base(world_a) + "mailbox/message/",
        {
            "body": "",
            "files": [
                SimpleUploadedFile(
                    "photo.jpg", builders.jpeg(orientation=1, size=(64, 48)), "image/jpeg"
                )
            ],
        },
    )
    assert response.status_code == 302
    assert "photo.jpg" in client.get(base(world_a) + "mailbox/").content.decode()
    case = Case.objects.get()
    handler = staff_client(world_a.handler)
    page = handler.get(f"/staff/offices/{world_a.office.public_id}/cases/{case.public_id}/")
    assert "photo.jpg" in page.content.decode()
