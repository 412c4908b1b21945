"""A 10,000-character upload file name (issue 12, point 11): the step is not refused with a bare
400; the file is added under a shortened name and everything typed on the step is kept. Posted
as the no-JavaScript form posts it (the test client would cut the name to 255 characters
before sending, so the body is built here)."""

from __future__ import annotations

import pytest

from intake.models import Case
from intake.services import case_attachments, case_key_for_office
from tests.fixtures import World
from tests.intake.journey import ANSWERS, base, receipt_from, reporter
from tests.keys.test_key_hierarchy import handler_private_of, setup_keys
from tests.plugins.sensitive import SensitiveRegistry
from whistle.uploads import LONGEST_NAME

BOUNDARY = "----whistle-test-boundary-7d1f"


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    for name, (file_name, data) in files.items():
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{file_name}"\r\nContent-Type: text/plain\r\n\r\n'
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(parts)


@pytest.mark.django_db
def test_a_very_long_file_name_keeps_the_step_and_the_file(
    world_a: World, sensitive: SensitiveRegistry
) -> None:
    lead, _recovery = setup_keys(world_a)
    client = reporter()
    root = base(world_a)
    client.post(root + "report/", {"category": "environment"})
    client.post(root + "report/step/what/", ANSWERS["what"])
    client.post(root + "report/step/who/", ANSWERS["who"])
    typed = "SENTINEL-typed-on-the-upload-step-5772"
    sensitive.add(typed)
    long_name = "Protokoll-" + "x" * 10_000 + ".txt"
    body = multipart(
        {**ANSWERS["more"], "reported_where": typed, "action": "upload"},
        {"evidence": (long_name, b"minutes of the meeting")},
    )
    response = client.generic(
        "POST",
        root + "report/step/more/",
        body,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert typed in page  # what was typed on the step is still there
    assert long_name not in page
    assert "Protokoll-xxxx" in page  # the file, under a shortened name
    # Sent and read by the office: the file arrived, its name shortened.
    client.post(root + "report/step/more/", ANSWERS["more"])
    client.post(root + "report/contact/", {"mode": "anonymous"})
    sent = client.post(root + "report/submit/", {})
    assert sent.status_code == 200
    sensitive.add(receipt_from(sent.content.decode()))
    case = Case.objects.get()
    key = case_key_for_office(
        case=case, user=world_a.handler, handler_private=handler_private_of(lead)
    )
    (attachment,) = case_attachments(case=case, case_key=key)
    name = attachment.meta["name"]
    assert name.startswith("Protokoll-xxx") and name.endswith("….txt")
    assert len(name) <= LONGEST_NAME
