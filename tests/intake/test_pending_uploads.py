"""Every stored file has a row, or is removed within minutes (issue 12 point 9).

A draft's files live only in the reporter's encrypted session until the report is sent; each
has a ``PendingUpload`` row meanwhile, so the orphan purge can remove a file with no row at all
after ``ORPHAN_FILE_MINUTES`` instead of a day. Real PostgreSQL and a real file system
(``MEDIA_ROOT`` in the test's temporary folder); the clock is moved with time_machine, file
times with ``os.utime``.
"""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from casework.retention import draft_file_age, orphan_file_age, purge_orphan_files
from chat.models import Message
from intake.models import Attachment, Case, PendingUpload
from tests.casework.helpers import filed_case
from tests.fixtures import World, as_table_owner
from tests.intake.journey import ANSWERS, base, open_mailbox, receipt_from, reporter
from tests.keys.test_key_hierarchy import setup_keys

MINUTE = datetime.timedelta(minutes=1)

pytestmark = pytest.mark.usefixtures("upgraded_long_ago")


@pytest.fixture
def media(tmp_path: Path, settings: Any) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _pending_migration() -> Any:
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    return MigrationRecorder(connection).migration_qs.filter(
        app="intake", name="0004_pending_upload"
    )


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def _root() -> Path:
    return Path(settings.MEDIA_ROOT)


def _age(path: Path, age: datetime.timedelta) -> None:
    """Set the file's last write ``age`` before now."""
    when = (timezone.now() - age).timestamp()
    os.utime(path, (when, when))


def _draft_with_file(world: World, name: str = "note.txt") -> tuple[Client, Path]:
    """A reporter's draft, up to the contact step, holding one file; returns its stored path."""
    client = reporter()
    root = base(world)
    before = _files(_root())
    assert client.post(root + "report/", {"category": "other"}).status_code == 302
    assert client.post(root + "report/step/what/", ANSWERS["what"]).status_code == 302
    assert client.post(root + "report/step/who/", ANSWERS["who"]).status_code == 302
    upload = SimpleUploadedFile(name, b"small evidence", "text/plain")
    response = client.post(root + "report/step/more/", {**ANSWERS["more"], "evidence": [upload]})
    assert response.status_code == 302
    (stored,) = _files(_root()) - before
    return client, stored


def _name(path: Path) -> str:
    return path.relative_to(_root()).as_posix()


def _send(client: Client, world: World) -> str:
    root = base(world)
    assert client.post(root + "report/contact/", {"mode": "anonymous"}).status_code == 302
    assert client.get(root + "report/check/").status_code == 200
    response = client.post(root + "report/submit/", {})
    assert response.status_code == 200
    return receipt_from(response.content.decode())


@pytest.mark.django_db
def test_a_file_without_any_row_is_purged_after_the_minutes_not_before(
    world_a: World, media: Path
) -> None:
    orphan = Path(default_storage.path(default_storage.save("files/ab/orphan", ContentFile(b"x"))))
    _age(orphan, orphan_file_age() - MINUTE)
    assert purge_orphan_files().orphans == 0
    assert orphan.exists()
    _age(orphan, orphan_file_age() + MINUTE)
    assert purge_orphan_files().orphans == 1
    assert not orphan.exists()


@pytest.mark.django_db
def test_the_purge_goes_by_the_clock_too(world_a: World, media: Path) -> None:
    orphan = Path(default_storage.path(default_storage.save("files/ab/orphan", ContentFile(b"x"))))
    with time_machine.travel(timezone.now() + orphan_file_age() - MINUTE):
        assert purge_orphan_files().orphans == 0
    with time_machine.travel(timezone.now() + orphan_file_age() + MINUTE):
        assert purge_orphan_files().orphans == 1
    assert not orphan.exists()


@pytest.mark.django_db
def test_a_drafts_file_survives_the_purge_for_the_draft_lifetime_and_is_sent_with_the_report(
    world_a: World, media: Path
) -> None:
    setup_keys(world_a)
    client, stored = _draft_with_file(world_a)
    (row,) = PendingUpload.objects.all()
    assert row.storage_name == _name(stored) and row.tenant_id == world_a.tenant.pk
    _age(stored, datetime.timedelta(hours=3))  # long past the minutes
    with time_machine.travel(timezone.now() + draft_file_age() - MINUTE):
        report = purge_orphan_files()
    assert (report.stale_drafts, report.orphans) == (0, 0)
    assert stored.exists()

    _send(client, world_a)
    case = Case.objects.get(tenant=world_a.tenant)
    (attachment,) = Attachment.objects.filter(case=case)
    assert attachment.storage_name == _name(stored)
    assert not PendingUpload.objects.exists()  # deleted with the attachment row's commit
    # The attachment row keeps the file, however old.
    with time_machine.travel(timezone.now() + 10 * draft_file_age()):
        assert purge_orphan_files().removed == 0
    assert stored.exists()


@pytest.mark.django_db
def test_an_abandoned_drafts_file_goes_with_its_row_after_the_draft_lifetime(
    world_a: World, media: Path
) -> None:
    setup_keys(world_a)
    _client, stored = _draft_with_file(world_a)
    with time_machine.travel(timezone.now() + draft_file_age() + MINUTE):
        report = purge_orphan_files()
    assert (report.stale_drafts, report.orphans) == (1, 0)
    assert not stored.exists()
    assert not PendingUpload.objects.exists()


@pytest.mark.django_db
def test_saving_the_draft_renews_its_files_rows(world_a: World, media: Path) -> None:
    setup_keys(world_a)
    client, stored = _draft_with_file(world_a)
    # The reporter is still at work just before the session ends (a session age after the
    # last save): the save renews the rows, so the draft's files live on.
    later = timezone.now() + datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE) - MINUTE
    with time_machine.travel(later):
        response = client.post(base(world_a) + "report/contact/", {"mode": "anonymous"})
        assert response.status_code == 302
        assert response["Location"].endswith("/report/check/")
    with time_machine.travel(later + draft_file_age() - MINUTE):
        assert purge_orphan_files().removed == 0
    assert stored.exists()


@pytest.mark.django_db
def test_a_file_removed_from_the_draft_is_gone_with_its_row(world_a: World, media: Path) -> None:
    setup_keys(world_a)
    client, stored = _draft_with_file(world_a)
    page = client.get(base(world_a) + "report/step/more/").content.decode()
    (file_id,) = re.findall(r'value="remove:([0-9a-f-]+)"', page)
    response = client.post(
        base(world_a) + "report/step/more/", {**ANSWERS["more"], "action": f"remove:{file_id}"}
    )
    assert response.status_code == 302
    assert not stored.exists()
    assert not PendingUpload.objects.exists()


@pytest.mark.django_db
def test_a_file_being_written_is_never_removed(world_a: World, media: Path) -> None:
    """A large upload is written to its storage name chunk by chunk: every write renews the
    modification time, however long ago the file was begun."""
    path = media / "files" / "cd" / "arriving"
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        handle.write(b"first part")
        handle.flush()
        _age(path, datetime.timedelta(hours=1))  # begun an hour ago
        assert purge_orphan_files().orphans == 1  # stalled: a killed writer's remains
        assert not path.exists()
    with path.open("wb") as handle:
        handle.write(b"first part")
        handle.flush()
        _age(path, datetime.timedelta(hours=1))
        handle.write(b"next part")  # still arriving
        handle.flush()
        assert purge_orphan_files().orphans == 0
        assert path.exists()
        handle.write(b"last part")
    assert path.read_bytes() == b"first partnext partlast part"


@pytest.mark.django_db
def test_other_tenants_files_are_unaffected(world_a: World, world_b: World, media: Path) -> None:
    setup_keys(world_b)
    _client_b, draft_b = _draft_with_file(world_b, "draft.txt")
    sent_client, sent_b = _draft_with_file(world_b, "sent.txt")
    _send(sent_client, world_b)
    orphan_a = Path(default_storage.path(default_storage.save("files/ef/lost", ContentFile(b"x"))))
    for path in (draft_b, sent_b, orphan_a):
        _age(path, datetime.timedelta(hours=1))
    report = purge_orphan_files()
    assert (report.stale_drafts, report.orphans) == (0, 1)
    assert not orphan_a.exists()
    assert draft_b.exists() and sent_b.exists()
    assert PendingUpload.objects.get().tenant_id == world_b.tenant.pk


@pytest.mark.django_db
def test_a_mailbox_messages_files_are_held_by_their_attachment_rows(
    world_a: World, media: Path
) -> None:
    _lead, case, receipt = filed_case(world_a)
    client = reporter()
    open_mailbox(client, world_a, receipt)
    upload = SimpleUploadedFile("more.txt", b"more evidence", "text/plain")
    response = client.post(base(world_a) + "mailbox/message/", {"body": "see", "files": [upload]})
    assert response.status_code == 302
    message = Message.objects.get(case=case, side=Message.Side.REPORTER)
    (attachment,) = message.attachments.all()
    assert not PendingUpload.objects.exists()
    with time_machine.travel(timezone.now() + 10 * draft_file_age()):
        assert purge_orphan_files().removed == 0
    assert default_storage.exists(attachment.storage_name)


@pytest.mark.django_db
def test_a_refused_mailbox_message_leaves_neither_file_nor_row(world_a: World, media: Path) -> None:
    _lead, case, receipt = filed_case(world_a)
    before = _files(media)
    client = reporter()
    open_mailbox(client, world_a, receipt)
    upload = SimpleUploadedFile("more.txt", b"more evidence", "text/plain")
    too_long = "x" * 30_000  # over the message limit: the form is refused
    response = client.post(
        base(world_a) + "mailbox/message/", {"body": too_long, "files": [upload]}
    )
    assert response.status_code == 200
    assert not Message.objects.filter(case=case, side=Message.Side.REPORTER).exists()
    assert _files(media) == before
    assert not PendingUpload.objects.exists()


@pytest.mark.django_db
def test_files_written_before_pending_rows_existed_keep_the_draft_rule(
    world_a: World, media: Path
) -> None:
    """A draft begun before the upgrade (or served by the previous version during the upgrade)
    has files without rows: they keep a draft's lifetime."""
    applied = timezone.now() - datetime.timedelta(hours=1)
    _pending_migration().update(applied=applied)
    legacy = Path(default_storage.path(default_storage.save("files/aa/legacy", ContentFile(b"x"))))
    when = (applied - MINUTE).timestamp()
    os.utime(legacy, (when, when))
    with time_machine.travel(applied + orphan_file_age() + MINUTE):
        assert purge_orphan_files().orphans == 0
    with time_machine.travel(applied + draft_file_age() + MINUTE):
        assert purge_orphan_files().orphans == 1
    assert not legacy.exists()


@pytest.mark.django_db
def test_a_mailbox_message_that_fails_to_commit_leaves_neither_file_nor_row(
    world_a: World, media: Path
) -> None:
    """The database refuses the message itself (a real constraint, not a mock): the files
    received for it are abandoned at once, not left for the day-long draft rule."""
    from django.db import connection

    _lead, case, receipt = filed_case(world_a)
    before = _files(media)
    client = reporter()
    client.raise_request_exception = False
    open_mailbox(client, world_a, receipt)
    with as_table_owner(), connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE chat_message ADD CONSTRAINT test_refuse_all CHECK (false) NOT VALID"
        )
    upload = SimpleUploadedFile("more.txt", b"more evidence", "text/plain")
    response = client.post(base(world_a) + "mailbox/message/", {"body": "see", "files": [upload]})
    assert response.status_code == 500
    assert not Message.objects.filter(case=case, side=Message.Side.REPORTER).exists()
    assert _files(media) == before
    assert not PendingUpload.objects.exists()
