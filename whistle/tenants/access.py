"""Access helpers: every lookup of tenant-owned data from an edge goes through one of these.

Each filters by the principal *in the query* and raises 404 on a miss, so "does not exist" and
"not yours" are indistinguishable.
"""

from __future__ import annotations

import uuid

from django.http import Http404

from whistle.accounts.models import User
from whistle.tenants.models import Membership, Office, Tenant


def _uuid(value: str | uuid.UUID) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise Http404 from None


def access_office(*, user: User, office_id: str | uuid.UUID) -> Office:
    """The office with this public id, if ``user`` is a member of it."""
    office = (
        Office.objects.for_member(user)
        .select_related("owner")
        .filter(public_id=_uuid(office_id))
        .first()
    )
    if office is None:
        raise Http404
    return office


def access_membership(*, user: User, office_id: str | uuid.UUID) -> Membership:
    """``user``'s membership in the office with this public id."""
    membership = (
        Membership.objects.select_related("office", "office__owner")
        .filter(user=user, office__public_id=_uuid(office_id))
        .first()
    )
    if membership is None:
        raise Http404
    return membership


def access_admin_tenant(*, user: User, tenant_id: str | uuid.UUID) -> Tenant:
    """The tenant with this public id, if ``user`` administers it."""
    tenant = Tenant.objects.administered_by(user).filter(public_id=_uuid(tenant_id)).first()
    if tenant is None:
        raise Http404
    return tenant
