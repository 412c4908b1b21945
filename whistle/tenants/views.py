from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from whistle.accounts.decorators import staff_required
from whistle.http import StaffRequest
from whistle.tenants.access import access_admin_tenant


@staff_required
def tenant_overview_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    """The tenant page moved to the administration console (console:tenant), which adds the
    set-up checklist; this address keeps working."""
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    return redirect("console:tenant", tenant_id=tenant.public_id)


def channel_suspended_view(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    """Every reporter path of a suspended tenant (whistle.tenants.middleware)."""
    tenant = getattr(request, "suspended_tenant", None)
    return render(
        request,
        "tenants/suspended.html",
        {"suspended_name": tenant.name if tenant is not None else ""},
        # 404 like any page that is not there (Django logs it as a warning, not an error): a
        # suspension is the operator's decision, not an outage to alert on.
        status=404,
    )
