"""Invitations: a one-time link instead of a password chosen by someone else (issue 13).

The person invited opens the link, sets their own password (or logs in, when the address
already has an account), sets up the second factor, and only then is the role applied:
operator (``User.is_staff``), tenant administrator (``TenantAdmin``), office lead or handler
(``Membership``; no key grant — the lead grants access with the existing one-click grant).

The token is 32 random bytes, shown once (in the e-mail, or printed by ``create_staff
--print-link``); the database keeps only its SHA-256. A link works once: acceptance is one
conditional UPDATE whose row count decides, so of two acceptances racing with the same link
exactly one applies the role. Used and expired invitations are purged by the beat job
``purge-invitations``.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

import crypto
from whistle.accounts.models import Invitation, User, invitation_digest
from whistle.accounts.signals import invitation_accepted
from whistle.db import db_release
from whistle.tenants.models import Membership, Office, Tenant, TenantAdmin
from whistle.tenants.services import membership_add, tenant_admin_add

logger = logging.getLogger("whistle.accounts")

#: Session key of an invitation waiting for its invitee's full login: ``[id, token digest]``.
SESSION_PENDING = "_whistle_invitation"


def invitation_url(token: str) -> str:
    return settings.WHISTLE_BASE_URL + reverse("accounts:invitation", kwargs={"token": token})


def _normalise_email(email: str) -> str:
    cleaned = email.strip().lower()
    try:
        validate_email(cleaned)
    except ValidationError:
        raise ValidationError(_("Enter a valid e-mail address.")) from None
    return cleaned


def _holds_role(email: str, role: str, tenant: Tenant | None, office: Office | None) -> bool:
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        return False
    if role == Invitation.Role.OPERATOR:
        return user.is_staff
    if role == Invitation.Role.TENANT_ADMIN:
        return TenantAdmin.objects.filter(tenant=tenant, user=user).exists()
    return Membership.objects.filter(office=office, user=user, role=role).exists()


def invitation_create(
    *,
    email: str,
    role: str,
    invited_by: User | None,
    tenant: Tenant | None = None,
    office: Office | None = None,
    send: bool = True,
) -> tuple[Invitation, str]:
    """A new invitation and its absolute one-time URL (the only time the token exists).

    ``role`` is one of :class:`Invitation.Role`: an operator invitation has neither tenant nor
    office, a tenant admin's names the tenant, a lead's or handler's names the office (its
    tenant is the office's owner unless given). An earlier pending invitation of the same
    address to the same role is replaced (its link stops working). With ``send`` the link is
    mailed after the commit, best effort.

    Raises:
        ValidationError: a bad address, a role without its tenant/office, or a person who
            holds the role already.
    """
    address = _normalise_email(email)
    if role not in Invitation.Role.values:
        raise ValidationError(_("Choose a role."))
    if role == Invitation.Role.OPERATOR:
        tenant = office = None
    elif role == Invitation.Role.TENANT_ADMIN:
        if tenant is None:
            raise ValidationError(_("An administrator is invited for an organisation."))
        office = None
    else:
        if office is None:
            raise ValidationError(_("A lead or handler is invited to an office."))
        tenant = tenant or office.owner
    if _holds_role(address, role, tenant, office):
        raise ValidationError(_("This person has this role already."))
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(
            email__iexact=address, role=role, tenant=tenant, office=office, used_at__isnull=True
        ).delete()
        invitation = Invitation.objects.create(
            email=address,
            role=role,
            tenant=tenant,
            office=office,
            invited_by=invited_by,
            token_digest=invitation_digest(token),
            created_at=now,
            expires_at=now + timedelta(days=settings.INVITATION_VALID_DAYS),
        )
        url = invitation_url(token)
        if send:
            # The token must not travel through Celery (task arguments are ids only): the mail
            # goes from this process once the invitation is committed.
            pk = invitation.pk
            transaction.on_commit(lambda: invitation_send(invitation_id=pk, url=url))
    logger.info("invitation %s created (%s)", invitation.pk, role)
    return invitation, url


def mail_languages(invitation: Invitation) -> list[str]:
    """The invitee's language is unknown: the tenant's first language first, then German and
    English (the service's two complete languages), each once."""
    known = {code for code, _name in settings.LANGUAGES}
    first = [str(invitation.tenant.languages[0])] if invitation.tenant is not None else []
    order = [*first, settings.LANGUAGE_CODE, "de", "en"]
    result: list[str] = []
    for code in order:
        if code in known and code in ("de", "en") and code not in result:
            result.append(code)
    return result


def invitation_mail(invitation: Invitation, url: str) -> tuple[str, str]:
    """Subject and body: who invites whom for which organisation, and the link. Nothing else."""
    languages = mail_languages(invitation)
    inviter = invitation.invited_by.display_name if invitation.invited_by else ""
    context = {
        "invitation": invitation,
        "url": url,
        "inviter": inviter,
        "organisation": invitation.tenant.name if invitation.tenant else "",
        "office": invitation.office.name if invitation.office else "",
    }
    with translation.override(languages[0]):
        subject = render_to_string("accounts/mail/invitation_subject.txt", context).strip()
    parts = []
    for language in languages:
        with translation.override(language):
            context["role"] = invitation.get_role_display()
            parts.append(render_to_string("accounts/mail/invitation.txt", context).strip())
    return subject, "\n\n----------------------------------------\n\n".join(parts) + "\n"


def invitation_send(*, invitation_id: int, url: str) -> int:
    """Mail the link; best effort (a failure is logged without the address or the link)."""
    invitation = (
        Invitation.objects.select_related("tenant", "office", "invited_by")
        .filter(pk=invitation_id, used_at__isnull=True)
        .first()
    )
    if invitation is None:
        return 0
    try:
        subject, body = invitation_mail(invitation, url)
        return send_mail(subject, body, None, [invitation.email])
    except Exception:
        logger.exception("invitation %s: the e-mail could not be sent", invitation_id)
        return 0


def invitation_find(*, token: str) -> Invitation | None:
    """The pending invitation of ``token``; None for an unknown, used or expired one alike."""
    if not token or len(token) > 128:
        return None
    return (
        Invitation.objects.select_related("tenant", "office", "invited_by")
        .filter(
            token_digest=invitation_digest(token),
            used_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )


def invitation_pending_for(*, invitation_id: int, digest: str) -> Invitation | None:
    """A pending invitation remembered in a session by id and digest (never by its token)."""
    return (
        Invitation.objects.select_related("tenant", "office")
        .filter(
            pk=invitation_id,
            token_digest=digest,
            used_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )


def invitation_account_create(*, invitation: Invitation, name: str, password: str) -> User:
    """The invitee's new account, with the password they chose (hashed with Argon2 while no
    pooled connection is held). Gives no role yet: that waits for the second factor.

    Raises:
        ValidationError: the address has an account already (it was created meanwhile).
        crypto.BusyError: no Argon2 slot became free in time; nothing was created.
    """
    db_release()
    encoded = crypto.run_in_slot(make_password, password)
    try:
        with transaction.atomic():
            return User.objects.create(
                email=invitation.email.lower(), name=name.strip(), password=encoded
            )
    except IntegrityError:
        raise ValidationError(_("An account with this address exists already.")) from None


def _apply_role(invitation: Invitation, user: User) -> None:
    if invitation.role == Invitation.Role.OPERATOR:
        User.objects.filter(pk=user.pk).update(is_staff=True)
        user.is_staff = True
    elif invitation.role == Invitation.Role.TENANT_ADMIN:
        assert invitation.tenant is not None  # noqa: S101 (check constraint)
        tenant_admin_add(tenant=invitation.tenant, user=user)
    else:
        assert invitation.office is not None  # noqa: S101 (check constraint)
        membership_add(office=invitation.office, user=user, role=invitation.role)


def invitation_accept(*, invitation: Invitation, user: User) -> bool:
    """Use the invitation for ``user`` (whose password and second factor are set): apply the
    role and announce ``invitation_accepted``. False if it was used meanwhile, has expired or
    is addressed to another account; nothing changes then.

    The second factor must be verified by the caller; this only decides who wins the link.
    """
    now = timezone.now()
    with transaction.atomic():
        # One conditional UPDATE whose row count decides: of two acceptances racing, PostgreSQL
        # lets the first mark the row and makes the second wait on its lock, re-check the
        # condition and find ``used_at`` set (0 rows).
        won = Invitation.objects.filter(
            pk=invitation.pk,
            token_digest=invitation.token_digest,
            used_at__isnull=True,
            expires_at__gt=now,
            email__iexact=user.email,
        ).update(used_at=now, accepted_by=user)
        if won != 1:
            return False
        invitation.used_at = now
        invitation.accepted_by = user
        _apply_role(invitation, user)
        invitation_accepted.send(sender=Invitation, invitation=invitation, user=user)
    logger.info("invitation %s accepted (%s)", invitation.pk, invitation.role)
    return True


def invitation_revoke(*, invitation: Invitation) -> None:
    """Withdraw a pending invitation: its link stops working at once."""
    Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True).delete()


def invitations_pending(
    *, tenant: Tenant | None = None, office: Office | None = None
) -> QuerySet[Invitation]:
    """Pending invitations of a tenant (admins and its offices' members) or of one office."""
    qs = Invitation.objects.filter(used_at__isnull=True, expires_at__gt=timezone.now())
    if office is not None:
        qs = qs.filter(office=office)
    elif tenant is not None:
        qs = qs.filter(Q(tenant=tenant) | Q(office__owner=tenant))
    else:
        qs = qs.filter(role=Invitation.Role.OPERATOR)
    return qs.order_by("created_at")


def invitations_purge() -> int:
    """Delete used and expired invitations (the beat job ``purge-invitations``)."""
    now = timezone.now()
    deleted, _detail = Invitation.objects.filter(
        Q(used_at__isnull=False) | Q(expires_at__lte=now)
    ).delete()
    return deleted
