"""Prometheus metrics of the indexer service, on a registry of its own."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass
class IndexerMetrics:
    """The counters, gauges and histograms the indexer updates."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.consumed = Counter("indexer_records_consumed", "Records consumed", registry=r)
        self.indexed = Counter("indexer_alerts_indexed", "Alerts written to the index tables",
                               registry=r)
        self.index_rows = Counter("indexer_index_rows_written", "Index rows written",
                                  ["table"], registry=r)
        self.streamed = Counter("indexer_stream_messages", "Messages published to live streams",
                                ["topic"], registry=r)
        self.dead_lettered = Counter(
            "indexer_records_dead_lettered", "Records sent to the dead-letter topic",
            ["reason_kind"], registry=r,
        )
        self.write_retries = Counter(
            "indexer_retries", "Batches retried after a transient error", registry=r
        )
        self.batch_seconds = Histogram("indexer_batch_seconds", "Time to index one batch",
                                       buckets=_SECONDS, registry=r)
        self.statistics_seconds = Histogram(
            "indexer_statistics_refresh_seconds", "Time to recount one night's statistics",
            buckets=_SECONDS, registry=r,
        )
        self.lag = Gauge("indexer_consumer_lag", "Records not yet consumed",
                         ["topic", "partition"], registry=r)
