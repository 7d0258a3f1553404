"""Prometheus metrics of one server process (served at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["Metrics"]


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
