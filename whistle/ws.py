"""ASGI middleware for websockets: same-origin check, tenant and language resolution.

Django's ALLOWED_HOSTS is opened (tenant host names live in the database), so channels'
AllowedHostsOriginValidator would let any origin in. This check is stricter: the Origin must be
the very host the socket was opened on, and that host must be one of ours or a tenant's.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from django.conf import settings
from django.http import HttpRequest
from django.http.cookie import parse_cookie
from django.http.request import split_domain_port
from django.utils import translation

from whistle.tenants.models import Tenant

PREFIX_RE = re.compile(r"^/t/(?P<slug>[-a-z0-9]{1,63})/")


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


@database_sync_to_async  # type: ignore[untyped-decorator]
def _tenant_for(host: str, path: str) -> tuple[bool, Tenant | None]:
    """(known host, tenant of this socket)."""
    if host in settings.WHISTLE_HOSTS:
        match = PREFIX_RE.match(path)
        if match is None:
            return True, None
        return True, Tenant.objects.enabled().filter(slug=match["slug"]).first()
    tenant = Tenant.objects.enabled().filter(hostnames__hostname=host).first()
    return tenant is not None, tenant


def _language(scope: dict[str, Any], tenant: Tenant | None) -> str:
    """The language the pages of this browser are in (language cookie, then Accept-Language),
    kept within the tenant's languages on a reporter socket, as ``TenantLanguageMiddleware``
    does for pages."""
    request = HttpRequest()
    request.COOKIES = parse_cookie(_header(scope, b"cookie"))
    request.META["HTTP_ACCEPT_LANGUAGE"] = _header(scope, b"accept-language")
    language = translation.get_language_from_request(request)
    return language if tenant is None else tenant.language_for(language)


class SameOriginTenantMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        host_header = _header(scope, b"host")
        origin = _header(scope, b"origin")
        host, _port = split_domain_port(host_header)
        origin_parts = urlsplit(origin)
        same_origin = bool(origin) and origin_parts.netloc.lower() == host_header.lower()
        known, tenant = await _tenant_for(host.lower(), scope.get("path", ""))
        if not (same_origin and known):
            await send({"type": "websocket.close", "code": 4403})
            return None
        scope = {**scope, "tenant": tenant, "language": _language(scope, tenant)}
        return await self.app(scope, receive, send)
