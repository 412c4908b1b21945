"""Record key events announced by whistle.keys in the audit trail (same transaction)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from casework.audit import audit_record
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
