"""The ingest handler: decode a batch, write it durably, publish what was written.

The consume/retry/dead-letter/commit cycle is the shared
:class:`~finkportal_core.consumer_loop.BatchConsumerLoop`; this module supplies
the batch handler. After the rows are durable, one compact record per stored alert
goes to the internal index topic (key ``objectId``, so one object's records stay in
order on one partition) and the broker must acknowledge them before the offsets
are committed: every stored alert reaches the indexer at least once.
"""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import Producer

from finkportal_core.consumer_loop import BatchConsumerLoop, DeadLetter
from finkportal_core.indexing.records import RecordError, encode_record, index_record
from finkportal_core.kafka import Delivery, make_consumer, make_producer
from finkportal_core.storage.base import Store
from finkportal_ingest.batch import PreparedBatch, prepare_batch
from finkportal_ingest.errors import TransientIngestError
from finkportal_ingest.metrics import IngestMetrics
from finkportal_ingest.settings import IngestSettings
from finkportal_ingest.sink import AlertSink

log = logging.getLogger(__name__)


class IngestService:
    """Owns the consumer, the producer and the sink; ``stop()`` is thread-safe."""

    def __init__(self, settings: IngestSettings, store: Store, metrics: IngestMetrics):
        self.settings = settings
        self.metrics = metrics
        self.sink = AlertSink(store, settings.history_cache_keys)
        self.producer: Producer = make_producer(settings)
        self.loop = BatchConsumerLoop(settings, make_consumer(settings, settings.group_id),
                                      self.producer, metrics, (TransientIngestError,))

    def stop(self) -> None:
        """Ask the loop to finish the batch in hand, commit and return."""
        self.loop.stop()

    def run(self) -> None:
        log.info("ingest started", extra={"pattern": self.settings.topic_pattern,
                                          "index_topic": self.settings.index_topic})
        self.loop.run([self.settings.topic_pattern], self.handle)
        log.info("ingest stopped")

    def handle(self, messages: list[Any]) -> list[DeadLetter]:
        """Make one batch durable and announced; return its dead letters."""
        batch = prepare_batch(messages)
        history_written = self.sink.write(batch)
        self._publish_records(batch)
        self.metrics.written.inc(batch.alert_count)
        self.metrics.history_written.inc(history_written)
        return batch.dead_letters

    def _publish_records(self, batch: PreparedBatch) -> None:
        """Send the index record of every stored alert and wait for the broker to have them."""
        topic = self.settings.index_topic
        if not topic:
            return
        delivery = Delivery(self.producer)
        for message, main_rows, _history in batch.rows_by_message:
            for key, cells in main_rows:
                value = self._record_value(message, key, cells, batch)
                if value is not None:
                    delivery.produce(topic, value, key.split(b"_", 1)[0])
        if (problem := delivery.wait()) is not None:
            raise TransientIngestError(f"index topic unavailable: {problem}")
        self.metrics.records_published.inc(delivery.count)

    def _record_value(self, message: Any, key: bytes, cells: dict[bytes, bytes],
                      batch: PreparedBatch) -> bytes | None:
        try:
            return encode_record(index_record(key, cells))
        except RecordError as exc:  # stored but not indexable: say so on the dead-letter topic
            batch.dead_letters.append(DeadLetter(message, f"not indexable: {exc}", "record"))
            return None
