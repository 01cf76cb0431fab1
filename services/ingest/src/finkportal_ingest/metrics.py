"""Prometheus metrics of the ingest service, on a registry of its own."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class IngestMetrics:
    """The counters, gauges and histograms ingest updates."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.consumed = Counter("ingest_alerts_consumed", "Kafka messages consumed", registry=r)
        self.written = Counter("ingest_alerts_written", "Alerts written to the store", registry=r)
        self.history_written = Counter(
            "ingest_history_rows_written", "History rows written", registry=r
        )
        self.records_published = Counter(
            "ingest_index_records_published", "Index records published for the indexer",
            registry=r,
        )
        self.dead_lettered = Counter(
            "ingest_alerts_dead_lettered", "Messages sent to the dead-letter topic",
            ["reason_kind"], registry=r,
        )
        self.write_retries = Counter(
            "ingest_store_write_retries", "Batch writes retried after a transient error",
            registry=r,
        )
        self.batch_seconds = Histogram(
            "ingest_batch_write_seconds", "Time to write one batch durably",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=r,
        )
        self.lag = Gauge(
            "ingest_consumer_lag", "Messages not yet consumed", ["topic", "partition"],
            registry=r,
        )
