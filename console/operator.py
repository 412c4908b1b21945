"""The operator console's use cases (issue 13, point 1): tenants, their usage, suspension,
host names and the first admin's invitation. Operator staff never see content, case titles or
key material: usage is aggregate counts and sizes only.

Every operator action on a tenant is written to that tenant's audit chain (casework.audit),
with the operator as actor. The operator holds no role in the tenant, so the row-level
security principal of these writes is narrowed to that one tenant (``_as_tenant``); the usage
figures, which span all tenants, are aggregate queries under the system principal.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.audit import audit_record
from casework.models import AuditEvent
from console.hostnames import hostname_verify
from intake.models import Attachment, Case
from whistle import rls
from whistle.accounts.invitations import invitation_create
from whistle.accounts.models import Invitation, User
from whistle.tenants.models import Tenant, TenantHostname
from whistle.tenants.services import tenant_create

logger = logging.getLogger("console.operator")


@contextlib.contextmanager
def _as_tenant(tenant: Tenant) -> Iterator[None]:
    """The narrowest principal for writing ``tenant``'s audit chain on the operator's behalf."""
    with rls.acting_as(rls.Principal(tenant=tenant.pk)):
        yield


# --- usage ----------------------------------------------------------------------------------


def last_months(today: datetime.date, count: int = 12) -> list[datetime.date]:
    """The first days of the last ``count`` months up to ``today``'s, oldest first."""
    months = []
    year, month = today.year, today.month
    for _i in range(count):
        months.append(datetime.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(months))


@dataclass
class Usage:
    """What the operator may know of a tenant: numbers and dates, nothing else."""

    cases_per_month: list[tuple[datetime.date, int]] = field(default_factory=list)
    storage_bytes: int = 0
    last_activity: datetime.date | None = None

    @property
    def cases_last_12_months(self) -> int:
        return sum(count for _month, count in self.cases_per_month)


def tenant_usage(
    *, tenants: Iterable[Tenant], today: datetime.date | None = None
) -> dict[int, Usage]:
    """Usage per tenant id: reports received per month over the last 12 *complete* months,
    bytes of stored (encrypted) files, and the date of the last staff action in the tenant's
    audit trail. Three aggregate queries, whatever the number of tenants.

    As in the tenant's own statistics (casework/stats.py), nothing finer than a month is told
    about reports: the current month is left out until it ends, and the last-activity date
    counts staff actions only (audit events with an actor), never a report's arrival. Someone
    who looks every day therefore cannot learn the day a report arrived.
    """
    ids = [t.pk for t in tenants]
    today = today or timezone.localdate()
    months = last_months(today.replace(day=1) - datetime.timedelta(days=1))
    usage = {pk: Usage() for pk in ids}
    with rls.system():  # aggregates over every tenant; no row is read
        per_month = (
            Case.objects.filter(
                tenant_id__in=ids, received_on__gte=months[0], received_on__lt=today.replace(day=1)
            )
            .annotate(month=TruncMonth("received_on"))
            .values("tenant_id", "month")
            .annotate(n=Count("id"))
            .values_list("tenant_id", "month", "n")
        )
        counts: dict[tuple[int, datetime.date], int] = {}
        for tenant_id, month, n in per_month:
            day = month.date() if isinstance(month, datetime.datetime) else month
            counts[(tenant_id, day)] = n
        storage = (
            Attachment.objects.filter(case__tenant_id__in=ids)
            .values("case__tenant_id")
            .annotate(size=Sum("stored_size"))
            .values_list("case__tenant_id", "size")
        )
        audited = (
            AuditEvent.objects.filter(tenant_id__in=ids, actor__isnull=False)
            .values("tenant_id")
            .annotate(last=Max("at"))
            .values_list("tenant_id", "last")
        )
        for tenant_id, size in storage:
            usage[tenant_id].storage_bytes = int(size or 0)
        for tenant_id, at in audited:
            usage[tenant_id].last_activity = timezone.localdate(at) if at is not None else None
    for pk in ids:
        usage[pk].cases_per_month = [(m, counts.get((pk, m), 0)) for m in months]
    return usage


# --- actions --------------------------------------------------------------------------------


def operator_tenant_create(
    *,
    actor: User,
    name: str,
    slug: str,
    languages: list[str],
    admin_email: str,
    time_zone: str = "Europe/Berlin",
) -> tuple[Tenant, Invitation]:
    """A new tenant and the invitation of its first administrator (mailed after the commit).

    Raises:
        ValidationError: a field is not valid (slug taken, unknown language, bad address);
            nothing is created then.
    """
    with transaction.atomic():
        tenant = tenant_create(slug=slug, name=name, languages=languages, time_zone=time_zone)
        invitation, _url = invitation_create(
            email=admin_email,
            role=Invitation.Role.TENANT_ADMIN,
            invited_by=actor,
            tenant=tenant,
        )
        with _as_tenant(tenant):
            audit_record(
                tenant=tenant,
                actor=actor,
                verb="tenant.created",
                object_type="tenant",
                object_id=str(tenant.public_id),
            )
            _audit_invitation(tenant, actor, invitation)
    logger.info("operator created tenant %s", tenant.public_id)
    return tenant, invitation


def _audit_invitation(tenant: Tenant, actor: User, invitation: Invitation) -> None:
    audit_record(
        tenant=tenant,
        actor=actor,
        verb="invitation.created",
        object_type="invitation",
        object_id=str(invitation.public_id),
    )


def operator_admin_invite(*, tenant: Tenant, actor: User, email: str) -> Invitation:
    """Invite (another) administrator of ``tenant``; mailed after the commit.

    Raises:
        ValidationError: a bad address, or the person administers the tenant already.
    """
    with transaction.atomic():
        invitation, _url = invitation_create(
            email=email, role=Invitation.Role.TENANT_ADMIN, invited_by=actor, tenant=tenant
        )
        with _as_tenant(tenant):
            _audit_invitation(tenant, actor, invitation)
    return invitation


def operator_tenant_set_enabled(*, tenant: Tenant, actor: User, enabled: bool) -> bool:
    """Suspend (``enabled=False``) or resume the tenant's reporting channel. Returns whether
    anything changed; an unchanged state writes no audit event."""
    with transaction.atomic():
        changed = (
            Tenant.objects.filter(pk=tenant.pk).exclude(enabled=enabled).update(enabled=enabled)
        )
        tenant.enabled = enabled
        if changed:
            with _as_tenant(tenant):
                audit_record(
                    tenant=tenant,
                    actor=actor,
                    verb="tenant.resumed" if enabled else "tenant.suspended",
                    object_type="tenant",
                    object_id=str(tenant.public_id),
                )
    if changed:
        logger.info(
            "operator %s tenant %s", "resumed" if enabled else "suspended", tenant.public_id
        )
    return bool(changed)


def operator_hostname_add(*, tenant: Tenant, actor: User, hostname: str) -> TenantHostname:
    """Serve the tenant's reporting page on ``hostname`` (verified by the operator, who has
    checked the DNS record before adding it).

    Raises:
        ValidationError: not a host name, or one already in use.
    """
    host = TenantHostname(
        tenant=tenant, hostname=hostname.strip().lower().rstrip("."), verified_at=timezone.now()
    )
    host.full_clean()
    with transaction.atomic():
        host.save()
        with _as_tenant(tenant):
            audit_record(
                tenant=tenant,
                actor=actor,
                verb="tenant.hostname_added",
                object_type="hostname",
                object_id=str(host.pk),
            )
    return host


def operator_hostname_verify(*, tenant: Tenant, actor: User, hostname_id: int) -> None:
    """The operator vouches for a host name the tenant admin added (e.g. checked by phone and
    DNS by hand), so that it routes without the TXT record (a miss is a ValidationError)."""
    host = TenantHostname.objects.filter(tenant=tenant, pk=hostname_id).first()
    if host is None:
        raise ValidationError(_("This host name is not one of this organisation's."))
    with _as_tenant(tenant):
        hostname_verify(host=host, actor=actor, operator=True)


def operator_hostname_remove(*, tenant: Tenant, actor: User, hostname_id: int) -> None:
    """Stop serving the tenant on one of its host names (a miss is a ValidationError)."""
    with transaction.atomic():
        deleted, _detail = TenantHostname.objects.filter(tenant=tenant, pk=hostname_id).delete()
        if not deleted:
            raise ValidationError(_("This host name is not one of this organisation's."))
        with _as_tenant(tenant):
            audit_record(
                tenant=tenant,
                actor=actor,
                verb="tenant.hostname_removed",
                object_type="hostname",
                object_id=str(hostname_id),
            )
