"""Prometheus metrics of one server process (served at ``/metrics``)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["EndpointMetrics", "Metrics"]


class EndpointMetrics:
    """One endpoint's pre-bound collectors (``labels()`` costs µs; bind once, reuse)."""

    __slots__ = ("_metrics", "_name", "_responses", "latency")

    def __init__(self, metrics: Metrics, name: str) -> None:
        self._metrics = metrics
        self._name = name
        self.latency = metrics.latency.labels(name)
        self._responses: dict[int, Any] = {}

    def response(self, status: int) -> None:
        """Count one response with ``status``."""
        child = self._responses.get(status)
        if child is None:
            child = self._metrics.responses.labels(self._name, str(status))
            self._responses[status] = child
        child.inc()


class Metrics:
    """The server's collectors, in their own registry so several apps can coexist."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.responses = Counter(
            "scopegate_http_responses", "HTTP responses by endpoint and status",
            ["endpoint", "status"], registry=self.registry)
        self.tokens_issued = Counter(
            "scopegate_tokens_issued", "Access tokens issued by grant type",
            ["grant_type"], registry=self.registry)
        self.oauth_errors = Counter(
            "scopegate_oauth_errors", "OAuth error answers by endpoint and error code",
            ["endpoint", "error"], registry=self.registry)
        self.latency = Histogram(
            "scopegate_request_seconds", "Handler time by endpoint", ["endpoint"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0),
            registry=self.registry)
        self._endpoints: dict[str, EndpointMetrics] = {}
        self._issued: dict[str, Any] = {}

    def token_issued(self, grant_type: str) -> None:
        """Count one issued access token."""
        child = self._issued.get(grant_type)
        if child is None:
            child = self._issued[grant_type] = self.tokens_issued.labels(grant_type)
        child.inc()

    def endpoint(self, name: str) -> EndpointMetrics:
        """The pre-bound collectors of endpoint ``name``."""
        found = self._endpoints.get(name)
        if found is None:
            found = self._endpoints[name] = EndpointMetrics(self, name)
        return found
