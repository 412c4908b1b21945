"""Security headers on every kind of response (issue 2, point 6)."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from tests.fixtures import World, staff_client


def _csp(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, *values = part.strip().split()
        directives[name] = values
    return directives


def assert_secure_headers(response) -> None:
    csp = _csp(response)
    text = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in text
    assert "unsafe-eval" not in text
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    permissions = response.headers["Permissions-Policy"]
    for feature in ("camera=()", "geolocation=()", "microphone=()"):
        assert feature in permissions


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/", "/staff/login/", "/healthz", "/t/alpha/", "/t/unknown/", "/no/such/page", "/staff/"],
)
def test_headers_on_every_response(world_a: World, path: str) -> None:
    response = Client().get(path)
    assert_secure_headers(response)


@pytest.mark.django_db
def test_headers_on_staff_pages(world_a: World) -> None:
    client = staff_client(world_a.handler)
    response = client.get(f"/staff/offices/{world_a.office.public_id}/")
    assert response.status_code == 200
    assert_secure_headers(response)
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.django_db
@override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True)
def test_hsts_in_production_over_https(world_a: World) -> None:
    response = Client().get("/t/alpha/", secure=True)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.django_db
def test_no_third_party_resources_in_pages(world_a: World) -> None:
    for path in ("/t/alpha/", "/staff/login/", "/"):
        body = Client().get(path).content.decode()
        assert "http://" not in body.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "https://" not in body
        assert "<script" not in body  # the base layout needs no JavaScript at all
