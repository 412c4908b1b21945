"""Prometheus metrics (prometheus_client): what an operator watches, nothing about anyone.

Labels are route names (``resolver_match.view_name``), methods, status classes and the side of
a websocket: never a path, a host, a tenant or a person. Each process keeps its own counters in
prometheus_client's default registry and serves them at ``/metrics`` (``metrics_view``);
Prometheus scrapes every ``serve`` process (one per pod or container) and sums over them
(docs/operations.md, "Observability"). Gauges that describe the whole service (queue depth,
retention backlog, reminder lag) are read at scrape time from PostgreSQL and Redis by
:class:`ServiceCollector`, so every process reports the same values: alert on ``max``.

``/metrics`` is answered by :class:`RequestMetricsMiddleware` (before the tenant middleware,
so that Prometheus can scrape a process at its IP address) only on the operator's own hosts or
an IP address, never on a tenant's host or under ``/t/<slug>/``, and only when
``METRICS_TOKEN`` is set and the request carries it as a bearer token; everything else is the
ordinary 404 of a missing page.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import redis
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from whistle import rls

logger = logging.getLogger(__name__)

REQUESTS = Counter(
    "whistle_http_requests",
    "HTTP requests answered, by route name, method and status class.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "whistle_http_request_duration_seconds",
    "Time to answer an HTTP request (to the response object; streamed bodies not included), "
    "by route name and method.",
    ["route", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0),
)
WEBSOCKETS = Gauge(
    "whistle_websocket_connections",
    "Conversation websockets open in this process, by side (office or reporter).",
    ["side"],
)
ARGON2_WAIT = Histogram(
    "whistle_argon2_slot_wait_seconds",
    "Time an Argon2id derivation waited for one of this process's slots (got or not).",
    buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0),
)
ARGON2_BUSY = Counter(
    "whistle_argon2_busy",
    "Argon2id derivations refused because no slot freed in time (the user got 'busy, try "
    "again', HTTP 503).",
)

#: Methods used as a label; anything else counts as "other" (a client must not be able to
#: grow the label set).
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Route label of a request no URL pattern matched (404s of unknown paths and hosts).
UNMATCHED = "unmatched"


def route_name(request: HttpRequest) -> str:
    """The request's route name (``namespace:name``), never its path: reporter paths carry
    the tenant's slug. A pattern without a name counts by its view's dotted path."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED
    return str(match.view_name or UNMATCHED)


def _method(request: HttpRequest) -> str:
    method = (request.method or "").upper()
    return method if method in _METHODS else "other"


class RequestMetricsMiddleware:
    """Count and time every request by route name, method and status class (outermost), and
    answer an authorised scrape of ``/metrics`` (:func:`metrics_response`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        scraped = metrics_response(request)
        response = scraped if scraped is not None else self.get_response(request)
        route = METRICS_ROUTE if scraped is not None else route_name(request)
        method = _method(request)
        LATENCY.labels(route, method).observe(time.perf_counter() - started)
        REQUESTS.labels(route, method, f"{response.status_code // 100}xx").inc()
        return response


def websocket_opened(side: str) -> None:
    WEBSOCKETS.labels(side).inc()


def websocket_closed(side: str) -> None:
    WEBSOCKETS.labels(side).dec()


def argon2_waited(seconds: float, acquired: bool) -> None:
    """``crypto.on_slot_wait`` callback (registered in ``WhistleConfig.ready``)."""
    ARGON2_WAIT.observe(seconds)
    if not acquired:
        ARGON2_BUSY.inc()


# --- read at scrape time ---------------------------------------------------------------------

_brokers: dict[str, redis.Redis] = {}


def _broker_client(url: str) -> redis.Redis:
    """One client (and connection pool) per process and broker URL, made at the first scrape."""
    client = _brokers.get(url)
    if client is None:
        client = _brokers[url] = redis.Redis.from_url(
            url,
            socket_timeout=settings.REDIS_TIMEOUT,
            socket_connect_timeout=settings.REDIS_TIMEOUT,
        )
    return client


def queue_depth() -> int | None:
    """Tasks waiting in the Celery default queue (the length of its Redis list); None without
    a Redis broker (quickstart runs jobs in-process)."""
    url = str(settings.CELERY_BROKER_URL)
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    queue = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
    return int(_broker_client(url).llen(queue))


@dataclass(frozen=True)
class ScrapeGauge:
    """A gauge of the whole service read at scrape time: ``read`` returns its value, or None
    to leave it out."""

    source: str
    name: str
    documentation: str
    read: Callable[[], float | None]


#: Registered by the apps that own the data (``scrape_gauge``): whistle must not import them.
_scrape_gauges: dict[str, ScrapeGauge] = {}


def scrape_gauge(
    source: str, name: str, documentation: str, read: Callable[[], float | None]
) -> None:
    """Register a gauge read at scrape time (casework registers the retention backlog and
    the reminder lag). Registering a source again replaces it."""
    _scrape_gauges[source] = ScrapeGauge(source, name, documentation, read)


scrape_gauge(
    "queue",
    "whistle_celery_queue_depth",
    "Tasks waiting in the Celery default queue.",
    queue_depth,
)


class ServiceCollector(Collector):
    """Gauges of the whole service, read when Prometheus scrapes. A source that cannot be
    read (an outage) leaves its gauge out and sets ``whistle_metrics_source_up`` to 0, so the
    scrape itself still succeeds and ``/readyz`` tells the rest."""

    def describe(self) -> Iterator[Metric]:
        # Without describe(), registering would collect once: database and Redis queries at
        # start-up (and in every management command).
        return iter(())

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "whistle_metrics_source_up",
            "Whether a scrape-time gauge could be read (1) or its source failed (0).",
            labels=["source"],
        )
        for gauge in list(_scrape_gauges.values()):
            try:
                with rls.system():  # counts over every tenant, never content
                    value = gauge.read()
            except Exception as error:  # an outage: the scrape goes on without this gauge
                logger.warning("metrics: %s not read (%s)", gauge.source, type(error).__name__)
                up.add_metric([gauge.source], 0)
                continue
            up.add_metric([gauge.source], 1)
            if value is not None:
                yield GaugeMetricFamily(gauge.name, gauge.documentation, value=value)
        yield up


_registered = False


def register() -> None:
    """Hook the metrics up (``WhistleConfig.ready``): the Argon2 slot callback and the
    scrape-time collector. Idempotent."""
    global _registered
    if _registered:
        return
    from crypto import on_slot_wait

    on_slot_wait(argon2_waited)
    REGISTRY.register(ServiceCollector())
    _registered = True


#: Route label of the scrapes themselves.
METRICS_ROUTE = "metrics"


def _bearer(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _scrape_host(request: HttpRequest) -> bool:
    """One of the operator's hosts (``ALLOWED_HOSTS``), or an IP address that no tenant has as
    its host name: Prometheus scrapes each process at its own address (a pod's IP), and sends
    that as the Host header. Never a tenant's host name."""
    from whistle.tenants.models import TenantHostname

    host, _port = split_domain_port(request.get_host())
    host = host.lower()
    if host in settings.WHISTLE_HOSTS:
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return not TenantHostname.objects.filter(hostname=host).exists()


def metrics_response(request: HttpRequest) -> HttpResponse | None:
    """The metrics in Prometheus' text format for ``GET /metrics`` with the bearer token from
    ``METRICS_TOKEN`` on a scrape host; None for every other request, which then takes its
    ordinary way (no URL pattern has ``/metrics``: without the setting or the token, on a
    tenant's host or under ``/t/<slug>/``, it is the ordinary 404 of a missing page)."""
    expected = settings.METRICS_TOKEN
    if (
        not expected
        or request.path_info != "/metrics"
        or request.method not in ("GET", "HEAD")
        or not hmac.compare_digest(_bearer(request).encode("utf-8"), expected.encode("utf-8"))
        or not _scrape_host(request)
    ):
        return None
    response = HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
