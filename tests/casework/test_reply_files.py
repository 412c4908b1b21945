"""Handlers attach files to a message (issue 15, point 4): cleaned of metadata and encrypted like
the reporter's, audited, and downloadable by this case's reporter only."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pikepdf
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from casework.models import AuditEvent
from chat.models import Message
from intake.models import Attachment, Case, PendingUpload
from intake.services import case_attachments, case_key_for_office
from tests.casework.helpers import case_url, filed_case
from tests.fixtures import World
from tests.intake.files import builders
from tests.intake.journey import base, open_mailbox, reporter, submit_report
from tests.intake.test_uploads import stored_plaintext
from tests.keys.test_key_hierarchy import handler_private_of, setup_keys
from tests.plugins.sensitive import SensitiveRegistry


def reply(client: Client, world: World, case: Case, body: str, files: Sequence[object]) -> Any:
    return client.post(
        case_url(world, case, "do/reply/"),
        {"body": body, "files": files},
        HTTP_ACCEPT_LANGUAGE="en",
    )


def office_key(lead: Client, world: World, case: Case) -> bytes:
    return case_key_for_office(
        case=case, user=world.handler, handler_private=handler_private_of(lead)
    )


def reply_with_evidence(world: World) -> tuple[Client, Case, str, bytes]:
    lead, case, receipt = filed_case(world)
    files = [
        SimpleUploadedFile("site.jpg", builders.jpeg(orientation=1, size=(64, 48)), "image/jpeg"),
        SimpleUploadedFile("order.pdf", builders.pdf(), "application/pdf"),
    ]
    response = reply(lead, world, case, "Please look at the attached order.", files)
    assert response.status_code == 302, response.content.decode()[:2000]
    return lead, case, receipt, office_key(lead, world, case)


@pytest.mark.django_db
def test_reply_files_are_stripped_encrypted_audited_and_downloadable(
    world_a: World, sensitive: SensitiveRegistry
) -> None:
    sensitive.add(*builders.SENTINELS)
    lead, case, receipt, key = reply_with_evidence(world_a)

    message = Message.objects.get(case=case, side=Message.Side.OFFICE)
    views = {v.meta["name"]: v for v in case_attachments(case=case, case_key=key, side="office")}
    assert set(views) == {"site.jpg", "order.pdf"}
    assert {a.pk for a in message.attachments.all()} == {v.attachment.pk for v in views.values()}
    assert all(v.meta["cleaned"] for v in views.values())
    assert not PendingUpload.objects.exists()  # held by their attachment rows now

    # Metadata gone, content kept (as the reporter's files are checked, tests/intake).
    jpeg = stored_plaintext(case, key, views["site.jpg"].attachment)
    image = Image.open(io.BytesIO(jpeg))
    assert image.size == (64, 48) and 0x8825 not in image.getexif()
    pdf = stored_plaintext(case, key, views["order.pdf"].attachment)
    assert len(pikepdf.open(io.BytesIO(pdf)).pages) == 2
    for plain in (jpeg, pdf):
        assert all(sentinel.encode() not in plain for sentinel in builders.SENTINELS)
    # No plaintext at rest: the stored bytes are ciphertext.
    for view in views.values():
        with default_storage.open(view.attachment.storage_name, "rb") as handle:
            raw = handle.read()
        assert raw[:3] != b"\xff\xd8\xff" and not raw.startswith(b"%PDF")
        assert all(sentinel.encode() not in raw for sentinel in builders.SENTINELS)
        assert b"site.jpg" not in bytes(view.attachment.meta_ciphertext)

    events = AuditEvent.objects.filter(case_public_id=case.public_id)
    assert events.filter(verb="case.message_sent", object_id=str(message.public_id)).count() == 1
    assert set(events.filter(verb="case.file_sent").values_list("object_id", flat=True)) == {
        str(v.attachment.public_id) for v in views.values()
    }

    # The reporter sees both as downloads and gets the cleaned bytes, only as a download.
    client = reporter()
    page = open_mailbox(client, world_a, receipt)
    for name, view in views.items():
        url = f"{base(world_a)}mailbox/files/{view.attachment.public_id}/"
        assert f'href="{url}"' in page and name in page
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment;")
        assert name in response["Content-Disposition"]
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert response["Cache-Control"] == "no-store"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Type"] == "application/octet-stream"
        expected = jpeg if name == "site.jpg" else pdf
        assert b"".join(response.streaming_content) == expected  # type: ignore[attr-defined]

    # The handler's page lists them in the conversation with the handler download.
    page = lead.get(case_url(world_a, case), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert case_url(world_a, case, f"files/{views['order.pdf'].attachment.public_id}/") in page


@pytest.mark.django_db
def test_other_reporter_sessions_get_404(worlds: tuple[World, World]) -> None:
    a, b = worlds
    _lead, case, receipt, key = reply_with_evidence(a)
    office_file = Attachment.objects.filter(case=case, side="office").first()
    assert office_file is not None
    path = f"mailbox/files/{office_file.public_id}/"

    # Another report of the same tenant: its session cannot fetch this case's file.
    other_client = reporter()
    other_receipt, _page = submit_report(other_client, a)
    open_mailbox(other_client, a, other_receipt)
    assert other_client.get(base(a) + path).status_code == 404

    # Another tenant's reporter, under either tenant's address.
    setup_keys(b)
    b_client = reporter()
    b_receipt, _page = submit_report(b_client, b)
    open_mailbox(b_client, b, b_receipt)
    assert b_client.get(base(b) + path).status_code == 404
    # Under a's address b's session opens no mailbox at all: to the login, nothing served.
    response = b_client.get(base(a) + path)
    assert response.status_code == 302 and response["Location"] == base(a) + "mailbox/"

    # Without a mailbox session: back to the login, nothing served.
    response = reporter().get(base(a) + path)
    assert response.status_code == 302 and response["Location"].endswith("/mailbox/")

    # The reporter's own files are not served by this route (only the office's are).
    own = reporter()
    evidence = [SimpleUploadedFile("mine.txt", b"my own evidence", "text/plain")]
    own_receipt, _page = submit_report(own, a, files={"evidence": evidence})
    open_mailbox(own, a, own_receipt)
    mine = Attachment.objects.get(side="reporter")  # the only reporter file of this test
    assert own.get(f"{base(a)}mailbox/files/{mine.public_id}/").status_code == 404
    # … while the right reporter still gets the office's file.
    client = reporter()
    open_mailbox(client, a, receipt)
    assert client.get(base(a) + path).status_code == 200
    assert key  # the office could open the case all along


@pytest.mark.django_db
def test_file_over_the_tenants_limit_is_refused_and_the_text_kept(world_a: World) -> None:
    lead, case, _receipt = filed_case(world_a)
    ack = lead.post(case_url(world_a, case, "do/acknowledge/"), {"message": "Received."})
    assert ack.status_code == 302  # the reply form shows once receipt is confirmed
    world_a.tenant.max_file_mb = 1
    world_a.tenant.save()
    big = SimpleUploadedFile("scan.bin", b"\0" * (1024 * 1024 + 1), "application/octet-stream")
    small = SimpleUploadedFile("note.txt", b"a short note", "text/plain")
    response = reply(lead, world_a, case, "Our findings so far", [small, big])
    page = response.content.decode()
    assert response.status_code == 200
    assert "scan.bin" in page and "at most 1 MB" in page
    assert "Our findings so far" in page  # what was typed is kept
    assert Message.objects.filter(case=case, side=Message.Side.OFFICE).count() == 1  # the ack
    assert not Attachment.objects.filter(case=case, side="office").exists()
    assert not PendingUpload.objects.exists()  # the small file stored meanwhile is gone again

    # An empty reply is refused with a message as well.
    response = reply(lead, world_a, case, "  ", [])
    assert "Write a message or add a file." in response.content.decode()


@pytest.mark.django_db
def test_a_reporter_socket_renders_the_download_under_its_own_prefix(world_a: World) -> None:
    """A socket has no request whose prefix ``reverse`` could use: the consumer passes the
    prefix its socket was opened under (chat.consumers), and the link goes there."""
    from chat.rendering import message_html
    from chat.services import messages_for

    _lead, case, _receipt, key = reply_with_evidence(world_a)
    (view,) = messages_for(case=case, case_key=key, viewer_side=Message.Side.REPORTER)
    html = message_html(view, "reporter", "/t/alpha/")
    for attachment in view.attachments:
        assert f'href="/t/alpha/mailbox/files/{attachment.attachment.public_id}/"' in html
    office_html = message_html(view, "office")
    assert "/staff/offices/" in office_html and "mailbox/files" not in office_html
