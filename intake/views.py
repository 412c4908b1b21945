from __future__ import annotations

from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from whistle.http import TenantRequest
from whistle.tenants.models import Office, Tenant


def _tenant(request: TenantRequest) -> Tenant:
    if request.tenant is None:
        raise Http404
    return request.tenant


def landing_view(request: TenantRequest) -> HttpResponse:
    """The tenant's reporting page: who may report, how it is handled, how anonymity works."""
    tenant = _tenant(request)
    offices = Office.objects.serving(tenant).order_by("name")
    return render(request, "intake/landing.html", {"offices": offices})


def logo_view(request: TenantRequest) -> HttpResponseBase:
    tenant = _tenant(request)
    if not tenant.logo:
        raise Http404
    response = FileResponse(tenant.logo.open("rb"))
    response["Content-Security-Policy"] = "default-src 'none'"
    return response
