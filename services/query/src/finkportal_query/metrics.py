"""Prometheus metrics of the query service, and the ASGI middleware that records them.

A pure ASGI middleware (not Starlette's ``BaseHTTPMiddleware``) so timing a request
costs microseconds, not a task switch. Requests are labelled by the route's path
template; unknown paths share one label so junk URLs cannot blow up the series.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
UNKNOWN_PATH = "other"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


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


class MetricsMiddleware:
    """Times every HTTP request and counts it by endpoint, method and status."""

    def __init__(self, app: ASGIApp, metrics: QueryMetrics, paths: frozenset[str]):
        self.app = app
        self.metrics = metrics
        self._paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self._record(scope, status["code"], time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        path = scope.get("path", "")
        endpoint = path if path in self._paths else UNKNOWN_PATH
        self.metrics.requests.labels(endpoint, scope.get("method", ""), str(status)).inc()
        self.metrics.latency.labels(endpoint).observe(seconds)
        if status >= 400:
            self.metrics.errors.labels(endpoint, str(status)).inc()
