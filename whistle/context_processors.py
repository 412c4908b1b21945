from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def whistle(request: HttpRequest) -> dict[str, Any]:
    tenant = getattr(request, "tenant", None)
    languages = settings.LANGUAGES
    if tenant is not None:
        languages = [(code, name) for code, name in settings.LANGUAGES if code in tenant.languages]
    return {
        "tenant": tenant,
        "switch_languages": languages,
        "onion_address": settings.WHISTLE_ONION_ADDRESS,
    }
