"""Staff accounts: e-mail login, mandatory second factor, password throttling."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username or "")


class User(AbstractBaseUser, PermissionsMixin):  # type: ignore[django-manager-missing]
    """A staff member: handler, office lead, tenant admin or operator.

    Reporters never have accounts. ``is_staff`` means operator staff (the Django admin is not
    installed; the flag only marks operator accounts) and gives no access to any case.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(_("e-mail address"), unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("works for the operator"), default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    class NewReportNotices(models.TextChoices):
        IMMEDIATE = "immediate", _("At once, one e-mail per report")
        DIGEST = "digest", _("Once a day, one e-mail for all new reports")

    # How this member hears of new reports in their offices (casework.notices).
    new_report_notices = models.CharField(
        _("new reports"),
        max_length=16,
        choices=NewReportNotices.choices,
        default=NewReportNotices.IMMEDIATE,
    )

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("staff account")
        verbose_name_plural = _("staff accounts")

    def __str__(self) -> str:
        return self.name or self.email

    @property
    def display_name(self) -> str:
        return self.name or self.email


def throttle_key(identifier: str) -> str:
    """A keyed hash of the login identifier, so the table does not list e-mail addresses."""
    normalised = identifier.strip().lower().encode("utf-8")
    return hmac.new(settings.SECRET_KEY.encode(), normalised, hashlib.sha256).hexdigest()


class LoginThrottle(models.Model):
    """Failed password attempts for one login identifier (existing account or not).

    After ``LOGIN_THROTTLE_FREE_ATTEMPTS`` failures each further attempt must wait twice as
    long as the one before (2 s, 4 s, 8 s … up to ``LOGIN_THROTTLE_MAX_DELAY``). Keyed by the
    identifier rather than the client address: staff log in from shared office networks and we
    do not keep addresses.
    """

    key = models.CharField(max_length=64, unique=True)
    failures = models.PositiveIntegerField(default=0)
    last_failure = models.DateTimeField(null=True)
    locked_until = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"login throttle {self.pk}"

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def record_failure(self, now: datetime) -> None:
        self.failures += 1
        self.last_failure = now
        over = self.failures - settings.LOGIN_THROTTLE_FREE_ATTEMPTS
        if over > 0:
            delay = min(2**over, settings.LOGIN_THROTTLE_MAX_DELAY)
            self.locked_until = now + timedelta(seconds=delay)


class KnownDevice(models.Model):
    """A browser that completed a full login (password and second factor) to this account.

    Its cookie (signed, naming the account and a random token; whistle/accounts/devices.py)
    exempts it from the per-account password throttle, so that nobody who merely knows the
    e-mail address can lock the owner out (OWASP, "Slow brute force and device cookies"). A
    cookie used for wrong passwords loses the exemption after ``LOGIN_DEVICE_FAILURES`` of
    them. Only a hash of the token is stored: a copy of this table logs nobody in.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="known_devices"
    )
    token_digest = models.CharField(max_length=64, unique=True)
    failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"known device {self.pk}"


class RecoveryCodeDevice(ThrottlingMixin, Device):  # type: ignore[misc]
    """Single-use recovery codes, stored only as keyed hashes.

    django-otp's static device keeps its tokens in clear text; a copy of the database must not
    let anyone pass the second factor, hence this device.
    """

    CODE_COUNT = 10

    def get_throttle_factor(self) -> int:
        factor: int = settings.OTP_TOTP_THROTTLE_FACTOR
        return factor

    @staticmethod
    def normalise(code: str) -> str:
        return "".join(ch for ch in code.lower() if ch.isalnum())

    def _digest(self, code: str) -> str:
        message = f"{self.pk}:{self.normalise(code)}".encode()
        return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()

    def generate_codes(self) -> list[str]:
        """Replace all codes with new ones and return them (shown to the user once)."""
        alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
        codes = [
            "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _group in range(2))
            for _ in range(self.CODE_COUNT)
        ]
        RecoveryCode.objects.filter(device=self).delete()
        RecoveryCode.objects.bulk_create(
            RecoveryCode(device=self, digest=self._digest(code)) for code in codes
        )
        return codes

    def verify_token(self, token: str) -> bool:
        allowed: bool
        allowed, _data = self.verify_is_allowed()
        if not allowed:
            return False
        # One conditional DELETE whose row count decides: of two requests racing with the same
        # code, PostgreSQL lets one delete the row and gives the other 0 rows (it waits on the
        # row lock, then finds the row gone). A read followed by a delete let both pass.
        used, _detail = RecoveryCode.objects.filter(
            device=self, digest=self._digest(token)
        ).delete()
        if not used:
            self.throttle_increment(commit=True)
            return False
        self.throttle_reset(commit=True)
        return True

    def remaining(self) -> int:
        return RecoveryCode.objects.filter(device=self).count()


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64, db_index=True)

    def __str__(self) -> str:
        return f"recovery code {self.pk}"


def invitation_digest(token: str) -> str:
    """SHA-256 of an invitation token. The token is 32 random bytes, so an unkeyed hash is
    enough: nobody can find a token from its digest, and a copy of the table invites nobody."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


class Invitation(models.Model):
    """A one-time link by which the invited person sets their own password and second factor;
    the role is applied once both are done (whistle/accounts/invitations.py).

    Only the SHA-256 of the token is stored. Single use is enforced by one conditional UPDATE
    whose row count decides (as ``RecoveryCodeDevice.verify_token`` does). Like ``Membership``
    and ``TenantAdmin`` this is an account table, not tenant content: it holds no report data
    and is read by a person not yet logged in, so it has no row-level-security kind; every
    staff-side lookup filters by tenant/office in the query.
    """

    class Role(models.TextChoices):
        OPERATOR = "operator", _("Operator")
        TENANT_ADMIN = "tenant_admin", _("Administrator of the organisation")
        LEAD = "lead", _("Office lead")
        HANDLER = "handler", _("Handler")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(_("e-mail address"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    tenant = models.ForeignKey(
        "tenants.Tenant",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="invitations",
    )
    office = models.ForeignKey(
        "tenants.Office",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="invitations",
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations_sent",
    )
    token_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.CheckConstraint(
                name="invitation_role_scope",
                condition=(
                    models.Q(role="operator", tenant__isnull=True, office__isnull=True)
                    | models.Q(role="tenant_admin", tenant__isnull=False, office__isnull=True)
                    | models.Q(role__in=["lead", "handler"], office__isnull=False)
                ),
            )
        ]
        indexes = [models.Index(fields=["expires_at"], name="invitation_expiry")]

    def __str__(self) -> str:
        return f"invitation {self.pk} ({self.role})"

    def is_pending(self, now: datetime | None = None) -> bool:
        return self.used_at is None and (now or timezone.now()) < self.expires_at
