"""Creating tenants, offices and memberships. Every change of a membership, a role or a tenant
admin is announced (``whistle.tenants.signals.directory_event``) inside its transaction, and
casework writes the audit event with it."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from whistle.accounts.models import User
from whistle.tenants.models import Membership, Office, Tenant, TenantAdmin, TenantHostname
from whistle.tenants.signals import directory_event


def announce(*, tenant: Tenant, actor: User | None, verb: str, user: User) -> None:
    """Announce a change of ``user``'s rights in ``tenant`` (inside the caller's
    transaction)."""
    directory_event.send(
        sender=Tenant,
        tenant=tenant,
        actor=actor,
        verb=verb,
        object_type="user",
        object_id=str(user.public_id),
    )


@transaction.atomic
def tenant_create(
    *,
    slug: str,
    name: str,
    languages: list[str] | None = None,
    time_zone: str = "Europe/Berlin",
    hostnames: Iterable[str] = (),
) -> Tenant:
    tenant = Tenant(slug=slug, name=name, time_zone=time_zone)
    if languages is not None:
        tenant.languages = languages
    tenant.full_clean()
    tenant.save()
    for hostname in hostnames:
        host = TenantHostname(tenant=tenant, hostname=hostname.strip().lower())
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
    *,
    office: Office,
    user: User,
    role: str = Membership.Role.HANDLER,
    actor: User | None = None,
) -> Membership:
    """Make ``user`` a member of ``office`` with ``role`` (or change their role). ``actor``:
    who did it (None: a command, an accepted invitation)."""
    membership, created = Membership.objects.get_or_create(
        office=office, user=user, defaults={"role": role}
    )
    if created:
        announce(tenant=office.owner, actor=actor, verb="member.added", user=user)
    elif membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
        announce(tenant=office.owner, actor=actor, verb="member.role_changed", user=user)
    return membership


@transaction.atomic
def tenant_admin_add(*, tenant: Tenant, user: User, actor: User | None = None) -> TenantAdmin:
    admin, created = TenantAdmin.objects.get_or_create(tenant=tenant, user=user)
    if created:
        announce(tenant=tenant, actor=actor, verb="tenant_admin.added", user=user)
    return admin


@transaction.atomic
def tenant_admin_remove(*, tenant: Tenant, user: User, actor: User | None = None) -> bool:
    """``user`` no longer administers ``tenant``; False if they did not."""
    removed, _rows = TenantAdmin.objects.filter(tenant=tenant, user=user).delete()
    if removed:
        announce(tenant=tenant, actor=actor, verb="tenant_admin.removed", user=user)
    return bool(removed)
