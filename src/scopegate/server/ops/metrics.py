"""Prometheus metrics of the server (served at ``/metrics``).

Every route is measured in one place (:class:`MeasuredRoute`): requests by endpoint (the
route's name), method and status class, and their duration. In one process the hot path
only adds to plain Python numbers (a dict lookup and an ``+= 1``, no lock); a collector
turns them into Prometheus families when ``/metrics`` is scraped. The event loop is the
only writer, so no count is lost.

With several workers (``PROMETHEUS_MULTIPROC_DIR`` set, see ``scopegate serve``) the same
calls write prometheus-client's shared files instead, and ``/metrics`` sums every worker's
files, so a scrape answers for the whole server whichever worker takes it.
"""

from __future__ import annotations

import os
import tempfile
import time
from bisect import bisect_left
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...store import DatabaseUnavailable

__all__ = [
    "LATENCY_BUCKETS",
    "MULTIPROC_ENV",
    "STATUS_CLASSES",
    "EndpointMetrics",
    "MeasuredRoute",
    "Metrics",
]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0)
"""Upper bounds (seconds) of the request-duration histogram; ``+Inf`` is implied."""
STATUS_CLASSES = ("1xx", "1xx", "2xx", "3xx", "4xx", "5xx")
"""Status class label by ``status // 100`` (0 never happens; 5 covers anything above)."""

_REQUESTS = ("scopegate_http_requests", "HTTP requests by endpoint, method and status class")
_DURATION = ("scopegate_http_request_duration_seconds", "HTTP request duration by endpoint")
_ERRORS = ("scopegate_oauth_errors", "OAuth error answers by endpoint and error code")
_THROTTLED = ("scopegate_http_throttled",
              "Requests refused by the login throttle or a rate limit (429), by endpoint")
_ISSUED = ("scopegate_tokens_issued", "Access tokens issued by grant type")


class EndpointMetrics:
    """One endpoint and method: requests by status class, and their duration."""

    __slots__ = ("latency_buckets", "latency_count", "latency_sum", "method", "name",
                 "statuses", "throttled")

    def __init__(self, name: str, method: str) -> None:
        self.name = name
        self.method = method
        self.statuses = [0] * len(STATUS_CLASSES)
        self.throttled = 0
        self.latency_buckets = [0] * (len(LATENCY_BUCKETS) + 1)  # the last one is +Inf
        self.latency_sum = 0.0
        self.latency_count = 0

    def record(self, status: int, seconds: float) -> None:
        """Count one response with ``status`` that took ``seconds`` to produce."""
        self.statuses[min(status // 100, 5)] += 1
        if status == 429:
            self.throttled += 1
        self.latency_buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum += seconds
        self.latency_count += 1


class SharedEndpointMetrics:
    """:class:`EndpointMetrics` written to the multiprocess files (several workers)."""

    __slots__ = ("_duration", "_statuses", "_throttled")

    def __init__(self, name: str, method: str, shared: dict[str, Any]) -> None:
        self._statuses = [shared["requests"].labels(name, method, c) for c in STATUS_CLASSES]
        self._duration = shared["duration"].labels(name, method)
        self._throttled = shared["throttled"].labels(name, method)

    def record(self, status: int, seconds: float) -> None:
        """Count one response with ``status`` that took ``seconds`` to produce."""
        self._statuses[min(status // 100, 5)].inc()
        if status == 429:
            self._throttled.inc()
        self._duration.observe(seconds)


class Metrics:
    """The server's metrics, in their own registry so several apps can coexist.

    :param multiprocess: write the shared files of ``PROMETHEUS_MULTIPROC_DIR`` (set by
        ``scopegate serve --workers N`` before the workers start); by default, when set.
    """

    def __init__(self, multiprocess: bool | None = None) -> None:
        self.multiprocess = MULTIPROC_ENV in os.environ if multiprocess is None else multiprocess
        #: Where the server's other metrics register (the maintenance pass's counter).
        self.registry = CollectorRegistry()
        self.issued: dict[str, int] = {}
        self.errors: dict[tuple[str, str], int] = {}
        self._endpoints: dict[tuple[str, str], EndpointMetrics | SharedEndpointMetrics] = {}
        self._shared: dict[str, Any] = {}
        if self.multiprocess:
            self._shared = {
                "requests": Counter(*_REQUESTS, ["endpoint", "method", "status"], registry=None),
                "duration": Histogram(*_DURATION, ["endpoint", "method"], registry=None,
                                      buckets=LATENCY_BUCKETS),
                "throttled": Counter(*_THROTTLED, ["endpoint", "method"], registry=None),
                "errors": Counter(*_ERRORS, ["endpoint", "error"], registry=None),
                "issued": Counter(*_ISSUED, ["grant_type"], registry=None)}
        else:
            self.registry.register(_Exporter(self))

    def token_issued(self, grant_type: str) -> None:
        """Count one issued access token."""
        if self.multiprocess:
            self._shared["issued"].labels(grant_type).inc()
        else:
            self.issued[grant_type] = self.issued.get(grant_type, 0) + 1

    def error(self, endpoint: str, code: str) -> None:
        """Count one OAuth error answer with error ``code`` from ``endpoint``."""
        if self.multiprocess:
            self._shared["errors"].labels(endpoint, code).inc()
        else:
            self.errors[endpoint, code] = self.errors.get((endpoint, code), 0) + 1

    def endpoint(self, name: str, method: str) -> EndpointMetrics | SharedEndpointMetrics:
        """The counters of endpoint ``name`` answering ``method``."""
        found = self._endpoints.get((name, method))
        if found is None:
            found = self._endpoints[name, method] = (
                SharedEndpointMetrics(name, method, self._shared)
                if self.multiprocess else EndpointMetrics(name, method))
        return found

    @property
    def endpoints(self) -> tuple[EndpointMetrics, ...]:
        """Every endpoint counted so far in this process (one-process mode)."""
        return tuple(e for e in self._endpoints.values() if isinstance(e, EndpointMetrics))

    def process_ended(self) -> None:
        """Mark this worker dead in the shared files (its live gauges stop counting)."""
        if self.multiprocess:
            from prometheus_client.multiprocess import mark_process_dead

            mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    def render(self) -> bytes:
        """The Prometheus text of this server: every worker's, in multiprocess mode."""
        if not self.multiprocess:
            return generate_latest(self.registry)
        from prometheus_client.multiprocess import MultiProcessCollector

        merged = CollectorRegistry()
        MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return generate_latest(merged)


def prepare_multiprocess_dir(workers: int) -> Path | None:
    """Before ``workers`` > 1 start: an empty directory for their shared metric files.

    ``PROMETHEUS_MULTIPROC_DIR`` when set (its old files removed: counts of a previous
    run must not be added to this one), else a new temporary directory.

    :returns: the temporary directory to remove when the server stops, or None (one
        worker, or a directory the operator chose).
    """
    if workers <= 1:
        return None
    given = os.environ.get(MULTIPROC_ENV)
    if not given:
        created = Path(tempfile.mkdtemp(prefix="scopegate-metrics-"))
        os.environ[MULTIPROC_ENV] = str(created)
        return created
    Path(given).mkdir(parents=True, exist_ok=True)
    for stale in Path(given).glob("*.db"):
        stale.unlink()
    return None


class MeasuredRoute:
    """Wraps a route's ASGI app: counts each response and times it, as endpoint ``name``.

    An exception that escapes the route is counted as the status the app's handlers
    turn it into (``status_code`` when it has one, else 500).
    """

    __slots__ = ("app", "name")

    def __init__(self, app: ASGIApp, name: str) -> None:
        self.app = app
        self.name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        except Exception as exc:
            status = 503 if isinstance(exc, DatabaseUnavailable) else getattr(
                exc, "status_code", 500)
            raise
        finally:
            metrics: Metrics = scope["app"].state.server.metrics
            metrics.endpoint(self.name, scope["method"]).record(
                status, time.perf_counter() - started)


class _Exporter(Collector):
    """Reads :class:`Metrics` at scrape time into the Prometheus families."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        metrics = self._metrics
        requests = CounterMetricFamily(*_REQUESTS, labels=["endpoint", "method", "status"])
        errors = CounterMetricFamily(*_ERRORS, labels=["endpoint", "error"])
        latency = HistogramMetricFamily(*_DURATION, labels=["endpoint", "method"])
        issued = CounterMetricFamily(*_ISSUED, labels=["grant_type"])
        throttled = CounterMetricFamily(*_THROTTLED, labels=["endpoint", "method"])
        for grant_type, count in list(metrics.issued.items()):
            issued.add_metric([grant_type], count)
        for (endpoint, code), count in list(metrics.errors.items()):
            errors.add_metric([endpoint, code], count)
        for ep in metrics.endpoints:
            for status_class, count in zip(STATUS_CLASSES[1:], ep.statuses[1:], strict=True):
                if count:
                    requests.add_metric([ep.name, ep.method, status_class], count)
            if ep.throttled:
                throttled.add_metric([ep.name, ep.method], ep.throttled)
            if ep.latency_count:
                cumulative, buckets = 0, []
                for bound, count in zip((*map(str, LATENCY_BUCKETS), "+Inf"),
                                        ep.latency_buckets, strict=True):
                    cumulative += count
                    buckets.append((bound, float(cumulative)))
                latency.add_metric([ep.name, ep.method], buckets, ep.latency_sum)
        yield from (requests, errors, latency, issued, throttled)
