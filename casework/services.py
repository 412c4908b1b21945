"""Casework use cases: the legal workflow, assignment and conflicts, notes, replies, identity
reveal, handler-recorded reports. Every change of a case goes through ``casework.changes``: the
case row locked, the state checked under the lock, the audit event in the same transaction.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence
from typing import Any

from dateutil.relativedelta import relativedelta
from django.utils.translation import gettext as _

import crypto
from casework.audit import audit_record
from casework.changes import WorkflowError, case_change
from casework.models import CaseExclusion
from casework.notes import NoteView, note_add, note_create, notes_for
from casework.retention.policy import case_schedule_deletion
from chat.models import Message
from chat.services import MAX_BODY, message_post
from intake import services as intake_services
from intake.drafts import DraftFile
from intake.models import Case, Disclosure, tenant_today
from whistle.accounts.models import User
from whistle.tenants.models import Membership

EXTENDED_FEEDBACK_MONTHS = 6


# Raised by the services below (defined in casework.changes); the note services live in
# casework.notes (retention's holds need them without the workflow).
__all__ = ["NoteView", "WorkflowError", "note_add", "note_create", "notes_for"]


def _audit(
    case: Case, actor: User | None, verb: str, object_type: str = "case", object_id: str = ""
) -> None:
    audit_record(
        tenant=case.tenant,
        actor=actor,
        verb=verb,
        object_type=object_type,
        object_id=object_id or str(case.public_id),
        case=case,
    )


def _move(case: Case, status: str) -> None:
    if not case.can_move_to(status):
        raise WorkflowError(
            _("A case that is “%(current)s” cannot go to “%(next)s”.")
            % {"current": case.get_status_display(), "next": Case.Status(status).label}
        )
    case.status = status


# --- workflow -------------------------------------------------------------------------------


def _message_step(
    *,
    case: Case,
    actor: User,
    case_key: bytes,
    message: str,
    status: str,
    date_field: str,
    verb: str,
) -> Message:
    """A workflow step that sends the reporter a message and stamps its date (once)."""
    with case_change(case=case, actor=actor, verb=verb):
        _move(case, status)
        if getattr(case, date_field) is None:
            setattr(case, date_field, tenant_today(case.tenant))
        case.save(update_fields=["status", date_field])
        sent = message_post(
            case=case, case_key=case_key, side=Message.Side.OFFICE, author=actor, body=message
        )
    return sent


def case_acknowledge(*, case: Case, actor: User, case_key: bytes, message: str) -> Message:
    """Confirm receipt (DL-1): the message goes to the reporter's mailbox."""
    if not message.strip():
        raise WorkflowError(_("The confirmation needs a message to the reporter."))
    return _message_step(
        case=case,
        actor=actor,
        case_key=case_key,
        message=message.strip(),
        status=Case.Status.ACKNOWLEDGED,
        date_field="acknowledged_on",
        verb="case.acknowledged",
    )


def case_check_scope(
    *, case: Case, actor: User, case_key: bytes, in_scope: bool, reason: str
) -> None:
    """Record whether the report is within the office's remit, with the reason (as a note)."""
    if not reason.strip():
        raise WorkflowError(_("Please give the reason for the decision on responsibility."))
    with case_change(case=case, actor=actor, verb="case.scope_checked"):
        _move(case, Case.Status.SCOPE_CHECKED)
        case.in_scope = in_scope
        case.save(update_fields=["status", "in_scope"])
        prefix = _("In scope") if in_scope else _("Out of scope")
        note_create(case=case, actor=actor, case_key=case_key, body=f"{prefix}: {reason.strip()}")


def case_move(*, case: Case, actor: User, status: str) -> None:
    """Plausibility check, investigation, measures: steps that need no further fields."""
    if status not in (Case.Status.PLAUSIBILITY, Case.Status.INVESTIGATION, Case.Status.MEASURES):
        raise WorkflowError(_("This step needs more information."))
    with case_change(case=case, actor=actor, verb="case.status_changed"):
        _move(case, status)
        case.save(update_fields=["status"])


def case_give_feedback(*, case: Case, actor: User, case_key: bytes, message: str) -> Message:
    """Feedback to the reporter on what was done or is planned (DL-2)."""
    if not message.strip():
        raise WorkflowError(_("The feedback needs a message to the reporter."))
    return _message_step(
        case=case,
        actor=actor,
        case_key=case_key,
        message=message.strip(),
        status=Case.Status.FEEDBACK_GIVEN,
        date_field="feedback_given_on",
        verb="case.feedback_given",
    )


def case_close(*, case: Case, actor: User, outcome: str) -> None:
    if outcome not in Case.Outcome.values:
        raise WorkflowError(_("Choose the outcome of the case."))
    with case_change(case=case, actor=actor, verb="case.closed"):
        if case.in_scope is False and outcome != Case.Outcome.OUT_OF_SCOPE:
            raise WorkflowError(_("A case found out of scope is closed as “Out of scope”."))
        _move(case, Case.Status.CLOSED)
        case.outcome = outcome
        case.closed_on = tenant_today(case.tenant)
        case.save(update_fields=["status", "outcome", "closed_on"])
        case_schedule_deletion(case)


def case_extend_feedback(*, case: Case, actor: User, case_key: bytes, reason: str) -> datetime.date:
    """External offices may extend the feedback period to 6 months, with a reason (DL-2)."""
    if not case.office.is_external:
        raise WorkflowError(_("Only external reporting offices may extend the feedback period."))
    if not reason.strip():
        raise WorkflowError(_("Please give the reason for the extension."))
    with case_change(case=case, actor=actor, verb="case.feedback_extended"):
        if not case.is_open:
            raise WorkflowError(_("The case is closed."))
        if case.feedback_given_on is not None:
            raise WorkflowError(_("Feedback has already been given."))
        start = case.acknowledged_on or case.received_on
        until = start + relativedelta(months=EXTENDED_FEEDBACK_MONTHS)
        case.feedback_extended_until = until
        case.save(update_fields=["feedback_extended_until"])
        note_create(
            case=case,
            actor=actor,
            case_key=case_key,
            body=_("Feedback period extended: %(reason)s") % {"reason": reason.strip()},
        )
    return until


# --- assignment and conflicts (CF-5) --------------------------------------------------------


def _member(case: Case, user: User) -> Membership:
    membership = Membership.objects.filter(office=case.office, user=user).first()
    if membership is None:
        raise WorkflowError(_("This person is not a member of the office."))
    if CaseExclusion.objects.filter(case=case, user=user).exists():
        raise WorkflowError(_("This person is excluded from the case."))
    return membership


def case_assign(*, case: Case, actor: User, assignee: User | None, deputy: User | None) -> None:
    with case_change(case=case, actor=actor) as change:
        if assignee is not None:
            _member(case, assignee)
        if deputy is not None:
            _member(case, deputy)
        changed_assignee = case.assignee_id != (assignee.pk if assignee else None)
        changed_deputy = case.deputy_id != (deputy.pk if deputy else None)
        if not (changed_assignee or changed_deputy):
            change.unchanged()
            return
        case.assignee, case.deputy = assignee, deputy
        case.save(update_fields=["assignee", "deputy"])
        if changed_assignee:
            change.record("case.assigned", object_type="user", object_id=_user_id(assignee, case))
        if changed_deputy:
            change.record("case.deputy_set", object_type="user", object_id=_user_id(deputy, case))


def _user_id(user: User | None, case: Case) -> str:
    # Nobody (unassigned): the case's own id names what changed.
    return str(user.public_id) if user is not None else str(case.public_id)


def case_recuse(*, case: Case, actor: User) -> None:
    """The handler steps back (conflict of interest) and loses access to the case."""
    _exclude(case=case, actor=actor, user=actor, kind=CaseExclusion.Kind.RECUSAL)


def case_exclude(*, case: Case, actor: User, user: User) -> None:
    """An office lead excludes a named member from the case."""
    lead = Membership.objects.filter(
        office=case.office, user=actor, role=Membership.Role.LEAD
    ).exists()
    if not lead:
        raise WorkflowError(_("Only an office lead can exclude a member from a case."))
    if user == actor:
        raise WorkflowError(
            _("To step back from a case yourself, use “Recuse myself from this case”.")
        )
    _member(case, user)
    _exclude(case=case, actor=actor, user=user, kind=CaseExclusion.Kind.EXCLUSION)


def _exclude(*, case: Case, actor: User, user: User, kind: str) -> None:
    verb = "case.recused" if kind == CaseExclusion.Kind.RECUSAL else "case.excluded"
    with case_change(
        case=case, actor=actor, verb=verb, object_type="user", object_id=str(user.public_id)
    ):
        CaseExclusion.objects.get_or_create(
            case=case,
            user=user,
            defaults={"kind": kind, "by": actor, "created_on": tenant_today(case.tenant)},
        )
        fields = []
        if case.assignee_id == user.pk:
            case.assignee = None
            fields.append("assignee")
        if case.deputy_id == user.pk:
            case.deputy = None
            fields.append("deputy")
        if fields:
            case.save(update_fields=fields)


# --- replies to the reporter ---------------------------------------------------------------


# --- notes and identity ---------------------------------------------------------------------


# --- the conversation -----------------------------------------------------------------------


def case_message_send(
    *,
    case: Case,
    actor: User,
    case_key: bytes,
    body: str,
    files: Sequence[DraftFile] = (),
    announce: bool = True,
) -> Message:
    """A handler writes to the reporter (the case page's form, or the case's socket:
    ``casework.consumers``, which announces on its own event loop: ``announce=False``).
    ``files`` are already cleaned of metadata and encrypted under the case key
    (``casework.replies.reply_files_receive``): one audit event for the message and one per
    file."""
    body = body.strip()[:MAX_BODY]
    if not body and not files:
        raise WorkflowError(_("Write a message or add a file."))
    with case_change(case=case, actor=actor) as change:
        sent = message_post(
            case=case,
            case_key=case_key,
            side=Message.Side.OFFICE,
            author=actor,
            body=body,
            files=files,
            announce=announce,
        )
        change.record("case.message_sent", object_type="message", object_id=str(sent.public_id))
        for file in files:
            change.record("case.file_sent", object_type="attachment", object_id=file.id)
    return sent


# --- labels ---------------------------------------------------------------------------------

LABEL_MAX = 60


def _label_context(case: Case) -> crypto.RecordContext:
    return intake_services.record_context(case, "label", case.public_id)


def case_set_label(*, case: Case, actor: User, case_key: bytes, label: str) -> None:
    """Set (or, with an empty text, remove) the short label that tells the case apart in the
    inbox; encrypted under the case key like notes, audited without its text."""
    text = " ".join(label.split())
    if len(text) > LABEL_MAX:
        raise WorkflowError(
            _("The label may have at most %(max)d characters; yours has %(count)d.")
            % {"max": LABEL_MAX, "count": len(text)}
        )
    with case_change(case=case, actor=actor) as change:
        if not text and case.label_ciphertext is None:
            change.unchanged()
            return
        case.label_ciphertext = (
            crypto.encrypt_record(case_key, text.encode(), context=_label_context(case))
            if text
            else None
        )
        case.save(update_fields=["label_ciphertext"])
        change.record("case.label_set" if text else "case.label_removed")


def case_label(*, case: Case, case_key: bytes) -> str:
    """The case's label in clear, or "" when it has none."""
    if case.label_ciphertext is None:
        return ""
    return crypto.decrypt_record(
        case_key, bytes(case.label_ciphertext), context=_label_context(case)
    ).decode()


def case_reveal_identity(
    *, case: Case, actor: User, case_key: bytes, disclosure_id: str
) -> dict[str, str]:
    """Show the reporter's contact details to pass them on in one allowed disclosure (CF-2,
    CF-4, HinSchG § 9): the reporter consented to it, or a statutory ground was recorded with
    the notice the law requires (``casework.disclosure``). The disclosure is marked carried out
    and serves no second time; audited."""
    contact = intake_services.case_contact(case=case, case_key=case_key)
    if contact is None:
        raise WorkflowError(_("The reporter gave no contact details."))
    try:
        disclosure_uuid = uuid.UUID(disclosure_id)
    except ValueError:
        disclosure_uuid = None
    with case_change(case=case, actor=actor) as change:
        disclosure = (
            Disclosure.objects.select_for_update()
            .filter(case=case, public_id=disclosure_uuid)
            .first()
            if disclosure_uuid is not None
            else None
        )
        if disclosure is None:
            raise WorkflowError(
                _(
                    "Choose the disclosure the contact details are for: one the reporter "
                    "consented to, or one on a recorded legal ground."
                )
            )
        if disclosure.state != Disclosure.State.ALLOWED:
            raise WorkflowError(
                _("This disclosure cannot be carried out: %(state)s.")
                % {"state": disclosure.get_state_display()}
            )
        disclosure.state = Disclosure.State.DISCLOSED
        disclosure.disclosed_by = actor
        disclosure.disclosed_on = tenant_today(case.tenant)
        disclosure.save(update_fields=["state", "disclosed_by", "disclosed_on"])
        change.record(
            "case.identity_disclosed", object_type="disclosure", object_id=str(disclosure.public_id)
        )
    return contact


def case_viewed(*, case: Case, actor: User) -> None:
    """A read, not a change: recorded without locking the case."""
    _audit(case, actor, "case.viewed")


# --- reports received by phone, letter or in person (CH-4) ----------------------------------


def case_record_by_handler(
    *,
    office: Any,
    tenant: Any,
    actor: User,
    channel: str,
    category: str,
    answers: dict[str, Any],
    language: str = "",
) -> intake_services.Submission:
    """A handler records a report received another way; the reporter gets a receipt slip."""
    if channel not in (Case.Channel.PHONE, Case.Channel.LETTER, Case.Channel.IN_PERSON):
        raise WorkflowError(_("Choose how the report was received."))
    # Not inside a transaction of ours: case_submit runs Argon2 before its own transaction,
    # holding no database connection; the audit event commits with the case.
    return intake_services.case_submit(
        tenant=tenant,
        office=office,
        answers=answers,
        category=category,
        channel=channel,
        language=language,
        also=lambda case: _audit(case, actor, "case.handler_intake"),
    )
