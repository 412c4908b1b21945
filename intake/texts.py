"""A tenant's configurable reporter-facing texts: the landing page's introduction and the
privacy notice, generated from the tenant's settings unless the tenant edited it."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import translation

from whistle.tenants.models import Tenant


def privacy_generated(tenant: Tenant, language: str) -> str:
    """The privacy notice as generated from the tenant's settings, as plain text (paragraphs
    separated by blank lines), in ``language``."""
    with translation.override(language):
        text = render_to_string(
            "intake/privacy_notice.txt",
            {"tenant": tenant, "channels": tenant.external_channel_list()},
        )
    # Blank lines in the template separate paragraphs; collapse the template's own spacing.
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)


def privacy_notice(tenant: Tenant, language: str) -> str:
    """What reporters read: the tenant's edited notice if there is one, else the generated."""
    return tenant.text("privacy", language) or privacy_generated(tenant, language)


def privacy_edited(tenant: Tenant, language: str) -> bool:
    return bool(tenant.text("privacy", language))
