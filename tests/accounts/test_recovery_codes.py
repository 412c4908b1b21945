"""Recovery codes: new ones only with the password; one code passes once even when two
requests race with it (issue 12, point 11)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, connections, transaction
from django.test import Client

from tests.fixtures import PASSWORD, World, make_staff, staff_client
from whistle.accounts.models import RecoveryCode, RecoveryCodeDevice
from whistle.accounts.services import staff_new_recovery_codes

CODE = re.compile(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "That is not your password. Your recovery codes were not changed."),
        ("de", "Das ist nicht Ihr Passwort. Ihre Wiederherstellungscodes wurden nicht geändert."),
    ],
)
def test_new_recovery_codes_need_the_password(world_a: World, language: str, message: str) -> None:
    old = staff_new_recovery_codes(user=world_a.handler, password=PASSWORD)
    assert old is not None
    digests = set(RecoveryCode.objects.values_list("digest", flat=True))
    client = staff_client(world_a.handler)
    client.cookies["django_language"] = language
    for password in ("", "not my password at all"):
        response = client.post(
            "/staff/account/",
            {"action": "recovery", "recovery_password": password},
            HTTP_ACCEPT_LANGUAGE=language,
        )
        assert response.status_code == 200
        assert not CODE.findall(response.content.decode())
    assert message in response.content.decode()
    assert set(RecoveryCode.objects.values_list("digest", flat=True)) == digests
    response = client.post("/staff/account/", {"action": "recovery", "recovery_password": PASSWORD})
    codes = CODE.findall(response.content.decode())
    assert len(codes) == 10
    assert not set(RecoveryCode.objects.values_list("digest", flat=True)) & digests


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _lock_waiters() -> int:
    """Sessions of this database blocked on a row lock right now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


@pytest.mark.django_db(transaction=True)
def test_one_recovery_code_passes_once_when_two_requests_race(db: None) -> None:
    user = make_staff("racer@alpha.example")
    codes = staff_new_recovery_codes(user=user, password=PASSWORD)
    assert codes is not None
    device = RecoveryCodeDevice.objects.get(user=user)
    results: list[bool] = []
    errors: list[BaseException] = []

    def use_code() -> None:
        try:
            own = RecoveryCodeDevice.objects.get(pk=device.pk)  # this thread's connection
            results.append(own.verify_token(codes[0]))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    # A third connection holds the code's row: both requests reach the critical section and
    # wait there; then the row is released and they proceed in whatever order PostgreSQL picks.
    holder = connections.create_connection("default")
    try:
        with holder.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(
                "SELECT id FROM accounts_recoverycode WHERE device_id = %s FOR UPDATE",
                [device.pk],
            )
            threads = [threading.Thread(target=use_code) for _ in range(2)]
            for thread in threads:
                thread.start()
            _wait_for(lambda: _lock_waiters() >= 2, "both requests to wait on the code's row")
            cursor.execute("ROLLBACK")
    finally:
        holder.close()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sorted(results) == [False, True]
    assert RecoveryCode.objects.filter(device=device).count() == 9


@pytest.mark.django_db
def test_a_used_code_is_gone_and_the_others_still_work(world_a: World) -> None:
    codes = staff_new_recovery_codes(user=world_a.handler, password=PASSWORD)
    assert codes is not None
    device = RecoveryCodeDevice.objects.get(user=world_a.handler)
    with transaction.atomic():
        assert device.verify_token(codes[3].upper())
    assert not device.verify_token(codes[3])
    device.throttle_reset(commit=True)
    assert device.verify_token(codes[4])
    assert device.remaining() == 8
    assert Client().get("/staff/account/").status_code == 302
