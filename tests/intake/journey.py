"""Helpers that walk the reporter journey through the real pages (Django test client)."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from tests.fixtures import World

ANSWERS: dict[str, dict[str, Any]] = {
    "what": {"what": "SENTINEL-what-happened-3141", "where": "Bauamt", "when_period": "Mai"},
    "who": {"who": "SENTINEL-who-2718", "how_known": "myself", "harmed": ["public", "environment"]},
    "more": {"ongoing": "yes", "reported_elsewhere": "no", "truthful": "on"},
}


def reporter(language: str = "en") -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE=language)


def base(world: World) -> str:
    return f"/t/{world.tenant.slug}/"


def receipt_from(html: str) -> str:
    groups = re.findall(r'<span class="group">([0-9A-Z]{4})</span>', html)
    assert len(groups) == 7, "the receipt page shows seven groups of four"
    return "-".join(groups)


def submit_report(
    client: Client,
    world: World,
    *,
    answers: dict[str, dict[str, Any]] | None = None,
    contact: dict[str, str] | None = None,
    files: dict[str, list[Any]] | None = None,
) -> tuple[str, str]:
    """Walk through every step and send; returns (receipt, receipt page HTML)."""
    root = base(world)
    response = client.post(root + "report/", {"category": "environment"})
    assert response.status_code == 302, response.content.decode()[:2000]
    for step, data in (answers or ANSWERS).items():
        payload = dict(data)
        for field, uploads in (files or {}).items():
            if step == "more":
                payload[field] = uploads
        response = client.post(root + f"report/step/{step}/", payload)
        assert response.status_code == 302, response.content.decode()[:3000]
    mode = {"mode": "contact", **contact} if contact else {"mode": "anonymous"}
    assert client.post(root + "report/contact/", mode).status_code == 302
    check = client.get(root + "report/check/")
    assert check.status_code == 200
    response = client.post(root + "report/submit/", {})
    assert response.status_code == 200, response.content.decode()[:2000]
    html = response.content.decode()
    return receipt_from(html), html


def open_mailbox(client: Client, world: World, receipt: str) -> str:
    response = client.post(base(world) + "mailbox/", {"receipt": receipt})
    assert response.status_code == 302, response.content.decode()[:2000]
    page = client.get(base(world) + "mailbox/")
    assert page.status_code == 200
    return page.content.decode()
