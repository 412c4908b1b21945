"""Intake use cases: creating a case, and reaching its key from the office or the receipt."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

import crypto
from intake.models import Case, CaseRecord
from whistle.accounts.models import User
from whistle.keys.services import KeyAccessError, active_keypair, kdf_params, office_private_key
from whistle.tenants.models import Office, Tenant

RECEIPT_ATTEMPTS = 5


class OfficeNotReady(Exception):
    """The office has no key pair yet, so it cannot receive reports."""


def case_key_info(case: Case) -> bytes:
    return f"whistle/case-key/v1|tenant={case.tenant.public_id}|case={case.public_id}".encode()


def case_receipt_context(case: Case) -> bytes:
    return f"whistle/case-receipt/v1|case={case.public_id}".encode()


def record_context(case: Case, record: CaseRecord) -> crypto.RecordContext:
    return crypto.RecordContext(
        tenant=str(case.tenant.public_id),
        case=str(case.public_id),
        kind=record.kind,
        record_id=str(record.public_id),
    )


def _pepper() -> bytes:
    return settings.RECEIPT_PEPPER.encode("utf-8")


@dataclass(frozen=True)
class Submission:
    case: Case
    receipt: crypto.Receipt


def case_submit(*, tenant: Tenant, office: Office, answers: dict[str, Any]) -> Submission:
    """Create a case atomically: answers encrypted under a fresh case key, the case key sealed
    to the office and wrapped under a new receipt. Returns the receipt, to be shown once."""
    if not office.tenants.filter(pk=tenant.pk).exists():
        raise ValueError("this office does not serve this tenant")
    keypair = active_keypair(office)
    if keypair is None:
        raise OfficeNotReady
    case_key = secrets.token_bytes(32)
    for _attempt in range(RECEIPT_ATTEMPTS):
        receipt = crypto.generate_receipt()
        try:
            with transaction.atomic():
                case = Case.objects.create(
                    tenant=tenant,
                    office=office,
                    receipt_lookup=receipt.lookup,
                    office_keypair=keypair,
                    received_on=timezone.localdate(),
                )
                case.key_for_office = crypto.seal(
                    bytes(keypair.public_key), case_key, info=case_key_info(case)
                )
                case.key_for_receipt = crypto.wrap_with_secret(
                    receipt.secret,
                    case_key,
                    params=kdf_params(),
                    context=case_receipt_context(case),
                    pepper=_pepper(),
                )
                case.save(update_fields=["key_for_office", "key_for_receipt"])
                record = CaseRecord(case=case, kind=CaseRecord.Kind.ANSWERS)
                record.ciphertext = crypto.encrypt_record(
                    case_key,
                    json.dumps(answers, ensure_ascii=False).encode("utf-8"),
                    context=record_context(case, record),
                )
                record.save()
        except IntegrityError:
            continue  # receipt lookup clash (40 bits): draw another receipt
        return Submission(case=case, receipt=receipt)
    raise RuntimeError("could not draw a unique receipt")


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
    unknown lookup part costs one indexed query and no Argon2 run.
    """
    receipt = crypto.parse_receipt(receipt_text)
    case = (
        Case.objects.select_related("tenant")
        .filter(tenant=tenant, receipt_lookup=receipt.lookup, key_for_receipt__isnull=False)
        .first()
    )
    if case is None:
        return None
    try:
        key = crypto.unwrap_with_secret(
            receipt.secret,
            bytes(case.key_for_receipt or b""),
            context=case_receipt_context(case),
            pepper=_pepper(),
        )
    except crypto.DecryptionError:
        return None
    return case, key


def case_key_for_receipt(*, tenant: Tenant, receipt_text: str) -> bytes | None:
    found = case_for_receipt(tenant=tenant, receipt_text=receipt_text)
    return None if found is None else found[1]


def case_answers(*, case: Case, case_key: bytes) -> dict[str, Any]:
    record = CaseRecord.objects.get(case=case, kind=CaseRecord.Kind.ANSWERS)
    plain = crypto.decrypt_record(
        case_key, bytes(record.ciphertext), context=record_context(case, record)
    )
    answers: dict[str, Any] = json.loads(plain)
    return answers
