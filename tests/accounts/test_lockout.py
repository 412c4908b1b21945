"""Nobody who only knows a handler's e-mail address can lock them out (issue 12, point 4).

A browser that completed a full login keeps a signed known-device cookie and is exempt from
the account's password throttle; unknown browsers are still throttled; a refusal under the
lock answers exactly like a wrong password, after the same password-hash work.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.core import signing
from django.db import connections
from django.test import Client, override_settings
from django.utils import timezone

import crypto
from tests.fixtures import PASSWORD, World, current_code, make_staff, staff_client
from tests.hashers import CheapArgon2PasswordHasher
from tests.plugins.sensitive import SensitiveRegistry
from whistle.accounts.models import KnownDevice, LoginThrottle

GENERIC = "The e-mail address, password or code is not right"
COOKIE = "whistle_device"
WRONG = "wrong password 123456"


class CountingHasher(CheapArgon2PasswordHasher):
    """The test hasher, counting its runs and whether a database connection was open."""

    runs: list[str] = []
    connection_open: list[bool] = []

    def _note(self, what: str) -> None:
        CountingHasher.runs.append(what)
        CountingHasher.connection_open.append(
            any(c.connection is not None for c in connections.all(initialized_only=True))
        )

    def encode(self, password: str, salt: str) -> str:
        self._note("encode")
        return super().encode(password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        self._note("verify")
        return super().verify(password, encoded)


@pytest.fixture
def counting() -> Iterator[type[CountingHasher]]:
    CountingHasher.runs = []
    CountingHasher.connection_open = []
    with override_settings(PASSWORD_HASHERS=["tests.accounts.test_lockout.CountingHasher"]):
        yield CountingHasher


@pytest.fixture
def frozen() -> Iterator[Any]:
    """Time stands still: a lock stays on however slow the machine is."""
    with time_machine.travel(timezone.now(), tick=False) as clock:
        yield clock


def login(client: Client, email: str, password: str) -> Any:
    return client.post(
        "/staff/login/", {"email": email, "password": password}, HTTP_ACCEPT_LANGUAGE="en"
    )


def attack(email: str, attempts: int = 10) -> None:
    attacker = Client()
    for _ in range(attempts):
        login(attacker, email, WRONG)
    assert LoginThrottle.objects.get().is_locked(timezone.now())


def with_cookie(value: str) -> Client:
    client = Client()
    client.cookies[COOKIE] = value
    return client


def normalised(body: bytes) -> str:
    text = body.decode()
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)


@pytest.mark.django_db
def test_a_full_login_gives_a_strict_long_lived_device_cookie(world_a: World) -> None:
    client = staff_client(world_a.handler)
    cookie = client.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert cookie["path"] == "/staff/"
    assert int(cookie["max-age"]) == 180 * 24 * 3600
    # Only a hash of the token is stored.
    device = KnownDevice.objects.get(user=world_a.handler)
    assert device.token_digest not in cookie.value
    # The password step alone does not make a browser known.
    half = Client()
    login(half, world_a.handler.email, PASSWORD)
    assert COOKIE not in half.cookies
    assert KnownDevice.objects.count() == 1


@pytest.mark.django_db
def test_unknown_browsers_are_still_locked_out(world_a: World, frozen: Any) -> None:
    attack(world_a.handler.email)
    response = login(Client(), world_a.handler.email, PASSWORD)
    assert response.status_code == 200
    assert GENERIC in response.content.decode()


@pytest.mark.django_db
def test_the_owner_with_a_known_device_gets_in_during_an_attack(
    world_a: World, frozen: Any
) -> None:
    owner = staff_client(world_a.handler)
    first_cookie = owner.cookies[COOKIE].value
    owner.post("/staff/logout/")
    attack(world_a.handler.email)
    response = login(owner, world_a.handler.email, PASSWORD)
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/verify/")
    response = owner.post("/staff/verify/", {"code": current_code(world_a.handler)})
    assert response.status_code == 302
    assert owner.get(f"/staff/offices/{world_a.office.public_id}/").status_code == 200
    # The cookie was rotated at the full login; the old one exempts nobody any more.
    assert owner.cookies[COOKIE].value != first_cookie
    assert KnownDevice.objects.filter(user=world_a.handler).count() == 1
    assert (
        GENERIC
        in login(with_cookie(first_cookie), world_a.handler.email, PASSWORD).content.decode()
    )
    # The owner's success does not reset the attacker's lock for unknown browsers.
    assert LoginThrottle.objects.get().is_locked(timezone.now())


@pytest.mark.django_db
def test_a_forged_or_another_accounts_device_cookie_gives_no_exemption(
    worlds: tuple[World, World], frozen: Any
) -> None:
    world_a, world_b = worlds
    victim = world_a.handler.email
    others = staff_client(world_b.handler).cookies[COOKIE].value
    owners = staff_client(world_a.handler).cookies[COOKIE].value
    attack(victim)
    payload = signing.loads(owners, salt="whistle.accounts.known-device")
    forged = [
        others,  # a genuine cookie, of another account
        owners[:-2] + ("AA" if not owners.endswith("AA") else "BB"),  # signature broken
        signing.dumps(payload, salt="whistle.accounts.known-device", key="x" * 50),  # wrong key
        signing.dumps(
            {"u": str(world_a.handler.public_id), "t": "guessed-token"},
            salt="whistle.accounts.known-device",
        ),  # right key, but no such device
        signing.dumps(
            {"u": str(world_b.handler.public_id), "t": payload["t"]},
            salt="whistle.accounts.known-device",
        ),  # the owner's token under another account's name
    ]
    for value in forged:
        response = login(with_cookie(value), victim, PASSWORD)
        assert response.status_code == 200, value
        assert GENERIC in response.content.decode()
    assert login(with_cookie(owners), victim, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_device_cookie_used_for_wrong_passwords_loses_its_exemption(
    world_a: World, frozen: Any
) -> None:
    owner_cookie = staff_client(world_a.handler).cookies[COOKIE].value
    attack(world_a.handler.email)
    thief = with_cookie(owner_cookie)
    for _ in range(5):
        assert GENERIC in login(thief, world_a.handler.email, WRONG).content.decode()
    # The budget is spent: this browser is unknown now, and the account is locked for those.
    assert GENERIC in login(thief, world_a.handler.email, PASSWORD).content.decode()
    assert KnownDevice.objects.get().failures == 5


@pytest.mark.django_db
def test_a_device_cookie_is_forgotten_when_the_password_changes(world_a: World) -> None:
    other_browser = staff_client(world_a.handler)
    this_browser = staff_client(world_a.handler)
    new = "a different long passphrase 77"
    response = this_browser.post(
        "/staff/account/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert KnownDevice.objects.filter(user=world_a.handler).count() == 1
    remaining = KnownDevice.objects.get()
    old_value = other_browser.cookies[COOKIE].value
    token = signing.loads(old_value, salt="whistle.accounts.known-device")["t"]
    assert remaining.token_digest != hashlib.sha256(token.encode()).hexdigest()


@pytest.mark.django_db
def test_a_refusal_under_the_lock_is_a_wrong_password_in_every_respect(
    world_a: World, frozen: Any, counting: type[CountingHasher]
) -> None:
    email = world_a.handler.email
    wrong = login(Client(), email, WRONG)
    assert counting.runs == ["verify"]
    attack(email)
    counting.runs.clear()
    locked = login(Client(), email, PASSWORD)
    # The same work was done (one password hash against the account's stored hash) …
    assert counting.runs == ["verify"]
    # … and the same answer given.
    assert locked.status_code == wrong.status_code == 200
    assert normalised(locked.content) == normalised(wrong.content)
    assert dict(locked.headers).keys() == dict(wrong.headers).keys()
    # An address without an account costs a dummy hash of the same kind.
    counting.runs.clear()
    unknown = login(Client(), "nobody@alpha.example", PASSWORD)
    assert counting.runs == ["encode"]
    assert GENERIC in unknown.content.decode()


@pytest.mark.django_db(transaction=True)
def test_no_database_connection_is_held_while_the_password_hash_runs(
    counting: type[CountingHasher],
) -> None:
    user = make_staff("pool@alpha.example")
    counting.runs.clear()
    counting.connection_open.clear()
    assert login(Client(), user.email, PASSWORD).status_code == 302
    login(Client(), user.email, WRONG)
    login(Client(), "nobody@alpha.example", WRONG)
    assert counting.runs == ["verify", "verify", "encode"]
    assert counting.connection_open == [False, False, False]


@pytest.mark.django_db
def test_a_busy_server_does_not_spend_the_owners_budget(world_a: World) -> None:
    owner = staff_client(world_a.handler)
    owner.post("/staff/logout/")
    crypto.configure_slots(1, 0.0)
    try:
        with crypto.argon2_slot():  # every slot taken: the check cannot run
            for _ in range(6):
                response = login(owner, world_a.handler.email, PASSWORD)
                assert response.status_code == 503
    finally:
        crypto.configure_slots(2, 5.0)
    assert KnownDevice.objects.get().failures == 0
    assert login(owner, world_a.handler.email, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_busy_server_does_not_count_an_unknown_browsers_attempt(world_a: World) -> None:
    crypto.configure_slots(1, 0.0)
    try:
        with crypto.argon2_slot():
            for _ in range(6):
                assert login(Client(), world_a.handler.email, WRONG).status_code == 503
    finally:
        crypto.configure_slots(2, 5.0)
    throttle = LoginThrottle.objects.get()
    assert throttle.failures == 0 and throttle.locked_until is None
    assert login(Client(), world_a.handler.email, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_device_cookies_and_addresses_never_reach_the_logs(
    world_a: World, frozen: Any, sensitive: SensitiveRegistry
) -> None:
    owner = staff_client(world_a.handler)
    value = owner.cookies[COOKIE].value
    token = signing.loads(value, salt="whistle.accounts.known-device")["t"]
    sensitive.add(value, token, world_a.handler.email, PASSWORD, WRONG)
    attack(world_a.handler.email)
    for _ in range(5):
        login(owner, world_a.handler.email, WRONG)
    login(owner, world_a.handler.email, PASSWORD)


@pytest.mark.django_db
def test_the_owner_can_forget_every_other_browser(world_a: World, frozen: Any) -> None:
    lost_laptop = staff_client(world_a.handler).cookies[COOKIE].value
    here = staff_client(world_a.handler)
    response = here.post("/staff/account/", {"action": "forget_browsers"})
    assert response.status_code == 302
    assert KnownDevice.objects.filter(user=world_a.handler).count() == 1
    attack(world_a.handler.email)
    assert (
        GENERIC in login(with_cookie(lost_laptop), world_a.handler.email, PASSWORD).content.decode()
    )
    here.post("/staff/logout/")
    assert login(here, world_a.handler.email, PASSWORD).status_code == 302
    # Other accounts' users cannot reach it: the page is the user's own, no ids in the URL.
    assert Client().post("/staff/account/", {"action": "forget_browsers"}).status_code == 302
    assert KnownDevice.objects.filter(user=world_a.handler).count() == 1
