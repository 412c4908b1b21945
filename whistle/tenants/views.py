from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from whistle.accounts.decorators import staff_required
from whistle.http import StaffRequest
from whistle.tenants.access import access_admin_tenant
from whistle.tenants.models import Office, TenantAdmin


@staff_required
def tenant_overview_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    """What a tenant admin configures: settings, offices, people. Never any case content."""
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    offices = (
        Office.objects.serving(tenant)
        .select_related("owner")
        .prefetch_related("memberships__user")
        .order_by("name")
    )
    admins = TenantAdmin.objects.filter(tenant=tenant).select_related("user")
    return render(
        request,
        "tenants/overview.html",
        {
            "admin_tenant": tenant,
            "offices": offices,
            "admins": admins,
            "hostnames": tenant.hostnames.order_by("hostname"),
        },
    )


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
