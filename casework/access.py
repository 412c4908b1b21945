"""Access helpers for cases: filtered by the handler's office membership in the query."""

from __future__ import annotations

import uuid

from django.http import Http404

from intake.models import Attachment, Case
from whistle.accounts.models import User
from whistle.tenants.models import Membership


def access_case(
    *, user: User, office_id: uuid.UUID | str, case_id: uuid.UUID | str
) -> tuple[Membership, Case]:
    """The case, if it belongs to an office ``user`` is a member of; 404 otherwise."""
    try:
        office_uuid, case_uuid = uuid.UUID(str(office_id)), uuid.UUID(str(case_id))
    except ValueError:
        raise Http404 from None
    membership = (
        Membership.objects.select_related("office")
        .filter(user=user, office__public_id=office_uuid)
        .first()
    )
    if membership is None:
        raise Http404
    case = (
        Case.objects.select_related("tenant", "office", "questionnaire", "office_keypair")
        .filter(public_id=case_uuid, office=membership.office)
        # A recused or excluded member does not see the case at all (CF-5).
        .exclude(exclusions__user=user)
        .first()
    )
    if case is None:
        raise Http404
    return membership, case


def access_attachment(
    *,
    user: User,
    office_id: uuid.UUID | str,
    case_id: uuid.UUID | str,
    attachment_id: uuid.UUID | str,
) -> tuple[Case, Attachment]:
    _membership, case = access_case(user=user, office_id=office_id, case_id=case_id)
    try:
        attachment_uuid = uuid.UUID(str(attachment_id))
    except ValueError:
        raise Http404 from None
    attachment = Attachment.objects.filter(case=case, public_id=attachment_uuid).first()
    if attachment is None:
        raise Http404
    return case, attachment
