"""axe-core (WCAG 2.1 A and AA rules) over every reporter page in every language the tenant
offers and over every staff page, with JavaScript on, in error states too (A11Y-1).

axe-core comes from a Python package (``axe-playwright-python`` ships ``axe.min.js``), so
nothing is downloaded at test time. It is evaluated through Playwright, not as a page script:
the pages' Content-Security-Policy forbids inline scripts, and the browser context bypasses it
for the test's own script only (``bypass_csp``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.resources import files
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.casework.helpers import filed_case
from tests.e2e.reporting import fill_answers
from tests.fixtures import PASSWORD, World, current_code
from tests.intake.journey import ANSWERS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = (files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_problems(page: Page) -> list[str]:
    """axe's violations, and its "needs review" results for references to ids that are not on
    the page; plus our own check that every aria-describedby names an id on the page."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE)
    result: dict[str, Any] = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations', 'incomplete']})",
        TAGS,
    )
    problems = [
        f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]
    for item in result["incomplete"]:
        if item["id"] in {"aria-valid-attr-value", "aria-describedby"}:
            problems.append(f"needs review {item['id']} at {[n['target'] for n in item['nodes']]}")
    dangling = page.evaluate(
        """() => Array.from(document.querySelectorAll('[aria-describedby]')).flatMap(el =>
            el.getAttribute('aria-describedby').split(/\\s+/).filter(id => id &&
            !document.getElementById(id)).map(id => (el.id || el.name) + ' -> ' + id))"""
    )
    problems += [f"aria-describedby names a missing id: {d}" for d in dangling]
    return problems


def check(page: Page, what: str, found: dict[str, list[str]]) -> None:
    problems = axe_problems(page)
    if problems:
        found[f"{what} ({page.url})"] = problems


def context_for(browser: Browser, language: str) -> BrowserContext:
    return browser.new_context(locale=language, bypass_csp=True)


def reporter_pages(page: Page, base: str, found: dict[str, list[str]], label: str) -> None:
    """Walk the reporter journey, checking each page, and each form once with its errors."""
    page.goto(f"{base}/")
    check(page, f"{label} landing", found)
    page.goto(f"{base}/accessibility/")
    check(page, f"{label} accessibility statement", found)
    page.goto(f"{base}/report/")
    check(page, f"{label} topic", found)
    page.locator("form[method=post] button[type=submit]:not(.default-submit)").last.click()
    check(page, f"{label} topic with errors", found)
    page.locator("input[name=category]").first.check()
    page.locator(
        "form[method=post] button[value=continue]:not(.default-submit), "
        "form[method=post] button[type=submit]:not(.default-submit)"
    ).last.click()
    for step, data in ANSWERS.items():
        expect(page.locator("h1")).to_be_visible()
        page.locator("button[value=continue]:not(.default-submit)").click()
        check(page, f"{label} step {step} with errors", found)
        fill_answers(page, data)
        check(page, f"{label} step {step}", found)
        page.locator("button[value=continue]:not(.default-submit)").click()
    check(page, f"{label} contact", found)
    page.locator("input[name=mode][value=contact]").check()
    page.locator("input[name=email]").fill("not an address")
    page.locator("button[value=continue]:not(.default-submit)").click()
    check(page, f"{label} contact with errors", found)
    page.locator("input[name=mode][value=anonymous]").check()
    page.locator("button[value=continue]:not(.default-submit)").click()
    check(page, f"{label} check", found)
    page.locator("form[data-pow-worker] button[type=submit]").click()
    expect(page.locator("#receipt-code")).to_be_visible()
    check(page, f"{label} receipt", found)
    receipt = "-".join(page.locator("#receipt-code .group").all_inner_texts())
    page.locator("form[data-leave-guard] button[type=submit]").click()
    check(page, f"{label} after sending", found)
    page.goto(f"{base}/mailbox/")
    check(page, f"{label} mailbox login", found)
    page.locator("input[name=receipt]").fill("AAAA-BBBB")
    page.locator("main form[method=post] button[type=submit]").last.click()
    check(page, f"{label} mailbox login with errors", found)
    page.locator("input[name=receipt]").fill(receipt)
    page.locator("main form[method=post] button[type=submit]").last.click()
    expect(page.locator("[data-conversation]")).to_be_visible()
    check(page, f"{label} mailbox", found)
    page.locator("form[data-chat-form] button[type=submit]").click()
    check(page, f"{label} mailbox with errors", found)
    page.goto(f"{base}/no-such-page/")
    check(page, f"{label} not found", found)


def test_reporter_pages_pass_axe_in_every_language(
    browser: Browser, live_server: object, world_a: World
) -> None:
    root = str(live_server.url)  # type: ignore[attr-defined]
    filed_case(world_a)
    found: dict[str, list[str]] = {}
    for language in world_a.tenant.languages:
        context = context_for(browser, language)
        reporter_pages(context.new_page(), f"{root}/t/{world_a.tenant.slug}", found, language)
        context.close()
    assert found == {}, json.dumps(found, indent=2, ensure_ascii=False)


def staff_get_routes() -> Iterator[str]:
    """Every staff URL pattern (under /staff/), with the ids it takes."""

    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> Iterator[str]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern)

    for route in walk(get_resolver().url_patterns, "/"):
        if route.startswith("/staff/"):
            yield route


def log_in(page: Page, base: str, world: World) -> None:
    page.goto(f"{base}/staff/login/")
    page.locator("input[name=email]").fill(world.handler.email)
    page.locator("input[name=password]").fill("wrong password, for the error state")
    page.locator("main form button[type=submit]").click()
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.locator("input[name=code]").fill(current_code(world.handler))
    page.locator("main form button[type=submit]").first.click()
    expect(page.locator("input[name=code]")).to_have_count(0)


def test_staff_pages_pass_axe(browser: Browser, live_server: object, world_a: World) -> None:
    from intake.models import Attachment
    from whistle.tenants.services import tenant_admin_add

    root = str(live_server.url)  # type: ignore[attr-defined]
    _lead, case, _receipt = filed_case(world_a)
    tenant_admin_add(tenant=world_a.tenant, user=world_a.handler)  # one person, every role
    world_a.handler.is_staff = True
    world_a.handler.save(update_fields=["is_staff"])
    attachment = Attachment.objects.filter(case=case).first()
    found: dict[str, list[str]] = {}
    for language in ("en", "de"):
        context = context_for(browser, language)
        page = context.new_page()
        page.goto(f"{root}/staff/login/")
        page.locator("input[name=email]").fill(world_a.handler.email)
        page.locator("main form button[type=submit]").click()
        check(page, f"{language} login with errors", found)
        log_in(page, root, world_a)
        for route in sorted(set(staff_get_routes())):
            if "<slug:" in route or "<str:" in route:
                continue  # actions and tokens: POST targets, reached from the pages
            url = (
                route.replace("<uuid:office_id>", str(world_a.office.public_id))
                .replace("<uuid:tenant_id>", str(world_a.tenant.public_id))
                .replace("<uuid:case_id>", str(case.public_id))
                .replace("<uuid:user_id>", str(world_a.handler.public_id))
                .replace("<uuid:attachment_id>", str(attachment.public_id if attachment else ""))
            )
            if "<" in url or url.endswith(("/csv/", "/logout/")) or "/files/" in url:
                continue
            probe = page.request.get(root + url, max_redirects=0)
            disposition = probe.headers.get("content-disposition", "")
            if (
                probe.status != 200
                or "text/html" not in probe.headers.get("content-type", "")
                or disposition.startswith("attachment")
            ):
                continue  # POST-only (405), a redirect, a download
            response = page.goto(root + url)
            if response is None or response.status != 200:
                continue
            check(page, f"{language} {route}", found)
        context.close()
    assert found == {}, json.dumps(found, indent=2, ensure_ascii=False)
