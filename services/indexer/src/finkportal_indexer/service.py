"""The indexer handler: records in, index rows, statistics marks and live streams out.

The consume/retry/dead-letter/commit cycle is the shared
:class:`~finkportal_core.consumer_loop.BatchConsumerLoop`. Per batch: decode and
classify the records (bad ones are dead letters), keep one record per alert, write
the index tables, mark the nights for a statistics recount, publish the live
streams, and only then let the loop commit.
"""

from __future__ import annotations

import logging
from typing import Any

from finkportal_core.consumer_loop import BatchConsumerLoop, DeadLetter
from finkportal_core.indexing.records import RecordError, decode_record
from finkportal_core.kafka import make_consumer, make_producer
from finkportal_core.storage.base import StorageError, Store, StoreUnavailableError
from finkportal_indexer.errors import TransientIndexerError
from finkportal_indexer.metrics import IndexerMetrics
from finkportal_indexer.settings import IndexerSettings
from finkportal_indexer.statistics import StatisticsRefresher
from finkportal_indexer.streams import StreamPublisher
from finkportal_indexer.writer import Classified, IndexWriter, classify, nights_of

log = logging.getLogger(__name__)


class IndexerService:
    """Owns the consumer, the producer, the writer and the statistics thread."""

    def __init__(self, settings: IndexerSettings, store: Store, metrics: IndexerMetrics):
        self.settings = settings
        self.metrics = metrics
        self.writer = IndexWriter(store)
        producer = make_producer(settings)
        self.streams = (
            StreamPublisher(store, producer, metrics, settings.stream_topic_prefix)
            if settings.streams_enabled else None
        )
        self.statistics = StatisticsRefresher(store, metrics, settings.statistics_interval_s)
        self.loop = BatchConsumerLoop(settings, make_consumer(settings, settings.group_id),
                                      producer, metrics, (TransientIndexerError,))

    def stop(self) -> None:
        self.loop.stop()

    def run(self) -> None:
        log.info("indexer started", extra={"topic": self.settings.index_topic})
        if self.settings.index_enabled:
            self.statistics.start()
        try:
            self.loop.run([self.settings.index_topic], self.handle)
        finally:
            if self.settings.index_enabled:
                self.statistics.stop()
        log.info("indexer stopped")

    def handle(self, messages: list[Any]) -> list[DeadLetter]:
        """Index one batch durably; return the records that cannot be indexed."""
        classified, by_key, dead = classify_messages(messages)
        try:
            written = self._write(classified)
        except StoreUnavailableError as exc:
            raise TransientIndexerError(str(exc)) from exc
        except StorageError as exc:  # refused by the store: not worth retrying
            refused = [DeadLetter(m, f"store refused: {exc}", "store") for m in by_key.values()]
            return dead + refused
        dead += self._publish(classified, by_key)
        # Counted only now: a failed publish retries the whole batch.
        for table, count in written.items():
            self.metrics.index_rows.labels(table=table).inc(count)
        if self.settings.index_enabled:
            self.metrics.indexed.inc(len(classified))
        return dead

    def _write(self, classified: list[Classified]) -> dict[str, int]:
        if not self.settings.index_enabled:
            return {}
        written = self.writer.write(classified)
        self.statistics.mark(nights_of(classified))
        return written

    def _publish(self, classified: list[Classified], by_key: dict[str, Any]) -> list[DeadLetter]:
        if self.streams is None:
            return []
        try:
            unsendable = self.streams.publish(classified)
        except StoreUnavailableError as exc:
            raise TransientIndexerError(str(exc)) from exc
        return [DeadLetter(by_key[record["key"]], reason, "stream")
                for record, reason in unsendable]


def classify_messages(
    messages: list[Any],
) -> tuple[list[Classified], dict[str, Any], list[DeadLetter]]:
    """Decode and classify; the last record of each alert wins (the newest write)."""
    latest: dict[str, Classified] = {}
    by_key: dict[str, Any] = {}
    dead: list[DeadLetter] = []
    for message in messages:
        try:
            record, fink_class = classify(decode_record(message.value()))
        except RecordError as exc:
            dead.append(DeadLetter(message, str(exc), "record"))
            continue
        latest[record["key"]] = (record, fink_class)
        by_key[record["key"]] = message
    return list(latest.values()), by_key, dead
