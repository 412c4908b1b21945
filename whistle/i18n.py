"""The reporter's language choice, kept like Django's ``set_language`` keeps it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.utils import translation


def remember_language(response: HttpResponse, code: str, *, allowed: list[str]) -> None:
    """Set the language cookie to ``code`` if it is one of ``allowed`` (the tenant's): the same
    cookie, with the same settings, as ``django.views.i18n.set_language`` writes."""
    if code not in allowed or not translation.check_for_language(code):
        return
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type]  # a setting
    )
