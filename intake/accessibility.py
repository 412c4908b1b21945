"""Feedback on the accessibility statement (A11Y-2, BITV 2.0 § 7): not a report.

A message sent with the statement's feedback form is stored encrypted under a server key
(``whistle.vault.seal_at_rest``), the tenant's admins get a content-free e-mail after the
commit, and they read and delete it on the console. It never creates a case and never reaches
an office. Nothing about the sender is read or kept: no address, no user agent, only the date.

Against scripts, in the spirit of ``intake.flood`` but simpler: a honeypot field, a signed form
token that must be at least ``INTAKE_MIN_STEP_SECONDS`` old (the form was shown before it was
sent), and at most ``ACCESSIBILITY_FEEDBACK_PER_TENANT_HOUR`` messages per tenant and hour (a
best-effort counter in the cache; above it the sender is asked to try later, their text kept).
"""

from __future__ import annotations

import datetime
import logging
import time
from functools import partial

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from intake.models import AccessibilityFeedback
from whistle.tenants.models import Tenant
from whistle.vault import open_at_rest, seal_at_rest

logger = logging.getLogger(__name__)

PURPOSE = "accessibility-feedback"
MAX_LENGTH = 5000
_TOKEN_SALT = "whistle.intake.accessibility-feedback"  # noqa: S105 (a salt name, not a secret)
# A form older than this is refused (stockpiled tokens); the page then shows a fresh form.
TOKEN_MAX_AGE = 24 * 3600
WINDOW = 3600


class FeedbackRefused(Exception):
    """The message was not taken; ``reason`` says why (the sender's text is kept)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def form_token(tenant: Tenant, *, now: float | None = None) -> str:
    """A token for one showing of the form: the tenant and the time, signed."""
    issued = int(time.time() if now is None else now)
    return signing.dumps({"t": str(tenant.public_id), "at": issued}, salt=_TOKEN_SALT)


def check_token(tenant: Tenant, token: str, *, now: float | None = None) -> None:
    """Raise :class:`FeedbackRefused` ("too_fast" or "stale") unless ``token`` was issued for
    this tenant at least the minimum time and at most a day ago."""
    current = time.time() if now is None else now
    try:
        data = signing.loads(token, salt=_TOKEN_SALT)
        issued = int(data["at"])
        tenant_id = str(data["t"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise FeedbackRefused("stale") from None
    if tenant_id != str(tenant.public_id) or current - issued > TOKEN_MAX_AGE:
        raise FeedbackRefused("stale")
    if current - issued < settings.INTAKE_MIN_STEP_SECONDS:
        raise FeedbackRefused("too_fast")


def _counter_key(tenant: Tenant, now: float) -> str:
    return f"a11y-feedback:{tenant.pk}:{int(now // WINDOW)}"


def _within_rate(tenant: Tenant) -> bool:
    """Count this message against the tenant's hourly budget. Best effort: without the cache
    nothing is counted and the message is taken."""
    key = _counter_key(tenant, time.time())
    try:
        cache.add(key, 0, timeout=WINDOW * 2)
        count = cache.incr(key)
    except Exception as error:  # Redis down: take the message, say so in the log
        logger.warning("accessibility feedback not counted (%s)", type(error).__name__)
        return True
    return int(count) <= settings.ACCESSIBILITY_FEEDBACK_PER_TENANT_HOUR


def _context(feedback: AccessibilityFeedback) -> str:
    return f"{feedback.tenant.public_id}|{feedback.public_id}"


def accessibility_feedback_submit(*, tenant: Tenant, message: str) -> AccessibilityFeedback:
    """Store one feedback message encrypted and tell the tenant's admins after the commit.

    Raises :class:`FeedbackRefused` ("busy") above the tenant's hourly budget."""
    if not _within_rate(tenant):
        raise FeedbackRefused("busy")
    feedback = AccessibilityFeedback(tenant=tenant, received_on=timezone.localdate())
    feedback.ciphertext = seal_at_rest(
        message.encode("utf-8"), purpose=PURPOSE, context=_context(feedback)
    )
    with transaction.atomic():
        feedback.save()
        transaction.on_commit(partial(_queue_mail, feedback.pk))
    return feedback


def _queue_mail(feedback_id: int) -> None:
    from intake.tasks import mail_accessibility_feedback

    try:
        mail_accessibility_feedback.delay(feedback_id)
    except Exception as error:  # broker down or the eager task failed: best effort
        logger.warning("accessibility feedback mail not sent (%s)", type(error).__name__)


def accessibility_feedback_text(feedback: AccessibilityFeedback) -> str:
    """The message in clear, for the tenant's admins."""
    return open_at_rest(
        bytes(feedback.ciphertext), purpose=PURPOSE, context=_context(feedback)
    ).decode("utf-8")


def accessibility_feedback_purge(*, today: datetime.date | None = None) -> int:
    """Delete feedback older than ``ACCESSIBILITY_FEEDBACK_DAYS``; returns how many."""
    today = timezone.localdate() if today is None else today
    cutoff = today - datetime.timedelta(days=settings.ACCESSIBILITY_FEEDBACK_DAYS)
    deleted, _ = AccessibilityFeedback.objects.filter(received_on__lt=cutoff).delete()
    return deleted
