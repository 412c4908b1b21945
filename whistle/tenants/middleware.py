"""Resolve the tenant of a request from its host name or a ``/t/<slug>/`` path prefix.

- A host listed in ``ALLOWED_HOSTS`` (the operator's own hosts) serves staff pages and, under
  ``/t/<slug>/``, a tenant's reporter pages.
- A host registered as a tenant host name serves that tenant's reporter pages at its root.
- Any other host, or a slug that names no tenant, gets the same neutral 404 as any missing
  page, so responses never reveal which tenants exist.
- A suspended tenant (``enabled`` off) gets one clear page on every path: the channel is
  closed for now, and where else to report.

For a prefixed request the prefix is moved into the script prefix, so the reporter URLconf and
``reverse()`` work the same way in both modes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.http.request import split_domain_port
from django.urls import get_script_prefix, set_script_prefix

from whistle.http import TenantRequest
from whistle.tenants.models import Tenant

PREFIX_RE = re.compile(r"^/t/(?P<slug>[-a-z0-9]{1,63})(?P<rest>/.*)?$")
REPORTER_URLCONF = "whistle.urls_reporter"


UNKNOWN_URLCONF = "whistle.urls_unknown"
SUSPENDED_URLCONF = "whistle.urls_suspended"


def _not_found(
    request: TenantRequest, get_response: Callable[[HttpRequest], HttpResponse]
) -> HttpResponse:
    # Resolve against an empty URLconf: Django's ordinary 404 path answers, so the response is
    # byte for byte the one for any missing page.
    request.tenant = None
    request.urlconf = UNKNOWN_URLCONF
    return get_response(request)


def _suspended(
    request: TenantRequest, tenant: Tenant, get_response: Callable[[HttpRequest], HttpResponse]
) -> HttpResponse:
    # A suspended tenant (the operator set ``enabled`` off): the channel existed and reporters
    # may hold its address or a receipt, so they get a clear page with the other ways to report
    # rather than "page not found". No reporter page of the tenant runs.
    request.tenant = None
    request.suspended_tenant = tenant  # type: ignore[attr-defined]
    request.urlconf = SUSPENDED_URLCONF
    return get_response(request)


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: TenantRequest) -> HttpResponse:
        base_prefix = request.META.get("SCRIPT_NAME", "").rstrip("/") + "/"
        host, _port = split_domain_port(request.get_host())
        host = host.lower()
        request.tenant = None
        try:
            if host in settings.WHISTLE_HOSTS:
                set_script_prefix(base_prefix)
                match = PREFIX_RE.match(request.path_info)
                if match is None:
                    return self.get_response(request)
                tenant = Tenant.objects.filter(slug=match["slug"]).first()
                if tenant is None:
                    return _not_found(request, self.get_response)
                if not tenant.enabled:
                    set_script_prefix(f"{base_prefix}t/{tenant.slug}/")
                    request.path_info = match["rest"] or "/"
                    return _suspended(request, tenant, self.get_response)
                if not match["rest"]:
                    return HttpResponsePermanentRedirect(request.get_full_path() + "/")
                request.tenant = tenant
                request.path_info = match["rest"]
                set_script_prefix(f"{base_prefix}t/{tenant.slug}/")
                request.urlconf = REPORTER_URLCONF
                return self.get_response(request)
            # Only verified host names route (DNS TXT token or the operator's word).
            tenant = Tenant.objects.filter(
                hostnames__hostname=host, hostnames__verified_at__isnull=False
            ).first()
            if tenant is None:
                return _not_found(request, self.get_response)
            set_script_prefix(base_prefix)
            if not tenant.enabled:
                return _suspended(request, tenant, self.get_response)
            request.tenant = tenant
            request.urlconf = REPORTER_URLCONF
            return self.get_response(request)
        finally:
            # The test client (unlike the ASGI/WSGI handlers) does not reset the prefix per
            # request; never let one request's tenant prefix leak into the next.
            if get_script_prefix() != base_prefix:
                set_script_prefix(base_prefix)
