"""The compliance pack (DP-1, issue 13 point 9): documents a tenant's data-protection officer
needs for the reporting channel, generated from the tenant's settings and from what Whistle
actually does (docs/crypto.md, docs/security.md, docs/operations.md):

- the record-of-processing entry (GDPR Art. 30),
- the technical and organisational measures (Art. 32),
- a data-protection impact assessment template pre-filled with the channel's risks (Art. 35),
- the annex data for the data-processing agreement with the operator (Art. 28).

One HTML document per language: downloaded as is (editable in any word processor) or as PDF.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from casework.export import html_to_pdf
from console.addresses import onion_address, reporting_address
from whistle.tenants.models import Office, Tenant


@dataclass(frozen=True)
class OfficeEntry:
    name: str
    external: bool
    run_by: str  # the owning tenant's name when another tenant runs it, else ""


def pack_languages() -> list[str]:
    """German and English (the pack is for the controller, not for reporters)."""
    return [code for code, _name in settings.LANGUAGES]


def _offices(tenant: Tenant) -> list[OfficeEntry]:
    offices = Office.objects.serving(tenant).select_related("owner").order_by("name")
    return [
        OfficeEntry(
            name=o.name,
            external=o.is_external,
            run_by=o.owner.name if o.owner_id != tenant.pk else "",
        )
        for o in offices
    ]


def compliance_html(tenant: Tenant, language: str) -> str:
    """The whole pack as one self-contained HTML document in ``language``."""
    context = {
        "tenant": tenant,
        "offices": _offices(tenant),
        "address": reporting_address(tenant),
        "onion": onion_address(tenant),
        "hostnames": list(tenant.hostnames.order_by("hostname").values_list("hostname", flat=True)),
        "retention_years": tenant.retention_years,
        "retention_out_of_scope": tenant.retention_years_out_of_scope,
        "feedback_days": settings.ACCESSIBILITY_FEEDBACK_DAYS,
        "staff_idle_minutes": settings.STAFF_IDLE_TIMEOUT // 60,
        "staff_absolute_hours": settings.STAFF_ABSOLUTE_TIMEOUT // 3600,
        "reporter_idle_minutes": settings.REPORTER_IDLE_TIMEOUT // 60,
        "operator_name": settings.OPERATOR_NAME,
        "operator_address": settings.OPERATOR_ADDRESS,
        "operator_contact": settings.OPERATOR_PRIVACY_CONTACT,
        "subprocessors": settings.SUBPROCESSORS,
        "generated_on": timezone.localdate(),
        "language": language,
    }
    with translation.override(language):
        return render_to_string("console/compliance/pack.html", context)


def compliance_pdf(tenant: Tenant, language: str) -> bytes:
    return html_to_pdf(compliance_html(tenant, language))
