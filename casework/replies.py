"""Files a handler attaches to a message for the reporter (issue 15, point 4).

They take the reporter's path exactly: each upload arrives in an ``EncryptedSpool``
(whistle/uploads.py), is sniffed, cleaned of metadata and encrypted under the case key into
storage (``intake.attachments.attachment_receive``), and becomes an office-side ``Attachment``
of the message (``casework.services.case_reply``). On a staff host the upload handler knows no
tenant and applies the deployment's limit; the case's tenant limits (per file, and for all
files of one message) are applied here, before anything is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import HttpRequest
from django.utils.translation import gettext as _

from intake.attachments import (
    StorageFullError,
    attachment_receive,
    storage_full_message,
    upload_problems,
)
from intake.drafts import DraftFile
from intake.models import Case

FIELD = "files"
MB = 1024 * 1024


@dataclass
class ReceivedFiles:
    """The files stored for a reply, and what was refused (one message per refused file)."""

    files: list[DraftFile] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def reply_files_receive(request: HttpRequest, *, case: Case, case_key: bytes) -> ReceivedFiles:
    """Store the reply's files (cleaned, encrypted); refuse those over the tenant's limits."""
    tenant = case.tenant
    received = ReceivedFiles(problems=upload_problems(request))
    total = 0
    for upload in request.FILES.getlist(FIELD):
        name = upload.name or ""
        size = upload.size or 0
        if size > tenant.max_file_mb * MB:
            received.problems.append(
                _("“%(name)s” was not added: a file may be at most %(mb)s MB.")
                % {"name": name, "mb": tenant.max_file_mb}
            )
            continue
        if total + size > tenant.max_case_mb * MB:
            received.problems.append(
                _("“%(name)s” was not added: all files together may be at most %(mb)s MB.")
                % {"name": name, "mb": tenant.max_case_mb}
            )
            continue
        try:
            received.files.append(
                attachment_receive(
                    tenant=tenant,
                    case_id=str(case.public_id),
                    case_key=case_key,
                    upload=upload,
                    question=FIELD,
                )
            )
        except StorageFullError:
            received.problems.append(storage_full_message(name))
            continue
        total += size
    return received
