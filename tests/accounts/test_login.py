"""Staff login: password then a mandatory second factor; enrolment; recovery codes; throttling;
session rotation, timeouts and logout everywhere (time controlled with time-machine)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.fixtures import PASSWORD, World, current_code, make_staff, staff_client
from tests.plugins.sensitive import SensitiveRegistry
from whistle.accounts.models import LoginThrottle, RecoveryCode

GENERIC = "The e-mail address, password or code is not right"


def inbox(world: World) -> str:
    return f"/staff/offices/{world.office.public_id}/"


@pytest.mark.django_db
def test_password_alone_never_reaches_a_staff_page(world_a: World) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/staff/login/", {"email": world_a.handler.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/verify/")
    response = client.get(inbox(world_a))
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/verify/")
    client.post("/staff/verify/", {"code": current_code(world_a.handler)})
    assert client.get(inbox(world_a)).status_code == 200


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(world_a: World) -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(inbox(world_a))
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/")


@pytest.mark.django_db
def test_login_rotates_the_session_key(world_a: World) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.get("/staff/login/")
    client.cookies["whistle_session"] = "attackerchosensessionkey0123456789"
    client.post("/staff/login/", {"email": world_a.handler.email, "password": PASSWORD})
    assert client.cookies["whistle_session"].value != "attackerchosensessionkey0123456789"


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["email", "password"])
def test_wrong_password_or_email_gets_one_generic_message(world_a: World, which: str) -> None:
    data = {"email": world_a.handler.email, "password": PASSWORD}
    data[which] = "wrong@example.org" if which == "email" else "not the password at all"
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post("/staff/login/", data)
    assert response.status_code == 200
    assert GENERIC in response.content.decode()


@pytest.mark.django_db
def test_wrong_code_gets_the_same_generic_message(world_a: World) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post("/staff/login/", {"email": world_a.handler.email, "password": PASSWORD})
    response = client.post("/staff/verify/", {"code": "000000"})
    assert GENERIC in response.content.decode()


@pytest.mark.django_db
def test_password_throttling_grows_and_then_releases(world_a: World) -> None:
    email = world_a.handler.email
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        for _ in range(3):
            client.post("/staff/login/", {"email": email, "password": "wrong password 123"})
        throttle = LoginThrottle.objects.get()
        assert throttle.locked_until is None
        client.post("/staff/login/", {"email": email, "password": "wrong password 123"})
        throttle.refresh_from_db()
        assert throttle.locked_until == start + timedelta(seconds=2)
        # While locked even the right password fails, with the same generic message.
        response = client.post("/staff/login/", {"email": email, "password": PASSWORD})
        assert GENERIC in response.content.decode()
        clock.shift(timedelta(seconds=3))
        client.post("/staff/login/", {"email": email, "password": "wrong password 123"})
        throttle.refresh_from_db()
        assert throttle.locked_until == timezone.now() + timedelta(seconds=4)
        clock.shift(timedelta(seconds=5))
        response = client.post("/staff/login/", {"email": email, "password": PASSWORD})
        assert response.status_code == 302
        assert not LoginThrottle.objects.exists()


@pytest.mark.django_db
def test_throttling_applies_to_unknown_accounts_too(db: None) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for _ in range(5):
        client.post("/staff/login/", {"email": "ghost@example.org", "password": "x" * 12})
    throttle = LoginThrottle.objects.get()
    assert throttle.failures == 4  # the fifth attempt met the lock and was not counted
    assert "ghost" not in throttle.key


@pytest.mark.django_db
def test_code_throttling(world_a: World) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post("/staff/login/", {"email": world_a.handler.email, "password": PASSWORD})
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.post("/staff/verify/", {"code": "000000"})
        client.post("/staff/verify/", {"code": "000001"})
        # Throttled now: even the right code is refused until the delay has passed.
        response = client.post("/staff/verify/", {"code": current_code(world_a.handler)})
        assert response.status_code == 200
        assert GENERIC in response.content.decode()
        clock.shift(timedelta(seconds=5))
        response = client.post("/staff/verify/", {"code": current_code(world_a.handler)})
        assert response.status_code == 302


@pytest.mark.django_db
def test_first_login_enrols_totp_and_shows_recovery_codes_once(db: None) -> None:
    user = make_staff("new@alpha.example", with_totp=False)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/staff/login/", {"email": user.email, "password": PASSWORD})
    assert response["Location"] == "/staff/enrol/"
    page = client.get("/staff/enrol/").content.decode()
    assert "<svg" in page
    assert "otpauth" not in page.replace("otpauth://", "")  # the URI is only inside the QR code
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    code = f"{totp(device.bin_key):06d}"
    response = client.post("/staff/enrol/", {"code": code})
    assert response.status_code == 200
    codes = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", response.content.decode())
    assert len(codes) == 10
    device.refresh_from_db()
    assert device.confirmed
    # Codes are stored only as keyed hashes.
    stored = list(RecoveryCode.objects.values_list("digest", flat=True))
    assert not set(codes) & set(stored)
    assert client.get("/staff/").status_code == 200
    # A recovery code works once.
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    other.post("/staff/login/", {"email": user.email, "password": PASSWORD})
    assert other.post("/staff/verify/", {"code": codes[0].upper()}).status_code == 302
    third = Client(HTTP_ACCEPT_LANGUAGE="en")
    third.post("/staff/login/", {"email": user.email, "password": PASSWORD})
    assert GENERIC in third.post("/staff/verify/", {"code": codes[0]}).content.decode()


@pytest.mark.django_db
def test_enrolment_is_refused_once_a_device_exists(world_a: World) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post("/staff/login/", {"email": world_a.handler.email, "password": PASSWORD})
    response = client.get("/staff/enrol/")
    assert response.status_code == 302
    assert response["Location"] == "/staff/verify/"
    client.post("/staff/enrol/", {"code": "123456"})
    assert TOTPDevice.objects.filter(user=world_a.handler).count() == 1


@pytest.mark.django_db
def test_idle_timeout_after_30_minutes(world_a: World) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = staff_client(world_a.handler)
        clock.shift(timedelta(minutes=29))
        assert client.get(inbox(world_a)).status_code == 200
        clock.shift(timedelta(minutes=29))
        assert client.get(inbox(world_a)).status_code == 200  # activity renewed the clock
        clock.shift(timedelta(minutes=31))
        response = client.get(inbox(world_a))
        assert response.status_code == 302
        assert response["Location"].startswith("/staff/login/")


@pytest.mark.django_db
def test_absolute_timeout_after_12_hours(world_a: World) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = staff_client(world_a.handler)
        for _ in range(24):
            clock.shift(timedelta(minutes=29))
            assert client.get(inbox(world_a)).status_code == 200  # 11 h 36 min at the end
        clock.shift(timedelta(minutes=29))  # 12 h 05 min after login, never idle for 30 min
        response = client.get(inbox(world_a))
        assert response.status_code == 302
        assert response["Location"].startswith("/staff/login/")


@pytest.mark.django_db
def test_password_change_logs_out_every_other_session(world_a: World) -> None:
    first = staff_client(world_a.handler)
    second = staff_client(world_a.handler)
    response = first.post(
        "/staff/account/",
        {
            "old_password": PASSWORD,
            "new_password1": "a new and long passphrase 2026",
            "new_password2": "a new and long passphrase 2026",
        },
    )
    assert response.status_code == 302
    assert first.get(inbox(world_a)).status_code == 200
    response = second.get(inbox(world_a))
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/")


@pytest.mark.django_db
def test_password_rules(world_a: World) -> None:
    client = staff_client(world_a.handler)
    for weak in ("short pw 1", "password1234", "123456789012345"):
        response = client.post(
            "/staff/account/",
            {"old_password": PASSWORD, "new_password1": weak, "new_password2": weak},
        )
        assert response.status_code == 200, weak
    world_a.handler.refresh_from_db()
    assert world_a.handler.check_password(PASSWORD)


@pytest.mark.django_db
def test_logout(world_a: World) -> None:
    client = staff_client(world_a.handler)
    assert client.post("/staff/logout/").status_code == 302
    assert client.get(inbox(world_a)).status_code == 302


@pytest.mark.django_db
def test_passwords_codes_and_secrets_never_reach_logs_or_output(
    world_a: World, sensitive: SensitiveRegistry
) -> None:
    device = TOTPDevice.objects.get(user=world_a.handler)
    sensitive.add(PASSWORD, "not the password at all", device.key, world_a.handler.email)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post(
        "/staff/login/", {"email": world_a.handler.email, "password": "not the password at all"}
    )
    client.post("/staff/login/", {"email": world_a.handler.email, "password": PASSWORD})
    client.post("/staff/verify/", {"code": "000000"})
    client.post("/staff/verify/", {"code": current_code(world_a.handler)})
    client.get(inbox(world_a))
    client.post(
        "/staff/account/",
        {"old_password": PASSWORD, "new_password1": "x", "new_password2": "y"},
    )
