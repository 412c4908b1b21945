"""Tenant settings: tenant admins only (others 404), every change audited by the setting's name
and never its value, bad input kept with a clear message, and the reporter pages follow."""

from __future__ import annotations

import io
from typing import Any

import dns.resolver
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from casework.models import AuditEvent
from console import branding
from intake.texts import privacy_generated
from tests.casework.helpers import case_url, filed_case
from tests.fixtures import World, make_staff
from tests.fixtures import staff_client as _staff_client
from whistle.accounts.models import User
from whistle.tenants.models import Tenant, TenantHostname


def staff_client(user: User) -> Client:
    """A fully logged-in client reading the pages in English (the messages tested here)."""
    client = _staff_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def url(world: World) -> str:
    return f"/staff/tenants/{world.tenant.public_id}/settings/"


def reporting(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "section": "reporting",
        "reporter_groups": ["staff", "applicants"],
        "retention_years": 3,
        "retention_years_out_of_scope": "",
        "max_file_mb": 100,
        "max_case_mb": 500,
    }
    data.update(changes)
    return data


def audited(tenant: Tenant, verb: str = "tenant.settings_changed") -> list[str]:
    return list(
        AuditEvent.objects.filter(tenant=tenant, verb=verb)
        .order_by("sequence")
        .values_list("object_id", flat=True)
    )


@pytest.mark.django_db
def test_only_the_tenants_admins_reach_the_settings(worlds: tuple[World, World]) -> None:
    a, b = worlds
    assert staff_client(a.admin).get(url(a)).status_code == 200
    # Another tenant's admin, a handler of the tenant itself, and the operator: 404.
    operator = make_staff("operator@whistle.example")
    operator.is_staff = True
    operator.save()
    for user in (b.admin, a.handler, operator):
        client = staff_client(user)
        assert client.get(url(a)).status_code == 404
        assert client.post(url(a), reporting(retention_years=5)).status_code == 404
    a.tenant.refresh_from_db()
    assert a.tenant.retention_years == 3
    # Without a full login: to the login page.
    response = Client().get(url(a))
    assert response.status_code == 302 and "/staff/login/" in response["Location"]


@pytest.mark.django_db
def test_retention_within_bounds_is_audited_and_shown_to_reporters(
    world_a: World, settings: Any
) -> None:
    settings.RETENTION_MIN_YEARS, settings.RETENTION_MAX_YEARS = 3, 10
    client = staff_client(world_a.admin)
    response = client.post(url(world_a), reporting(retention_years=11, max_file_mb=7))
    assert response.status_code == 400
    body = response.content.decode()
    assert "Enter a number from 3 to 10." in body
    assert 'value="7"' in body  # what was typed is kept
    assert client.post(url(world_a), reporting(retention_years=5)).status_code == 302
    world_a.tenant.refresh_from_db()
    assert world_a.tenant.retention_years == 5
    assert world_a.tenant.reporter_groups == ["staff", "applicants"]
    assert audited(world_a.tenant) == ["reporter_groups", "retention_years"]
    landing = Client(HTTP_ACCEPT_LANGUAGE="en").get("/t/alpha/").content.decode()
    assert "deleted 5 years after the case is closed" in landing
    assert "three years" not in landing
    assert "<li>applicants</li>" in landing and "<li>former staff</li>" not in landing


@pytest.mark.django_db
def test_file_limits_within_the_operators_bounds(world_a: World, settings: Any) -> None:
    settings.WHISTLE_MAX_FILE_MB, settings.TENANT_MAX_CASE_MB = 50, 200
    client = staff_client(world_a.admin)
    body = client.post(url(world_a), reporting(max_file_mb=60, max_case_mb=300)).content.decode()
    assert "Enter a number from 1 to 50." in body and "Enter a number from 1 to 200." in body
    body = client.post(url(world_a), reporting(max_file_mb=40, max_case_mb=30)).content.decode()
    assert "must allow at least the largest file" in body
    assert client.post(url(world_a), reporting(max_file_mb=40, max_case_mb=200)).status_code == 302
    world_a.tenant.refresh_from_db()
    assert (world_a.tenant.max_file_mb, world_a.tenant.max_case_mb) == (40, 200)


@pytest.mark.django_db
def test_case_page_shows_the_tenants_retention_period(world_a: World) -> None:
    lead, case, _receipt = filed_case(world_a)
    lead.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    Tenant.objects.filter(pk=world_a.tenant.pk).update(retention_years=7)
    body = lead.get(case_url(world_a, case)).content.decode()
    assert "Alphastadt keeps closed cases for 7 years after closure." in body


@pytest.mark.django_db
def test_texts_per_language_privacy_edit_and_regenerate(world_a: World) -> None:
    client = staff_client(world_a.admin)
    tenant = world_a.tenant
    generated_de = privacy_generated(tenant, "de")
    data = {
        "section": "texts",
        "intro_de": "Willkommen bei der Meldestelle der Alphastadt.",
        "intro_en": "",
        "privacy_de": generated_de,
        "privacy_en": privacy_generated(tenant, "en"),
    }
    # Both languages are enabled: one own introduction needs the other.
    response = client.post(url(world_a), data)
    assert response.status_code == 400
    assert "Every enabled language needs its introduction" in response.content.decode()
    assert "Willkommen bei der Meldestelle der Alphastadt." in response.content.decode()
    data["intro_en"] = "Welcome to the reporting office of Alphastadt."
    data["privacy_de"] = generated_de + "\n\nErgänzung: Frau Muster, Tel. 0123 456."
    assert client.post(url(world_a), data).status_code == 302
    tenant.refresh_from_db()
    assert "privacy" not in tenant.texts["en"]  # unchanged: still generated
    assert audited(tenant) == ["texts.de.intro", "texts.de.privacy", "texts.en.intro"]
    # The audit trail names the setting, never its content.
    for event in AuditEvent.objects.filter(tenant=tenant).values():
        assert "Muster" not in str(event) and "Willkommen" not in str(event)
    landing = Client(HTTP_ACCEPT_LANGUAGE="de").get("/t/alpha/").content.decode()
    assert "Willkommen bei der Meldestelle der Alphastadt." in landing
    assert "Frau Muster" in landing
    # Regenerate: the edited notice goes, the generated one is shown again.
    data["regenerate"] = "de"
    assert client.post(url(world_a), data).status_code == 302
    tenant.refresh_from_db()
    assert "privacy" not in tenant.texts["de"]
    assert "Frau Muster" not in Client(HTTP_ACCEPT_LANGUAGE="de").get("/t/alpha/").content.decode()


@pytest.mark.django_db
def test_privacy_notice_follows_controller_and_external_channels(world_a: World) -> None:
    client = staff_client(world_a.admin)
    response = client.post(
        url(world_a),
        {
            "section": "privacy",
            "controller_name": "",
            "controller_address": "Rathausplatz 1, 12345 Alphastadt",
            "privacy_contact": "datenschutz@alphastadt.example",
            "external_channels": ["bfj"],
            "own_channels": "Externe Meldestelle des Landes | ftp://nope",
        },
    )
    assert response.status_code == 400
    assert "is not a web address" in response.content.decode()
    assert "Rathausplatz 1" in response.content.decode()
    response = client.post(
        url(world_a),
        {
            "section": "privacy",
            "controller_name": "",
            "controller_address": "Rathausplatz 1, 12345 Alphastadt",
            "privacy_contact": "datenschutz@alphastadt.example",
            "external_channels": ["bfj"],
            "own_channels": "Externe Meldestelle des Landes | https://meldestelle.land.example",
        },
    )
    assert response.status_code == 302
    landing = Client(HTTP_ACCEPT_LANGUAGE="en").get("/t/alpha/").content.decode()
    assert "Rathausplatz 1, 12345 Alphastadt" in landing
    assert "datenschutz@alphastadt.example" in landing
    assert "https://meldestelle.land.example" in landing
    assert "Federal Office of Justice" in landing
    assert "Bundeskartellamt" not in landing
    assert set(audited(world_a.tenant)) == {
        "controller_address",
        "privacy_contact",
        "external_channels",
        "own_channels",
    }


def organisation(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "section": "organisation",
        "name": "Alphastadt",
        "languages": ["de", "en"],
        "accent_colour": "",
    }
    data.update(changes)
    return data


@pytest.mark.django_db
def test_languages_at_least_one(world_a: World) -> None:
    client = staff_client(world_a.admin)
    response = client.post(url(world_a), organisation(languages=[]))
    assert response.status_code == 400
    assert client.post(url(world_a), organisation(languages=["en"])).status_code == 302
    world_a.tenant.refresh_from_db()
    assert world_a.tenant.languages == ["en"]


@pytest.mark.django_db
def test_accent_colour_contrast_checked(world_a: World) -> None:
    client = staff_client(world_a.admin)
    response = client.post(url(world_a), organisation(accent_colour="#ffcc00"))
    assert response.status_code == 400
    body = response.content.decode()
    assert "too light" in body and "4.5 : 1" in body and 'value="#ffcc00"' in body
    assert client.post(url(world_a), organisation(accent_colour="1A5FB4")).status_code == 302
    world_a.tenant.refresh_from_db()
    assert world_a.tenant.accent_colour == "#1a5fb4"
    assert (
        'href="/t/alpha/brand.css"'
        in Client(HTTP_ACCEPT_LANGUAGE="en").get("/t/alpha/").content.decode()
    )
    css = Client().get("/t/alpha/brand.css")
    assert css["Content-Type"].startswith("text/css")
    assert b"--accent: #1a5fb4" in css.content


def test_contrast_figures_match_wcag() -> None:
    assert branding.contrast_with_white("#000000") == pytest.approx(21.0)
    assert branding.contrast_with_white("#ffffff") == pytest.approx(1.0)
    assert branding.contrast_with_white("#767676") == pytest.approx(4.54, abs=0.01)
    assert branding.accent_problem("#767676") is None
    assert branding.accent_problem("#777777") is not None


def _jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (1200, 300), (10, 80, 160))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x013B] = "Erika Mustermann"  # Artist
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"internal draft")
    return out.getvalue()


@pytest.mark.django_db
def test_logo_is_reencoded_without_metadata(world_a: World) -> None:
    client = staff_client(world_a.admin)
    not_image = SimpleUploadedFile("logo.png", b"%PDF-1.4 not an image", "image/png")
    response = client.post(url(world_a), {**organisation(), "logo": not_image})
    assert response.status_code == 400
    assert "not a PNG, JPEG, WebP or GIF image" in response.content.decode()
    logo = SimpleUploadedFile("logo.jpg", _jpeg_with_exif(), "image/jpeg")
    assert client.post(url(world_a), {**organisation(), "logo": logo}).status_code == 302
    world_a.tenant.refresh_from_db()
    stored = world_a.tenant.logo.read()
    assert b"SecretCam" not in stored and b"Mustermann" not in stored
    assert b"internal draft" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "PNG" and image.size == (800, 200)
        assert not image.getexif() and not image.info.get("comment")
    assert b"".join(Client().get("/t/alpha/logo").streaming_content) == stored  # type: ignore[attr-defined]
    assert audited(world_a.tenant) == ["logo"]
    admin_logo = client.get(f"/staff/tenants/{world_a.tenant.public_id}/admin/logo")
    assert admin_logo.content == stored


class FakeTxt:
    def __init__(self, *strings: bytes) -> None:
        self.strings = strings


@pytest.mark.django_db
def test_hostname_routes_only_after_dns_verification(
    world_a: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    published: dict[str, list[FakeTxt]] = {}

    def resolve(name: str, kind: str, lifetime: float) -> list[FakeTxt]:
        assert kind == "TXT"
        if name not in published:
            raise dns.resolver.NXDOMAIN()  # type: ignore[no-untyped-call]
        return published[name]

    monkeypatch.setattr(dns.resolver, "resolve", resolve)
    client = staff_client(world_a.admin)
    assert (
        client.post(
            url(world_a), {"section": "hostnames", "action": "add", "hostname": "Not a host!"}
        ).status_code
        == 400
    )
    response = client.post(
        url(world_a),
        {"section": "hostnames", "action": "add", "hostname": "meldung.alphastadt.example"},
    )
    assert response.status_code == 302
    host = TenantHostname.objects.get(hostname="meldung.alphastadt.example")
    assert not host.verified
    reporter = Client(HTTP_HOST="meldung.alphastadt.example")
    assert reporter.get("/").status_code == 404  # unverified: does not route
    page = client.get(url(world_a)).content.decode()
    assert host.txt_name in page and host.txt_value in page
    verify = {"section": "hostnames", "action": "verify", "host": host.pk}
    client.post(url(world_a), verify)
    host.refresh_from_db()
    assert not host.verified
    published[host.txt_name] = [FakeTxt(b"v=spf1 -all"), FakeTxt(host.txt_value.encode())]
    client.post(url(world_a), verify)
    host.refresh_from_db()
    assert host.verified
    assert reporter.get("/").status_code == 200
    assert audited(world_a.tenant, "tenant.hostname_added") == [str(host.pk)]
    assert audited(world_a.tenant, "tenant.hostname_verified") == [str(host.pk)]


@pytest.mark.django_db
def test_hostname_of_another_tenant_is_404(worlds: tuple[World, World]) -> None:
    a, b = worlds
    other = TenantHostname.objects.create(tenant=b.tenant, hostname="b.example")
    client = staff_client(a.admin)
    for action in ("verify", "remove"):
        response = client.post(url(a), {"section": "hostnames", "action": action, "host": other.pk})
        assert response.status_code == 404
    assert TenantHostname.objects.filter(pk=other.pk, verified_at__isnull=True).exists()


@pytest.mark.django_db
def test_dns_failure_is_a_clear_message(world_a: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def resolve(name: str, kind: str, lifetime: float) -> None:
        raise dns.resolver.LifetimeTimeout(timeout=lifetime, errors={})  # type: ignore[no-untyped-call]

    monkeypatch.setattr(dns.resolver, "resolve", resolve)
    host = TenantHostname.objects.create(tenant=world_a.tenant, hostname="slow.example")
    client = staff_client(world_a.admin)
    response = client.post(
        url(world_a), {"section": "hostnames", "action": "verify", "host": host.pk}, follow=True
    )
    assert "The DNS lookup did not answer" in response.content.decode()


@pytest.mark.django_db
def test_unpublished_tenant_shows_not_open_yet(world_a: World) -> None:
    Tenant.objects.filter(pk=world_a.tenant.pk).update(published=False)
    for path in ("/t/alpha/", "/t/alpha/report/"):
        response = Client(HTTP_ACCEPT_LANGUAGE="en").get(path)
        assert response.status_code == 503
        assert "it is not open yet" in response.content.decode()
        assert "Federal Office of Justice" in response.content.decode()
