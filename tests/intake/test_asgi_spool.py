"""Over a real ASGI server: a file being uploaded never exists in plaintext on disk — not in
Django's request-body spool, not in an upload temp file, not in storage — while it is received
and after."""

from __future__ import annotations

import http.client
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from chat.models import Message
from tests.fixtures import World
from tests.intake.journey import open_mailbox, reporter, submit_report
from tests.keys.test_key_hierarchy import setup_keys
from tests.plugins.sensitive import SensitiveRegistry

SENTINEL = b"SENTINEL-file-content-9973"


def _plaintext_on_disk() -> list[str]:
    """Every regular file this process has open, every file under the temp dir (redirected to
    the test's own directory) and the storage."""
    hits = []
    candidates: list[str] = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if (
            target.startswith("/")
            and not target.startswith(("/dev", "/proc"))
            and os.path.isfile(f"/proc/self/fd/{fd}")
        ):
            candidates.append(f"/proc/self/fd/{fd}")
    for root in (tempfile.gettempdir(), str(settings.MEDIA_ROOT)):
        for found in Path(root).rglob("*"):
            if found.is_file():
                candidates.append(str(found))
    for path in candidates:
        try:
            with open(path, "rb") as handle:
                if SENTINEL in handle.read():
                    hits.append(f"{path} -> {os.path.realpath(path)}")
        except OSError:
            continue
    return hits


@pytest.fixture
def own_tempdir(tmp_path: Path) -> Iterator[Path]:
    old = tempfile.tempdir
    tempfile.tempdir = str(tmp_path)

    yield tmp_path
    tempfile.tempdir = old


@pytest.mark.django_db(transaction=True)
def test_upload_never_touches_disk_in_plaintext(
    world_a: World, own_tempdir: Path, asgi_server: int, sensitive: SensitiveRegistry
) -> None:
    sensitive.add(SENTINEL.decode())
    setup_keys(world_a)
    receipt, _page = submit_report(reporter(), world_a)
    client = reporter()
    open_mailbox(client, world_a, receipt)
    cookies = "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())
    token = client.cookies["csrftoken"].value

    boundary = uuid.uuid4().hex
    content = (SENTINEL + b"\n") * 200_000  # ~5 MB of text, well past every memory threshold
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n{token}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="body"\r\n\r\nsee file\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="notes.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    body = head + content + tail

    connection = http.client.HTTPConnection("127.0.0.1", asgi_server, timeout=60)
    connection.putrequest("POST", f"/t/{world_a.tenant.slug}/mailbox/message/", skip_host=True)
    connection.putheader("Host", f"127.0.0.1:{asgi_server}")
    connection.putheader("Origin", f"http://127.0.0.1:{asgi_server}")
    connection.putheader("Cookie", cookies)
    connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders()
    step = 256 * 1024
    for offset in range(0, len(body), step):
        connection.send(body[offset : offset + step])
        if offset and offset % (2 * 1024 * 1024) < step:
            time.sleep(0.1)  # let the server spool what it has
            assert _plaintext_on_disk() == []  # while it is being received
    response = connection.getresponse()
    assert response.status == 302, response.read()[:500]
    connection.close()
    assert _plaintext_on_disk() == []  # and after

    message = Message.objects.get()
    assert message.attachments.count() == 1
    # The file did arrive whole: the reporter's mailbox lists it.
    assert "notes.txt" in client.get(f"/t/{world_a.tenant.slug}/mailbox/").content.decode()
