"""When a session is still valid: one set of rules for HTTP and websockets.

Staff sessions end after ``STAFF_IDLE_TIMEOUT`` seconds without activity and
``STAFF_ABSOLUTE_TIMEOUT`` seconds after login; a reporter's mailbox session ends after
``REPORTER_IDLE_TIMEOUT`` seconds without activity. The staff middleware
(``whistle.accounts.middleware``), the reporter's mailbox (``intake.views.mailbox``) and the
conversation sockets (``chat.consumers``, ``casework.consumers``) all ask these rules, reading
the same session entries, so a page and a socket of the same session cannot disagree about
whether it is over.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings

#: Session entries: when the staff member logged in and was last active (Unix times).
STAFF_AUTH_AT = "_staff_auth_at"
STAFF_SEEN_AT = "_staff_seen_at"
#: When the reporter's mailbox session was last active.
REPORTER_SEEN_AT = "_mailbox_seen"
#: The mailbox session's entries in the session vault (whistle.vault): the case's public id
#: and its key.
MAILBOX_CASE = "mailbox_case"
MAILBOX_KEY = "mailbox_key"

Ended = Literal["idle", "absolute"]


@dataclass(frozen=True)
class SessionRules:
    """The limits of one kind of session and where its times are kept."""

    seen_key: str
    auth_key: str | None  # None: no absolute limit (reporters)
    idle: Callable[[], float]
    absolute: Callable[[], float]

    def times(self, session: Mapping[str, Any]) -> tuple[float, float] | None:
        """(last seen, logged in) as stored; None without a login time where one is needed."""
        seen = float(session.get(self.seen_key, 0))
        if self.auth_key is None:
            return seen, 0.0
        auth = session.get(self.auth_key)
        return None if auth is None else (seen, float(auth))

    def ended_at(self, seen: float, auth: float, now: float) -> Ended | None:
        """Which limit, if any, a session last active at ``seen`` and logged in at ``auth``
        has passed at ``now``."""
        if now - seen > self.idle():
            return "idle"
        if now - auth > self.absolute():
            return "absolute"
        return None

    def ended(self, session: Mapping[str, Any], now: float) -> Ended | None:
        """Which limit, if any, the stored ``session`` has passed at ``now``."""
        times = self.times(session)
        if times is None:
            return "absolute"
        return self.ended_at(times[0], times[1], now)

    def touch(self, session: Any, now: float) -> None:
        """The person did something at ``now``: the idle clock starts again."""
        session[self.seen_key] = now


STAFF = SessionRules(
    seen_key=STAFF_SEEN_AT,
    auth_key=STAFF_AUTH_AT,
    idle=lambda: float(settings.STAFF_IDLE_TIMEOUT),
    absolute=lambda: float(settings.STAFF_ABSOLUTE_TIMEOUT),
)
REPORTER = SessionRules(
    seen_key=REPORTER_SEEN_AT,
    auth_key=None,
    idle=lambda: float(settings.REPORTER_IDLE_TIMEOUT),
    absolute=lambda: math.inf,
)
