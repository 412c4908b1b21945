"""System checks for settings Django's own checks cannot see through."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register("security", deploy=True)
def csrf_middleware_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Django's security.W003 looks for its own CSRF middleware by name; ours subclasses it
    (whistle.csrf) and is silenced there, so check here that it is really installed."""
    if "whistle.csrf.WhistleCsrfViewMiddleware" in settings.MIDDLEWARE:
        return []
    return [
        Error(
            "CSRF protection is missing: whistle.csrf.WhistleCsrfViewMiddleware is not in "
            "MIDDLEWARE.",
            id="whistle.E001",
        )
    ]
