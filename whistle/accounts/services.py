"""Staff authentication use cases: password step with throttling, second-factor step."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from whistle.accounts.models import LoginThrottle, RecoveryCodeDevice, User, throttle_key


def staff_check_password(*, request: HttpRequest, email: str, password: str) -> User | None:
    """The user if ``email``/``password`` are right and the identifier is not throttled.

    A throttled identifier fails like a wrong password, without checking it: the person at the
    keyboard learns nothing about which part was wrong or whether the account exists.
    """
    now = timezone.now()
    with transaction.atomic():
        throttle, _created = LoginThrottle.objects.select_for_update().get_or_create(
            key=throttle_key(email)
        )
        if throttle.is_locked(now):
            return None
        user = authenticate(request, username=email, password=password)
        if not isinstance(user, User):
            throttle.record_failure(now)
            throttle.save()
            return None
        throttle.delete()
        return user


def confirmed_totp(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def totp_enrolment_device(user: User) -> TOTPDevice:
    """The unconfirmed TOTP device being enrolled (created on first call)."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def staff_confirm_enrolment(
    *, request: HttpRequest, user: User, device: TOTPDevice, code: str
) -> list[str] | None:
    """Confirm the enrolled TOTP device with a first code; returns new recovery codes."""
    if not device.verify_token(code.strip().replace(" ", "")):
        return None
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        recovery, _created = RecoveryCodeDevice.objects.get_or_create(
            user=user, defaults={"name": "Recovery codes", "confirmed": True}
        )
        codes: list[str] = recovery.generate_codes()
    otp_login(request, device)
    return codes


def staff_verify_second_factor(*, request: HttpRequest, user: User, code: str) -> bool:
    """Check a TOTP code or a recovery code and mark the session verified."""
    cleaned = code.strip().replace(" ", "")
    if not cleaned:
        return False
    totp = confirmed_totp(user)
    if totp is not None and cleaned.isdigit() and totp.verify_token(cleaned):
        otp_login(request, totp)
        return True
    recovery = RecoveryCodeDevice.objects.filter(user=user, confirmed=True).first()
    if recovery is not None and not cleaned.isdigit() and recovery.verify_token(cleaned):
        otp_login(request, recovery)
        return True
    return False


def staff_new_recovery_codes(*, user: User) -> list[str]:
    recovery, _created = RecoveryCodeDevice.objects.get_or_create(
        user=user, defaults={"name": "Recovery codes", "confirmed": True}
    )
    codes: list[str] = recovery.generate_codes()
    return codes
