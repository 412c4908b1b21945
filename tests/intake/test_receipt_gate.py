"""Receipt lookups (issue 12, points 1 and 2): floods of malformed, unknown or wrong receipts
close no mailbox, repeated failures slow down without locking the owner out, and an unknown
lookup part is answered the way a known one is.

The gate's clock is the one thing replaced (an edge we do not own): its ``sleep`` records the
waits and moves the clock on instead of sleeping, so nothing here depends on the machine's
speed and the delays of half a minute cost nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from django.test import Client, override_settings

import crypto
from intake import receipt_gate
from intake.services import case_submit
from tests.fixtures import World
from tests.intake.journey import base, reporter
from tests.intake.receipts import BUSY, with_typo, with_wrong_secret
from tests.keys.test_key_hierarchy import setup_keys
from tests.plugins.sensitive import SensitiveRegistry

NEUTRAL = "We could not open a report with this code"
TOO_MANY = "too many attempts to open mailboxes here"


@dataclass
class FakeClock(receipt_gate.Clock):
    """Wall time stands still but for ``sleep``, which moves it on and is recorded; the
    monotonic timer (durations of real checks) runs as it does, plus the sleeps."""

    start: float = field(default_factory=time.time)
    offset: float = 0.0
    sleeps: list[float] = field(default_factory=list)
    during_next_sleep: Callable[[], None] | None = None

    def now(self) -> float:
        return self.start + self.offset

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += seconds
        if (hook := self.during_next_sleep) is not None:
            self.during_next_sleep = None
            hook()

    def take(self) -> list[float]:
        taken, self.sleeps = self.sleeps, []
        return taken


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    fake = FakeClock()
    monkeypatch.setattr(receipt_gate, "clock", fake)
    receipt_gate.durations.clear()
    yield fake
    receipt_gate.durations.clear()


@pytest.fixture
def ready(worlds: tuple[World, World]) -> tuple[World, World]:
    for world in worlds:
        setup_keys(world)
    return worlds


def file_case(world: World, sensitive: SensitiveRegistry) -> str:
    receipt = case_submit(tenant=world.tenant, office=world.office, answers={}).receipt.formatted
    sensitive.add(receipt, receipt.replace("-", ""))
    return receipt


def login(world: World, receipt: str, client: Client | None = None, **extra: str) -> int:
    response = (client or reporter()).post(base(world) + "mailbox/", {"receipt": receipt, **extra})
    return response.status_code


def lookup_of(world: World, receipt: str) -> receipt_gate.LookupState:
    return receipt_gate.lookup_state(
        tenant_id=str(world.tenant.public_id), lookup=crypto.parse_receipt(receipt).lookup
    )


@pytest.mark.django_db
def test_a_flood_of_receipts_closes_no_mailbox(
    ready: tuple[World, World], clock: FakeClock, sensitive: SensitiveRegistry
) -> None:
    """Done when: a test floods receipt lookups and a genuine reporter of the same and of
    another tenant gets through. Before the fix, 600 tries a minute in total were shared by
    every tenant, counted before the receipt was even parsed."""
    a, b = ready
    genuine_a, genuine_b, attacked = (file_case(w, sensitive) for w in (a, b, a))
    # Typos of somebody's real receipt, then well-formed codes that open nothing.
    for _ in range(650):
        assert login(a, with_typo(genuine_a)) == 200
    for _ in range(200):
        assert login(a, crypto.generate_receipt().formatted) == 200
    # Someone who knows another reporter's lookup part tries secrets on it.
    for n in range(1, 40):
        assert login(a, with_wrong_secret(attacked, n)) in {200, 429}
    assert lookup_of(a, attacked).failures > 0
    assert lookup_of(a, genuine_a).failures == 0

    sleeps_before = len(clock.sleeps)
    assert login(a, genuine_a) == 302
    assert login(b, genuine_b) == 302
    # Neither waited: their lookup parts had no failures.
    assert clock.sleeps[sleeps_before:] == []


@pytest.mark.django_db
def test_typos_and_unknown_lookup_parts_cost_no_argon2_run(
    ready: tuple[World, World], clock: FakeClock, sensitive: SensitiveRegistry
) -> None:
    a, _b = ready
    genuine = file_case(a, sensitive)
    assert login(a, genuine) == 302  # a real check: the padding has something to draw from
    crypto.configure_slots(1, 0.0)
    try:
        with crypto.argon2_slot():  # any Argon2 run now would answer "busy" (503)
            for _ in range(20):
                assert login(a, with_typo(genuine)) == 200
                assert login(a, crypto.generate_receipt().formatted) == 200
            assert login(a, genuine) == 503
    finally:
        crypto.configure_slots(2, 5.0)


@pytest.mark.django_db
def test_an_unknown_lookup_part_is_answered_after_a_real_checks_time(
    ready: tuple[World, World], clock: FakeClock, sensitive: SensitiveRegistry
) -> None:
    """Timing, asserted on the structure: the unknown answer sleeps a duration drawn from the
    process's recent real checks (with jitter), and a real check sleeps nothing."""
    a, _b = ready
    receipts = [file_case(a, sensitive) for _ in range(3)]
    # The first answer of a process with no real check yet runs one derivation to seed.
    assert login(a, crypto.generate_receipt().formatted) == 200
    assert len(receipt_gate.durations.snapshot()) == 1
    clock.take()
    # Right and wrong secrets (lookup parts without failures) run Argon2 and sleep nothing.
    assert login(a, receipts[0]) == 302
    assert login(a, with_wrong_secret(receipts[1])) == 200
    assert login(a, receipts[2]) == 302
    assert clock.take() == []
    real = receipt_gate.durations.snapshot()
    assert len(real) == 4
    low, high = min(real) * receipt_gate.JITTER[0], max(real) * receipt_gate.JITTER[1]
    for _ in range(10):
        assert login(a, crypto.generate_receipt().formatted) == 200
        (padding,) = clock.take()
        assert low <= padding <= high


@pytest.mark.django_db
def test_the_padding_forgets_durations_of_a_past_flood(
    ready: tuple[World, World], clock: FakeClock
) -> None:
    """Checks that waited seconds for a slot during a flood must not make unknown lookup parts
    slow (and so recognisable) once the flood is over and real checks answer at once."""
    a, _b = ready
    receipt_gate.durations.record(5.0)  # as a check during a flood would
    assert login(a, crypto.generate_receipt().formatted) == 200
    (padding,) = clock.take()
    assert 5.0 * receipt_gate.JITTER[0] <= padding <= 5.0 * receipt_gate.JITTER[1]
    clock.offset += receipt_gate.SAMPLE_AGE + 1
    assert login(a, crypto.generate_receipt().formatted) == 200
    (padding,) = clock.take()
    (fresh,) = receipt_gate.durations.snapshot()  # one real derivation, measured just now
    assert fresh < 5.0 and padding <= fresh * receipt_gate.JITTER[1]


@pytest.mark.django_db
def test_with_nothing_measured_and_no_slot_an_unknown_receipt_is_busy_like_a_real_one(
    ready: tuple[World, World], clock: FakeClock, sensitive: SensitiveRegistry
) -> None:
    a, _b = ready
    genuine = file_case(a, sensitive)
    crypto.configure_slots(1, 0.0)
    try:
        with crypto.argon2_slot():
            assert login(a, crypto.generate_receipt().formatted) == 503
            assert login(a, with_wrong_secret(genuine)) == 503
    finally:
        crypto.configure_slots(2, 5.0)
    assert receipt_gate.durations.snapshot() == []


@pytest.mark.django_db
def test_unknown_lookup_parts_slow_down_exactly_like_known_ones(
    ready: tuple[World, World], clock: FakeClock, sensitive: SensitiveRegistry
) -> None:
    """Growing delays must not tell whether a lookup part exists: the same wrong attempts on
    a known and on an unknown lookup part count the same failures and wait the same."""
    a, _b = ready
    known = file_case(a, sensitive)
    unknown = crypto.generate_receipt().formatted
    assert login(a, known) == 302  # seeds the padding

    def waits(receipt: str) -> tuple[list[float], list[int]]:
        delays, failures = [], []
        for n in range(1, 9):
            clock.take()
            assert login(a, with_wrong_secret(receipt, n)) == 200
            slept = clock.take()
            if receipt is unknown:
                slept = slept[:-1]  # the last sleep stands in for Argon2
            delays.append(sum(slept))
            failures.append(lookup_of(a, receipt).failures)
        return delays, failures

    start = clock.offset
    known_waits = waits(known)
    clock.offset = start  # the same arrival times for the second series
    assert waits(unknown) == known_waits
    assert known_waits == ([0, 1, 2, 4, 8, 16, 30, 30], [1, 2, 3, 4, 5, 6, 7, 8])


@pytest.mark.django_db
def test_the_owner_gets_in_within_the_longest_delay_whatever_the_attacker_does(
    ready: tuple[World, World], clock: FakeClock, sensitive: SensitiveRegistry
) -> None:
    """Wrong secrets slow down their lookup part, never lock it: the owner's request waits at
    most MAX_DELAY once, even while an attacker keeps failing meanwhile (racing the end of
    each delay), and failures are forgotten after FAILURE_MEMORY."""
    a, _b = ready
    owner = file_case(a, sensitive)
    for n in range(1, 30):
        assert login(a, with_wrong_secret(owner, n)) == 200
        assert all(wait <= receipt_gate.MAX_DELAY for wait in clock.take())
    assert lookup_of(a, owner).failures == 29

    after_attacker: list[int] = []

    def attacker_strikes() -> None:
        # Five failures while the owner's request waits (through the gate itself: a nested
        # request would reset the outer one's URL configuration).
        for _ in range(5):
            receipt_gate.attempt(
                tenant_id=str(a.tenant.public_id),
                lookup=crypto.parse_receipt(owner).lookup,
                check=lambda: None,
            )
        after_attacker.append(len(clock.sleeps))

    clock.during_next_sleep = attacker_strikes
    client = reporter()
    assert login(a, owner, client) == 302
    # The owner's request slept once (the attacker's waits came in during it), no longer
    # than the longest delay, and not again after the attacker's new failures.
    assert clock.sleeps[0] <= receipt_gate.MAX_DELAY
    assert after_attacker == [len(clock.sleeps)]
    assert client.get(base(a) + "mailbox/").status_code == 200
    assert lookup_of(a, owner).failures == 34

    clock.take()
    clock.offset += receipt_gate.FAILURE_MEMORY + 1
    assert lookup_of(a, owner).failures == 0
    assert login(a, owner) == 302
    assert clock.take() == []


@pytest.mark.django_db
@override_settings(INTAKE_RECEIPT_FAILED_CHECKS_PER_TENANT_MINUTE=3)
def test_the_tenant_budget_applies_only_to_lookup_parts_with_recent_failures(
    ready: tuple[World, World],
    clock: FakeClock,
    sensitive: SensitiveRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    a, b = ready
    genuine_a, genuine_b, attacked = (file_case(w, sensitive) for w in (a, b, a))
    targets = [attacked, *(crypto.generate_receipt().formatted for _ in range(3))]
    for target in targets:  # one failure each: these lookup parts are now "hot"
        assert login(a, with_wrong_secret(target)) == 200
    clock.offset += receipt_gate.MAX_DELAY  # every delay is over; same minute or the next
    clock.offset += receipt_gate.BUDGET_WINDOW - clock.now() % receipt_gate.BUDGET_WINDOW
    # Three further checks of hot lookup parts spend the budget, known and unknown alike...
    for target in targets[:3]:
        assert login(a, with_wrong_secret(target, 2)) == 200
    # ... and the next is refused, with what was typed kept.
    response = reporter().post(
        base(a) + "mailbox/",
        {"receipt": with_wrong_secret(targets[3], 2), "pending_message": "my unsent words"},
    )
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert TOO_MANY in response.content.decode()
    assert "my unsent words" in response.content.decode()
    assert login(a, with_wrong_secret(targets[3], 3)) == 429
    # The operator is told once, with the tenant's id and nothing of the receipts.
    spent = [r for r in caplog.records if "spent its budget" in r.getMessage()]
    assert len(spent) == 1 and str(a.tenant.public_id) in spent[0].getMessage()
    # Lookup parts without recent failures are not touched by it, in both tenants.
    assert login(a, genuine_a) == 302
    assert login(b, genuine_b) == 302
    # The next minute, the budget is back.
    clock.offset += receipt_gate.BUDGET_WINDOW
    assert login(a, attacked) == 302


@pytest.mark.django_db
def test_busy_answer_keeps_what_was_typed(
    ready: tuple[World, World], clock: FakeClock, sensitive: SensitiveRegistry
) -> None:
    a, _b = ready
    genuine = file_case(a, sensitive)
    crypto.configure_slots(1, 0.0)
    try:
        with crypto.argon2_slot():
            response = reporter().post(
                base(a) + "mailbox/", {"receipt": genuine, "pending_message": "half a letter"}
            )
    finally:
        crypto.configure_slots(2, 5.0)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    page = response.content.decode()
    assert BUSY in page and "half a letter" in page
    # "Busy" is no failure: nothing slows the owner's next attempt down.
    assert lookup_of(a, genuine).failures == 0
    assert login(a, genuine) == 302


REFUSING_REDIS = {
    "default": {
        "BACKEND": "whistle.cache.SharedClientRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1: refused at once
        "KEY_PREFIX": "whistle",
    }
}


@pytest.mark.django_db
def test_the_mailbox_stays_open_when_the_cache_is_down(
    ready: tuple[World, World],
    clock: FakeClock,
    sensitive: SensitiveRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    a, _b = ready
    genuine = file_case(a, sensitive)
    with override_settings(CACHES=REFUSING_REDIS):
        assert login(a, with_wrong_secret(genuine)) == 200
        assert login(a, crypto.generate_receipt().formatted) == 200
        assert login(a, genuine) == 302
    assert "receipt gate: cache unavailable" in caplog.text
    assert lookup_of(a, genuine).failures == 0  # nothing could be counted meanwhile
