"""Submission floods (issue 12, point 3): a script must neither close a tenant's channel nor
bury its office's inbox, and a person who took real time to write is never refused.

- **Cost per submission, checked cheaply.** With JavaScript the browser solves a proof of work
  in a Web Worker: a challenge issued with the check page (random, bound by HMAC to the tenant,
  the draft's case id and the time) and a counter whose SHA-256 has ``INTAKE_POW_BITS``
  leading zero bits; the server checks it with one hash. Without JavaScript (or with a missing
  or stale solution) each step must have been shown a minimum time before the report is sent
  (``INTAKE_MIN_STEP_SECONDS`` per step still ahead of it, measured from when the draft first
  showed it); a report sent too fast is kept and the reporter is asked to send it again in a
  few seconds. A valid proof of work replaces the age requirement: a script takes whichever is
  cheaper, so both are tuned to cost a few seconds. A draft with real writing time
  (``INTAKE_FLOOD_WRITING_SECONDS`` since its first step) is never asked to wait.
- **Single use.** A challenge names the draft's case id, and a case id files at most one case
  (the submission is idempotent per draft): one solution opens one case, whatever the replays.
- **Nothing refused for volume.** Submissions per tenant are counted per hour; above the normal
  rate (``INTAKE_SUBMISSIONS_PER_TENANT_HOUR``) a report without real writing time
  (``INTAKE_FLOOD_WRITING_SECONDS`` from the first step to sending) is filed as *suspected
  flood* and listed apart from the office's inbox (casework.flood); above
  ``INTAKE_SUBMISSIONS_ALERT_HOUR`` the operator is alerted once per hour (a log warning
  naming the tenant's slug, and mail to ``OPERATOR_EMAILS``). The counter is best effort: without
  Redis nothing is counted and nothing is marked.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Sequence

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.utils.crypto import salted_hmac

from intake.drafts import Draft
from intake.models import Case
from whistle.tenants.models import Tenant

logger = logging.getLogger(__name__)

POW_VERSION = "1"
# A challenge older than this is not accepted (no stockpiling of solutions for a flood later);
# the reporter's page then falls back to the draft age, which an old draft has.
POW_VALID_SECONDS = 3600
WINDOW = 3600


# --- proof of work ----------------------------------------------------------------------------


def _pow_mac(tenant_id: str, case_id: str, issued: int, nonce: str, bits: int) -> str:
    message = f"{tenant_id}|{case_id}|{issued}|{nonce}|{bits}"
    return salted_hmac("whistle.intake.pow.v1", message, algorithm="sha256").hexdigest()[:32]


def pow_challenge(*, tenant_id: str, case_id: str, now: float | None = None) -> str:
    """A fresh challenge for this draft: ``v.issued.nonce.bits.mac`` (no secret in it)."""
    issued = int(time.time() if now is None else now)
    nonce = secrets.token_urlsafe(12)
    bits = settings.INTAKE_POW_BITS
    mac = _pow_mac(tenant_id, case_id, issued, nonce, bits)
    return f"{POW_VERSION}.{issued}.{nonce}.{bits}.{mac}"


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def pow_digest(challenge: str, counter: str) -> bytes:
    return hashlib.sha256(f"{challenge}:{counter}".encode("ascii")).digest()


def pow_solve(challenge: str) -> str:
    """Find a counter for ``challenge`` (what the browser's worker does; used by the bench and
    the tests)."""
    bits = int(challenge.split(".")[3])
    counter = 0
    while leading_zero_bits(pow_digest(challenge, str(counter))) < bits:
        counter += 1
    return str(counter)


def pow_valid(
    *, challenge: str, counter: str, tenant_id: str, case_id: str, now: float | None = None
) -> bool:
    """Whether ``counter`` solves a challenge issued for this draft, recently, at the current
    difficulty. One HMAC and one SHA-256: cheap whatever is sent."""
    if settings.INTAKE_POW_BITS <= 0:
        return False
    parts = challenge.split(".")
    if len(parts) != 5 or parts[0] != POW_VERSION or len(counter) > 20 or not counter.isdigit():
        return False
    _version, issued_text, nonce, bits_text, mac = parts
    if not (issued_text.isdigit() and bits_text.isdigit()) or len(nonce) > 32:
        return False
    issued, bits = int(issued_text), int(bits_text)
    if bits < settings.INTAKE_POW_BITS:
        return False
    expected = _pow_mac(tenant_id, case_id, issued, nonce, bits)
    if not hmac.compare_digest(mac, expected):
        return False
    current = time.time() if now is None else now
    if not issued - 60 <= current <= issued + POW_VALID_SECONDS:
        return False
    return leading_zero_bits(pow_digest(challenge, counter)) >= bits


# --- minimum draft age ------------------------------------------------------------------------


def age_wait(draft: Draft, steps: Sequence[str], now: float | None = None) -> int:
    """Seconds until this draft may be sent without a proof of work: each step must have been
    first shown ``INTAKE_MIN_STEP_SECONDS`` times the number of steps from it to the end
    (itself included) ago. ``steps`` in order, ending with ``check``. A step the draft never
    showed counts as shown now. A draft with real writing time (``INTAKE_FLOOD_WRITING_SECONDS``
    since its first step) never waits, however fast its last steps went."""
    current = time.time() if now is None else now
    started = draft.started_at
    if started is not None and current - started >= settings.INTAKE_FLOOD_WRITING_SECONDS:
        return 0
    minimum = settings.INTAKE_MIN_STEP_SECONDS
    wait = 0.0
    for index, step in enumerate(steps):
        remaining = len(steps) - index
        shown = draft.seen.get(step, current)
        wait = max(wait, shown + minimum * remaining - current)
    return int(wait + 0.999)


# --- rate, alert and the suspected-flood mark -------------------------------------------------


def _counter_key(scope: str, tenant: Tenant, window_start: int) -> str:
    message = f"{scope}|{tenant.public_id}|{window_start}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:32]
    return f"intake-flood:{scope}:{digest}"


def submissions_count(tenant: Tenant, now: float | None = None) -> int | None:
    """Count one submission for the tenant in the current hour and return the count; None if
    the cache is unreachable (best effort: never a reason to refuse a report)."""
    current = int(time.time() if now is None else now)
    window_start = current - current % WINDOW
    key = _counter_key("submit", tenant, window_start)
    ttl = WINDOW - (current - window_start) + 1
    try:
        count = 1 if cache.add(key, 1, timeout=ttl) else int(cache.incr(key))
        if count > settings.INTAKE_SUBMISSIONS_ALERT_HOUR and cache.add(
            _counter_key("alert", tenant, window_start), 1, timeout=ttl
        ):
            _alert(tenant)
    except Exception:  # Redis down or the key expired between add and incr
        logger.warning("intake.flood: submission counter unavailable; nothing counted")
        return None
    return count


def _alert(tenant: Tenant) -> None:
    """Once per tenant and hour: the operator learns of a flood (no content, no report).

    The log line names the tenant by its public id, as every log line does (no tenant names
    in a log collector, docs/operations.md "Observability"); the mail to the operator's own
    addresses names its slug, which is what the operator acts on."""
    logger.warning(
        "intake.flood: more than %d submissions this hour for tenant %s; nothing is refused, "
        "reports without real writing time are set aside as suspected flood",
        settings.INTAKE_SUBMISSIONS_ALERT_HOUR,
        tenant.public_id,
    )
    if not settings.OPERATOR_EMAILS:
        return
    try:
        send_mail(
            f"Whistle: submission flood on tenant {tenant.slug}",
            f"More than {settings.INTAKE_SUBMISSIONS_ALERT_HOUR} reports this hour for tenant "
            f"{tenant.slug}. Nothing is refused; reports sent without real writing time are "
            "listed apart as suspected flood for the office (docs/security.md).",
            None,
            list(settings.OPERATOR_EMAILS),
            fail_silently=True,
        )
    except Exception:  # best effort: the log line above is the alert of record
        logger.warning("intake.flood: alert mail not sent")


def flood_mark(draft: Draft, count: int | None, now: float | None = None) -> str:
    """``Case.Flood.SUSPECTED`` for a report sent above the normal rate without real writing
    time; otherwise an ordinary case."""
    if count is None or count <= settings.INTAKE_SUBMISSIONS_PER_TENANT_HOUR:
        return Case.Flood.NONE
    current = time.time() if now is None else now
    started = draft.started_at
    if started is not None and current - started >= settings.INTAKE_FLOOD_WRITING_SECONDS:
        return Case.Flood.NONE
    return Case.Flood.SUSPECTED
