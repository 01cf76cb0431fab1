"""Prometheus metrics of the fitter, on a registry of its own, served at /metrics.

Fits: run (ended in a worker, whatever the outcome), failed (by kind, timeouts and
crashes included), timed out, duration, queue length, cache hits and misses. Batch: the
consumer-loop instruments of :class:`~finkportal_core.consumer_loop.LoopMetrics`. HTTP:
requests by route template and status, and latency, recorded by a pure ASGI middleware
(microseconds per request; unknown paths share one label so junk URLs cannot create
series).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from finkportal_core.asgi_timing import Recorder, Scope

# Fits last from milliseconds (a cached period) to minutes (DE on a long light curve).
_FIT_SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_HTTP_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_BATCH_SECONDS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
UNKNOWN_PATH = "other"


@dataclass
class FitterMetrics:
    """Every instrument the fitter updates."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.fits_run = Counter("fitter_fits_run", "Fits that ended in a worker (any outcome)",
                                ["model"], registry=r)
        self.fits_failed = Counter("fitter_fits_failed", "Fits that ended without a result",
                                   ["model", "kind"], registry=r)
        self.fits_timed_out = Counter("fitter_fits_timed_out",
                                      "Fits stopped at fit_timeout_s", ["model"], registry=r)
        self.fit_seconds = Histogram("fitter_fit_seconds", "Time a fit ran in its worker",
                                     ["model"], buckets=_FIT_SECONDS, registry=r)
        self.queue_length = Gauge("fitter_queue_length", "Jobs waiting for a worker",
                                  registry=r)
        self.running = Gauge("fitter_fits_running", "Fits running in a worker", registry=r)
        self.cache_hits = Counter("fitter_cache_hits", "Requests answered from the cache",
                                  ["model"], registry=r)
        self.cache_misses = Counter("fitter_cache_misses", "Requests that needed a fit",
                                    ["model"], registry=r)
        self.cache_write_errors = Counter("fitter_cache_write_errors",
                                          "Results the cache table did not take", registry=r)
        self.rejected = Counter("fitter_requests_rejected",
                                "Requests refused before a job existed", ["reason"], registry=r)
        self.pool_rebuilds = Counter("fitter_pool_rebuilds",
                                     "Worker pools rebuilt after pebble broke one", registry=r)
        self._batch(r)
        self._http(r)

    def _batch(self, r: CollectorRegistry) -> None:
        self.consumed = Counter("fitter_batch_requests_consumed", "Batch requests consumed",
                                registry=r)
        self.dead_lettered = Counter("fitter_batch_dead_lettered",
                                     "Batch requests sent to the dead-letter topic",
                                     ["reason_kind"], registry=r)
        self.write_retries = Counter("fitter_batch_retries",
                                     "Batches retried after a transient error", registry=r)
        self.batch_seconds = Histogram("fitter_batch_seconds", "Time to fit one batch",
                                       buckets=_BATCH_SECONDS, registry=r)
        self.lag = Gauge("fitter_batch_consumer_lag", "Batch requests not yet consumed",
                         ["topic", "partition"], registry=r)

    def _http(self, r: CollectorRegistry) -> None:
        self.requests = Counter("fitter_http_requests", "HTTP requests answered",
                                ["endpoint", "method", "status"], registry=r)
        self.latency = Histogram("fitter_http_request_seconds", "Time to answer a request",
                                 ["endpoint"], buckets=_HTTP_SECONDS, registry=r)


def request_recorder(metrics: FitterMetrics) -> Recorder:
    """What :class:`~finkportal_core.asgi_timing.TimingMiddleware` records for the fitter:
    requests by route template, method and status, and latency."""

    def record(scope: Scope, status: int, seconds: float) -> None:
        endpoint = route_template(scope)
        metrics.requests.labels(endpoint, scope.get("method", ""), str(status)).inc()
        metrics.latency.labels(endpoint).observe(seconds)

    return record


def route_template(scope: Scope) -> str:
    """``/fits/{job_id}`` rather than the path asked: Starlette leaves the matched route in
    the scope once it has routed the request."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNKNOWN_PATH
