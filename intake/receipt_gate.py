"""Receipt lookups: what a mailbox login may cost, and what its answer may reveal.

The receipt's secret part has 95 bits behind Argon2id: online guessing is hopeless, so nothing
here protects the secret. What needs bounding is the Argon2 work that someone who knows a
lookup part (8 characters of somebody's receipt) can make the server do, without letting them
keep the owner out and without telling anyone whether a lookup part exists:

* A malformed receipt never gets here (the check character is verified first, at no cost).
* Per lookup part (and tenant): recent failures make the next check wait, doubling from
  :data:`FIRST_DELAY` to :data:`MAX_DELAY`, and are forgotten :data:`FAILURE_MEMORY` seconds
  after the last one. A request computes its wait once, on arrival, and is then checked: it is
  never refused and never queued behind other requests, so whoever holds the right secret is
  in after at most ``MAX_DELAY`` plus the wait for an Argon2 slot, however an attacker races
  the end of each delay or piles up requests.
* Per tenant: checks of lookup parts with recent failures spend a budget
  (``INTAKE_RECEIPT_FAILED_CHECKS_PER_TENANT_MINUTE``); a successful check gives its unit
  back. Lookup parts without recent failures never touch it, so a genuine reporter is never
  refused because of other people's traffic.
* An unknown lookup part takes exactly the same path (its failures are counted, it waits the
  same delays, it spends the same budget) except that, instead of running Argon2, it sleeps
  for a duration drawn from this process's real checks of the last half minute (slot waits
  included), with jitter. It holds no database connection and no Argon2 slot meanwhile (the
  caller released the connection before calling :func:`attempt`).

State lives in the cache (Redis in production) under keyed hashes of tenant and lookup part,
expiring with the memory window. No address, no user agent, nothing that names a person. When
the cache cannot be reached the gate lets checks through without delays or budget (logged,
without the lookup part): the mailbox stays open (AV-1), and the Argon2 slots still bound what
a flood can cost.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import redis
from django.conf import settings
from django.core.cache import cache

import crypto
from crypto.receipts import SECRET_BYTES
from whistle.keys.services import kdf_params

T = TypeVar("T")
log = logging.getLogger(__name__)

FIRST_DELAY = 1.0
MAX_DELAY = 30.0
FAILURE_MEMORY = 15 * 60
BUDGET_WINDOW = 60
#: Real check durations kept per process for the unknown-lookup padding, and for how long.
SAMPLES = 64
SAMPLE_AGE = 30.0
#: The padding is a recent real duration times a factor drawn from this range.
JITTER = (0.9, 1.1)

_random = secrets.SystemRandom()


class TooManyAttempts(Exception):
    """The tenant's budget for checks of lookup parts with recent failures is spent for now."""


class Clock:
    """Wall time (shared between processes through the cache), a monotonic timer and sleep.

    Tests replace :data:`clock` with a clock they drive; nothing else does."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


clock = Clock()


def delay_for(failures: int) -> float:
    """Seconds between a lookup part's last failure and its next check."""
    if failures <= 0:
        return 0.0
    return min(FIRST_DELAY * 2.0 ** min(failures - 1, 32), MAX_DELAY)


def _digest(*parts: str) -> str:
    message = "|".join(parts).encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class LookupState:
    failures: int
    last_failure: float

    @property
    def hot(self) -> bool:
        return self.failures > 0

    def wait(self, now: float) -> float:
        # Capped: a failure stamped by a process whose clock runs ahead must not stretch it.
        return min(max(0.0, self.last_failure + delay_for(self.failures) - now), MAX_DELAY)


class _Subject:
    def __init__(self, tenant_id: str, lookup: str) -> None:
        digest = _digest("receipt-lookup", tenant_id, lookup)
        self.count_key = f"receipt-gate:n:{digest}"
        self.last_key = f"receipt-gate:t:{digest}"

    def state(self, now: float) -> LookupState:
        values = cache.get_many([self.count_key, self.last_key])
        failures, last = int(values.get(self.count_key, 0)), float(values.get(self.last_key, 0))
        if not failures or now - last > FAILURE_MEMORY:
            return LookupState(0, 0.0)
        return LookupState(failures, last)

    def record_failure(self, now: float) -> None:
        # An atomic increment: concurrent failures all count, so a burst reaches MAX_DELAY
        # at once. A count older than the memory window starts again from one.
        last = cache.get(self.last_key)
        if last is None or now - float(last) > FAILURE_MEMORY:
            cache.set(self.count_key, 1, timeout=FAILURE_MEMORY)
        else:
            try:
                cache.incr(self.count_key)
            except ValueError:  # expired meanwhile
                cache.set(self.count_key, 1, timeout=FAILURE_MEMORY)
            cache.touch(self.count_key, FAILURE_MEMORY)
        cache.set(self.last_key, now, timeout=FAILURE_MEMORY)


def _budget_key(tenant_id: str, now: float) -> tuple[str, int]:
    window_start = int(now) - int(now) % BUDGET_WINDOW
    key = f"receipt-gate:b:{_digest('receipt-budget', tenant_id, str(window_start))}"
    return key, BUDGET_WINDOW - (int(now) - window_start) + 1


def _budget_take(tenant_id: str, now: float) -> str | None:
    """Spend one unit of the tenant's budget; the key to give it back, or None if spent."""
    key, ttl = _budget_key(tenant_id, now)
    if cache.add(key, 1, timeout=ttl):
        return key
    try:
        used = cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.add(key, 1, timeout=ttl)
        return key
    limit = settings.INTAKE_RECEIPT_FAILED_CHECKS_PER_TENANT_MINUTE
    if used > limit:
        if used == limit + 1:  # one line per tenant and minute, however long the flood
            log.warning(
                "receipt gate: tenant %s spent its budget of %d checks of lookup parts with "
                "recent failures this minute; further ones get 429",
                tenant_id,
                limit,
            )
        return None
    return key


def _budget_return(key: str) -> None:
    with contextlib.suppress(ValueError):  # its window is over
        cache.decr(key)


class CheckDurations:
    """Durations of this process's real receipt checks (slot wait plus Argon2) in the last
    :data:`SAMPLE_AGE` seconds, at most :data:`SAMPLES` of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: deque[tuple[float, float]] = deque(maxlen=SAMPLES)
        self._seed_lock = threading.Lock()

    def record(self, seconds: float) -> None:
        with self._lock:
            self._values.append((clock.monotonic(), seconds))

    def snapshot(self) -> list[float]:
        """The durations recorded in the last ``SAMPLE_AGE`` seconds."""
        oldest = clock.monotonic() - SAMPLE_AGE
        with self._lock:
            return [seconds for at, seconds in self._values if at >= oldest]

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def padding(self, seed: Callable[[], None]) -> float:
        """A duration to answer an unknown lookup part in: a recent real one, with jitter.

        Without a real check in the last ``SAMPLE_AGE`` seconds, ``seed`` runs one real
        derivation first (one at a time; at most one per ``SAMPLE_AGE`` in a quiet process):
        the first answers of a process take what a real check takes, and durations from a past
        flood, when checks waited seconds for a slot, do not linger into a quiet time when
        real checks answer at once."""
        values = self.snapshot()
        if not values:
            # Waiting for another request's measurement is bounded like a wait for a slot:
            # under saturation, a queue of unknown receipts must not try one after the other.
            if not self._seed_lock.acquire(timeout=crypto.slot_config()[1]):
                raise crypto.BusyError("all Argon2id slots are busy")
            try:
                values = self.snapshot()
                if not values:
                    started = clock.monotonic()
                    seed()
                    values = [clock.monotonic() - started]
                    self.record(values[0])
            finally:
                self._seed_lock.release()
        return _random.choice(values) * _random.uniform(*JITTER)


durations = CheckDurations()


def _seed_derivation() -> None:
    crypto.derive_key(
        secrets.token_bytes(SECRET_BYTES),
        salt=secrets.token_bytes(16),
        params=kdf_params(),
        pepper=settings.RECEIPT_PEPPER.encode("utf-8"),
    )


def attempt(*, tenant_id: str, lookup: str, check: Callable[[], T | None] | None) -> T | None:
    """Run one receipt check for ``lookup`` in a tenant, under the rules of this module.

    Args:
        tenant_id: the tenant's public id.
        lookup: the receipt's lookup part.
        check: runs the real check (Argon2 through its slots) and returns what the receipt
            opens, or None for a wrong secret; None when the lookup part is unknown.

    Returns:
        What ``check`` returned, or None (wrong secret or unknown lookup part).

    Raises:
        TooManyAttempts: the lookup part has recent failures and the tenant's budget for such
            checks is spent for this minute.
        crypto.BusyError: no Argon2 slot became free in time (from ``check``).

    The caller must hold no database connection (``whistle.db.db_release``).
    """
    subject = _Subject(tenant_id, lookup)
    arrived = clock.now()
    state = _or_cold(subject, arrived)
    budget_key = None
    if state.hot:
        # Computed once: failures recorded while this request waits do not lengthen its wait.
        wait = state.wait(arrived)
        if wait > 0:
            clock.sleep(wait)
        budget_key = _budget_or_pass(tenant_id)
        if budget_key is None:
            raise TooManyAttempts
    result: T | None = None
    try:
        if check is None:
            clock.sleep(durations.padding(_seed_derivation))
        else:
            started = clock.monotonic()
            result = check()
            durations.record(clock.monotonic() - started)
    except crypto.BusyError:
        # "Busy, try again" is no failed check: nothing is counted, the unit goes back.
        if budget_key:
            _cache_best_effort(_budget_return, budget_key)
        raise
    if result is None:
        _cache_best_effort(subject.record_failure, clock.now())
    elif budget_key:
        _cache_best_effort(_budget_return, budget_key)
    return result


def _cache_unavailable(error: Exception) -> None:
    log.warning(
        "receipt gate: cache unavailable (%s), checking without delays", type(error).__name__
    )


def _or_cold(subject: _Subject, now: float) -> LookupState:
    try:
        return subject.state(now)
    except redis.RedisError as error:
        _cache_unavailable(error)
        return LookupState(0, 0.0)


def _budget_or_pass(tenant_id: str) -> str | None:
    """A unit of the budget (its key), None if spent; "" (nothing to give back) without cache."""
    try:
        return _budget_take(tenant_id, clock.now())
    except redis.RedisError as error:
        _cache_unavailable(error)
        return ""


def _cache_best_effort(action: Callable[[T], None], argument: T) -> None:
    try:
        action(argument)
    except redis.RedisError as error:
        _cache_unavailable(error)


def lookup_state(*, tenant_id: str, lookup: str) -> LookupState:
    """The recent failures of a lookup part (for tests and the operator's shell)."""
    return _Subject(tenant_id, lookup).state(clock.now())
