"""Known-device cookies: the owner's own browser keeps logging in while others are throttled.

The per-account password throttle stops guessing, but on its own it lets anyone who knows a
handler's e-mail address keep them locked out. After a full login (password and second
factor) the browser receives a cookie that names the account and carries a random token,
signed with Django's signer (``SECRET_KEY``, with ``SECRET_KEY_FALLBACKS`` honoured): HttpOnly,
Secure, SameSite=Strict, limited to ``/staff/``, valid ``STAFF_DEVICE_DAYS`` days and replaced
at every full login. A password attempt from a browser whose cookie names the account being
logged in to skips the account's throttle; wrong passwords from that browser count against
the cookie's own small budget instead, after which it is an unknown browser again.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from whistle.accounts.models import KnownDevice, User

logger = logging.getLogger("whistle.accounts")

_SALT = "whistle.accounts.known-device"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _max_age() -> timedelta:
    return timedelta(days=settings.STAFF_DEVICE_DAYS)


def _presented(request: HttpRequest) -> tuple[str, str] | None:
    """(account public id, token) from a cookie with a valid signature, else None."""
    raw = request.COOKIES.get(settings.LOGIN_DEVICE_COOKIE_NAME)
    if not raw or len(raw) > 500:
        return None
    try:
        data = signing.loads(raw, salt=_SALT, max_age=_max_age())
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    owner, token = data.get("u"), data.get("t")
    if not isinstance(owner, str) or not isinstance(token, str):
        return None
    return owner, token


def device_for_login(request: HttpRequest, email: str) -> KnownDevice | None:
    """The known device this browser proves for the account of ``email``, if any.

    None for no cookie, a forged or expired one, one of another account, or one whose budget
    of wrong passwords is spent: the browser is then unknown and the account's throttle holds.
    """
    presented = _presented(request)
    if presented is None:
        return None
    owner, token = presented
    device = (
        KnownDevice.objects.select_related("user")
        .filter(
            token_digest=_digest(token),
            user__public_id=owner,
            user__email__iexact=email.strip(),
            created_at__gt=timezone.now() - _max_age(),
            failures__lt=settings.LOGIN_DEVICE_FAILURES,
        )
        .first()
    )
    return device


def device_attempt(device: KnownDevice) -> None:
    """Count a password attempt against the device before it is checked (parallel ones too)."""
    KnownDevice.objects.filter(pk=device.pk).update(failures=F("failures") + 1)
    if device.failures + 1 >= settings.LOGIN_DEVICE_FAILURES:
        logger.warning(
            "a known-device cookie of user %s used up its wrong-password budget; "
            "it is treated as an unknown browser now",
            device.user.public_id,
        )


def device_forgive(device: KnownDevice) -> None:
    """Take back an attempt that was counted but never checked (the server was busy)."""
    KnownDevice.objects.filter(pk=device.pk, failures__gt=0).update(failures=F("failures") - 1)


def device_succeeded(device: KnownDevice) -> None:
    KnownDevice.objects.filter(pk=device.pk).update(failures=0)


def device_remember(request: HttpRequest, response: HttpResponse, user: User) -> None:
    """After a full login: a fresh device cookie for this browser (the old one is replaced)."""
    presented = _presented(request)
    if presented is not None:
        KnownDevice.objects.filter(user=user, token_digest=_digest(presented[1])).delete()
    token = secrets.token_urlsafe(32)
    KnownDevice.objects.create(user=user, token_digest=_digest(token))
    stale = KnownDevice.objects.filter(user=user).order_by("-created_at", "-pk")[
        settings.LOGIN_DEVICES_PER_USER :
    ]
    KnownDevice.objects.filter(pk__in=list(stale.values_list("pk", flat=True))).delete()
    response.set_cookie(
        settings.LOGIN_DEVICE_COOKIE_NAME,
        signing.dumps({"u": str(user.public_id), "t": token}, salt=_SALT),
        max_age=int(_max_age().total_seconds()),
        path="/staff/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )


def devices_forget(*, user: User) -> int:
    """Every browser of the account must log in in full again (password changed or reset)."""
    deleted, _detail = KnownDevice.objects.filter(user=user).delete()
    return deleted
