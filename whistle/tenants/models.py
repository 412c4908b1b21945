"""Tenants (organisations with a reporting channel), offices (Meldestellen) and memberships."""

from __future__ import annotations

import uuid
import zoneinfo
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from whistle.accounts.models import User

hostname_validator = RegexValidator(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$",
    _("Enter a host name in lower case, such as meldestelle.example.de."),
)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


def validate_languages(value: Any) -> None:
    known = {code for code, _name in settings.LANGUAGES}
    if not isinstance(value, list) or not value or not all(v in known for v in value):
        raise ValidationError(
            _("Choose one or more of these languages: %(known)s."),
            params={"known": ", ".join(sorted(known))},
        )


def default_languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


class TenantQuerySet(models.QuerySet["Tenant"]):
    def enabled(self) -> TenantQuerySet:
        return self.filter(enabled=True)

    def administered_by(self, user: User) -> TenantQuerySet:
        return self.filter(admins__user=user)


class Tenant(models.Model):
    """An organisation that must offer a reporting channel."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    slug = models.SlugField(
        _("short name in the address"),
        max_length=63,
        unique=True,
        help_text=_("Used in the reporting address /t/<name>/."),
    )
    name = models.CharField(_("name"), max_length=200)
    languages = models.JSONField(
        _("languages"), default=default_languages, validators=[validate_languages]
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Berlin", validators=[validate_time_zone]
    )
    logo = models.ImageField(_("logo"), upload_to="logos/", blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    retention_years = models.PositiveSmallIntegerField(
        _("keep closed cases (years)"),
        default=3,
        help_text=_("Closed cases are deleted this many years after closure (HinSchG § 11(5))."),
    )
    retention_years_out_of_scope = models.PositiveSmallIntegerField(
        _("keep cases closed as out of scope (years)"),
        null=True,
        blank=True,
        help_text=_("Optional shorter period for reports outside the scope of the law."),
    )
    max_file_mb = models.PositiveIntegerField(_("largest file (MB)"), default=100)
    max_case_mb = models.PositiveIntegerField(_("all files of one report (MB)"), default=500)
    reference_prefix = models.CharField(
        _("prefix of case references"),
        max_length=8,
        blank=True,
        validators=[
            RegexValidator(r"^[A-Z0-9]*$", _("Use capital letters A to Z and digits only."))
        ],
        help_text=_(
            "Case references look like MUS-2026-0007. Empty: the first three letters or digits "
            "of the short name."
        ),
    )
    references_in_mail = models.BooleanField(
        _("case references in e-mails"),
        default=False,
        help_text=_(
            "Reminders and notices to the office name the case reference. Off by default: a "
            "reference in a mailbox can tell whoever reads it that a case exists."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def case_prefix(self) -> str:
        """What case references of this tenant start with."""
        if self.reference_prefix:
            return self.reference_prefix
        letters = "".join(c for c in self.slug.upper() if c.isascii() and c.isalnum())
        return letters[:3] or "CASE"

    def language_for(self, language: str) -> str:
        """``language`` if this tenant offers it, else the tenant's first language: reporter
        pages and sockets stay within the tenant's languages."""
        return language if language in self.languages else str(self.languages[0])


class TenantHostname(models.Model):
    """A host name on which a tenant's reporting page is served directly."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="hostnames")
    hostname = models.CharField(
        _("host name"), max_length=253, unique=True, validators=[hostname_validator]
    )

    class Meta:
        verbose_name = _("host name")
        verbose_name_plural = _("host names")

    def __str__(self) -> str:
        return self.hostname


class TenantAdmin(models.Model):
    """A staff user who configures a tenant. Grants no access to any report content."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="admins")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tenant_admin_roles"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="unique_tenant_admin")
        ]

    def __str__(self) -> str:
        return f"{self.user} administers {self.tenant}"


class OfficeQuerySet(models.QuerySet["Office"]):
    def for_member(self, user: User) -> OfficeQuerySet:
        return self.filter(memberships__user=user)

    def serving(self, tenant: Tenant) -> OfficeQuerySet:
        return self.filter(tenants=tenant)


class Office(models.Model):
    """A reporting office (Meldestelle): handlers with a shared key pair.

    An office is owned (set up and paid for) by one tenant and may serve several tenants, e.g. a
    district office for its municipalities or an external ombudsperson for many companies
    (HinSchG § 14). The owner is always among the tenants served.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="owned_offices")
    tenants = models.ManyToManyField(Tenant, related_name="offices", verbose_name=_("serves"))
    name = models.CharField(_("name"), max_length=200)
    is_external = models.BooleanField(
        _("external reporting office"),
        default=False,
        help_text=_("External offices may extend the feedback period to six months."),
    )
    description = models.TextField(
        _("description for reporters"),
        blank=True,
        help_text=_("One sentence shown to reporters when they choose between offices."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OfficeQuerySet.as_manager()

    class Meta:
        verbose_name = _("office")
        verbose_name_plural = _("offices")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        HANDLER = "handler", _("Handler")
        LEAD = "lead", _("Office lead")

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.HANDLER)
    # DL-3: while away, reminders for this member's cases go to the case's deputy as well.
    away = models.BooleanField(_("away"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["office", "user"], name="unique_office_membership")
        ]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} in {self.office} ({self.role})"

    @property
    def is_lead(self) -> bool:
        return self.role == self.Role.LEAD
