"""A report being written: kept between steps in the reporter's session vault, never in clear.

The draft carries the future case's id and case key from the first step on, so uploaded files
are encrypted under the case key as they arrive and never need re-encrypting. A draft that is
abandoned leaves only ciphertext nobody can open (the key was only in the vault). Each of its
files has a ``PendingUpload`` row (the only trace of the draft outside the session), renewed
while the draft is saved; the orphan purge removes rows and files once no draft can be alive.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

import crypto
from intake.models import PendingUpload
from whistle.vault import get_vault

VAULT_DRAFT = "report_draft"


@dataclass
class DraftFile:
    id: str
    question: str
    storage_name: str
    stored_size: int
    name: str
    mime: str
    kind: str
    size: int
    cleaned: bool
    removed: list[str]
    problem: str | None
    remaining: list[str] = field(default_factory=list)


@dataclass
class Draft:
    case_id: str
    key_b64: str
    tenant_id: str
    office_id: str = ""
    category: str = ""
    questionnaire_version: int = 0
    answers: dict[str, Any] = field(default_factory=dict)
    files: list[DraftFile] = field(default_factory=list)
    contact: dict[str, str] = field(default_factory=dict)
    completed_steps: list[str] = field(default_factory=list)
    # When each step (start, the questionnaire's steps, contact, check) was first shown or
    # posted, in seconds since the epoch: the minimum draft age and "real writing time" of
    # intake.flood are measured from these. Kept server-side in the vault, so the client
    # cannot backdate them.
    seen: dict[str, float] = field(default_factory=dict)
    # The receipt of this draft's case, drawn before the case is committed and kept until the
    # reporter confirms having written it down: a retry after any failure finds either the
    # committed case (its receipt page again) or nothing (sent again with the same receipt).
    receipt: str = ""
    submitted: bool = False
    # When this draft last renewed its files' pending rows (seconds since the epoch).
    files_refreshed: float = 0.0

    @property
    def key(self) -> bytes:
        return base64.b64decode(self.key_b64)

    def total_file_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def files_for(self, question: str) -> list[DraftFile]:
        return [f for f in self.files if f.question == question]

    def mark_seen(self, step_id: str, now: float | None = None) -> bool:
        """Record the first time ``step_id`` is shown; True if this is the first time."""
        if step_id in self.seen:
            return False
        self.seen[step_id] = time.time() if now is None else now
        return True

    @property
    def started_at(self) -> float | None:
        return min(self.seen.values()) if self.seen else None

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self)).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> Draft:
        raw = json.loads(data)
        raw["files"] = [DraftFile(**f) for f in raw.get("files", [])]
        return cls(**raw)


def draft_get(request: HttpRequest, *, tenant_id: str) -> Draft | None:
    data = get_vault(request).get(VAULT_DRAFT)
    if data is None:
        return None
    draft = Draft.from_bytes(data)
    return draft if draft.tenant_id == tenant_id else None


def draft_start(request: HttpRequest, *, tenant_id: str) -> Draft:
    draft = Draft(
        case_id=str(uuid.uuid4()),
        key_b64=base64.b64encode(secrets.token_bytes(32)).decode(),
        tenant_id=tenant_id,
        receipt=crypto.generate_receipt().formatted,
    )
    draft.mark_seen("start")
    draft_save(request, draft)
    return draft


def draft_save(request: HttpRequest, draft: Draft) -> None:
    _refresh_files(draft)
    get_vault(request).put(VAULT_DRAFT, draft.to_bytes())


def _refresh_files(draft: Draft, now: float | None = None) -> None:
    """Renew the pending rows of the draft's files (one UPDATE at most every quarter of the
    session age). A saved draft lives ``SESSION_COOKIE_AGE`` after its last save, so a live
    draft's rows are never older than 1.25 times that, below the 2 times after which the
    orphan purge removes them (``casework.retention.draft_file_age``)."""
    now = time.time() if now is None else now
    if not draft.files or now - draft.files_refreshed < settings.SESSION_COOKIE_AGE / 4:
        return
    PendingUpload.objects.filter(storage_name__in=[f.storage_name for f in draft.files]).update(
        refreshed=timezone.now()
    )
    draft.files_refreshed = now


def draft_clear(request: HttpRequest) -> None:
    get_vault(request).remove(VAULT_DRAFT)
