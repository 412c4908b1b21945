"""An outage of the database or Redis is answered with a 503 "try again" page, never a 500.

Django turns an exception anywhere in the middleware chain or a view into a response through
the 500 handler (``handler500`` of every URLconf points here), with the exception still being
handled: so this one place also sees failures *before* the view — the tenant lookup, the
session (``SESSION_ENGINE`` is the database), the CSRF check, the vault. When the exception (or
one it was raised from) says that PostgreSQL or Redis could not be reached or did not answer in
time, the answer is a 503 page:

- in the person's language (the tenant's languages when the tenant was resolved, otherwise the
  language cookie or ``Accept-Language``), rendered without a request context: the context
  processors read the database and the session, which are what failed;
- on the reporter's mailbox and report steps and the handler's reply, with what they typed
  (the text fields of the POST, escaped by the template, in read-only text areas to copy) —
  never the receipt, the CSRF token, hidden fields or buttons;
- with ``Retry-After`` and a one-line warning in the log: the kind of failure and the path,
  never the content.

The timeouts that make an outage fail fast (about two seconds) are in ``whistle/settings.py``
(``DATABASE_CONNECT_TIMEOUT``, ``DATABASE_POOL_TIMEOUT``, ``REDIS_TIMEOUT``).
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.views.defaults import server_error

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
# Where what was typed is shown back: the report steps and the mailbox (on the reporter's
# URLs, /t/<slug>/… or a tenant host), the handler's reply form on the case page, and the
# questionnaire editor's forms (texts of an item, a language's texts).
SHOW_BACK = re.compile(r"(^|/)(report|mailbox)(/|$)|/do/reply/$|/questionnaire/(translate/)?$")
# Never shown back: credentials, tokens, hidden fields and buttons of those forms.
NEVER_SHOWN = frozenset(
    {
        "csrfmiddlewaretoken",
        "receipt",
        "pending_message",
        "website",  # the honeypot (intake.views.report.HONEYPOT)
        "pow_challenge",  # the check page's proof of work (intake.flood)
        "pow_counter",
        "action",
        "kept",
        "remove",
        "next",
        "language",
        "item",  # the questionnaire editor's hidden item reference
    }
)
MAX_SHOWN_FIELDS = 50


def _outage_types() -> tuple[type[BaseException], ...]:
    import psycopg
    import psycopg_pool
    import redis

    kinds: list[type[BaseException]] = [
        OperationalError,
        InterfaceError,
        psycopg.OperationalError,
        psycopg.InterfaceError,
        psycopg_pool.PoolTimeout,
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
    ]
    try:
        from kombu.exceptions import OperationalError as BrokerError

        kinds.append(BrokerError)
    except ImportError:  # pragma: no cover - kombu comes with celery
        pass
    return tuple(kinds)


def outage_of(error: BaseException | None) -> BaseException | None:
    """The database or Redis failure behind ``error`` (itself, or what it was raised from),
    or None when it is anything else (a bug: that stays a 500)."""
    kinds = _outage_types()
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, kinds):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def server_error_view(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """``handler500``: a 503 page for an outage, Django's plain 500 page for anything else."""
    error = sys.exc_info()[1]
    if error is None or outage_of(error) is None:
        return server_error(request, template_name)
    return outage_response(request, error)


def outage_response(request: HttpRequest, error: BaseException) -> HttpResponse:
    logger.warning(
        "service unavailable: %s (%s) during %s %s",
        type(error).__name__,
        type(outage_of(error) or error).__name__,
        request.method,
        request.path,
        # LOG_FORMAT=json names the route instead of the path (whistle/logformat.py).
        extra={"request": request, "status_code": 503},
    )
    language = _language(request)
    html: str
    try:
        with translation.override(language):
            html = render_to_string(
                "whistle/outage.html",
                {"typed": typed_fields(request), "LANGUAGE_CODE": language},
            )
    except Exception:  # the page must come even if rendering needs what is down
        logger.warning("outage page rendered as plain text")
        html = _PLAIN
    response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # Django logs every 5xx with its traceback; this one is expected and logged above.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _language(request: HttpRequest) -> str:
    language = getattr(request, "LANGUAGE_CODE", None) or translation.get_language_from_request(
        request
    )
    tenant: Any = getattr(request, "tenant", None)
    if tenant is not None:
        # A tenant object is loaded already; whatever happens, the page must come.
        with contextlib.suppress(Exception):
            language = tenant.language_for(language)
    codes = {code for code, _name in settings.LANGUAGES}
    return language if language in codes else settings.LANGUAGE_CODE


def typed_fields(request: HttpRequest) -> list[str]:
    """The text the person typed in this POST, when it is a form whose text must not be lost;
    empty otherwise."""
    if request.method != "POST" or not SHOW_BACK.search(request.path):
        return []
    try:
        items = list(request.POST.lists())
    except Exception:  # an unreadable body: nothing to show
        return []
    typed = []
    for name, values in items:
        if name in NEVER_SHOWN or name.startswith("_"):
            continue
        text = "\n".join(v for v in values if v.strip())
        if text:
            typed.append(text)
    return typed[:MAX_SHOWN_FIELDS]


_PLAIN = (
    "<!DOCTYPE html><html lang='de'><head><meta charset='utf-8'>"
    "<title>Vorübergehend nicht erreichbar / Temporarily unavailable</title></head><body><main>"
    "<h1 lang='de'>Vorübergehend nicht erreichbar</h1>"
    "<p lang='de'>Bitte versuchen Sie es in einigen Minuten erneut.</p>"
    "<h1 lang='en'>Temporarily unavailable</h1>"
    "<p lang='en'>Please try again in a few minutes.</p></main></body></html>"
)
