"""Access helpers for reporter pages: every lookup is filtered by the request's tenant."""

from __future__ import annotations

import uuid

from intake.models import Attachment, Case, Disclosure, Questionnaire
from whistle.tenants.models import Office, Tenant


def _uuid(value: str | uuid.UUID) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def access_reporter_office(*, tenant: Tenant, office_id: str) -> Office | None:
    """An office serving this tenant (the reporter's choice), or None."""
    office_uuid = _uuid(office_id)
    if office_uuid is None:
        return None
    return Office.objects.serving(tenant).filter(public_id=office_uuid).first()


def access_reporter_case(*, tenant: Tenant, case_id: str) -> Case | None:
    """The case of a live mailbox session, if it is this tenant's and not crypto-shredded."""
    case_uuid = _uuid(case_id)
    if case_uuid is None:
        return None
    return (
        Case.objects.select_related("tenant", "questionnaire")
        .filter(tenant=tenant, public_id=case_uuid, key_for_receipt__isnull=False)
        .first()
    )


def access_reporter_attachment(*, case: Case, attachment_id: str) -> Attachment | None:
    """A file the office sent to this case's reporter (the mailbox session's case), or None:
    the reporter downloads the office's files, never another case's."""
    attachment_uuid = _uuid(attachment_id)
    if attachment_uuid is None:
        return None
    return Attachment.objects.filter(
        case=case, public_id=attachment_uuid, side=Attachment.Side.OFFICE
    ).first()


def access_reporter_disclosure(*, case: Case, disclosure_id: str) -> Disclosure | None:
    """A request for consent of this case (the mailbox session's case), or None."""
    disclosure_uuid = _uuid(disclosure_id)
    if disclosure_uuid is None:
        return None
    return Disclosure.objects.filter(
        case=case, public_id=disclosure_uuid, basis=Disclosure.Basis.CONSENT
    ).first()


def access_questionnaire(*, tenant: Tenant, version: int) -> Questionnaire | None:
    return Questionnaire.objects.filter(tenant=tenant, version=version).first()
