"""Argon2id key derivation behind a process-wide bound on concurrent runs.

Every Argon2id run takes ``memory_kib`` of RAM and a core for ~1/4 s with
:data:`PRODUCTION_PARAMS`. A flood of logins or receipt attempts would otherwise exhaust the
server's memory, so each run must hold one of a fixed number of slots; when none frees within
the timeout the caller gets :class:`BusyError` (answer "busy, try again", HTTP 503).

The limit is per process: with W worker processes of T slots each, at most W x T x memory_kib
is used by Argon2id at once.

Two derivations exist (docs/crypto.md, "Argon2id"); stored wraps say which one made them:

* :data:`KDF_V2` (current): ``HMAC-SHA256(pepper, label || secret)`` stretched with libsodium's
  Argon2id (PyNaCl), one lane, no secret input. libsodium's optimised code takes ~0.18 s for
  128 MiB, t=3 on the reference machine.
* :data:`KDF_V1` (reading only, for wraps made before): Argon2id from ``cryptography`` with the
  pepper as Argon2's secret input ``K`` (~0.35 s for the same parameters).

Both release the GIL while they run, so derivations in worker threads use every core while an
event loop keeps running beside them. They run in this process's Argon2 threads
(:func:`run_in_slot`), which lower their own scheduling priority: a flood of receipt checks
fills the cores only with what nothing else of the process wants, so staff pages, chat and
the event loop keep their latency while Argon2 takes the rest.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import struct
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from nacl.bindings import crypto_pwhash_alg, crypto_pwhash_ALG_ARGON2ID13

from crypto.errors import BusyError

#: Hard bounds, also applied to parameters read from stored wraps: a tampered database must
#: not be able to make an unwrap allocate gigabytes or run for minutes.
MAX_MEMORY_KIB = 1024 * 1024  # 1 GiB
MAX_ITERATIONS = 64
MAX_LANES = 16
MIN_SALT_LEN = 16

#: Argon2id from ``cryptography`` (OpenSSL), pepper as Argon2's secret input ``K``. Wraps made
#: before issue 12 use it; it is kept to open them and never used for new ones.
KDF_V1 = 1
#: ``P = HMAC-SHA256(key=pepper, msg=PEPPER_LABEL || secret)``, then libsodium's Argon2id
#: (password ``P``, 16-byte salt, one lane, no ``K``, no associated data).
KDF_V2 = 2
#: The derivation new keys and wraps use.
KDF_VERSION = KDF_V2
KDF_VERSIONS = (KDF_V1, KDF_V2)
#: Domain label of the v2 pepper step (ASCII, 20 bytes, no terminator).
PEPPER_LABEL = b"whistle/argon2id/v2|"
#: libsodium's ``crypto_pwhash_SALTBYTES``: v2 takes exactly this salt length.
V2_SALT_LEN = 16

_PARAMS_STRUCT = struct.Struct(">III")


@dataclass(frozen=True)
class Argon2Params:
    """Argon2id cost parameters (version 1.3).

    Attributes:
        memory_kib: memory in KiB (at least ``8 * lanes``, at most 1 GiB).
        iterations: passes over memory (``t``), 1 to 64.
        lanes: parallelism (``p``), 1 to 16.
    """

    memory_kib: int
    iterations: int
    lanes: int

    def __post_init__(self) -> None:
        for name in ("memory_kib", "iterations", "lanes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"Argon2Params.{name} must be an int")
        if not 1 <= self.lanes <= MAX_LANES:
            raise ValueError("Argon2Params.lanes out of range")
        if not 1 <= self.iterations <= MAX_ITERATIONS:
            raise ValueError("Argon2Params.iterations out of range")
        if not 8 * self.lanes <= self.memory_kib <= MAX_MEMORY_KIB:
            raise ValueError("Argon2Params.memory_kib out of range")

    def encode(self) -> bytes:
        """Return the 12-byte encoding stored in wraps: three big-endian uint32 (m, t, p)."""
        return _PARAMS_STRUCT.pack(self.memory_kib, self.iterations, self.lanes)

    @classmethod
    def decode(cls, data: bytes) -> Argon2Params:
        """Parse :meth:`encode`'s output.

        Raises:
            ValueError: wrong length or values out of bounds.
        """
        if len(data) != ENCODED_PARAMS_LEN:
            raise ValueError("encoded Argon2 parameters must be 12 bytes")
        memory_kib, iterations, lanes = _PARAMS_STRUCT.unpack(data)
        return cls(memory_kib=memory_kib, iterations=iterations, lanes=lanes)


ENCODED_PARAMS_LEN = _PARAMS_STRUCT.size

#: 128 MiB, t=3, p=1: ~0.18 s with KDF_V2 on the 2-core reference machine (docs/crypto.md,
#: docs/performance.md); 136 MiB or t=4 would already pass the 0.2 s target. One lane because
#: a server runs many derivations side by side; more lanes would only trade one login's
#: latency for the others' (and libsodium has one lane only).
PRODUCTION_PARAMS = Argon2Params(memory_kib=128 * 1024, iterations=3, lanes=1)

#: Cheap parameters for tests only (~1 ms). Never use them for real secrets.
TEST_PARAMS = Argon2Params(memory_kib=1024, iterations=1, lanes=1)

DEFAULT_MAX_CONCURRENT = 2
DEFAULT_SLOT_TIMEOUT = 5.0


class _Slots:
    def __init__(self, max_concurrent: int, timeout: float) -> None:
        self.max_concurrent = max_concurrent
        self.timeout = timeout
        self.semaphore = threading.BoundedSemaphore(max_concurrent)


_current = _Slots(DEFAULT_MAX_CONCURRENT, DEFAULT_SLOT_TIMEOUT)
_configure_lock = threading.Lock()

#: Called after every wait for a slot with the seconds waited and whether a slot was got
#: (False: the caller gets BusyError). The application registers its metrics here
#: (:func:`on_slot_wait`); this package knows nothing of them.
SlotWaitCallback = Callable[[float, bool], None]
_slot_wait_callbacks: list[SlotWaitCallback] = []


def on_slot_wait(callback: SlotWaitCallback) -> None:
    """Register ``callback(seconds_waited, acquired)``, called after each wait for a slot (in
    the waiting thread; keep it cheap). Registering the same callback twice has no effect; an
    exception it raises is ignored, so observing can never fail a derivation."""
    if callback not in _slot_wait_callbacks:
        _slot_wait_callbacks.append(callback)


def _report_wait(waited: float, acquired: bool) -> None:
    for callback in tuple(_slot_wait_callbacks):
        with contextlib.suppress(Exception):  # observing must never fail a derivation
            callback(waited, acquired)


def configure_slots(max_concurrent: int, timeout: float) -> None:
    """Set how many Argon2id runs may proceed at once in this process, and how long to wait.

    Args:
        max_concurrent: number of slots (>= 1). Peak Argon2 memory is this times
            ``memory_kib``. Defaults to 2 until configured.
        timeout: seconds a derivation waits for a slot before raising :class:`BusyError`
            (>= 0). Defaults to 5 s.

    Runs already holding a slot of the previous configuration finish normally; the new limit
    applies to runs that start afterwards.
    """
    global _current
    if not isinstance(max_concurrent, int) or max_concurrent < 1:
        raise ValueError("max_concurrent must be a positive int")
    if timeout < 0:
        raise ValueError("timeout must not be negative")
    with _configure_lock:
        _current = _Slots(max_concurrent, float(timeout))


def slot_config() -> tuple[int, float]:
    """Return the current ``(max_concurrent, timeout)``."""
    slots = _current
    return slots.max_concurrent, slots.timeout


@contextmanager
def argon2_slot() -> Iterator[None]:
    """Hold one Argon2id slot for the duration of the ``with`` block.

    Raises:
        BusyError: no slot became free within the configured timeout.
    """
    # Take a reference first: if configure_slots swaps the semaphore meanwhile, the release
    # must still go to the semaphore that was acquired.
    slots = _current
    started = time.monotonic()
    acquired = slots.semaphore.acquire(timeout=slots.timeout)
    _report_wait(time.monotonic() - started, acquired)
    if not acquired:
        raise BusyError("all Argon2id slots are busy")
    try:
        yield
    finally:
        slots.semaphore.release()


T = TypeVar("T")

#: How much the Argon2 threads lower their priority (Linux nice increment, per thread). At
#: nice +10 a thread gets about a tenth of the CPU share of a nice-0 thread it competes with,
#: and all of a core nobody else wants.
PRIORITY_DROP = 10
#: Threads are made only as runs need them; the slots bound how many run at once.
_MAX_THREADS = 64


def _lower_own_priority() -> None:
    """Initialiser of the Argon2 threads. Raising the nice value needs no privilege; where the
    platform has no per-thread priority the threads simply run at the process's."""
    try:
        thread = threading.get_native_id()
        now = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(now + PRIORITY_DROP, 19))
    except (AttributeError, OSError):
        pass


def _new_executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        max_workers=_MAX_THREADS, thread_name_prefix="argon2", initializer=_lower_own_priority
    )


_executor = _new_executor()


def _reset_after_fork() -> None:
    # A forked child (Celery's prefork pool) inherits the pool object but not its threads.
    global _executor
    _executor = _new_executor()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def run_in_slot(function: Callable[..., T], /, *args: object) -> T:
    """Hold one Argon2id slot and run ``function(*args)`` in one of the process's Argon2
    threads, which run at a lower scheduling priority than the rest of the process.

    For Argon2 work done outside this module (password hashing) under the same slots.

    Raises:
        BusyError: no slot became free within the configured timeout.
    """
    with argon2_slot():
        return _executor.submit(function, *args).result()


def pepper_secret(secret: bytes, pepper: bytes) -> bytes:
    """The v2 pepper step: ``HMAC-SHA256(key=pepper, msg=PEPPER_LABEL || secret)``.

    An empty pepper is an HMAC key of zero bytes (RFC 2104 pads it to the block size). The
    32-byte result is Argon2id's password in :data:`KDF_V2`.
    """
    return hmac.digest(bytes(pepper), PEPPER_LABEL + bytes(secret), "sha256")


def derive_key(
    secret: bytes,
    *,
    salt: bytes,
    params: Argon2Params,
    pepper: bytes = b"",
    length: int = 32,
    version: int = KDF_VERSION,
) -> bytes:
    """Derive a key from a low-entropy secret with Argon2id, inside an Argon2 slot.

    Args:
        secret: the password or receipt secret.
        salt: random bytes stored next to the result: exactly 16 for :data:`KDF_V2`, at
            least 16 for :data:`KDF_V1`.
        params: cost parameters; store them (``Argon2Params.encode``) with the salt.
            :data:`KDF_V2` takes one lane only.
        pepper: optional server-side secret, so a stolen database alone is not enough to
            test guesses (v2: the HMAC key of :func:`pepper_secret`; v1: Argon2's secret
            input ``K``). Losing it loses every wrap made with it.
        length: output length in bytes (16 to 64).
        version: :data:`KDF_V2` (default) or :data:`KDF_V1` (to open old wraps).

    Returns:
        ``length`` bytes of key material.

    Raises:
        BusyError: no slot became free in time.
        ValueError: salt too short, bad length, parameters or version.
    """
    if not isinstance(secret, bytes | bytearray):
        raise ValueError("secret must be bytes")
    if not isinstance(salt, bytes | bytearray) or len(salt) < MIN_SALT_LEN:
        raise ValueError(f"salt must be at least {MIN_SALT_LEN} bytes")
    if not isinstance(pepper, bytes | bytearray):
        raise ValueError("pepper must be bytes")
    if not 16 <= length <= 64:
        raise ValueError("length must be between 16 and 64")
    if not isinstance(params, Argon2Params):
        raise ValueError("params must be Argon2Params")
    if version == KDF_V2:
        if len(salt) != V2_SALT_LEN:
            raise ValueError(f"salt must be exactly {V2_SALT_LEN} bytes for KDF v2")
        if params.lanes != 1:
            raise ValueError("KDF v2 (libsodium) has one lane only")
        password = pepper_secret(secret, pepper)
        return run_in_slot(
            crypto_pwhash_alg,
            length,
            password,
            bytes(salt),
            params.iterations,
            params.memory_kib * 1024,
            crypto_pwhash_ALG_ARGON2ID13,
        )
    if version == KDF_V1:
        kdf = Argon2id(
            salt=bytes(salt),
            length=length,
            iterations=params.iterations,
            lanes=params.lanes,
            memory_cost=params.memory_kib,
            secret=bytes(pepper) if pepper else None,
        )
        return run_in_slot(kdf.derive, bytes(secret))
    raise ValueError("unknown KDF version")
