"""Disclosures of the reporter's identity as both sides read them, and the reporter's answer to
a request for consent (HinSchG § 9(3), CF-4). The office's side (asking, recording a ground,
disclosing) is ``casework.disclosure``; it listens to :data:`disclosure_answered` to write the
audit event in the answer's transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.dispatch import Signal

import crypto
from intake.models import Case, Disclosure, tenant_today
from intake.services import record_context

#: Sent inside the transaction of a reporter's answer: ``case``, ``disclosure`` (its state is
#: ``allowed`` for a consent, ``refused`` for a refusal).
disclosure_answered = Signal()

RECORD_KIND = "disclosure"


class DisclosureStateError(Exception):
    """The disclosure is no longer in the state the action needs (answered, used …)."""


def details_encrypt(case: Case, case_key: bytes, disclosure: Disclosure, data: Any) -> None:
    disclosure.details_ciphertext = crypto.encrypt_record(
        case_key,
        json.dumps(data, ensure_ascii=False).encode("utf-8"),
        context=record_context(case, RECORD_KIND, disclosure.public_id),
    )


@dataclass(frozen=True)
class DisclosureView:
    disclosure: Disclosure
    recipient: str
    purpose: str
    withheld_reason: str


def disclosure_views(
    *, case: Case, case_key: bytes, disclosures: QuerySet[Disclosure] | list[Disclosure]
) -> list[DisclosureView]:
    views = []
    for disclosure in disclosures:
        details = json.loads(
            crypto.decrypt_record(
                case_key,
                bytes(disclosure.details_ciphertext),
                context=record_context(case, RECORD_KIND, disclosure.public_id),
            )
        )
        views.append(
            DisclosureView(
                disclosure=disclosure,
                recipient=str(details.get("recipient", "")),
                purpose=str(details.get("purpose", "")),
                withheld_reason=str(details.get("withheld_reason", "")),
            )
        )
    return views


def disclosures_for_office(*, case: Case, case_key: bytes) -> list[DisclosureView]:
    """The whole disclosure log of the case."""
    queryset = Disclosure.objects.filter(case=case).select_related("requested_by", "disclosed_by")
    return disclosure_views(case=case, case_key=case_key, disclosures=queryset)


def disclosures_for_reporter(*, case: Case, case_key: bytes) -> list[DisclosureView]:
    """What the reporter sees: every request for consent, and the disclosures on a ground of
    which they were informed (one whose notice was withheld stays unseen: telling them would
    jeopardise the proceedings, § 9(2) sentence 3)."""
    queryset = Disclosure.objects.filter(case=case).filter(
        Q(basis=Disclosure.Basis.CONSENT) | Q(notice=Disclosure.Notice.SENT)
    )
    return disclosure_views(case=case, case_key=case_key, disclosures=queryset)


def disclosure_answer(*, case: Case, disclosure: Disclosure, consent: bool) -> Disclosure:
    """The reporter consents to this one disclosure, or refuses it. Only a request still
    waiting can be answered; the answer is final (a new disclosure needs a new request)."""
    with transaction.atomic():
        # The case row first, as every change of a case takes it (casework.changes): a
        # handler carrying out a disclosure at the same moment waits, or is waited for.
        Case.objects.select_for_update(no_key=True).filter(pk=case.pk).first()
        locked = Disclosure.objects.select_for_update().get(pk=disclosure.pk, case=case)
        if locked.state != Disclosure.State.REQUESTED:
            raise DisclosureStateError
        locked.state = Disclosure.State.ALLOWED if consent else Disclosure.State.REFUSED
        locked.answered_on = tenant_today(case.tenant)
        locked.save(update_fields=["state", "answered_on"])
        disclosure_answered.send(sender=Disclosure, case=case, disclosure=locked)
    return locked
