from __future__ import annotations

from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from intake.views.common import ready_offices, reporter_tenant
from whistle.http import TenantRequest


def landing_view(request: TenantRequest) -> HttpResponse:
    """The tenant's reporting page: who may report, how it is handled, how anonymity works."""
    tenant = reporter_tenant(request)
    return render(request, "intake/landing.html", {"offices": ready_offices(tenant)})


def accessibility_view(request: TenantRequest) -> HttpResponse:
    reporter_tenant(request)
    return render(request, "intake/accessibility.html")


def logo_view(request: TenantRequest) -> HttpResponseBase:
    tenant = reporter_tenant(request)
    if not tenant.logo:
        raise Http404
    response = FileResponse(tenant.logo.open("rb"))
    response["Content-Security-Policy"] = "default-src 'none'"
    return response
