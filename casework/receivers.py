"""What casework does when a lower layer announces something (DESIGN §2: lower layers send
signals, casework listens): key events (whistle.keys), directory changes (whistle.tenants:
memberships, roles, tenant admins) and filed cases (intake: ``case.created``) go into the audit
trail in the announcing transaction, where a filed case also plans its new-report notices;
reporters' messages posted in chat queue the office's notice (after commit)."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.db import transaction
from django.dispatch import receiver

from casework.audit import audit_record
from casework.disclosure import disclosure_answer_audit
from casework.notices import new_report_notices_plan, queue_office_notices
from casework.tasks import notify_office, send_new_report_notices
from chat.signals import reporter_messages_posted
from intake.disclosures import disclosure_answered
from intake.models import Case, Disclosure
from intake.signals import case_filed
from whistle.keys.signals import key_event
from whistle.tenants.signals import directory_event

logger = logging.getLogger(__name__)


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


@receiver(case_filed)
def plan_new_report_notices(sender: object, case: Case, **kwargs: Any) -> None:
    # Who is to be told commits with the case; the immediate mails are queued after commit
    # (best effort: casework.tasks.catch_up_new_report_notices sends what was not).
    if new_report_notices_plan(case):
        transaction.on_commit(partial(_queue_new_report_notices, str(case.public_id)))


def _queue_new_report_notices(case_id: str) -> None:
    try:
        send_new_report_notices.delay(case_id)
    except Exception as error:  # broker down or the eager task failed: the catch-up sends
        logger.warning("new-report notice not queued (%s)", type(error).__name__)


@receiver(reporter_messages_posted)
def queue_notices(sender: object, case_public_ids: set[str], **kwargs: Any) -> None:
    transaction.on_commit(partial(queue_office_notices, case_public_ids, queue=notify_office.delay))


@receiver(disclosure_answered)
def audit_disclosure_answer(
    sender: object, *, case: Case, disclosure: Disclosure, **kwargs: Any
) -> None:
    """The reporter's answer to a request for consent, in the answer's transaction."""
    disclosure_answer_audit(case=case, disclosure=disclosure)
