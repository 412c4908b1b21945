"""Tenants (organisations with a reporting channel), offices (Meldestellen) and memberships."""

from __future__ import annotations

import secrets
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


# CH-5: who may report. "staff" is always included (employees, civil servants, trainees).
REPORTER_GROUPS: dict[str, Any] = {
    "staff": _("employees, civil servants and trainees"),
    "former_staff": _("former staff"),
    "applicants": _("applicants"),
    "agency_workers": _("agency workers and the self-employed working for the organisation"),
    "suppliers": _("people working for suppliers and contractors"),
    "volunteers": _("volunteers and interns"),
    "shareholders": _("shareholders and members of governing bodies"),
}

# EXT-1: external reporting channels the landing page names. A tenant chooses among these and
# adds its own (its Land's external office with its address, a supervisory authority).
EXTERNAL_CHANNELS: dict[str, Any] = {
    "bfj": _(
        "The federal external reporting office at the Federal Office of Justice "
        "(Bundesamt für Justiz, BfJ)"
    ),
    "land": _("The external reporting office of your federal state (Land), where one exists"),
    "bafin": _("The Federal Financial Supervisory Authority (BaFin) for financial services"),
    "bkarta": _("The Federal Cartel Office (Bundeskartellamt) for competition law"),
    "eu": _(
        "Institutions, bodies and agencies of the European Union, such as the European "
        "Anti-Fraud Office (OLAF)"
    ),
}


def default_reporter_groups() -> list[str]:
    return ["staff", "former_staff", "applicants", "agency_workers", "suppliers"]


def default_external_channels() -> list[str]:
    return list(EXTERNAL_CHANNELS)


def default_texts() -> dict[str, Any]:
    return {}


accent_validator = RegexValidator(
    r"^#[0-9a-f]{6}$", _("Enter the colour as # and six hexadecimal digits, such as #1a5fb4.")
)


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
    # Set-up and settings (console/settings_views.py, console/setup_views.py).
    published = models.BooleanField(
        _("reporting page published"),
        default=False,
        help_text=_("Until published, the reporting page says that it is not open yet."),
    )
    reviewed_at = models.DateTimeField(_("questionnaire and texts reviewed"), null=True, blank=True)
    accent_colour = models.CharField(
        _("accent colour"), max_length=7, blank=True, validators=[accent_validator]
    )
    controller_name = models.CharField(
        _("controller (data protection)"),
        max_length=200,
        blank=True,
        help_text=_("Who is responsible for processing reports; empty means the organisation."),
    )
    controller_address = models.TextField(_("controller's postal address"), blank=True)
    privacy_contact = models.CharField(
        _("data protection officer (contact)"), max_length=300, blank=True
    )
    reporter_groups = models.JSONField(_("who may report"), default=default_reporter_groups)
    external_channels = models.JSONField(
        _("external reporting channels"), default=default_external_channels
    )
    # Own external channels, e.g. the Land office: [{"name": ..., "url": ...}].
    own_channels = models.JSONField(_("further external channels"), default=list, blank=True)
    # Per language: {"de": {"intro": "...", "privacy": "..."}}. Empty means the built-in text;
    # "privacy" is the admin's edited privacy notice, which wins over the generated one.
    texts = models.JSONField(_("texts"), default=default_texts, blank=True)
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

    @property
    def controller(self) -> str:
        return self.controller_name or self.name

    def text(self, key: str, language: str) -> str:
        """The tenant's own text ``key`` in ``language``, or "" for the built-in one."""
        entry = self.texts.get(language) if isinstance(self.texts, dict) else None
        return str(entry.get(key) or "") if isinstance(entry, dict) else ""

    def reporter_group_labels(self) -> list[str]:
        return [str(REPORTER_GROUPS[g]) for g in REPORTER_GROUPS if g in self.reporter_groups]

    def external_channel_list(self) -> list[dict[str, str]]:
        """The channels the landing page and privacy notice name: built-in ones (translated)
        in their fixed order, then the tenant's own."""
        found = [
            {"name": str(EXTERNAL_CHANNELS[c]), "url": ""}
            for c in EXTERNAL_CHANNELS
            if c in self.external_channels
        ]
        for own in self.own_channels or []:
            found.append({"name": str(own.get("name", "")), "url": str(own.get("url", ""))})
        return found


def new_verification_token() -> str:
    return secrets.token_hex(16)


class TenantHostname(models.Model):
    """A host name on which a tenant's reporting page is served directly."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="hostnames")
    hostname = models.CharField(
        _("host name"), max_length=253, unique=True, validators=[hostname_validator]
    )
    # The tenant admin proves the name is theirs with a DNS TXT record holding this token, or
    # the operator verifies it. Unverified host names do not route (middleware).
    verification_token = models.CharField(max_length=64, default=new_verification_token)
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("host name")
        verbose_name_plural = _("host names")

    def __str__(self) -> str:
        return self.hostname

    @property
    def verified(self) -> bool:
        return self.verified_at is not None

    @property
    def txt_name(self) -> str:
        return f"_whistle.{self.hostname}"

    @property
    def txt_value(self) -> str:
        return f"whistle-verify={self.verification_token}"


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
    # The code an office lead gives another tenant's admin so that it can ask this office to
    # serve it (console.offices.service_request). Random, renewable; no list of offices is
    # ever shown to another tenant.
    service_code = models.CharField(max_length=32, unique=True, null=True, blank=True)
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
    # DL-3: while away, reminders meant for this member go to their deputy instead
    # (casework.reminders.recipients).
    away = models.BooleanField(_("away"), default=False)
    deputy = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("deputy"),
        help_text=_("A member of the same office who receives your reminders while you are away."),
    )
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


class OfficeService(models.Model):
    """A tenant's request that an office owned by another tenant serve it, and its outcome.

    Asked by the tenant's admin with the office's service code, decided by the office lead. On
    acceptance the tenant joins ``Office.tenants``; ending the service removes it again. Each
    case still belongs to its tenant. Directory data like ``Office.tenants`` (no content, read
    by both sides), so not under row-level security.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for the office")
        ACCEPTED = "accepted", _("serving")
        REFUSED = "refused", _("refused by the office")
        WITHDRAWN = "withdrawn", _("withdrawn")
        ENDED = "ended", _("ended")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="services")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="office_services")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["office", "tenant"],
                condition=models.Q(status__in=["pending", "accepted"]),
                name="one_live_service_per_office_and_tenant",
            )
        ]
        verbose_name = _("office service")
        verbose_name_plural = _("office services")

    def __str__(self) -> str:
        return f"{self.office} for {self.tenant} ({self.status})"
