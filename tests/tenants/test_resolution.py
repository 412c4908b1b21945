"""Tenant resolution from host names and the /t/<slug>/ prefix; unknown tenants are a plain 404."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import get_script_prefix
from django.utils import timezone

from tests.fixtures import World
from whistle.tenants.models import TenantHostname


@pytest.mark.django_db
def test_prefix_resolves_tenant(worlds: tuple[World, World]) -> None:
    response = Client().get("/t/alpha/")
    assert response.status_code == 200
    assert response.context["tenant"] == worlds[0].tenant
    assert "Alphastadt" in response.content.decode()
    assert "Betadorf" not in response.content.decode()


@pytest.mark.django_db
def test_links_keep_the_prefix_and_do_not_leak_into_the_next_request(world_a: World) -> None:
    client = Client()
    body = client.get("/t/alpha/").content.decode()
    assert 'action="/t/alpha/i18n/setlang/"' in body
    body = client.get("/staff/login/").content.decode()
    assert 'action="/i18n/setlang/"' in body
    assert get_script_prefix() == "/"


@pytest.mark.django_db
def test_hostname_resolves_tenant(worlds: tuple[World, World]) -> None:
    TenantHostname.objects.create(
        tenant=worlds[1].tenant, hostname="hinweise.betadorf.example", verified_at=timezone.now()
    )
    response = Client(HTTP_HOST="hinweise.betadorf.example").get("/")
    assert response.status_code == 200
    assert response.context["tenant"] == worlds[1].tenant
    # Staff pages are not served on a tenant's host name.
    assert Client(HTTP_HOST="hinweise.betadorf.example").get("/staff/login/").status_code == 404


@pytest.mark.django_db
def test_unknown_tenant_is_the_same_404_as_any_missing_page(world_a: World) -> None:
    missing_page = Client().get("/this/page/does/not/exist")
    unknown_tenant = Client().get("/t/gamma/")
    unknown_host = Client(HTTP_HOST="nobody.example").get("/")
    assert missing_page.status_code == unknown_tenant.status_code == unknown_host.status_code == 404
    # Equal except for the per-response CSRF token and the page's own path in the language form.
    bodies = {
        re.sub(rb'name="(csrfmiddlewaretoken|next)" (type="hidden" )?value="[^"]+"', b"", r.content)
        for r in (missing_page, unknown_tenant, unknown_host)
    }
    assert len(bodies) == 1
    assert missing_page.headers.keys() == unknown_tenant.headers.keys()


@pytest.mark.django_db
def test_a_suspended_tenant_shows_a_clear_page_on_every_path(world_a: World) -> None:
    """Suspended by the operator (issue 13): no reporter page runs, and every path, on the
    prefix or the tenant's own host name, says the channel is closed and where else to report."""
    from whistle.tenants.models import TenantHostname

    TenantHostname.objects.create(
        tenant=world_a.tenant, hostname="meldung.alpha.example", verified_at=timezone.now()
    )
    world_a.tenant.enabled = False
    world_a.tenant.save()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for response in (
        client.get("/t/alpha/"),
        client.get("/t/alpha"),
        client.get("/t/alpha/report/"),
        client.post("/t/alpha/report/", {"text": "typed"}),
        client.get("/", HTTP_HOST="meldung.alpha.example"),
        client.get("/inbox/", HTTP_HOST="meldung.alpha.example"),
    ):
        assert response.status_code == 404
        body = response.content.decode()
        assert "This reporting channel is closed for now" in body
        assert "Alphastadt" in body and "Federal Office of Justice" in body
    german = Client(HTTP_ACCEPT_LANGUAGE="de").get("/t/alpha/")
    assert "Dieser Meldekanal ist vorübergehend geschlossen" in german.content.decode()
    world_a.tenant.enabled = True
    world_a.tenant.save()
    assert client.get("/t/alpha/").status_code == 200


@pytest.mark.django_db
def test_prefix_without_slash_redirects_only_for_existing_tenants(world_a: World) -> None:
    response = Client().get("/t/alpha")
    assert response.status_code == 301
    assert response["Location"] == "/t/alpha/"
    assert Client().get("/t/gamma").status_code == 404


@pytest.mark.django_db
def test_staff_pages_are_not_reachable_under_a_tenant_prefix(world_a: World) -> None:
    assert Client().get("/t/alpha/staff/login/").status_code == 404


@pytest.mark.django_db
def test_language_switch_is_limited_to_the_tenants_languages(world_a: World) -> None:
    world_a.tenant.languages = ["de"]
    world_a.tenant.save()
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get("/t/alpha/")
    assert response.headers["Content-Language"] == "de"
    world_a.tenant.languages = ["de", "en"]
    world_a.tenant.save()
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get("/t/alpha/")
    assert response.headers["Content-Language"] == "en"
