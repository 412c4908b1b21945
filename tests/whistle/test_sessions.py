"""One set of session rules for pages and sockets (whistle/sessions.py)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from whistle.sessions import REPORTER, REPORTER_SEEN_AT, STAFF, STAFF_AUTH_AT, STAFF_SEEN_AT


@override_settings(STAFF_IDLE_TIMEOUT=1800, STAFF_ABSOLUTE_TIMEOUT=43200)
@pytest.mark.parametrize(
    ("session", "now", "ended"),
    [
        ({STAFF_AUTH_AT: 1000.0, STAFF_SEEN_AT: 1000.0}, 1000.0 + 1800, None),
        ({STAFF_AUTH_AT: 1000.0, STAFF_SEEN_AT: 1000.0}, 1000.0 + 1801, "idle"),
        ({STAFF_AUTH_AT: 1000.0, STAFF_SEEN_AT: 44000.0}, 1000.0 + 43201, "absolute"),
        ({STAFF_SEEN_AT: 1000.0}, 1001.0, "absolute"),  # no login time: over
        ({}, 10.0**9, "idle"),
    ],
)
def test_staff_sessions_end_idle_or_absolute(
    session: dict[str, float], now: float, ended: str | None
) -> None:
    assert STAFF.ended(session, now) == ended


@override_settings(REPORTER_IDLE_TIMEOUT=900)
def test_a_mailbox_session_ends_only_when_idle() -> None:
    session = {REPORTER_SEEN_AT: 1000.0}
    assert REPORTER.ended(session, 1900.0) is None
    assert REPORTER.ended(session, 1901.0) == "idle"
    REPORTER.touch(session, 1901.0)
    assert REPORTER.ended(session, 2000.0) is None
    assert REPORTER.ended(session, 10.0**9) == "idle"  # no absolute limit, but idle


def test_pages_and_sockets_ask_the_same_rules() -> None:
    from casework.consumers import HandlerConsumer
    from chat.consumers import ReporterConsumer
    from intake.views import mailbox
    from whistle.accounts import middleware

    assert HandlerConsumer.rules is STAFF and ReporterConsumer.rules is REPORTER
    assert vars(middleware)["STAFF"] is STAFF and vars(mailbox)["REPORTER"] is REPORTER
