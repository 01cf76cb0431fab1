"""Fitter service settings: every field is read from ``FINK_FITTER_<FIELD>``.

The fitter is an HTTP service (jobs, ``/health``, ``/metrics`` on one port, like the query
service) that also consumes a Kafka topic of batch requests, so it takes the Kafka fields
of :class:`~finkportal_core.settings.ServiceSettings` and declares the consumer-loop fields
(:class:`~finkportal_core.consumer_loop.LoopSettings`) itself: it has no metrics port of
its own, which :class:`~finkportal_core.settings.ConsumerServiceSettings` would add.
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from finkportal_core.settings import ServiceSettings


class FitterSettings(ServiceSettings):
    """Settings of the fitter service. Limits and their reasons: ``docs/fitter.md``."""

    model_config = SettingsConfigDict(env_prefix="FINK_FITTER_", extra="ignore", frozen=True)

    metrics_host: str = Field(
        "127.0.0.1", description="Unused by the fitter: its /metrics is served by the HTTP "
        "server on host:port (declared only because every Kafka service shares the field).")
    host: str = Field("127.0.0.1", description="Address the HTTP server binds (0.0.0.0 in a pod).")
    port: int = Field(
        8002, ge=0, le=65535,
        description="HTTP port: the fit API (POST /fits, GET /fits/{id}), /health, /health/live "
        "and Prometheus /metrics.",
    )
    workers: int = Field(
        2, ge=1, le=256,
        description="Fit worker processes (the pool size): at most this many fits run at once. "
        "One per core: each worker is single-threaded (BLAS limited to one thread).",
    )
    fit_timeout_s: float = Field(
        60.0, gt=0, le=86_400,
        description="Longest a single fit may run in its worker (queue time not counted); the "
        "worker is then killed and replaced and the job fails with kind 'timeout'.",
    )
    max_queue: int = Field(
        200, ge=1, le=100_000,
        description="Most pending jobs (queued or running, HTTP and Kafka together). Beyond it "
        "POST /fits answers 503 'busy, retry' and the Kafka consumer waits for room.",
    )
    max_points: int = Field(
        5000, ge=2, le=1_000_000,
        description="Most detections read for one fit: an object with more is fitted on its "
        "newest max_points alerts (bounds the read, the worker's memory and the fit time).",
    )
    job_ttl_s: float = Field(
        900.0, gt=0,
        description="How long a finished job stays queryable at GET /fits/{id}. Its result "
        "stays in the fits cache table: asking again answers at once from there.",
    )
    max_finished_jobs: int = Field(
        2000, ge=1, le=1_000_000,
        description="Most finished jobs kept in memory (the oldest are forgotten first, even "
        "before job_ttl_s): bounds the memory results take (~40 kB each).",
    )
    shutdown_grace_s: float = Field(
        30.0, ge=0, le=3600,
        description="On SIGTERM, how long running and queued fits may go on before they are "
        "abandoned (those jobs fail with kind 'shutdown', nothing is cached for them). Keep "
        "the pod's terminationGracePeriodSeconds above it.",
    )
    batch_enabled: bool = Field(
        True, description="Consume fit requests from request_topic (false: HTTP only).")
    request_topic: str = Field(
        "finkportal_fit_requests",
        description="Kafka topic of batch fit requests: JSON objects shaped like the POST /fits "
        "body. Results go to the fits cache table; offsets are committed once they are there.",
    )
    group_id: str = Field("finkportal-fitter", description="Kafka consumer group id.")
    dead_letter_topic: str = Field(
        "finkportal_fit_requests_dlq",
        description="Where batch requests that cannot be fitted go (bad JSON or options, unknown "
        "object, timeout, crash), with the reason in the 'reason' header.",
    )
    batch_size: int = Field(
        20, ge=1, le=10_000,
        description="Most requests per batch. A batch is committed when all its fits are done, "
        "so a small batch keeps re-delivery after a crash short.",
    )
    batch_timeout_s: float = Field(
        1.0, gt=0, description="Longest wait for a request when none is buffered.")
    backoff_initial_s: float = Field(
        0.5, gt=0, description="First wait before retrying a batch after the store failed.")
    backoff_max_s: float = Field(30.0, gt=0, description="Longest wait between retries.")
    lag_interval_s: float = Field(
        15.0, gt=0, description="How often the consumer lag gauge is refreshed.")

    @model_validator(mode="after")
    def _distinct_topics(self) -> FitterSettings:
        if self.batch_enabled and self.request_topic == self.dead_letter_topic:
            raise ValueError("request_topic and dead_letter_topic must differ: a dead letter "
                             "would be consumed again")
        return self
