"""Console's answers to lower layers' announcements."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from casework.audit import audit_record
from whistle import rls
from whistle.accounts.models import Invitation, User
from whistle.accounts.signals import invitation_accepted


@receiver(invitation_accepted, dispatch_uid="console.audit_invitation_accepted")
def audit_invitation_accepted(
    sender: Any, invitation: Invitation, user: User, **kwargs: Any
) -> None:
    """A tenant's invitation accepted: the new role holder appears in the tenant's audit trail
    (in the transaction that applied the role). Operator invitations belong to no tenant."""
    if invitation.tenant is None:
        return
    with rls.acting_as(rls.Principal(tenant=invitation.tenant.pk)):
        audit_record(
            tenant=invitation.tenant,
            actor=user,
            verb="invitation.accepted",
            object_type="invitation",
            object_id=str(invitation.public_id),
        )
