from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import redirect

from whistle.accounts.decorators import staff_required
from whistle.http import StaffRequest
from whistle.tenants.access import access_admin_tenant


@staff_required
def tenant_overview_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    """The tenant page moved to the administration console (console:tenant), which adds the
    set-up checklist; this address keeps working."""
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    return redirect("console:tenant", tenant_id=tenant.public_id)
