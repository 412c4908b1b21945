"""Record key events announced by whistle.keys in the audit trail (same transaction)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from casework.audit import audit_record
from casework.disclosure import disclosure_answer_audit
from intake.disclosures import disclosure_answered
from intake.models import Case, Disclosure
from whistle.keys.signals import key_event


@receiver(key_event)
def audit_key_event(sender: object, **event: Any) -> None:
    audit_record(
        tenant=event["tenant"],
        actor=event["actor"],
        verb=event["verb"],
        object_type=event["object_type"],
        object_id=event["object_id"],
    )


@receiver(disclosure_answered)
def audit_disclosure_answer(
    sender: object, *, case: Case, disclosure: Disclosure, **kwargs: Any
) -> None:
    """The reporter's answer to a request for consent, in the answer's transaction."""
    disclosure_answer_audit(case=case, disclosure=disclosure)
