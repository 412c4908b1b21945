"""Reporter and handler in two browsers exchange messages live (JavaScript), and the same
exchange works without JavaScript by posting and reloading."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.casework.helpers import filed_case
from tests.fixtures import PASSWORD, World, current_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Test instrumentation, injected before the page's own scripts: every websocket the page opens
# reports its state on <html data-socket="open|closed">, so a test can wait for the socket
# instead of racing it (a click before the socket is open is an ordinary form post).
WATCH_SOCKET = """
(() => {
  const Native = window.WebSocket;
  if (!Native) { return; }
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      const state = (value) => () => { document.documentElement.dataset.socket = value; };
      this.addEventListener("open", state("open"));
      this.addEventListener("close", state("closed"));
    }
  };
})();
"""


def staff_page(browser: Browser, base: str, world: World, javascript: bool) -> Page:
    page = browser.new_context(locale="en-GB", java_script_enabled=javascript).new_page()
    page.add_init_script(WATCH_SOCKET)
    page.goto(f"{base}/staff/login/")
    page.get_by_label("E-mail address").fill(world.handler.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Code").fill(current_code(world.handler))
    page.get_by_role("button", name="Log in").click()
    return page


def reporter_page(
    browser: Browser, base: str, world: World, receipt: str, javascript: bool
) -> Page:
    page = browser.new_context(locale="en-GB", java_script_enabled=javascript).new_page()
    page.add_init_script(WATCH_SOCKET)
    page.goto(f"{base}/t/{world.tenant.slug}/mailbox/")
    page.get_by_label("Your receipt code").fill(receipt)
    page.get_by_role("button", name="Open my mailbox").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your mailbox")
    return page


@pytest.mark.parametrize("javascript", [True, False], ids=["live", "no-js"])
def test_conversation(browser: Browser, asgi_server: int, world_a: World, javascript: bool) -> None:
    base = f"http://127.0.0.1:{asgi_server}"
    _lead, case, receipt = filed_case(world_a)
    desk = staff_page(browser, base, world_a, javascript)
    desk.goto(f"{base}/staff/offices/{world_a.office.public_id}/cases/{case.public_id}/")
    desk.get_by_role("button", name="Confirm receipt").click()
    mailbox = reporter_page(browser, base, world_a, receipt, javascript)
    mailbox_url = mailbox.url
    if javascript:  # both sockets are open before anyone writes: nothing races a handshake
        expect(mailbox.get_by_role("button", name="Send")).to_be_visible()
        expect(desk.get_by_role("button", name="Send to the reporter")).to_be_visible()
        expect(mailbox.locator("html")).to_have_attribute("data-socket", "open")
        expect(desk.locator("html")).to_have_attribute("data-socket", "open")

    desk.get_by_label("Message to the reporter").fill("Can you tell us the date?")
    desk.get_by_role("button", name="Send to the reporter").click()
    if not javascript:
        mailbox.goto(mailbox_url)
    expect(mailbox.locator(".conversation")).to_contain_text("Can you tell us the date?")
    if javascript:
        # It arrived without a reload, and the office sees it was read.
        expect(desk.locator(".conversation")).to_contain_text("read by the reporter")

    mailbox.get_by_label("Your message to the office").fill("It was on 3 May.")
    mailbox.get_by_role("button", name="Send").click()
    if not javascript:
        desk.reload()
    expect(desk.locator(".conversation")).to_contain_text("It was on 3 May.")
    if javascript:
        expect(mailbox.locator(".conversation")).to_contain_text("read by the office")


def test_text_written_is_kept_when_the_socket_refuses_it(
    browser: Browser, asgi_server: int, world_a: World
) -> None:
    """A reporter who takes longer than the idle limit to write: the socket refuses the message
    (the session is over), and the page puts the text back instead of losing it; sent again, it
    goes the ordinary way and waits for the receipt code.

    Every step waits for a condition: the socket is open before the first message (a click
    while it connects would post the form instead, reload, and leave the next click racing
    the new page's socket), and closed before the text is looked for in the box."""
    import datetime

    import time_machine
    from django.utils import timezone

    base = f"http://127.0.0.1:{asgi_server}"
    _lead, _case, receipt = filed_case(world_a)
    with time_machine.travel(timezone.now(), tick=True) as clock:
        mailbox = reporter_page(browser, base, world_a, receipt, javascript=True)
        socket_state = mailbox.locator("html")
        expect(socket_state).to_have_attribute("data-socket", "open")
        mailbox.evaluate("window.notReloaded = true")
        box = mailbox.get_by_label("Your message to the office")
        box.fill("A first short note.")
        mailbox.get_by_role("button", name="Send").click()
        expect(mailbox.locator(".conversation")).to_contain_text("A first short note.")
        expect(box).to_have_value("")
        assert mailbox.evaluate("window.notReloaded === true")  # it went over the socket
        expect(socket_state).to_have_attribute("data-socket", "open")

        clock.shift(datetime.timedelta(minutes=16))  # a long time writing
        text = "A long and careful account of what happened."
        box.fill(text)
        mailbox.get_by_role("button", name="Send").click()
        # The server refuses it (session over) and closes the socket; the page puts it back.
        expect(socket_state).to_have_attribute("data-socket", "closed")
        expect(box).to_have_value(text)
        expect(mailbox.locator(".conversation")).not_to_contain_text(text)
        assert mailbox.evaluate("window.notReloaded === true")

        mailbox.get_by_role("button", name="Send").click()  # now an ordinary form post
        expect(mailbox.get_by_label("Your receipt code")).to_be_visible()
        mailbox.get_by_label("Your receipt code").fill(receipt)
        mailbox.get_by_role("button", name="Open my mailbox").click()
        expect(mailbox.get_by_label("Your message to the office")).to_have_value(text)
