from __future__ import annotations

from django.http import Http404

from whistle.http import TenantRequest
from whistle.keys.models import OfficeKeyPair
from whistle.keys.services import active_keypair
from whistle.tenants.models import Office, Tenant


def reporter_tenant(request: TenantRequest) -> Tenant:
    if request.tenant is None:
        raise Http404
    return request.tenant


def ready_offices(tenant: Tenant) -> list[Office]:
    """Offices serving the tenant that can receive reports: keys set up, and the public key
    still the genuine one (a key swapped in the database is never offered, DESIGN §4). None
    until the tenant is published (set-up wizard)."""
    if not tenant.published:
        return []
    with_keys = OfficeKeyPair.objects.filter(active=True).values("office_id")
    offices = Office.objects.serving(tenant).filter(pk__in=with_keys).order_by("name")
    return [office for office in offices if active_keypair(office) is not None]
