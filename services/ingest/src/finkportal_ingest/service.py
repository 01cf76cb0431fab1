"""The ingest loop: consume a batch, write it durably, dead-letter the bad, then commit."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from confluent_kafka import Consumer, KafkaError, Producer

from finkportal_core.kafka import consumer_lag, make_consumer, make_producer, next_offsets
from finkportal_core.storage.base import Store
from finkportal_ingest.batch import DeadLetter, PreparedBatch, prepare_batch
from finkportal_ingest.errors import TransientIngestError
from finkportal_ingest.metrics import IngestMetrics
from finkportal_ingest.settings import IngestSettings
from finkportal_ingest.sink import AlertSink

log = logging.getLogger(__name__)


class IngestService:
    """Owns the consumer, the dead-letter producer and the sink; ``stop()`` is thread-safe."""

    def __init__(self, settings: IngestSettings, store: Store, metrics: IngestMetrics):
        self.settings = settings
        self.metrics = metrics
        self.sink = AlertSink(store, settings.history_cache_keys)
        self.consumer: Consumer = make_consumer(settings, settings.group_id)
        self.producer: Producer = make_producer(settings)
        self._stopping = threading.Event()
        self._last_lag = 0.0

    def stop(self) -> None:
        """Ask the loop to finish the batch in hand, commit and return."""
        self._stopping.set()

    def run(self) -> None:
        self.consumer.subscribe([self.settings.topic_pattern])
        log.info("ingest started", extra={"pattern": self.settings.topic_pattern})
        try:
            while not self._stopping.is_set():
                self._run_once()
        finally:
            self._close()

    def _run_once(self) -> None:
        messages = self._consume()
        if messages:
            self._process(messages)
        self._refresh_lag()

    def _consume(self) -> list[Any]:
        raw = self.consumer.consume(self.settings.batch_size, self.settings.batch_timeout_s)
        messages = []
        for message in raw:
            error = message.error()
            if error is None:
                messages.append(message)
            elif error.code() != KafkaError._PARTITION_EOF:
                log.warning("consumer error", extra={"error": str(error)})
        self.metrics.consumed.inc(len(messages))
        return messages

    def _process(self, messages: list[Any]) -> None:
        batch = prepare_batch(messages)
        history_written = self._write_until_durable(batch)
        if history_written is None:
            return  # stopping while the store is down: nothing committed, all re-delivered
        self._dead_letter(batch.dead_letters)
        self._commit(messages)
        self.metrics.written.inc(batch.alert_count)
        self.metrics.history_written.inc(history_written)

    def _write_until_durable(self, batch: PreparedBatch) -> int | None:
        """History rows written, after retries with exponential backoff (None: stopping).

        While backing off the consumer is paused but keeps polling, so it stays in the group.
        """
        delay = self.settings.backoff_initial_s
        while True:
            try:
                with self.metrics.batch_seconds.time():
                    return self.sink.write(batch)
            except TransientIngestError as exc:
                self.metrics.write_retries.inc()
                log.warning("store unavailable, backing off",
                            extra={"error": str(exc), "retry_in_s": delay})
            if not self._paused_wait(delay):
                return None
            delay = min(delay * 2, self.settings.backoff_max_s)

    def _paused_wait(self, seconds: float) -> bool:
        """Wait without consuming more; False when asked to stop meanwhile."""
        assignment = self.consumer.assignment()
        self.consumer.pause(assignment)
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                if self._stopping.is_set():
                    return False
                self.consumer.poll(min(0.2, seconds))  # paused: only serves the group protocol
            return True
        finally:
            self.consumer.resume(self.consumer.assignment())

    def _dead_letter(self, dead_letters: list[DeadLetter]) -> None:
        """Publish bad messages with their reason and wait until the broker has them."""
        failures: list[str] = []
        for dead in dead_letters:
            self.producer.produce(
                self.settings.dead_letter_topic, value=dead.message.value(),
                key=dead.message.key(), headers=_dead_letter_headers(dead),
                on_delivery=lambda err, _msg: failures.append(str(err)) if err else None,
            )
            self.metrics.dead_lettered.labels(reason_kind=dead.kind).inc()
            log.warning("dead-lettered", extra={"reason": dead.reason,
                                                "topic": dead.message.topic(),
                                                "offset": dead.message.offset()})
        if dead_letters and (self.producer.flush(30) > 0 or failures):
            raise TransientIngestError(f"dead-letter topic unavailable: {failures[:1]}")

    def _commit(self, messages: list[Any]) -> None:
        try:
            self.consumer.commit(offsets=next_offsets(messages), asynchronous=False)
        except Exception as exc:  # partitions revoked meanwhile: the new owner re-delivers
            log.warning("commit failed; messages will be re-delivered (idempotent)",
                        extra={"error": str(exc)})

    def _refresh_lag(self) -> None:
        now = time.monotonic()
        if now - self._last_lag < self.settings.lag_interval_s:
            return
        self._last_lag = now
        try:
            for (topic, partition), lag in consumer_lag(self.consumer).items():
                self.metrics.lag.labels(topic=topic, partition=str(partition)).set(lag)
        except Exception as exc:  # lag is observability only: never stop ingest for it
            log.debug("lag refresh failed", extra={"error": str(exc)})

    def _close(self) -> None:
        self.consumer.close()
        self.producer.flush(10)
        log.info("ingest stopped")


def _dead_letter_headers(dead: DeadLetter) -> list[tuple[str, str | bytes | None]]:
    message = dead.message
    return [
        ("reason", dead.reason.encode()),
        ("reason_kind", dead.kind.encode()),
        ("source_topic", str(message.topic()).encode()),
        ("source_partition", str(message.partition()).encode()),
        ("source_offset", str(message.offset()).encode()),
    ]
