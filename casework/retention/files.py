"""The orphan purge (every five minutes): stored files that nothing will ever open — those of
abandoned drafts, and ciphertexts without any row (a killed process's, an interrupted
deletion's)."""

from __future__ import annotations

import datetime
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from casework.retention.engine import _delete_file
from intake.attachments import STORAGE_PREFIX
from intake.models import Attachment, PendingUpload

logger = logging.getLogger(__name__)


def draft_file_age() -> datetime.timedelta:
    """How long a draft's file is kept after its pending row was last renewed.

    A draft lives in the reporter's session, which the server keeps for ``SESSION_COOKIE_AGE``
    after its last change; each save of a draft with files renews its rows at least every
    quarter of that (``intake.drafts``). Twice the session age (a day by default) is thus
    beyond any live draft, with room to spare."""
    return datetime.timedelta(seconds=2 * settings.SESSION_COOKIE_AGE)


def orphan_file_age() -> datetime.timedelta:
    """How old (since its last write) a file without any row must be before the purge removes
    it: ``ORPHAN_FILE_MINUTES``. Every write path gives a file its row (an attachment row, or a
    pending row while it belongs to a draft or an uncommitted message) as soon as the file is
    complete, or removes it; so a file without a row is either being written (its modification
    time is renewed by every write) or left behind by a process killed in between."""
    return datetime.timedelta(minutes=settings.ORPHAN_FILE_MINUTES)


# The migration that introduced pending rows: files written before it was applied, or by
# processes of the previous version still serving within the hour after it, may be a draft's
# without a row, and keep the draft rule (by their modification time) instead. A day after the
# upgrade no such file is left and the rule has nothing more to do.
_PENDING_MIGRATION = ("intake", "0004_pending_upload")
_UPGRADE_MARGIN = datetime.timedelta(hours=1)
# Storage names looked up per query.
_PURGE_CHUNK = 1000


@dataclass
class OrphanReport:
    stale_drafts: int = 0  # draft files (with their pending rows) older than any draft
    orphans: int = 0  # files without any row
    seen: int = 0  # files listed

    @property
    def removed(self) -> int:
        return self.stale_drafts + self.orphans


def purge_orphan_files(*, now: datetime.datetime | None = None) -> OrphanReport:
    """Remove stored files that nothing will ever open.

    1. Pending rows not renewed for ``draft_file_age()`` belong to abandoned drafts (or to a
       mailbox message whose request died): each row is deleted, then its file. The rows are
       locked (``SKIP LOCKED``): a row that a submission is deleting in its transaction right
       now stays with that submission.
    2. Files with neither an attachment row nor a pending row, last written more than
       ``orphan_file_age()`` ago: the ciphertext a killed process left behind, or an
       attachment whose deletion could not remove its file. The storage is listed first and
       the rows are looked up afterwards, so a row committed before the lookup always
       counts.

    Each step is safe to repeat and to run beside another run (a file already gone is fine)."""
    now = now or timezone.now()
    report = OrphanReport()
    report.stale_drafts = _purge_stale_pending(now - draft_file_age())
    report.seen, report.orphans = _purge_unheld(now)
    if report.removed:
        logger.info(
            "orphan purge: %d abandoned draft files, %d files without a row",
            report.stale_drafts,
            report.orphans,
        )
    return report


def _purge_stale_pending(cutoff: datetime.datetime) -> int:
    removed = 0
    while True:
        with transaction.atomic():
            names = list(
                PendingUpload.objects.select_for_update(skip_locked=True)
                .filter(refreshed__lt=cutoff)
                .order_by("refreshed")
                .values_list("storage_name", flat=True)[:_PURGE_CHUNK]
            )
            PendingUpload.objects.filter(storage_name__in=names).delete()
        # A row and an attachment row never hold the same file (the attachment's transaction
        # deletes the pending row); checked all the same, as removing a case's file is final.
        attached = set(
            Attachment.objects.filter(storage_name__in=names).values_list("storage_name", flat=True)
        )
        for name in names:
            if name not in attached:
                _delete_file(name)
                removed += 1
        if len(names) < _PURGE_CHUNK:
            return removed


def _pending_since() -> datetime.datetime | None:
    """When pending rows began (the migration's time), None if not recorded."""
    app, name = _PENDING_MIGRATION
    recorded = MigrationRecorder(connection).migration_qs.filter(app=app, name=name)
    return cast("datetime.datetime | None", recorded.values_list("applied", flat=True).first())


def _purge_unheld(now: datetime.datetime) -> tuple[int, int]:
    """Step 2; returns (files listed, files removed)."""
    cutoff = now - orphan_file_age()
    since = _pending_since()
    if since is not None:
        since += _UPGRADE_MARGIN
    draft_cutoff = now - draft_file_age()
    seen, candidates = 0, []
    for name, modified in _stored_files():
        seen += 1
        if modified > cutoff:
            continue  # being written, or its row is on its way
        if since is not None and modified < since and modified > draft_cutoff:
            continue  # written before pending rows existed: perhaps a live draft's
        candidates.append(name)
    removed = 0
    for start in range(0, len(candidates), _PURGE_CHUNK):
        chunk = candidates[start : start + _PURGE_CHUNK]
        held = set(
            Attachment.objects.filter(storage_name__in=chunk).values_list("storage_name", flat=True)
        )
        held.update(
            PendingUpload.objects.filter(storage_name__in=chunk).values_list(
                "storage_name", flat=True
            )
        )
        for name in chunk:
            if name not in held:
                _delete_file(name)
                removed += 1
    return seen, removed


def _stored_files() -> Iterator[tuple[str, datetime.datetime]]:
    """(storage name, modification time) of every attachment file. On the file system one
    ``scandir`` per folder and one ``stat`` per file (10,000 files: under 0.1 s with a warm
    cache); other storages through the storage API (on S3 that is a request per file: see
    docs/security.md "Disk full")."""
    if isinstance(default_storage, FileSystemStorage):
        root = Path(default_storage.path(STORAGE_PREFIX))
        try:
            folders = list(os.scandir(root))
        except FileNotFoundError:
            return
        for folder in folders:
            if not folder.is_dir(follow_symlinks=False):
                continue
            try:
                entries = list(os.scandir(folder.path))
            except FileNotFoundError:
                continue  # removed meanwhile
            for entry in entries:
                try:
                    mtime = entry.stat(follow_symlinks=False).st_mtime
                except FileNotFoundError:
                    continue
                if entry.is_file(follow_symlinks=False):
                    yield (
                        f"{STORAGE_PREFIX}/{folder.name}/{entry.name}",
                        datetime.datetime.fromtimestamp(mtime, tz=datetime.UTC),
                    )
        return
    try:
        subfolders, _files = default_storage.listdir(STORAGE_PREFIX)
    except FileNotFoundError:
        return
    for subfolder in subfolders:
        _subfolders, names = default_storage.listdir(f"{STORAGE_PREFIX}/{subfolder}")
        for name in names:
            path = f"{STORAGE_PREFIX}/{subfolder}/{name}"
            try:
                modified = default_storage.get_modified_time(path)
            except FileNotFoundError:
                continue  # removed meanwhile (a discarded draft file, a deleted case)
            yield path, modified
