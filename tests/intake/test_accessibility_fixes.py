"""Accessibility and journey fixes found in use (issue 17, points 2 and 3), checked on the HTML
the server sends (without JavaScript); tests/e2e/test_accessibility_journey.py checks what needs
a browser."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from tests.fixtures import PASSWORD, World, make_staff
from tests.intake.journey import ANSWERS, base, reporter
from tests.keys.test_key_hierarchy import setup_keys


class Ids(HTMLParser):
    """Every id on the page, and every aria-describedby with the element that carries it."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.described: list[tuple[str, str]] = []
        self.buttons: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if found.get("aria-describedby"):
            self.described.append(
                (f"<{tag} {found.get('id') or found.get('name')}>", str(found["aria-describedby"]))
            )
        if tag == "button":
            self.buttons.append(found)


def parse(html: str) -> Ids:
    page = Ids()
    page.feed(html)
    return page


def dangling_describedby(html: str) -> list[str]:
    """aria-describedby references to ids that are not on the page."""
    page = parse(html)
    return [
        f"{element} -> {target}"
        for element, targets in page.described
        for target in targets.split()
        if target not in page.ids
    ]


def started(world: World) -> Client:
    setup_keys(world)
    client = reporter()
    response = client.post(base(world) + "report/", {"category": "environment"})
    assert response.status_code == 302
    return client


@pytest.mark.django_db
def test_help_and_error_texts_are_linked_to_their_fields(world_a: World) -> None:
    client = started(world_a)
    # An empty first step: every required field has an error; fields with help have help.
    html = client.post(base(world_a) + "report/step/what/", {"action": "continue"}).content.decode()
    page = parse(html)
    assert dangling_describedby(html) == []
    what = next(targets for element, targets in page.described if "id_what" in element)
    assert "id_what_error" in what.split()
    assert re.search(r'id="id_what_error"[^>]*>\s*<p>[^<]+</p>', html)
    # A field with help text names it, and the help is under that id.
    helped = [
        t for _e, targets in page.described for t in targets.split() if t.endswith("_helptext")
    ]
    assert helped and all(t in page.ids for t in helped)
    # Radio and checkbox groups: the fieldset names its help and error.
    html = client.post(
        base(world_a) + "report/step/who/",
        {"action": "continue", **{k: v for k, v in ANSWERS["who"].items() if k != "how_known"}},
    ).content.decode()
    assert dangling_describedby(html) == []
    assert re.search(
        r'<fieldset[^>]*id="id_how_known"[^>]*aria-describedby="[^"]*id_how_known_error', html
    )


@pytest.mark.django_db
def test_the_error_summary_links_to_fields_that_exist_and_the_title_says_error(
    world_a: World,
) -> None:
    client = started(world_a)
    data = {k: v for k, v in ANSWERS["who"].items() if k != "how_known"}
    html = client.post(
        base(world_a) + "report/step/who/", {"action": "continue", **data}
    ).content.decode()
    page = parse(html)
    links = re.findall(r'<div class="error-summary".*?</div>', html, re.S)[0]
    targets = re.findall(r'href="#([^"]+)"', links)
    assert targets and all(target in page.ids for target in targets), targets
    assert "id_how_known_0" in targets  # a radio group: its first choice
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    assert title is not None and title.group(1).strip().startswith("Error:")
    assert "data-error-summary" in links  # site.js moves the focus there
    # A question's label ends with "?": no "?:" in the summary line.
    assert "?:" not in links
    ok = client.get(base(world_a) + "report/step/what/").content.decode()
    title = re.search(r"<title>(.*?)</title>", ok, re.S)
    assert title is not None and not title.group(1).strip().startswith("Error:")


@pytest.mark.django_db
def test_staff_login_errors_are_linked_to_their_fields(world_a: World) -> None:
    make_staff("someone@alpha.example")
    html = Client().post("/staff/login/", {"email": "", "password": PASSWORD}).content.decode()
    assert "error-summary" in html
    assert dangling_describedby(html) == []


@pytest.mark.django_db
def test_enter_in_a_text_field_continues_instead_of_going_back(world_a: World) -> None:
    """A browser sends the form with its first submit button in document order (implicit
    submission): that button must be "Continue", before the language switch and "Back"."""
    client = started(world_a)
    for path in ("report/step/what/", "report/contact/"):
        html = client.get(base(world_a) + path).content.decode()
        start = html.index('<form method="post" id="report-form"')
        end = html.index("</form>", start)
        owned = [
            tag.group(0)
            for tag in re.finditer(r"<button[^>]*>", html)
            if 'form="report-form"' in tag.group(0) or start < tag.start() < end
        ]
        first = owned[0]
        assert 'value="continue"' in first and 'type="submit"' in first, (path, first)
        assert any('value="back"' in b for b in owned)
    # And the server treats it as Continue: the step is saved and the next one follows.
    response = client.post(
        base(world_a) + "report/step/what/", {**ANSWERS["what"], "action": "continue"}
    )
    assert response.status_code == 302 and response["Location"].endswith("/report/step/who/")


@pytest.mark.django_db
def test_switching_the_language_mid_step_keeps_what_was_typed(world_a: World) -> None:
    client = started(world_a)
    typed = {"what": "SENTINEL-typed-before-switch-4711", "where": "Bauhof"}
    response = client.post(
        base(world_a) + "report/step/what/",
        {**typed, "action": "language", "switch_language": "de"},
    )
    assert response.status_code == 302 and response["Location"].endswith("/report/step/what/")
    page = client.get(response["Location"]).content.decode()
    assert '<html lang="de">' in page
    assert typed["what"] in page and 'value="Bauhof"' in page
    # A language the tenant does not offer is not set; what was typed is still kept.
    world_a.tenant.languages = ["de"]
    world_a.tenant.save(update_fields=["languages"])
    client.post(
        base(world_a) + "report/step/what/",
        {**typed, "what": "SENTINEL-second-4712", "action": "language", "switch_language": "en"},
    )
    page = client.get(base(world_a) + "report/step/what/").content.decode()
    assert '<html lang="de">' in page and "SENTINEL-second-4712" in page


@pytest.mark.django_db
def test_switching_the_language_on_the_contact_step_keeps_the_contact_details(
    world_a: World,
) -> None:
    client = started(world_a)
    for step, data in ANSWERS.items():
        assert client.post(base(world_a) + f"report/step/{step}/", data).status_code == 302
    response = client.post(
        base(world_a) + "report/contact/",
        {
            "mode": "contact",
            "email": "kept@example.org",
            "action": "language",
            "switch_language": "de",
        },
    )
    assert response.status_code == 302 and response["Location"].endswith("/report/contact/")
    page = client.get(response["Location"]).content.decode()
    assert '<html lang="de">' in page and 'value="kept@example.org"' in page


def test_the_hidden_attribute_beats_the_button_style() -> None:
    """Without JavaScript the receipt page's "copy" button carries ``hidden``: the stylesheet
    must not show it (a button rule set display, which overrode the attribute)."""
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "whistle/static/whistle/site.css").read_text()
    assert re.search(r"\[hidden\]\s*\{\s*display:\s*none\s*!important;?\s*\}", css)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/favicon.ico", "/t/alpha/favicon.ico", "/staff/login/"])
def test_there_is_a_favicon(world_a: World, path: str) -> None:
    response = Client().get(path)
    if path.endswith("favicon.ico"):
        assert response.status_code == 200
        assert response["Content-Type"] == "image/x-icon"
        assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    else:
        assert 'rel="icon"' in response.content.decode()


@pytest.mark.django_db
def test_tenant_host_serves_the_favicon(world_a: World) -> None:
    from django.utils import timezone

    from whistle.tenants.models import TenantHostname

    TenantHostname.objects.create(
        tenant=world_a.tenant, hostname="hinweise.alpha.example", verified_at=timezone.now()
    )
    response = Client(HTTP_HOST="hinweise.alpha.example").get("/favicon.ico")
    assert response.status_code == 200


@pytest.mark.django_db
def test_german_names_the_organisation_without_a_broken_article(world_a: World) -> None:
    page = Client(HTTP_ACCEPT_LANGUAGE="de").get(base(world_a)).content.decode()
    assert "an Alphastadt" not in page
    assert "Alphastadt" in page
