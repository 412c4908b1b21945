"""Receiving a file: sniff its type, remove metadata, encrypt under the case key into storage.

The upload arrives as an ``EncryptedSpool`` (whistle/uploads.py). Cleaning writes into a second
spool, which is then encrypted under the case key into a temporary file holding only
ciphertext, and saved to the default storage under a random name. At no point is plaintext
written to disk or the whole file held in memory.
"""

from __future__ import annotations

import errno
import logging
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import PurePath
from typing import Any, BinaryIO, cast

from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

import crypto
from intake.drafts import Draft, DraftFile
from intake.files import CleanReport, IncompleteOutputError, clean, copy_through, labels, sniff
from intake.models import PendingUpload
from intake.services import attachment_stream_context
from whistle.tenants.models import Tenant
from whistle.uploads import NO_ROOM, add_upload_problem, upload_problems

__all__ = [
    "StorageFullError",
    "attachment_discard",
    "attachment_receive",
    "attachment_receive_many",
    "attachments_abandon",
    "storage_full_message",
    "upload_problems",
]

STORAGE_PREFIX = "files"

logger = logging.getLogger(__name__)


class StorageFullError(Exception):
    """The file could not be stored for lack of room; what was written of it is removed."""


def _safe_name(name: str) -> str:
    base = PurePath(name.replace("\\", "/")).name.strip() or "file"
    return base[:200]


def attachment_receive(
    *, tenant: Tenant, case_id: str, case_key: bytes, upload: UploadedFile[Any], question: str
) -> DraftFile:
    """Clean and encrypt one uploaded file into storage; returns what the draft keeps.

    The stored file gets a ``PendingUpload`` row as soon as it is complete, so the orphan
    purge keeps it until its ``Attachment`` row is committed (``attachments_create`` deletes
    the pending row in that transaction) or it leaves the draft (``attachment_discard``). A
    file that cannot be stored completely, or whose row cannot be written, is removed at once:
    the storage holds, for each file, a row or nothing but the minutes before the purge."""
    tenant_id = str(tenant.public_id)
    attachment_id = str(uuid.uuid4())
    # EncryptedSpool is a BufferedIOBase; typeshed does not count that as BinaryIO.
    src = cast(BinaryIO, upload.file)
    src.seek(0)
    sniffed = sniff(src)
    spool = crypto.EncryptedSpool()
    try:
        report = clean(src, cast(BinaryIO, spool), kind=sniffed.kind)
    except IncompleteOutputError:
        # Our own spool failed mid-write: start again and keep the original as it is.
        spool.close()
        spool = crypto.EncryptedSpool()
        report = CleanReport(kind=sniffed.kind, cleaned=False, problem=labels.DAMAGED)
    with spool:
        cleaned_spool = cast(BinaryIO, spool)
        if not report.written:
            # The cleaner wrote nothing (it could not parse the file): keep the original.
            src.seek(0)
            copy_through(src, cleaned_spool)
        size = cleaned_spool.tell()
        cleaned_spool.seek(0)
        name = f"{STORAGE_PREFIX}/{secrets.token_hex(2)}/{secrets.token_hex(16)}"
        try:
            with tempfile.TemporaryFile() as ciphertext:  # holds ciphertext only
                stored_size = crypto.encrypt_stream(
                    case_key,
                    cleaned_spool,
                    ciphertext,
                    context=attachment_stream_context(tenant_id, case_id, attachment_id),
                )
                ciphertext.seek(0)
                name = default_storage.save(name, File(ciphertext))
        except OSError as error:
            # A storage that filled up mid-write keeps the part it wrote: remove it now, not
            # at the next purge, or the disk stays full for everybody.
            _remove_partial(name)
            src.close()
            if error.errno in NO_ROOM:
                logger.warning("file not stored: storage full (%s)", errno.errorcode[error.errno])
                raise StorageFullError from None
            raise
    src.close()
    try:
        PendingUpload.objects.create(tenant=tenant, storage_name=name)
    except DatabaseError:
        _remove_partial(name)
        raise
    return DraftFile(
        id=attachment_id,
        question=question,
        storage_name=name,
        stored_size=stored_size,
        name=_safe_name(upload.name or ""),
        mime=sniffed.mime,
        kind=str(sniffed.kind),
        size=size,
        cleaned=report.cleaned,
        removed=[str(label) for label in report.removed],
        remaining=[str(label) for label in report.remaining],
        problem=str(report.problem) if report.problem else None,
    )


def attachment_receive_many(
    request: HttpRequest, *, tenant: Tenant, case_id: str, case_key: bytes, field: str
) -> list[DraftFile]:
    """Every file of ``field`` that could be stored; a file the storage had no room for is
    left out, with a message for the person in ``upload_problems(request)``."""
    received = []
    for upload in request.FILES.getlist(field):
        try:
            received.append(
                attachment_receive(
                    tenant=tenant,
                    case_id=case_id,
                    case_key=case_key,
                    upload=upload,
                    question=field,
                )
            )
        except StorageFullError:
            add_upload_problem(request, storage_full_message(upload.name or ""))
    return received


def storage_full_message(name: str) -> str:
    return _(
        "“%(name)s” was not stored: there is no room for it at the moment. Everything else "
        "was kept. Please try again later or send a smaller file."
    ) % {"name": _safe_name(name)}


def _remove_partial(name: str) -> None:
    try:
        default_storage.delete(name)
    except OSError as error:
        logger.warning("partial file not removed (%s); the orphan purge will", type(error).__name__)


def attachment_discard(draft: Draft, file_id: str) -> None:
    """Remove a file from a draft: its pending row, then its ciphertext in storage (a file
    left behind by a failing storage has no row any more and goes with the orphan purge)."""
    for file in list(draft.files):
        if file.id == file_id:
            draft.files.remove(file)
            PendingUpload.objects.filter(storage_name=file.storage_name).delete()
            _remove_partial(file.storage_name)


def attachments_abandon(files: list[DraftFile]) -> None:
    """Received files that will not be attached after all (their message was refused or
    failed): each one whose pending row still exists loses the row and then its file. One
    whose row is gone was attached meanwhile (its message committed) and is left alone.
    Best effort: with the database unreachable the rows stay, and the orphan purge removes
    them and their files once they are as old as a draft can be."""
    names = [file.storage_name for file in files]
    if not names:
        return
    try:
        with transaction.atomic():
            held = list(
                PendingUpload.objects.select_for_update()
                .filter(storage_name__in=names)
                .values_list("storage_name", flat=True)
            )
            PendingUpload.objects.filter(storage_name__in=held).delete()
    except DatabaseError as error:
        logger.warning("abandoned files kept for the purge (%s)", type(error).__name__)
        return
    for name in held:
        _remove_partial(name)


def attachment_open(
    *, case_key: bytes, tenant_id: str, case_id: str, attachment_id: str, storage_name: str
) -> Iterator[bytes]:
    """An iterator over the decrypted content, for streamed downloads."""
    handle = cast(BinaryIO, default_storage.open(storage_name, "rb"))
    return crypto.iter_decrypt(
        case_key, handle, context=attachment_stream_context(tenant_id, case_id, attachment_id)
    )
