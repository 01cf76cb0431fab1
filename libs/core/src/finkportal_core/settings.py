"""Settings shared in shape by every service.

Each service declares one subclass of :class:`BaseServiceSettings` (or of
:class:`ServiceSettings` when it talks to Kafka) with its own
``env_prefix`` (``FINK_INGEST_``, ``FINK_INDEXER_``...), so every field below is
read from ``<PREFIX><FIELD>`` for that service only. Nothing else in the code
base reads the environment.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class LogSettings(BaseSettings):
    """Logging settings common to every service (the portal has only these and its own)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    log_level: str = Field("INFO", description="Root log level (DEBUG, INFO, WARNING...).")
    log_json: bool = Field(True, description="Structured JSON log lines (false: plain text).")


class BaseServiceSettings(LogSettings):
    """Store and observability settings common to every service that reads the store."""

    store_url: str = Field(
        "sqlite:var/store",
        description=(
            "Where the tables live: 'sqlite:<directory>' for the embedded store, or "
            "'hbase://<thrift-host>:<port>?table_prefix=<p>&pool_size=<n>' for HBase."
        ),
    )


class ServiceSettings(BaseServiceSettings):
    """Settings of a service that talks to Kafka (ingest, indexer, fitter)."""

    metrics_host: str = Field(
        "127.0.0.1", description="Address the Prometheus endpoint binds "
        "(these services serve /metrics on a port of their own).")
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        description="Kafka bootstrap servers, comma-separated host:port list.",
    )
    kafka_security_protocol: str = Field(
        "PLAINTEXT",
        description="Kafka security.protocol: PLAINTEXT locally, SASL_SSL in production.",
    )
    kafka_sasl_mechanism: str | None = Field(
        None, description="SASL mechanism (e.g. SCRAM-SHA-512) when the protocol uses SASL."
    )
    kafka_sasl_username: str | None = Field(None, description="SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(None, description="SASL password.")
    kafka_max_poll_interval_ms: int = Field(
        10000,
        ge=1000,
        description=(
            "Consumer max.poll.interval.ms. Keep it small with the local Tansu broker (its group "
            "join waits for it); services keep polling while they back off, so 10 s is safe."
        ),
    )
    kafka_session_timeout_ms: int = Field(
        6000, ge=1000, description="Consumer session.timeout.ms (failure detection)."
    )
    kafka_metadata_refresh_ms: int = Field(
        10000,
        ge=1000,
        description="How often new topics matching a subscription pattern are discovered.",
    )
    kafka_fetch_wait_max_ms: int = Field(
        20,
        ge=0,
        le=5000,
        description="Consumer fetch.wait.max.ms: how long the broker may hold a fetch for "
        "data. librdkafka's 500 ms adds ~200 ms per hop on Tansu; each service hop "
        "(ingest, indexer) counts towards alert-to-index latency.",
    )


class ConsumerServiceSettings(ServiceSettings):
    """Fields of a service that runs :class:`~finkportal_core.consumer_loop.BatchConsumerLoop`.

    A subclass redeclares a field only to change its default or description.
    """

    group_id: str = Field("finkportal", description="Kafka consumer group id.")
    dead_letter_topic: str = Field(
        "finkportal_dlq",
        description="Topic receiving messages that cannot be processed, with the reason in "
        "the 'reason' header.",
    )
    batch_size: int = Field(500, ge=1, le=100_000, description="Most messages per batch.")
    batch_timeout_s: float = Field(
        1.0, gt=0, description="Longest wait for a message when none is buffered."
    )
    backoff_initial_s: float = Field(
        0.5, gt=0, description="First wait before retrying after the store or broker failed."
    )
    backoff_max_s: float = Field(30.0, gt=0, description="Longest wait between retries.")
    metrics_port: int = Field(9100, ge=0, le=65535, description="Prometheus /metrics port.")
    lag_interval_s: float = Field(
        15.0, gt=0, description="How often the consumer lag gauge is refreshed."
    )
