"""Abuse limits without identifying anyone.

Counters live in the cache (Redis in production) under short-lived keyed hashes of what they
count (a tenant), in fixed windows; every key expires with its window, within an hour. No
address, no user agent, nothing that names a person.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class Limit:
    scope: str
    count: int
    window: int  # seconds, at most 3600


# Submissions per tenant. Generous for people, tight for scripts. (Receipt lookups have rules
# of their own: intake/receipt_gate.py.)
SUBMISSIONS_PER_TENANT = Limit("submit", settings.INTAKE_SUBMISSIONS_PER_TENANT_HOUR, 3600)


def _key(limit: Limit, subject: str, window_start: int) -> str:
    message = f"{limit.scope}|{subject}|{window_start}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:32]
    return f"throttle:{limit.scope}:{digest}"


def hit(limit: Limit, subject: str) -> bool:
    """Count one attempt; False if the limit for this window is already used up."""
    now = int(time.time())
    window_start = now - now % limit.window
    key = _key(limit, subject, window_start)
    ttl = limit.window - (now - window_start) + 1
    if cache.add(key, 1, timeout=ttl):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=ttl)
        return True
    return count <= limit.count
