"""Access helpers for the administration pages: filtered by the principal in the query, 404 on
a miss (DESIGN §3)."""

from __future__ import annotations

import uuid

from django.db.models import Q
from django.http import Http404, HttpRequest

from whistle import rls
from whistle.accounts.models import User
from whistle.tenants.models import Membership, Office, OfficeService, Tenant


def _uuid(value: str | uuid.UUID) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise Http404 from None


def managed_offices(user: User) -> Q:
    """Offices ``user`` manages: as their lead, or as an admin of the tenant that owns them.

    An admin of a tenant that an office merely *serves* does not manage it."""
    return Q(memberships__user=user, memberships__role=Membership.Role.LEAD) | Q(
        owner__admins__user=user
    )


def access_managed_office(*, user: User, office_id: str | uuid.UUID) -> Office:
    """The office with this public id, if ``user`` leads it or administers its owner."""
    office = (
        Office.objects.filter(managed_offices(user), public_id=_uuid(office_id))
        .select_related("owner")
        .distinct()
        .first()
    )
    if office is None:
        raise Http404
    return office


def access_office_service(*, office: Office, service_id: str | uuid.UUID) -> OfficeService:
    """A service (request) of an office the caller already passed
    :func:`access_managed_office` for."""
    service = (
        OfficeService.objects.select_related("office__owner", "tenant")
        .filter(office=office, public_id=_uuid(service_id))
        .first()
    )
    if service is None:
        raise Http404
    return service


def access_tenant_service(*, tenant: Tenant, service_id: str | uuid.UUID) -> OfficeService:
    """A service (request) of a tenant the caller already passed ``access_admin_tenant`` for."""
    service = (
        OfficeService.objects.select_related("office__owner", "tenant")
        .filter(tenant=tenant, public_id=_uuid(service_id))
        .first()
    )
    if service is None:
        raise Http404
    return service


def access_operator_tenant(*, request: HttpRequest, tenant_id: str) -> Tenant:
    """The tenant with this public id, for operator staff only (404 for everyone else)."""
    if not getattr(request.user, "is_staff", False):
        raise Http404
    try:
        public_id = uuid.UUID(str(tenant_id))
    except ValueError:
        raise Http404 from None
    with rls.system():
        tenant = Tenant.objects.filter(public_id=public_id).first()
    if tenant is None:
        raise Http404
    return tenant
