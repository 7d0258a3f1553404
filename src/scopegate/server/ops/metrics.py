"""Prometheus metrics of one server process (served at ``/metrics``).

The hot path only adds to plain Python numbers (a dict lookup and an ``+= 1``, no lock);
a collector turns them into Prometheus families when ``/metrics`` is scraped. The event
loop is the only writer, so no count is lost; a scrape may see one request half-counted.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["LATENCY_BUCKETS", "EndpointMetrics", "Metrics"]

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0)
"""Upper bounds (seconds) of the handler-time histogram; ``+Inf`` is implied."""


class EndpointMetrics:
    """One endpoint's counters: responses by status, handler time, OAuth errors by code."""

    __slots__ = ("errors", "latency_buckets", "latency_count", "latency_sum", "name",
                 "responses")

    def __init__(self, name: str) -> None:
        self.name = name
        self.responses: dict[int, int] = {}
        self.errors: dict[str, int] = {}
        self.latency_buckets = [0] * (len(LATENCY_BUCKETS) + 1)  # the last one is +Inf
        self.latency_sum = 0.0
        self.latency_count = 0

    def record(self, status: int, seconds: float) -> None:
        """Count one response with ``status`` that took ``seconds`` to produce."""
        responses = self.responses
        responses[status] = responses.get(status, 0) + 1
        self.latency_buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum += seconds
        self.latency_count += 1

    def response(self, status: int) -> None:
        """Count one response with ``status`` (no handler time)."""
        self.responses[status] = self.responses.get(status, 0) + 1

    def error(self, code: str) -> None:
        """Count one OAuth error answer with error ``code``."""
        self.errors[code] = self.errors.get(code, 0) + 1


class Metrics:
    """The server's metrics, in their own registry so several apps can coexist."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.issued: dict[str, int] = {}
        self._endpoints: dict[str, EndpointMetrics] = {}
        self.registry.register(_Exporter(self))

    def token_issued(self, grant_type: str) -> None:
        """Count one issued access token."""
        self.issued[grant_type] = self.issued.get(grant_type, 0) + 1

    def endpoint(self, name: str) -> EndpointMetrics:
        """The counters of endpoint ``name`` (bind once and keep them)."""
        found = self._endpoints.get(name)
        if found is None:
            found = self._endpoints[name] = EndpointMetrics(name)
        return found

    @property
    def endpoints(self) -> tuple[EndpointMetrics, ...]:
        """Every endpoint counted so far."""
        return tuple(self._endpoints.values())


class _Exporter(Collector):
    """Reads :class:`Metrics` at scrape time into the Prometheus families."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        metrics = self._metrics
        responses = CounterMetricFamily(
            "scopegate_http_responses", "HTTP responses by endpoint and status",
            labels=["endpoint", "status"])
        errors = CounterMetricFamily(
            "scopegate_oauth_errors", "OAuth error answers by endpoint and error code",
            labels=["endpoint", "error"])
        latency = HistogramMetricFamily(
            "scopegate_request_seconds", "Handler time by endpoint", labels=["endpoint"])
        issued = CounterMetricFamily(
            "scopegate_tokens_issued", "Access tokens issued by grant type",
            labels=["grant_type"])
        for grant_type, count in list(metrics.issued.items()):
            issued.add_metric([grant_type], count)
        for ep in metrics.endpoints:
            for status, count in list(ep.responses.items()):
                responses.add_metric([ep.name, str(status)], count)
            for code, count in list(ep.errors.items()):
                errors.add_metric([ep.name, code], count)
            if ep.latency_count:
                cumulative, buckets = 0, []
                for bound, count in zip((*map(str, LATENCY_BUCKETS), "+Inf"),
                                        ep.latency_buckets, strict=True):
                    cumulative += count
                    buckets.append((bound, float(cumulative)))
                latency.add_metric([ep.name], buckets, ep.latency_sum)
        yield from (responses, errors, latency, issued)
