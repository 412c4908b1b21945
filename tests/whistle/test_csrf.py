"""Forms still work under Referrer-Policy: no-referrer (Origin: null, no Referer), and CSRF
protection still holds."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.fixtures import PASSWORD, World


def _login_post(client: Client, world: World, **headers: Any) -> int:
    client.get("/staff/login/", secure=True)
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/staff/login/",
        {"email": world.handler.email, "password": PASSWORD, "csrfmiddlewaretoken": token},
        secure=True,
        **headers,
    )
    return response.status_code


@pytest.mark.django_db
def test_null_origin_with_same_origin_fetch_metadata_is_accepted(world_a: World) -> None:
    client = Client(enforce_csrf_checks=True)
    status = _login_post(client, world_a, HTTP_ORIGIN="null", HTTP_SEC_FETCH_SITE="same-origin")
    assert status == 302


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": "null", "HTTP_SEC_FETCH_SITE": "cross-site"},
        {"HTTP_ORIGIN": "null"},
        {"HTTP_ORIGIN": "https://evil.example", "HTTP_SEC_FETCH_SITE": "cross-site"},
        {},  # HTTPS without Origin, Referer or fetch metadata
    ],
)
def test_cross_site_or_unprovable_posts_are_refused(
    world_a: World, headers: dict[str, Any]
) -> None:
    client = Client(enforce_csrf_checks=True)
    assert _login_post(client, world_a, **headers) == 403


@pytest.mark.django_db
def test_token_is_still_required(world_a: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get("/staff/login/", secure=True)
    response = client.post(
        "/staff/login/",
        {"email": world_a.handler.email, "password": PASSWORD},
        secure=True,
        HTTP_ORIGIN="null",
        HTTP_SEC_FETCH_SITE="same-origin",
    )
    assert response.status_code == 403
