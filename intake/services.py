"""Intake use cases: questionnaires, creating a case, and reaching its key from the office or
the receipt."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

import crypto
from intake.drafts import DraftFile
from intake.models import (
    Attachment,
    Case,
    CaseRecord,
    PendingUpload,
    Questionnaire,
    tenant_today,
)
from intake.questionnaire import Definition, default_definition_json, parse
from intake.references import reference_allocate
from intake.signals import case_filed
from whistle import rls
from whistle.accounts.models import User
from whistle.db import db_release
from whistle.keys.services import KeyAccessError, active_keypair, kdf_params, office_private_key
from whistle.tenants.models import Office, Tenant

RECEIPT_ATTEMPTS = 5


class OfficeNotReady(Exception):
    """The office has no key pair yet, so it cannot receive reports."""


# --- questionnaires -------------------------------------------------------------------------


def questionnaire_current(tenant: Tenant) -> Questionnaire:
    """The tenant's newest questionnaire version; the default one is created on first use."""
    current = Questionnaire.objects.filter(tenant=tenant).order_by("-version").first()
    if current is None:
        with transaction.atomic():
            current, _created = Questionnaire.objects.get_or_create(
                tenant=tenant, version=1, defaults={"definition": default_definition_json()}
            )
    return current


def questionnaire_import(*, tenant: Tenant, definition: dict[str, Any]) -> Questionnaire:
    """Store a validated definition as the tenant's next version (cases keep theirs)."""
    parse(definition)  # raises QuestionnaireError with the reason
    with transaction.atomic():
        latest = (
            Questionnaire.objects.select_for_update()
            .filter(tenant=tenant)
            .order_by("-version")
            .first()
        )
        version = 1 if latest is None else latest.version + 1
        return Questionnaire.objects.create(tenant=tenant, version=version, definition=definition)


def definition_of(questionnaire: Questionnaire) -> Definition:
    return parse(questionnaire.definition)


# --- contexts -------------------------------------------------------------------------------


def case_key_info(case: Case) -> bytes:
    return f"whistle/case-key/v1|tenant={case.tenant.public_id}|case={case.public_id}".encode()


def case_receipt_context(case: Case) -> bytes:
    return f"whistle/case-receipt/v1|case={case.public_id}".encode()


def record_context(case: Case, kind: str, record_id: uuid.UUID | str) -> crypto.RecordContext:
    return crypto.RecordContext(
        tenant=str(case.tenant.public_id),
        case=str(case.public_id),
        kind=kind,
        record_id=str(record_id),
    )


def attachment_stream_context(tenant_id: str, case_id: str, attachment_id: str) -> bytes:
    return f"whistle/attachment/v1|tenant={tenant_id}|case={case_id}|file={attachment_id}".encode()


def _pepper() -> bytes:
    return settings.RECEIPT_PEPPER.encode("utf-8")


# --- submission -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    case: Case
    receipt: crypto.Receipt


def _encrypt_json(
    case: Case, case_key: bytes, kind: str, record_id: uuid.UUID | str, data: Any
) -> bytes:
    return crypto.encrypt_record(
        case_key,
        json.dumps(data, ensure_ascii=False).encode("utf-8"),
        context=record_context(case, kind, record_id),
    )


def attachment_meta(file: DraftFile) -> dict[str, Any]:
    return {
        "name": file.name,
        "mime": file.mime,
        "kind": file.kind,
        "size": file.size,
        "cleaned": file.cleaned,
        "removed": file.removed,
        "problem": file.problem,
        "remaining": file.remaining,
        "question": file.question,
    }


def attachments_create(
    *, case: Case, case_key: bytes, files: Sequence[DraftFile], side: str
) -> list[Attachment]:
    """Rows for files already encrypted into storage under the case key. Their pending rows
    (``PendingUpload``, written as each file was stored) are deleted in the same transaction:
    from its commit each file is held by its attachment row instead."""
    created = []
    if files:
        PendingUpload.objects.filter(storage_name__in=[f.storage_name for f in files]).delete()
    for file in files:
        attachment = Attachment(
            public_id=uuid.UUID(file.id),
            case=case,
            side=side,
            storage_name=file.storage_name,
            stored_size=file.stored_size,
        )
        attachment.meta_ciphertext = _encrypt_json(
            case, case_key, "attachment-meta", attachment.public_id, attachment_meta(file)
        )
        attachment.save()
        created.append(attachment)
    return created


class ReceiptClash(Exception):
    """The receipt's lookup part is taken by another case (40 bits: rare): draw another one,
    keep it in the draft, and submit again."""


def case_submit(
    *,
    tenant: Tenant,
    office: Office,
    answers: dict[str, Any],
    receipt: crypto.Receipt | None = None,
    questionnaire: Questionnaire | None = None,
    category: str = "",
    case_id: str | None = None,
    case_key: bytes | None = None,
    files: Sequence[DraftFile] = (),
    contact: dict[str, str] | None = None,
    channel: str = Case.Channel.WEB,
    flood: str = "",
    language: str = "",
    also: Callable[[Case], None] | None = None,
) -> Submission:
    """Create a case atomically and return it with its receipt, to be shown once.

    Answers, file metadata and optional contact details are encrypted under the case key
    (fresh unless the draft already drew one for its uploads); the case key is sealed to the
    office's active key pair and wrapped under the receipt (the draft's, drawn before, so a
    retry after a failure uses the same one). Contact details are a record of their own (kind
    ``contact``), apart from the answers (CF-2).

    Idempotent per ``case_id``: if that case exists already (an earlier try committed, or a
    double click), it is returned and nothing new is written. The Argon2id wrap runs before
    the transaction with this thread's database connections given back (``db_release``), so
    no connection is held while waiting for or running Argon2 (DESIGN §3). So call it outside
    any transaction; what must commit with the case (a higher layer's audit event) goes in
    ``also``, which runs inside the case's transaction.

    The case gets its reference (intake.references) in that transaction, and ``language``
    (the reporter's language; the tenant's first one if empty or not offered).

    Raises:
        crypto.BusyError: no Argon2 slot in time; nothing was written.
        OfficeNotReady: the office has no key pair.
        ReceiptClash: the given receipt's lookup part is taken: draw another, keep it (in
            the draft) and call again. Without ``receipt`` one is drawn here, and drawn again
            on a clash.
    """
    if not office.tenants.filter(pk=tenant.pk).exists():
        raise ValueError("this office does not serve this tenant")
    public_id = uuid.UUID(case_id) if case_id else uuid.uuid4()
    if receipt is not None:
        existing = _submitted(tenant, public_id, receipt)
        if existing is not None:
            return existing
    keypair = active_keypair(office)
    if keypair is None:
        raise OfficeNotReady
    case_key = case_key or secrets.token_bytes(32)
    questionnaire = questionnaire or questionnaire_current(tenant)
    for _attempt in range(RECEIPT_ATTEMPTS if receipt is None else 1):
        try:
            return _file(
                Case(
                    public_id=public_id,
                    tenant=tenant,
                    office=office,
                    questionnaire=questionnaire,
                    category=category,
                    channel=channel,
                    office_keypair=keypair,
                    has_contact=bool(contact),
                    received_on=tenant_today(tenant),
                    flood=flood,
                    language=tenant.language_for(language),
                ),
                receipt=receipt or crypto.generate_receipt(),
                case_key=case_key,
                answers=answers,
                contact=contact,
                files=files,
                also=also,
            )
        except ReceiptClash:
            if receipt is not None:
                raise
    raise ReceiptClash


def _file(
    case: Case,
    *,
    receipt: crypto.Receipt,
    case_key: bytes,
    answers: dict[str, Any],
    contact: dict[str, str] | None,
    files: Sequence[DraftFile],
    also: Callable[[Case], None] | None,
) -> Submission:
    keypair = case.office_keypair
    assert keypair is not None  # noqa: S101 (set by case_submit)
    case.receipt_lookup = receipt.lookup
    tenant, public_id = case.tenant, case.public_id
    # Both wrapped keys before the transaction, so the row is written once (a new case sends
    # no change event) and the Argon2 run holds no database connection.
    case.key_for_office = crypto.seal(bytes(keypair.public_key), case_key, info=case_key_info(case))
    params = kdf_params()
    db_release()
    case.key_for_receipt = crypto.wrap_with_secret(
        receipt.secret,
        case_key,
        params=params,
        context=case_receipt_context(case),
        pepper=_pepper(),
    )
    try:
        with transaction.atomic():
            case.reference = reference_allocate(tenant=tenant, received_on=case.received_on)
            case.save(force_insert=True)
            _record_create(case, case_key, CaseRecord.Kind.ANSWERS, answers)
            if contact:
                _record_create(case, case_key, CaseRecord.Kind.CONTACT, contact)
            attachments_create(
                case=case, case_key=case_key, files=files, side=Attachment.Side.REPORTER
            )
            case_filed.send(sender=Case, case=case)
            if also is not None:
                also(case)
    except IntegrityError:
        # Either this draft's case was committed meanwhile (a parallel try of the same draft),
        # or the receipt's lookup part belongs to another case.
        existing = _submitted(tenant, public_id, receipt)
        if existing is not None:
            return existing
        # Lookups are unique across tenants: whether one is taken is asked of every tenant,
        # through row-level security's narrow system path (an existence, nothing of the case).
        with rls.system():
            clash = Case.objects.filter(receipt_lookup=receipt.lookup).exists()
        if clash:
            raise ReceiptClash from None
        raise
    return Submission(case=case, receipt=receipt)


def case_submitted(*, tenant: Tenant, case_id: str, receipt: str) -> Case | None:
    """The case a draft filed (its id and receipt), if it exists."""
    found = _submitted(tenant, uuid.UUID(case_id), crypto.parse_receipt(receipt))
    return None if found is None else found.case


def _submitted(tenant: Tenant, public_id: uuid.UUID, receipt: crypto.Receipt) -> Submission | None:
    """The case already filed under this draft's id and receipt, if any."""
    case = Case.objects.filter(
        tenant=tenant, public_id=public_id, receipt_lookup=receipt.lookup
    ).first()
    return None if case is None else Submission(case=case, receipt=receipt)


def _record_create(case: Case, case_key: bytes, kind: str, data: Any) -> CaseRecord:
    record = CaseRecord(case=case, kind=kind)
    record.ciphertext = _encrypt_json(case, case_key, kind, record.public_id, data)
    record.save()
    return record


# --- reading --------------------------------------------------------------------------------


def case_key_for_office(*, case: Case, user: User, handler_private: bytes) -> bytes:
    """The case key, for a member of the case's office holding access (vault key in hand)."""
    if case.key_for_office is None or case.office_keypair is None:
        raise KeyAccessError("the case key was destroyed")
    private = office_private_key(
        office=case.office,
        user=user,
        handler_private=handler_private,
        version=case.office_keypair.version,
    )
    try:
        return crypto.unseal(private, bytes(case.key_for_office), info=case_key_info(case))
    except crypto.DecryptionError:
        raise KeyAccessError("the case key does not open") from None


def case_for_receipt(*, tenant: Tenant, receipt_text: str) -> tuple[Case, bytes] | None:
    """The case and its key for a receipt typed by the reporter; None if it opens nothing.

    A malformed receipt raises ``crypto.ReceiptFormatError`` before any database access; an
    unknown lookup part costs one indexed query and no Argon2 run. The database connection is
    given back before Argon2 runs (``whistle.db.db_release``). No throttling here: the mailbox
    login goes through ``intake.receipt_gate`` with :func:`receipt_case_find` and
    :func:`receipt_case_key`.
    """
    receipt = crypto.parse_receipt(receipt_text)
    case = receipt_case_find(tenant=tenant, receipt=receipt)
    if case is None:
        return None
    db_release()
    key = receipt_case_key(case=case, receipt=receipt)
    return None if key is None else (case, key)


def receipt_case_find(*, tenant: Tenant, receipt: crypto.Receipt) -> Case | None:
    """The tenant's case with this receipt's lookup part (one indexed query, no Argon2)."""
    return (
        Case.objects.select_related("tenant")
        .filter(tenant=tenant, receipt_lookup=receipt.lookup, key_for_receipt__isnull=False)
        .first()
    )


def receipt_case_key(*, case: Case, receipt: crypto.Receipt) -> bytes | None:
    """The case key if the receipt's secret opens it, else None: one Argon2id run through the
    process's slots (``crypto.BusyError`` when none frees in time). Touches no database:
    release the connection before calling it."""
    try:
        return crypto.unwrap_with_secret(
            receipt.secret,
            bytes(case.key_for_receipt or b""),
            context=case_receipt_context(case),
            pepper=_pepper(),
        )
    except crypto.DecryptionError:
        return None


def receipt_rewrap_if_stale(*, case: Case, receipt: crypto.Receipt, case_key: bytes) -> None:
    """After a successful check, wrap the case key under the receipt again if the stored wrap
    was made with older costs or derivation (as a password is re-hashed at login), so later
    logins cost today's Argon2id. Best effort: when no Argon2 slot is free, the next login
    tries again. Touches no database while Argon2 runs; the update only replaces the wrap
    that was checked, so a case shredded meanwhile stays shredded."""
    stored = bytes(case.key_for_receipt or b"")
    if not stored or crypto.wrap_is_current(stored, kdf_params()):
        return
    try:
        fresh = crypto.wrap_with_secret(
            receipt.secret,
            case_key,
            params=kdf_params(),
            context=case_receipt_context(case),
            pepper=_pepper(),
        )
    except crypto.BusyError:
        return
    Case.objects.filter(pk=case.pk, key_for_receipt=stored).update(key_for_receipt=fresh)


def case_key_for_receipt(*, tenant: Tenant, receipt_text: str) -> bytes | None:
    found = case_for_receipt(tenant=tenant, receipt_text=receipt_text)
    return None if found is None else found[1]


def _record_json(case: Case, case_key: bytes, record: CaseRecord) -> Any:
    plain = crypto.decrypt_record(
        case_key,
        bytes(record.ciphertext),
        context=record_context(case, record.kind, record.public_id),
    )
    return json.loads(plain)


def case_answers(*, case: Case, case_key: bytes) -> dict[str, Any]:
    record = CaseRecord.objects.get(case=case, kind=CaseRecord.Kind.ANSWERS)
    answers: dict[str, Any] = _record_json(case, case_key, record)
    return answers


def case_contact(*, case: Case, case_key: bytes) -> dict[str, str] | None:
    record = CaseRecord.objects.filter(case=case, kind=CaseRecord.Kind.CONTACT).first()
    if record is None:
        return None
    contact: dict[str, str] = _record_json(case, case_key, record)
    return contact


@dataclass(frozen=True)
class AttachmentView:
    attachment: Attachment
    meta: dict[str, Any]


def attachment_views(
    *, case: Case, case_key: bytes, attachments: Iterable[Attachment]
) -> list[AttachmentView]:
    """These attachments of the case with their metadata decrypted."""
    views = []
    for attachment in attachments:
        plain = crypto.decrypt_record(
            case_key,
            bytes(attachment.meta_ciphertext),
            context=record_context(case, "attachment-meta", attachment.public_id),
        )
        views.append(AttachmentView(attachment=attachment, meta=json.loads(plain)))
    return views


def case_attachments(
    *, case: Case, case_key: bytes, side: str | None = None
) -> list[AttachmentView]:
    queryset = Attachment.objects.filter(case=case).order_by("id")
    if side is not None:
        queryset = queryset.filter(side=side)
    return attachment_views(case=case, case_key=case_key, attachments=queryset)


def b64key(key: bytes) -> str:
    return base64.b64encode(key).decode()
