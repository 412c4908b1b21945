"""Creating tenants, offices and memberships."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from whistle.accounts.models import User
from whistle.tenants.models import Membership, Office, Tenant, TenantAdmin, TenantHostname


@transaction.atomic
def tenant_create(
    *,
    slug: str,
    name: str,
    languages: list[str] | None = None,
    time_zone: str = "Europe/Berlin",
    hostnames: Iterable[str] = (),
    published: bool = False,
) -> Tenant:
    """A new tenant. Its reporting page stays closed until ``published`` (the set-up wizard
    publishes it); host names given here come from the operator and count as verified."""
    tenant = Tenant(slug=slug, name=name, time_zone=time_zone, published=published)
    if published:
        tenant.reviewed_at = timezone.now()
    if languages is not None:
        tenant.languages = languages
    tenant.full_clean()
    tenant.save()
    for hostname in hostnames:
        host = TenantHostname(
            tenant=tenant, hostname=hostname.strip().lower(), verified_at=timezone.now()
        )
        host.full_clean()
        host.save()
    return tenant


@transaction.atomic
def office_create(
    *, owner: Tenant, name: str, serves: Iterable[Tenant] = (), description: str = ""
) -> Office:
    """An office owned by ``owner``, serving ``owner`` and any further tenants in ``serves``."""
    office = Office(owner=owner, name=name, description=description)
    office.full_clean()
    office.save()
    office.tenants.add(owner, *serves)
    return office


@transaction.atomic
def membership_add(
    *, office: Office, user: User, role: str = Membership.Role.HANDLER
) -> Membership:
    membership, created = Membership.objects.get_or_create(
        office=office, user=user, defaults={"role": role}
    )
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def tenant_admin_add(*, tenant: Tenant, user: User) -> TenantAdmin:
    admin, _created = TenantAdmin.objects.get_or_create(tenant=tenant, user=user)
    return admin
