"""Tenant host names: added by the tenant admin, proven by a DNS TXT record (or verified by the
operator), and only then routed (whistle/tenants/middleware.py)."""

from __future__ import annotations

import logging

import dns.exception
import dns.resolver
from django.db import transaction
from django.utils import timezone

from casework.audit import audit_record
from whistle.accounts.models import User
from whistle.tenants.models import Tenant, TenantHostname

logger = logging.getLogger("console.hostnames")
DNS_TIMEOUT_SECONDS = 5.0


class DnsUnavailable(Exception):
    """The DNS lookup itself failed (timeout, no answer from the servers)."""


def hostname_add(*, tenant: Tenant, actor: User, hostname: str) -> TenantHostname:
    """A new, unverified host name of ``tenant``. Raises ValidationError (invalid, taken)."""
    host = TenantHostname(tenant=tenant, hostname=hostname.strip().lower().rstrip("."))
    host.full_clean()
    with transaction.atomic():
        host.save()
        audit_record(
            tenant=tenant,
            actor=actor,
            verb="tenant.hostname_added",
            object_type="hostname",
            object_id=str(host.pk),
        )
    return host


def txt_records(name: str) -> list[str]:
    """The TXT strings published at ``name``; [] if there is none. The one call to DNS."""
    try:
        answer = dns.resolver.resolve(name, "TXT", lifetime=DNS_TIMEOUT_SECONDS)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as error:
        raise DnsUnavailable(type(error).__name__) from None
    return [
        b"".join(getattr(record, "strings", ())).decode("utf-8", "replace") for record in answer
    ]


def hostname_verify(*, host: TenantHostname, actor: User, operator: bool = False) -> bool:
    """Mark ``host`` verified if its TXT record holds the token (or when the operator says
    so). Returns whether it is verified now. Raises DnsUnavailable when DNS does not answer."""
    if host.verified:
        return True
    if not operator and host.txt_value not in txt_records(host.txt_name):
        return False
    with transaction.atomic():
        TenantHostname.objects.filter(pk=host.pk).update(verified_at=timezone.now())
        audit_record(
            tenant=host.tenant,
            actor=actor,
            verb="tenant.hostname_verified",
            object_type="hostname",
            object_id=str(host.pk),
        )
    host.refresh_from_db()
    return True


def hostname_remove(*, host: TenantHostname, actor: User) -> None:
    with transaction.atomic():
        audit_record(
            tenant=host.tenant,
            actor=actor,
            verb="tenant.hostname_removed",
            object_type="hostname",
            object_id=str(host.pk),
        )
        host.delete()
