"""Staff authentication use cases: password step with throttling, second-factor step."""

from __future__ import annotations

import logging
from datetime import datetime

from django.contrib.auth import login
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

import crypto
from whistle.accounts.devices import (
    device_attempt,
    device_for_login,
    device_forgive,
    device_succeeded,
    devices_forget,
)
from whistle.accounts.models import LoginThrottle, RecoveryCodeDevice, User, throttle_key
from whistle.db import db_release
from whistle.keys.services import VAULT_HANDLER_PRIVATE, handler_key_rewrap, handler_key_unlock
from whistle.vault import get_vault

logger = logging.getLogger("whistle.accounts")


def staff_check_password(*, request: HttpRequest, email: str, password: str) -> User | None:
    """The user if ``email``/``password`` are right and this browser may try them now.

    A browser with the account's known-device cookie (devices.py) is not subject to the
    account's throttle, so attempts by others never lock the owner out. Any other browser is:
    after ``LOGIN_THROTTLE_FREE_ATTEMPTS`` failures each further attempt must wait longer.

    Every attempt takes the same path, locked or not, account or no account: the password
    hash (or a dummy one of the same cost) is computed, then the answer is decided. A refusal
    under the lock therefore looks and takes as long as a wrong password, and the person at
    the keyboard learns nothing about which part was wrong, whether the account exists or
    whether it is throttled. Attempts are counted before the check, so parallel ones all
    count; a success forgives its own.

    Raises:
        crypto.BusyError: no Argon2 slot became free in time (the attempt is given back).
    """
    device = device_for_login(request, email)
    locked, before = False, None
    if device is not None:
        device_attempt(device)
    else:
        locked, before = _throttle_attempt(email)
    user = User.objects.filter(email__iexact=email.strip()).first()
    try:
        correct = _password_check(user, password)
    except crypto.BusyError:
        # No password was tried: a busy server must not spend anybody's budget.
        if device is not None:
            device_forgive(device)
        elif not locked:
            _throttle_forgive(email, before)
        raise
    if device is not None:
        if correct:
            device_succeeded(device)
        return user if correct else None
    if locked or not correct:
        return None
    LoginThrottle.objects.filter(key=throttle_key(email)).delete()
    return user


def _throttle_attempt(email: str) -> tuple[bool, datetime | None]:
    """Count an attempt against the identifier.

    Returns whether it is locked (the attempt is then not counted) and the lock's end before
    this attempt, to put back if the attempt never runs.
    """
    now = timezone.now()
    with transaction.atomic():
        throttle, _created = LoginThrottle.objects.select_for_update().get_or_create(
            key=throttle_key(email)
        )
        before = throttle.locked_until
        locked = throttle.is_locked(now)
        if locked:
            throttle.last_failure = now  # keeps the row while the attack goes on
        else:
            throttle.record_failure(now)
        throttle.save()
    if throttle.is_locked(now) and not locked:
        logger.info("login throttle engaged after %s failed attempts", throttle.failures)
    return locked, before


def _throttle_forgive(email: str, locked_until: datetime | None) -> None:
    with transaction.atomic():
        throttle = LoginThrottle.objects.select_for_update().filter(key=throttle_key(email)).first()
        if throttle is not None:
            throttle.failures = max(throttle.failures - 1, 0)
            throttle.locked_until = locked_until
            throttle.save(update_fields=["failures", "locked_until"])


def _password_check(user: User | None, password: str) -> bool:
    """Check the password with Argon2, holding no database connection meanwhile.

    For an unknown address a dummy hash of the same cost runs instead, as Django's
    ModelBackend does, so the answer time does not tell that the account does not exist.
    (ModelBackend itself is not used: it would query and hash in one call, holding a pooled
    connection during the hash.)
    """
    encoded = user.password if user is not None else None
    upgrade: list[str] = []
    db_release()
    if encoded is None:
        crypto.run_in_slot(make_password, password)
        return False
    correct = crypto.run_in_slot(check_password, password, encoded, upgrade.append)
    if user is None or not correct or not user.is_active:
        return False
    if upgrade:  # the stored hash has older parameters: store it again with today's
        crypto.run_in_slot(user.set_password, password)
        user.save(update_fields=["password"])
    return True


def staff_login(*, request: HttpRequest, user: User, password: str) -> None:
    """Log in after the password step and unlock the handler key into the session vault.

    The second factor is still to come; ``staff_required`` keeps every staff page closed until
    it is verified.
    """
    private = handler_key_unlock(user=user, password=password)  # may raise crypto.BusyError
    login(request, user)  # rotates the session key
    vault = get_vault(request)
    vault.rotate()
    vault.put(VAULT_HANDLER_PRIVATE, private)


def staff_change_password(*, user: User, old_password: str, new_password: str) -> None:
    """Change the password and re-wrap the handler key with it, in one transaction.

    Every other session of the account ends, because Django ties sessions to the password hash.
    """
    with transaction.atomic():
        handler_key_rewrap(user=user, old_password=old_password, new_password=new_password)
        user.set_password(new_password)
        user.save(update_fields=["password"])
        devices_forget(user=user)


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


def staff_password_matches(*, user: User, password: str) -> bool:
    """Whether ``password`` is the user's, checked without holding a database connection.

    Raises:
        crypto.BusyError: no Argon2 slot became free in time.
    """
    encoded = user.password
    db_release()  # the hash is Argon2: no pooled connection may wait for it (DESIGN §3)
    return crypto.run_in_slot(check_password, password, encoded)


def staff_new_recovery_codes(*, user: User, password: str) -> list[str] | None:
    """New recovery codes (the old ones stop working), only with the account's password.

    A session left open on an unattended computer must not be enough to mint codes that pass
    the second factor later. Returns None when the password is wrong; nothing changes then.

    Raises:
        crypto.BusyError: no Argon2 slot became free in time.
    """
    if not staff_password_matches(user=user, password=password):
        return None
    with transaction.atomic():
        recovery, _created = RecoveryCodeDevice.objects.get_or_create(
            user=user, defaults={"name": "Recovery codes", "confirmed": True}
        )
        codes: list[str] = recovery.generate_codes()
    return codes


def staff_set_notices(*, user: User, new_report_notices: str) -> None:
    """How the member hears of new reports: at once or in a daily digest (casework.notices).
    Applies to reports that arrive from now on."""
    if new_report_notices not in User.NewReportNotices.values:
        raise ValueError("unknown choice")
    user.new_report_notices = new_report_notices
    user.save(update_fields=["new_report_notices"])
