"""A report being written: kept between steps in the reporter's session vault, never in clear.

The draft carries the future case's id and case key from the first step on, so uploaded files
are encrypted under the case key as they arrive and never need re-encrypting. A draft that is
abandoned leaves only ciphertext nobody can open (the key was only in the vault); the storage
garbage collection removes those files.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from django.http import HttpRequest

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

    @property
    def key(self) -> bytes:
        return base64.b64decode(self.key_b64)

    def total_file_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def files_for(self, question: str) -> list[DraftFile]:
        return [f for f in self.files if f.question == question]

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
    )
    draft_save(request, draft)
    return draft


def draft_save(request: HttpRequest, draft: Draft) -> None:
    get_vault(request).put(VAULT_DRAFT, draft.to_bytes())


def draft_clear(request: HttpRequest) -> None:
    get_vault(request).remove(VAULT_DRAFT)
