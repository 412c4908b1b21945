"""Disk full (issue 12 point 9): a file the storage has no room for is refused clearly, what it
wrote of it is removed at once, and everything else the person sent or typed is kept.

The storage (``MEDIA_ROOT``) is a real 1 MiB file system (tmpfs, mounted by the test; CI runs
as root like the development machines), so the kernel itself answers ENOSPC mid-write.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from casework.retention import draft_file_age, orphan_file_age, purge_orphan_files
from chat.models import Message
from intake.models import Case
from tests.casework.helpers import filed_case
from tests.fixtures import World
from tests.intake.journey import ANSWERS, base, open_mailbox, reporter
from tests.keys.test_key_hierarchy import setup_keys

SIZE = 1024 * 1024


@pytest.fixture
def full_disk(tmp_path: Path, settings: Any) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root (CI and the dev machines are)")
    mount = tmp_path / "media"
    mount.mkdir()
    subprocess.run(
        ["/usr/bin/mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0700", "tmpfs", str(mount)],
        check=True,
    )
    try:
        settings.MEDIA_ROOT = mount
        yield mount
    finally:
        subprocess.run(["/usr/bin/umount", str(mount)], check=True)


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _too_big() -> SimpleUploadedFile:
    # Random bytes: nothing can compress them below the room there is.
    return SimpleUploadedFile("film.bin", os.urandom(2 * SIZE), "application/octet-stream")


def _message_with_a_file_too_big(world: World) -> Case:
    """A reporter sends a message with a file there is no room for: the message is sent, the
    file is refused with a clear message. Returns the case."""
    _lead, case, receipt = filed_case(world)
    client = reporter()
    open_mailbox(client, world, receipt)
    response = client.post(
        base(world) + "mailbox/message/",
        {"body": "the text is kept", "files": [_too_big()]},
        follow=True,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your message has been sent to the office." in html
    assert "“film.bin” was not stored: there is no room for it at the moment." in html
    return case


@pytest.mark.django_db
def test_mailbox_message_is_sent_without_the_file_that_found_no_room(
    world_a: World, full_disk: Path
) -> None:
    case = _message_with_a_file_too_big(world_a)
    message = Message.objects.get(case=case, side=Message.Side.REPORTER)
    assert not message.attachments.exists()
    assert _files(full_disk) == []  # the partial ciphertext is gone at once
    assert shutil.disk_usage(full_disk).free == shutil.disk_usage(full_disk).total


@pytest.mark.django_db
def test_report_step_keeps_answers_and_other_files_when_one_finds_no_room(
    world_a: World, full_disk: Path
) -> None:
    setup_keys(world_a)
    client = reporter()
    client.post(base(world_a) + "report/", {"category": "other"})
    client.post(base(world_a) + "report/step/what/", ANSWERS["what"])
    client.post(base(world_a) + "report/step/who/", ANSWERS["who"])
    small = SimpleUploadedFile("note.txt", b"small evidence", "text/plain")
    response = client.post(
        base(world_a) + "report/step/more/",
        {**ANSWERS["more"], "evidence_more": "typed text stays", "evidence": [_too_big(), small]},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "“film.bin” was not stored: there is no room for it at the moment." in html
    assert "note.txt" in html
    assert "typed text stays" in html
    assert len(_files(full_disk)) == 1  # the small file only


@pytest.mark.django_db
def test_orphan_purge_keeps_files_of_live_drafts_and_removes_old_orphans(
    world_a: World, tmp_path: Path, settings: Any
) -> None:
    import datetime

    import time_machine
    from django.utils import timezone

    settings.MEDIA_ROOT = tmp_path
    setup_keys(world_a)
    client = reporter()
    client.post(base(world_a) + "report/", {"category": "other"})
    client.post(base(world_a) + "report/step/what/", ANSWERS["what"])
    client.post(base(world_a) + "report/step/who/", ANSWERS["who"])
    small = SimpleUploadedFile("note.txt", b"small evidence", "text/plain")
    client.post(base(world_a) + "report/step/more/", {**ANSWERS["more"], "evidence": [small]})
    (draft_file,) = _files(tmp_path)
    with time_machine.travel(timezone.now() + orphan_file_age() + datetime.timedelta(minutes=1)):
        assert purge_orphan_files().removed == 0  # a draft's file has its pending row: kept
    with time_machine.travel(timezone.now() + draft_file_age() + datetime.timedelta(minutes=1)):
        assert purge_orphan_files().stale_drafts == 1  # abandoned longer than any draft lives
    assert not draft_file.exists()


@pytest.fixture
def full_tmp(full_disk: Path, monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[Path]:
    """The temporary directory (where request bodies and uploads spool, encrypted) is the full
    file system; the file store is not."""
    import tempfile

    settings.MEDIA_ROOT = full_disk.parent / "store"
    monkeypatch.setattr(tempfile, "tempdir", str(full_disk))
    yield full_disk


@pytest.mark.django_db
def test_an_upload_whose_spool_finds_no_room_is_skipped_and_the_message_sent(
    world_a: World, full_tmp: Path
) -> None:
    case = _message_with_a_file_too_big(world_a)
    assert Message.objects.filter(case=case).count() == 1
    assert _files(full_tmp) == []
    # No temporary file is left open either (an unlinked open file still takes the room).
    assert shutil.disk_usage(full_tmp).free == shutil.disk_usage(full_tmp).total


def test_a_request_body_that_finds_no_room_gets_a_503_not_a_500(
    world_a: World, asgi_server: int, full_tmp: Path
) -> None:
    from tests.live import Browser

    _lead, _case, receipt = filed_case(world_a)
    client = reporter()
    open_mailbox(client, world_a, receipt)
    browser = Browser.from_client(asgi_server, client, language="de")
    answer = browser.post(base(world_a) + "mailbox/message/", {"body": "x" * (3 * SIZE)})
    assert answer.status == 503
    assert "Ihre Sendung konnte nicht angenommen werden" in answer.body
    assert _files(full_tmp) == []
    assert shutil.disk_usage(full_tmp).free == shutil.disk_usage(full_tmp).total
    assert browser.get(base(world_a) + "mailbox/").status == 200  # nothing else is affected
