"""Offices and members: creating an office, its members and roles, the external flag, absence
with a deputy (DL-3), and offices serving other tenants (MT-1). Every change is audited.

Who may do what is decided here, not in the views: an office is managed by its leads and by the
admins of the tenant that owns it; a member marks only themself away; only a lead accepts or
refuses to serve another tenant. Audit events go to the owning tenant's chain; the events of a
shared office's service go to both tenants' chains (see :func:`_audit_service`).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from casework.audit import audit_record
from intake.models import Case
from whistle import rls
from whistle.accounts.invitations import invitation_create
from whistle.accounts.models import Invitation, User
from whistle.keys.services import membership_remove
from whistle.tenants.models import Membership, Office, OfficeService, Tenant

# Crockford's base 32: no I, L, O, U; typed back, those are read as 1, 1, 0 and V.
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_LENGTH = 12  # 60 bits: not guessable, so no throttle is needed for a mere request


class OfficeError(Exception):
    """The change is not allowed; the message (translated) says why and what to do."""


def _audit(
    tenant: Tenant, actor: User, verb: str, object_type: str, object_id: object, **kw: Any
) -> None:
    audit_record(
        tenant=tenant,
        actor=actor,
        verb=verb,
        object_type=object_type,
        object_id=str(object_id),
        **kw,
    )


def is_lead(office: Office, user: User) -> bool:
    return Membership.objects.filter(office=office, user=user, role=Membership.Role.LEAD).exists()


def may_manage(office: Office, user: User) -> bool:
    """A lead of the office, or an admin of the tenant that owns it."""
    return is_lead(office, user) or office.owner.admins.filter(user=user).exists()


def _require_manager(office: Office, actor: User) -> None:
    if not may_manage(office, actor):
        raise OfficeError(
            _("Only the office lead or an administrator of its organisation may do this.")
        )


def _require_admin(tenant: Tenant, actor: User) -> None:
    if not tenant.admins.filter(user=actor).exists():
        raise OfficeError(_("Only an administrator of the organisation may do this."))


def _lock(office: Office) -> None:
    """Serialise membership changes of one office (two leads removing each other at once must
    not leave it without a lead)."""
    Office.objects.select_for_update().filter(pk=office.pk).values_list("pk").first()


# --- offices --------------------------------------------------------------------------------


@transaction.atomic
def office_create(
    *,
    tenant: Tenant,
    actor: User,
    name: str,
    description: str = "",
    is_external: bool = False,
) -> Office:
    """A new office owned by ``tenant`` and serving it. Raises ``ValidationError`` for a bad
    name, :class:`OfficeError` when ``actor`` does not administer ``tenant``."""
    _require_admin(tenant, actor)
    office = Office(
        owner=tenant, name=name.strip(), description=description.strip(), is_external=is_external
    )
    office.full_clean(exclude=["service_code"])
    office.save()
    office.tenants.add(tenant)
    _audit(tenant, actor, "office.created", "office", office.public_id)
    return office


@transaction.atomic
def office_set_external(*, office: Office, actor: User, is_external: bool) -> None:
    """Mark an office external (HinSchG § 14): only then may its handlers extend the feedback
    period to six months (DL-2, casework.services.case_extend_feedback)."""
    _require_manager(office, actor)
    if office.is_external == is_external:
        return
    office.is_external = is_external
    office.save(update_fields=["is_external"])
    _audit(office.owner, actor, "office.external_changed", "office", office.public_id)


def format_code(raw: str) -> str:
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def normalise_code(text: str) -> str:
    table = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})
    return "".join(c for c in text.upper() if c.isalnum()).translate(table)


@transaction.atomic
def office_code_renew(*, office: Office, actor: User) -> str:
    """A new service code for the office (the old one stops working); returns it formatted."""
    _require_manager(office, actor)
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _i in range(_CODE_LENGTH))
    office.service_code = raw
    office.save(update_fields=["service_code"])
    _audit(office.owner, actor, "office.code_renewed", "office", office.public_id)
    return format_code(raw)


# --- members --------------------------------------------------------------------------------


def member_invite(*, office: Office, actor: User, email: str, role: str) -> Invitation:
    """Invite a handler or a further lead by a one-time link (mailed after the commit).

    The invitee becomes a member once they have set their password and second factor; they can
    read reports only after a member with access grants them the office key. Raises
    ``ValidationError`` (a bad address, someone who is a member in that role already) and
    :class:`OfficeError`."""
    _require_manager(office, actor)
    if role not in (Invitation.Role.HANDLER, Invitation.Role.LEAD):
        raise OfficeError(_("Choose handler or office lead."))
    invitation, _url = invitation_create(email=email, role=role, invited_by=actor, office=office)
    return invitation


def _membership(office: Office, user: User) -> Membership:
    membership = Membership.objects.filter(office=office, user=user).first()
    if membership is None:
        raise OfficeError(_("This person is not a member of the office."))
    return membership


def _other_leads(office: Office, user: User) -> bool:
    return (
        Membership.objects.filter(office=office, role=Membership.Role.LEAD)
        .exclude(user=user)
        .exists()
    )


@transaction.atomic
def member_remove(*, office: Office, actor: User, user: User) -> None:
    """Remove a member: their membership and every office key grant they held go in the same
    transaction, and ``member.removed`` is written. Deputies naming them are cleared. The last
    lead cannot be removed.

    Cases assigned to them keep the assignment for the record; reminders skip people who are
    no longer members (casework.reminders.recipients), and the lead reassigns."""
    _require_manager(office, actor)
    _lock(office)
    membership = _membership(office, user)
    if membership.is_lead and not _other_leads(office, user):
        raise OfficeError(
            _("%(name)s is the office's only lead. Make another member lead first.")
            % {"name": user.display_name}
        )
    Membership.objects.filter(office=office, deputy=user).update(deputy=None)
    # Deletes the grants with the membership and writes "member.removed" (whistle.keys).
    membership_remove(office=office, user=user, actor=actor)


@transaction.atomic
def member_set_role(*, office: Office, actor: User, user: User, role: str) -> None:
    """Make a member lead or handler; the office keeps at least one lead."""
    _require_manager(office, actor)
    if role not in Membership.Role.values:
        raise OfficeError(_("Choose handler or office lead."))
    _lock(office)
    membership = _membership(office, user)
    if membership.role == role:
        return
    if membership.is_lead and not _other_leads(office, user):
        raise OfficeError(
            _("%(name)s is the office's only lead. Make another member lead first.")
            % {"name": user.display_name}
        )
    membership.role = role
    membership.save(update_fields=["role"])
    _audit(office.owner, actor, "member.role_changed", "user", user.public_id)


@transaction.atomic
def member_set_away(*, office: Office, actor: User, away: bool, deputy: User | None) -> Membership:
    """The member ``actor`` marks themself away (or back) and names a deputy from the same
    office. While away, reminders meant for them go to the deputy (DL-3)."""
    membership = _membership(office, actor)
    if deputy is not None:
        if deputy.pk == actor.pk:
            raise OfficeError(_("Choose a colleague as your deputy, not yourself."))
        cover = Membership.objects.filter(office=office, user=deputy).first()
        if cover is None or not deputy.is_active:
            raise OfficeError(_("Your deputy must be a member of this office."))
        if away and cover.away:
            raise OfficeError(
                _("%(name)s is away as well. Choose a colleague who is present.")
                % {"name": deputy.display_name}
            )
    if membership.away == away and membership.deputy_id == (deputy.pk if deputy else None):
        return membership
    membership.away = away
    membership.deputy = deputy
    membership.save(update_fields=["away", "deputy"])
    _audit(office.owner, actor, "member.away_changed", "user", actor.public_id)
    return membership


# --- shared offices (an office of tenant A serving tenant B) --------------------------------


def _audit_service(service: OfficeService, actor: User, verb: str, *, actor_tenant: Tenant) -> None:
    """The event goes into both tenants' chains. The actor's own side is appended under their
    principal; the other side's chain head is hidden from them by row-level security (an
    admin of B cannot read A's audit rows, a lead of O cannot read those of a tenant O does not
    serve), so that one append runs under the system principal. The event holds ids only."""
    owner = service.office.owner
    other = owner if actor_tenant.pk == service.tenant_id else service.tenant
    _audit(actor_tenant, actor, verb, "office_service", service.public_id)
    with rls.system():
        _audit(other, actor, verb, "office_service", service.public_id)


@transaction.atomic
def service_request(*, tenant: Tenant, actor: User, code: str) -> OfficeService:
    """``tenant``'s admin asks the office with this service code to serve ``tenant``."""
    _require_admin(tenant, actor)
    normalised = normalise_code(code)
    office = (
        Office.objects.filter(service_code=normalised).select_related("owner").first()
        if len(normalised) == _CODE_LENGTH
        else None
    )
    if office is None:
        raise OfficeError(
            _("No office has this code. Check it with the office lead who gave it to you.")
        )
    if office.tenants.filter(pk=tenant.pk).exists():
        raise OfficeError(
            _("%(office)s already serves %(tenant)s.")
            % {"office": office.name, "tenant": tenant.name}
        )
    if OfficeService.objects.filter(
        office=office, tenant=tenant, status=OfficeService.Status.PENDING
    ).exists():
        raise OfficeError(_("You have already asked this office; its lead has not decided yet."))
    service = OfficeService.objects.create(office=office, tenant=tenant, requested_by=actor)
    _audit_service(service, actor, "office.service_requested", actor_tenant=tenant)
    return service


@transaction.atomic
def service_decide(*, service: OfficeService, actor: User, accept: bool) -> None:
    """The office lead accepts (the office then serves the tenant) or refuses a request."""
    office = service.office
    if not is_lead(office, actor):
        raise OfficeError(_("Only the office lead may accept or refuse."))
    locked = OfficeService.objects.select_for_update().get(pk=service.pk)
    if locked.status != OfficeService.Status.PENDING:
        raise OfficeError(_("This request has already been decided or withdrawn."))
    service.status = OfficeService.Status.ACCEPTED if accept else OfficeService.Status.REFUSED
    service.decided_by = actor
    service.decided_at = timezone.now()
    service.save(update_fields=["status", "decided_by", "decided_at"])
    if accept:
        office.tenants.add(service.tenant)
    verb = "office.service_accepted" if accept else "office.service_refused"
    _audit_service(service, actor, verb, actor_tenant=office.owner)


@transaction.atomic
def service_end(*, service: OfficeService, actor: User) -> None:
    """The tenant's admin withdraws a request or ends the service; or the office's lead ends it.

    Refused while the office still holds any case of the tenant: every case must keep an office
    that handles it and keeps its documentation until retention deletes it (HinSchG § 11), and
    once the office no longer served the tenant its handlers could not append to the tenant's
    audit chain (row-level security)."""
    office, tenant = service.office, service.tenant
    admin_side = tenant.admins.filter(user=actor).exists()
    if not admin_side and not is_lead(office, actor):
        raise OfficeError(
            _("Only an administrator of the organisation or the office lead may end this.")
        )
    locked = OfficeService.objects.select_for_update().get(pk=service.pk)
    actor_tenant = tenant if admin_side else office.owner
    if locked.status == OfficeService.Status.PENDING and admin_side:
        service.status = OfficeService.Status.WITHDRAWN
    elif locked.status == OfficeService.Status.ACCEPTED:
        held = Case.objects.filter(tenant=tenant, office=office)
        open_count = held.exclude(status=Case.Status.CLOSED).count()
        total = held.count()
        if open_count:
            raise OfficeError(
                ngettext(
                    "%(office)s still handles %(count)d open report of %(tenant)s. The service "
                    "can end when it is closed and deleted at the end of its retention period.",
                    "%(office)s still handles %(count)d open reports of %(tenant)s. The service "
                    "can end when they are closed and deleted at the end of their retention "
                    "period.",
                    open_count,
                )
                % {"office": office.name, "count": open_count, "tenant": tenant.name}
            )
        if total:
            raise OfficeError(
                ngettext(
                    "%(office)s still keeps %(count)d closed report of %(tenant)s until its "
                    "retention period ends. The service can end once it is deleted.",
                    "%(office)s still keeps %(count)d closed reports of %(tenant)s until their "
                    "retention period ends. The service can end once they are deleted.",
                    total,
                )
                % {"office": office.name, "count": total, "tenant": tenant.name}
            )
        service.status = OfficeService.Status.ENDED
        office.tenants.remove(tenant)
    else:
        raise OfficeError(_("This service is not active."))
    service.decided_by = actor
    service.decided_at = timezone.now()
    service.save(update_fields=["status", "decided_by", "decided_at"])
    _audit_service(service, actor, "office.service_ended", actor_tenant=actor_tenant)
