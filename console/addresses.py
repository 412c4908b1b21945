"""Where reporters find a tenant: the addresses printed on posters and in the documents."""

from __future__ import annotations

from django.conf import settings

from whistle.tenants.models import Tenant


def reporting_address(tenant: Tenant) -> str:
    """The tenant's reporting page: its own host name where it has one (the first, sorted),
    else ``/t/<slug>/`` on the service's public address (``WHISTLE_BASE_URL``), as the tenant
    middleware serves them (docs/architecture.md, "The flow of a request")."""
    hostname = tenant.hostnames.order_by("hostname").values_list("hostname", flat=True).first()
    if hostname:
        return f"https://{hostname}/"
    return f"{settings.WHISTLE_BASE_URL}/t/{tenant.slug}/"


def onion_address(tenant: Tenant) -> str:
    """The reporting page over Tor where the operator runs an onion service, else "".
    Onion addresses are served over plain HTTP (Tor encrypts end to end; docs/operations.md)."""
    onion = settings.WHISTLE_ONION_ADDRESS.strip().rstrip("/")
    if not onion:
        return ""
    if "://" not in onion:
        onion = f"http://{onion}"
    return f"{onion}/t/{tenant.slug}/"
