"""Poster, card and intranet snippet: how employees find the reporting channel (issue 13 point 8).

Each is generated in every language the tenant offers, with the reporting address (the
tenant's own host name, else ``/t/<slug>/`` on the public address: :mod:`console.addresses`),
the onion address where the operator runs one, a QR code of the reporting address (segno, SVG
inline: nothing is fetched), and the three things a reporter must know. PDFs are rendered by
weasyprint through the case export's fetch-nothing path (``casework.export.html_to_pdf``).
"""

from __future__ import annotations

from dataclasses import dataclass

import segno
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from casework.export import html_to_pdf
from console.addresses import onion_address, reporting_address
from whistle.tenants.models import Tenant


@dataclass(frozen=True)
class PosterPage:
    """One language's text of a poster or card."""

    language: str
    html: str


def qr_svg(address: str, *, title: str) -> SafeString:
    """The address as a QR code, an inline SVG (error correction M, a quiet zone of 4)."""
    svg = segno.make(address, error="m").svg_inline(scale=4, title=title, border=4)
    return mark_safe(svg)  # noqa: S308 (segno's own output; the title is escaped by segno)


def _languages(tenant: Tenant) -> list[str]:
    known = {code for code, _name in settings.LANGUAGES}
    return [str(code) for code in tenant.languages if code in known] or [settings.LANGUAGE_CODE]


def _context(tenant: Tenant) -> dict[str, object]:
    address = reporting_address(tenant)
    return {
        "tenant": tenant,
        "address": address,
        "onion": onion_address(tenant),
        "qr": qr_svg(address, title=_("QR code of the reporting address")),
    }


def _pages(tenant: Tenant, template: str) -> str:
    """One page per tenant language, in one HTML document."""
    pages = []
    for language in _languages(tenant):
        with translation.override(language):
            pages.append(
                render_to_string(template, {**_context(tenant), "language": language}).strip()
            )
    with translation.override(_languages(tenant)[0]):
        return render_to_string(
            "console/print/document.html",
            {"pages": [mark_safe(p) for p in pages], "tenant": tenant},  # noqa: S308 (rendered templates)
        )


def poster_html(tenant: Tenant) -> str:
    return _pages(tenant, "console/print/poster_page.html")


def card_html(tenant: Tenant) -> str:
    return _pages(tenant, "console/print/card_page.html")


def poster_pdf(tenant: Tenant) -> bytes:
    """The A4 poster, one page per language."""
    return html_to_pdf(poster_html(tenant))


def card_pdf(tenant: Tenant) -> bytes:
    """A small card (A7, 105 by 74 mm), one per language."""
    return html_to_pdf(card_html(tenant))


def intranet_snippet(tenant: Tenant) -> str:
    """HTML for the tenant's intranet: inline styles only, no scripts, no external resources
    (the QR code is inline SVG), every value escaped by the template."""
    blocks = []
    for language in _languages(tenant):
        with translation.override(language):
            blocks.append(
                render_to_string(
                    "console/print/snippet.html", {**_context(tenant), "language": language}
                ).strip()
            )
    return "\n".join(blocks) + "\n"
