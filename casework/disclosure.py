"""Consent before disclosure (HinSchG § 9, CF-4): the office's side.

- ``disclosure_request_consent``: ask the reporter, naming recipient and purpose (§ 9(3): a
  consent for each single disclosure, in text form: the reporter answers in the mailbox).
- ``disclosure_record_ground``: a disclosure that needs no consent (§ 9(2) nos. 1-5), with the
  written notice to the reporter beforehand, giving the reasons (§ 9(2) sentences 2 and 4), or
  the record of why it was withheld (sentence 3: the authority or court said informing would
  jeopardise its proceedings).
- ``casework.services.case_reveal_identity`` then shows the contact details for one allowed
  disclosure and marks it disclosed; a consent or ground serves that one disclosure only.

Each step goes through ``casework.changes.case_change`` (the case row locked, the audit event
in the same transaction); the reporter's answer is audited by
``casework.receivers`` on ``intake.disclosures.disclosure_answered``.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from casework.audit import audit_record
from casework.changes import CaseChange, WorkflowError, case_change
from chat.models import Message
from chat.services import MAX_BODY, message_post
from intake.disclosures import details_encrypt
from intake.models import Case, Disclosure, tenant_today
from whistle.accounts.models import User

MAX_FIELD = 2_000

NOTICE_SEND = "send"
NOTICE_WITHHOLD = "withhold"


def _record(change: CaseChange, verb: str, disclosure: Disclosure) -> None:
    change.record(verb, object_type="disclosure", object_id=str(disclosure.public_id))


def _recipient_and_purpose(recipient: str, purpose: str) -> tuple[str, str]:
    recipient, purpose = recipient.strip(), purpose.strip()
    if not recipient:
        raise WorkflowError(_("Name the recipient of the reporter's identity."))
    if not purpose:
        raise WorkflowError(_("Give the purpose of the disclosure."))
    if len(recipient) > MAX_FIELD or len(purpose) > MAX_FIELD:
        raise WorkflowError(
            _("Recipient and purpose may have at most %(count)d characters each.")
            % {"count": MAX_FIELD}
        )
    return recipient, purpose


def disclosure_request_consent(
    *, case: Case, actor: User, case_key: bytes, recipient: str, purpose: str
) -> Disclosure:
    """Ask the reporter's consent to pass their identity to ``recipient`` for ``purpose``."""
    recipient, purpose = _recipient_and_purpose(recipient, purpose)
    if not case.is_open:
        raise WorkflowError(_("The case is closed."))
    with case_change(case=case, actor=actor) as change:
        if not case.is_open:  # read under the lock
            raise WorkflowError(_("The case is closed."))
        disclosure = Disclosure(
            case=case,
            basis=Disclosure.Basis.CONSENT,
            state=Disclosure.State.REQUESTED,
            requested_by=actor,
            requested_on=tenant_today(case.tenant),
        )
        details_encrypt(case, case_key, disclosure, {"recipient": recipient, "purpose": purpose})
        disclosure.save()
        _record(change, "disclosure.consent_requested", disclosure)
    return disclosure


def notice_body(*, ground: str, recipient: str, purpose: str, reasons: str) -> str:
    """The written notice to the reporter before a disclosure on a ground (§ 9(2) sentences 2
    and 4): that it happens, on which ground, to whom, for what, and why."""
    return _(
        "We must pass on your identity without your consent, as the law provides (HinSchG "
        "§ 9(2)).\nLegal ground: %(ground)s\nRecipient: %(recipient)s\nPurpose: %(purpose)s\n"
        "Reasons: %(reasons)s"
    ) % {
        "ground": Disclosure.Ground(ground).label,
        "recipient": recipient,
        "purpose": purpose,
        "reasons": reasons,
    }


def disclosure_record_ground(
    *,
    case: Case,
    actor: User,
    case_key: bytes,
    ground: str,
    recipient: str,
    purpose: str,
    notice: str,
    notice_text: str = "",
    withheld_reason: str = "",
) -> Disclosure:
    """Record a disclosure on a ground of § 9(2), after informing the reporter in writing
    (``notice`` "send": a message with ground, recipient, purpose and the reasons given in
    ``notice_text`` goes to the mailbox now, ``notice_body``) or with
    the reason why they are not informed (``notice`` "withhold")."""
    if ground not in Disclosure.Ground.values:
        raise WorkflowError(_("Choose the legal ground for the disclosure."))
    recipient, purpose = _recipient_and_purpose(recipient, purpose)
    details: dict[str, str] = {"recipient": recipient, "purpose": purpose}
    if notice == NOTICE_SEND:
        reasons = notice_text.strip()
        if not reasons:
            raise WorkflowError(
                _("Write the reasons for the disclosure: the reporter is told them in writing.")
            )
        notice_text = notice_body(
            ground=ground, recipient=recipient, purpose=purpose, reasons=reasons
        )[:MAX_BODY]
    elif notice == NOTICE_WITHHOLD:
        withheld_reason = withheld_reason.strip()
        if not withheld_reason:
            raise WorkflowError(
                _(
                    "Say which authority or court said that informing the reporter would "
                    "jeopardise its proceedings, and when."
                )
            )
        details["withheld_reason"] = withheld_reason[:MAX_FIELD]
    else:
        raise WorkflowError(_("Choose whether the reporter is informed beforehand."))
    with case_change(case=case, actor=actor) as change:
        disclosure = Disclosure(
            case=case,
            basis=Disclosure.Basis.GROUND,
            ground=ground,
            state=Disclosure.State.ALLOWED,
            notice=Disclosure.Notice.SENT if notice == NOTICE_SEND else Disclosure.Notice.WITHHELD,
            requested_by=actor,
            requested_on=tenant_today(case.tenant),
        )
        details_encrypt(case, case_key, disclosure, details)
        disclosure.save()
        _record(change, "disclosure.ground_recorded", disclosure)
        if notice == NOTICE_SEND:
            message_post(
                case=case,
                case_key=case_key,
                side=Message.Side.OFFICE,
                author=actor,
                body=notice_text,
            )
            _record(change, "disclosure.notice_sent", disclosure)
        else:
            _record(change, "disclosure.notice_withheld", disclosure)
    return disclosure


def disclosure_answer_audit(*, case: Case, disclosure: Disclosure) -> None:
    """The reporter's answer (no actor: a reporter event keeps only the date)."""
    verb = (
        "disclosure.consent_given"
        if disclosure.state == Disclosure.State.ALLOWED
        else "disclosure.consent_refused"
    )
    # In the answer's transaction, which holds the case's row lock already (intake.disclosures).
    audit_record(
        tenant=case.tenant,
        actor=None,
        verb=verb,
        object_type="disclosure",
        object_id=str(disclosure.public_id),
        case=case,
    )
