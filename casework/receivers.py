"""What casework does when a lower layer announces something (DESIGN §2: lower layers send
signals, casework listens): key events (whistle.keys), directory changes (whistle.tenants:
memberships, roles, tenant admins) and filed cases (intake: ``case.created``) go into the audit
trail in the announcing transaction; reporters' messages posted in chat queue the office's
notice (after commit)."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.dispatch import receiver

from casework.audit import audit_record
from casework.notices import queue_office_notices
from casework.tasks import notify_office
from chat.signals import reporter_messages_posted
from intake.models import Case
from intake.signals import case_filed
from whistle.keys.signals import key_event
from whistle.tenants.signals import directory_event


@receiver(key_event)
@receiver(directory_event)
def audit_directory_event(sender: object, **event: Any) -> None:
    actor = event["actor"]
    audit_record(
        tenant=event["tenant"],
        actor=actor,
        verb=event["verb"],
        object_type=event["object_type"],
        object_id=event["object_id"],
        # No actor: a management command or a system job, never the reporter.
        actor_label=None if actor is not None else "system",
    )


@receiver(case_filed)
def audit_case_filed(sender: object, case: Case, **kwargs: Any) -> None:
    # The reporter filed it online; a report received by phone, letter or in person is
    # recorded by a handler (who gets "case.handler_intake" as well).
    online = case.channel == Case.Channel.WEB
    audit_record(
        tenant=case.tenant,
        actor=None,
        verb="case.created",
        object_type="case",
        object_id=str(case.public_id),
        case=case,
        actor_label=None if online else "system:intake",
    )


@receiver(reporter_messages_posted)
def queue_notices(sender: object, case_public_ids: set[str], **kwargs: Any) -> None:
    transaction.on_commit(partial(queue_office_notices, case_public_ids, queue=notify_office.delay))
