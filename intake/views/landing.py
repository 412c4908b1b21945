from __future__ import annotations

from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import get_language

from intake.texts import privacy_notice
from intake.views.common import ready_offices, reporter_tenant
from whistle.http import TenantRequest
from whistle.tenants.models import Tenant


def landing_context(tenant: Tenant, language: str) -> dict[str, object]:
    """What the landing page's tenant texts need; also the set-up preview's context."""
    return {
        "intro": tenant.text("intro", language),
        "privacy_text": privacy_notice(tenant, language),
    }


def landing_view(request: TenantRequest) -> HttpResponse:
    """The tenant's reporting page: who may report, how it is handled, how anonymity works."""
    tenant = reporter_tenant(request)
    if not tenant.published:
        return render(request, "intake/not_ready.html", status=503)
    context = landing_context(tenant, tenant.language_for(get_language() or ""))
    return render(request, "intake/landing.html", {"offices": ready_offices(tenant), **context})


def brand_css_view(request: TenantRequest) -> HttpResponse:
    """The tenant's accent colour (checked for contrast when set) as a style sheet: the CSP
    allows no inline styles."""
    tenant = reporter_tenant(request)
    css = f":root {{ --accent: {tenant.accent_colour}; }}\n" if tenant.accent_colour else ""
    return HttpResponse(css, content_type="text/css; charset=utf-8")


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
