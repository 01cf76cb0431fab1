"""Prometheus metrics of the portal, served at ``/metrics`` on the portal's own port.

Labels stay bounded: a request's path is reduced to a handful of route kinds, and API
calls are labelled by service and status class.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

ROUTE_KINDS = {"/_dash-update-component": "callback", "/metrics": "metrics", "/health": "health",
               "/health/live": "health"}


def route_kind(path: str) -> str:
    """``callback``, ``dash`` (framework files), ``assets``, ``thumb``, ``health`` or ``page``."""
    if path in ROUTE_KINDS:
        return ROUTE_KINDS[path]
    for prefix, kind in (("/_dash", "dash"), ("/_favicon", "dash"), ("/assets/", "assets"),
                         ("/thumb/", "thumb")):
        if path.startswith(prefix):
            return kind
    return "page"


class PortalMetrics:
    """Every metric of one portal app, in its own registry (tests build several apps)."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter("portal_requests", "HTTP requests served", ["route", "status"],
                                registry=r)
        self.request_seconds = Histogram(
            "portal_request_seconds", "Time to answer an HTTP request", ["route"], registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.api_calls = Counter("portal_api_calls", "Calls to the query API and the fitter",
                                 ["service", "outcome"], registry=r)
        self.errors_shown = Counter("portal_errors_shown",
                                    "API errors shown to users as messages", ["page"], registry=r)
