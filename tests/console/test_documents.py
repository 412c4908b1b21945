"""Poster, card and intranet snippet (issue 13 point 8); compliance pack (point 9).

PDFs are checked as a reader would see them: pages rendered to images with pypdfium2 and the
QR code decoded with zxing-cpp; text extracted with pypdfium2.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pypdfium2  # type: ignore[import-untyped]
import pytest
import zxingcpp

from tests.fixtures import World, staff_client
from whistle.tenants.models import TenantHostname


def pdf_pages(content: bytes) -> list[pypdfium2.PdfPage]:
    document = pypdfium2.PdfDocument(io.BytesIO(content))
    return [document[i] for i in range(len(document))]


def pdf_text(content: bytes) -> str:
    return "\n".join(page.get_textpage().get_text_range() for page in pdf_pages(content))


def qr_codes(page: Any) -> list[str]:
    image = page.render(scale=3).to_pil()
    return [
        result.text
        for result in zxingcpp.read_barcodes(image)
        if result.format == zxingcpp.BarcodeFormat.QRCode
    ]


def download(client: Any, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    return bytes(response.content)


@pytest.mark.parametrize("kind", ["poster", "card"])
def test_the_qr_code_decodes_to_the_tenants_address(
    world_a: World, settings: Any, kind: str
) -> None:
    settings.WHISTLE_BASE_URL = "https://meldung.example.org"
    client = staff_client(world_a.admin)
    base = f"/staff/tenants/{world_a.tenant.public_id}/poster/"
    content = download(client, f"{base}{kind}.pdf")
    pages = pdf_pages(content)
    # One page per language of the tenant (German and English).
    assert len(pages) == len(world_a.tenant.languages) == 2
    for page in pages:
        assert qr_codes(page) == ["https://meldung.example.org/t/alpha/"]
    text = pdf_text(content)
    assert "Alphastadt" in text
    assert "https://meldung.example.org/t/alpha/" in text.replace("\r", "").replace("\n", "")
    assert "anonym" in text  # German and English pages
    assert "receipt code" in text and "Zugangscode" in text


def test_own_host_name_and_onion_address_are_used(world_a: World, settings: Any) -> None:
    settings.WHISTLE_ONION_ADDRESS = "exampleexampleexampleexampleexampleexampleexample.onion"
    TenantHostname.objects.create(tenant=world_a.tenant, hostname="hinweise.alphastadt.example")
    world_a.tenant.languages = ["de"]
    world_a.tenant.save()
    client = staff_client(world_a.admin)
    content = download(client, f"/staff/tenants/{world_a.tenant.public_id}/poster/poster.pdf")
    pages = pdf_pages(content)
    assert len(pages) == 1
    assert qr_codes(pages[0]) == ["https://hinweise.alphastadt.example/"]
    text = pdf_text(content).replace("\r", "").replace("\n", "")
    assert "exampleexampleexampleexampleexampleexampleexample.onion/t/alpha/" in text


def test_intranet_snippet_is_escaped_and_self_contained(world_a: World) -> None:
    world_a.tenant.name = 'Alpha <script>alert("x")</script> & Co'
    world_a.tenant.save()
    page = staff_client(world_a.admin).get(f"/staff/tenants/{world_a.tenant.public_id}/poster/")
    assert page.status_code == 200
    body = page.content.decode()
    textarea = re.search(r'<textarea id="snippet"[^>]*>(.*?)</textarea>', body, re.S)
    assert textarea is not None
    import html

    snippet = html.unescape(textarea.group(1))
    # The tenant's name is escaped inside the snippet, and the snippet is escaped in the page.
    assert "<script" not in snippet
    assert "Alpha &lt;script&gt;" in snippet
    assert "<script" not in textarea.group(1)
    # No external resources: the only URL is the reporting address, as a link.
    assert re.findall(r'(?:src|href)="([^"]*)"', snippet) == [
        "http://127.0.0.1:8000/t/alpha/"
    ] * len(world_a.tenant.languages)
    assert "<img" not in snippet and "<link" not in snippet and "@import" not in snippet


@pytest.mark.parametrize("path", ["poster/", "poster/poster.pdf", "poster/card.pdf"])
def test_poster_pages_are_for_the_tenants_admins_only(
    worlds: tuple[World, World], path: str
) -> None:
    a, b = worlds
    for user in (a.handler, b.admin):
        client = staff_client(user)
        assert client.get(f"/staff/tenants/{a.tenant.public_id}/{path}").status_code == 404


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("language", "retention", "scope", "external"),
    [
        ("de", "5 Jahre nach ihrem Abschluss", "nach 2 Jahren", "externe Meldestelle"),
        ("en", "5 years after they were closed", "after 2 years", "external reporting office"),
    ],
)
def test_compliance_pack_names_tenant_retention_and_offices(
    worlds: tuple[World, World],
    settings: Any,
    language: str,
    retention: str,
    scope: str,
    external: str,
) -> None:
    from whistle.tenants.services import office_create

    a, b = worlds
    settings.SUBPROCESSORS = ["Rechenzentrum Beispiel GmbH, Nürnberg: hosting"]
    settings.OPERATOR_NAME = "Whistle Betrieb GmbH"
    a.tenant.retention_years = 5
    a.tenant.retention_years_out_of_scope = 2
    a.tenant.save()
    # An external office run by tenant B that serves A as well (HinSchG § 14).
    shared = office_create(owner=b.tenant, name="Ombudsstelle Kanzlei Recht")
    shared.is_external = True
    shared.save()
    shared.tenants.add(a.tenant)

    client = staff_client(a.admin)
    base = f"/staff/tenants/{a.tenant.public_id}/compliance/"
    assert client.get(base).status_code == 200
    content = download(client, f"{base}pack.pdf?language={language}")
    assert content.startswith(b"%PDF")
    text = flat(pdf_text(content))
    html_response = client.get(f"{base}pack.html?language={language}")
    assert html_response.status_code == 200
    assert html_response["Content-Disposition"].startswith("attachment;")
    for document in (text, flat(html_response.content.decode())):
        assert "Alphastadt" in document
        assert retention in document
        assert scope in document
        assert "Meldestelle Alphastadt" in document
        assert "Ombudsstelle Kanzlei Recht" in document
        assert external in document
        assert "Betadorf" in document  # who runs the shared office
        assert "Rechenzentrum Beispiel GmbH" in document
        assert "Whistle Betrieb GmbH" in document
        assert "Art. 30" in document and "Art. 35" in document and "Art. 28" in document
        # Nothing of another tenant's own offices.
        assert "Meldestelle Betadorf" not in document


@pytest.mark.parametrize(
    "path", ["compliance/", "compliance/pack.pdf?language=de", "compliance/pack.html"]
)
def test_compliance_pack_is_for_the_tenants_admins_only(
    worlds: tuple[World, World], path: str
) -> None:
    a, b = worlds
    for user in (a.handler, b.admin):
        client = staff_client(user)
        assert client.get(f"/staff/tenants/{a.tenant.public_id}/{path}").status_code == 404
