from __future__ import annotations

from django.http import Http404

from whistle.http import TenantRequest
from whistle.keys.models import OfficeKeyPair
from whistle.tenants.models import Office, Tenant


def reporter_tenant(request: TenantRequest) -> Tenant:
    if request.tenant is None:
        raise Http404
    return request.tenant


def ready_offices(tenant: Tenant) -> list[Office]:
    """Offices serving the tenant that can receive reports (their keys are set up)."""
    with_keys = OfficeKeyPair.objects.filter(active=True).values("office_id")
    return list(Office.objects.serving(tenant).filter(pk__in=with_keys).order_by("name"))
