"""Prometheus metrics of the query service, and what the timing middleware records.

Requests (timed by :class:`~finkportal_core.asgi_timing.TimingMiddleware`) are labelled by
the route's path template; unknown paths share one label so junk URLs cannot blow up the
series.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram

from finkportal_core.asgi_timing import Recorder, Scope

_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
UNKNOWN_PATH = "other"


@dataclass
class QueryMetrics:
    """Requests, latency per endpoint, errors, rows returned."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter("query_requests", "HTTP requests answered",
                                ["endpoint", "method", "status"], registry=r)
        self.latency = Histogram("query_request_seconds", "Time to answer a request",
                                 ["endpoint"], buckets=_SECONDS, registry=r)
        self.errors = Counter("query_errors", "Requests answered with an error status",
                              ["endpoint", "status"], registry=r)
        self.rows = Counter("query_rows_returned", "Table rows returned", ["endpoint"],
                            registry=r)


def request_recorder(metrics: QueryMetrics, paths: frozenset[str]) -> Recorder:
    """What :class:`~finkportal_core.asgi_timing.TimingMiddleware` records for the query
    service: requests by endpoint, method and status, latency, and errors."""

    def record(scope: Scope, status: int, seconds: float) -> None:
        path = scope.get("path", "")
        endpoint = path if path in paths else UNKNOWN_PATH
        metrics.requests.labels(endpoint, scope.get("method", ""), str(status)).inc()
        metrics.latency.labels(endpoint).observe(seconds)
        if status >= 400:
            metrics.errors.labels(endpoint, str(status)).inc()

    return record
