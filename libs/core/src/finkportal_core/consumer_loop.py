"""The batch loop every consuming service runs: consume, handle durably, dead-letter, commit.

A service supplies a handler that makes one batch durable (and returns the messages
it could never process, as :class:`DeadLetter`). The loop:

- retries the handler with exponential backoff while it raises one of the
  service's transient errors; the consumer is paused meanwhile but keeps polling,
  so it stays in its group; handlers must be idempotent, as a retry repeats them;
- publishes dead letters with ``reason``/``reason_kind``/``source_*`` headers and
  waits for the broker to have them;
- commits offsets only then (at-least-once; re-delivery is harmless);
- on ``stop()`` finishes the batch in hand, commits and returns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from confluent_kafka import Consumer, KafkaError, Producer

from finkportal_core.kafka import Delivery, consumer_lag, next_offsets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeadLetter:
    """A message that will never be processed, and why."""

    message: Any
    reason: str
    kind: str  # short machine-readable label, e.g. "decode": the metric label


class DeadLetterUnavailableError(Exception):
    """The dead-letter topic did not take the messages: retry the batch."""


class LoopSettings(Protocol):
    """The settings fields the loop reads (every service's settings class has them)."""

    @property
    def batch_size(self) -> int: ...
    @property
    def batch_timeout_s(self) -> float: ...
    @property
    def backoff_initial_s(self) -> float: ...
    @property
    def backoff_max_s(self) -> float: ...
    @property
    def lag_interval_s(self) -> float: ...
    @property
    def dead_letter_topic(self) -> str: ...


class LoopMetrics(Protocol):
    """The Prometheus instruments the loop updates (names are the service's own)."""

    consumed: Any
    dead_lettered: Any
    write_retries: Any
    batch_seconds: Any
    lag: Any


Handler = Callable[[list[Any]], list[DeadLetter]]


class BatchConsumerLoop:
    """Owns the consume/commit cycle; ``stop()`` is thread-safe."""

    def __init__(self, settings: LoopSettings, consumer: Consumer, producer: Producer,
                 metrics: LoopMetrics, transient: tuple[type[Exception], ...]):
        self.settings = settings
        self.consumer = consumer
        self.producer = producer
        self.metrics = metrics
        self.transient: tuple[type[Exception], ...] = (*transient, DeadLetterUnavailableError)
        self._stopping = threading.Event()
        self._last_lag = 0.0

    def stop(self) -> None:
        """Ask the loop to finish the batch in hand, commit and return."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run(self, subscription: list[str], handler: Handler) -> None:
        """Consume ``subscription`` (topics or ``^regex``) until stopped, then close."""
        self.consumer.subscribe(subscription)
        try:
            while not self._stopping.is_set():
                messages = self._consume()
                if messages:
                    self._process(messages, handler)
                self._refresh_lag()
        finally:
            self.consumer.close()
            self.producer.flush(10)

    def _consume(self) -> list[Any]:
        """What is already fetched, or else the first messages to arrive within the timeout.

        Taking what is buffered (timeout 0) before waiting keeps latency low when
        messages trickle in, while batches still grow to ``batch_size`` under load.
        """
        size = self.settings.batch_size
        raw = self.consumer.consume(size, 0)
        if not raw:
            raw = self.consumer.consume(1, self.settings.batch_timeout_s)
            if raw:
                raw += self.consumer.consume(size - 1, 0) if size > 1 else []
        messages = []
        for message in raw:
            error = message.error()
            if error is None:
                messages.append(message)
            elif error.code() != KafkaError._PARTITION_EOF:
                log.warning("consumer error", extra={"error": str(error)})
        self.metrics.consumed.inc(len(messages))
        return messages

    def _process(self, messages: list[Any], handler: Handler) -> None:
        delay = self.settings.backoff_initial_s
        while True:
            try:
                with self.metrics.batch_seconds.time():
                    dead_letters = handler(messages)
                    self._dead_letter(dead_letters)
                break
            except self.transient as exc:
                self.metrics.write_retries.inc()
                log.warning("transient failure, backing off",
                            extra={"error": str(exc), "retry_in_s": delay})
            if not self._paused_wait(delay):
                return  # stopping while failing: nothing committed, all re-delivered
            delay = min(delay * 2, self.settings.backoff_max_s)
        self._commit(messages)

    def _paused_wait(self, seconds: float) -> bool:
        """Wait without consuming more; False when asked to stop meanwhile."""
        self.consumer.pause(self.consumer.assignment())
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
        delivery = Delivery(self.producer)
        for dead in dead_letters:
            delivery.produce(self.settings.dead_letter_topic, dead.message.value(),
                             dead.message.key(), dead_letter_headers(dead))
            self.metrics.dead_lettered.labels(reason_kind=dead.kind).inc()
            log.warning("dead-lettered", extra={"reason": dead.reason,
                                                "topic": dead.message.topic(),
                                                "offset": dead.message.offset()})
        if (problem := delivery.wait()) is not None:
            raise DeadLetterUnavailableError(f"dead-letter topic unavailable: {problem}")

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
        except Exception as exc:  # lag is observability only: never stop for it
            log.debug("lag refresh failed", extra={"error": str(exc)})


def dead_letter_headers(dead: DeadLetter) -> list[tuple[str, str | bytes | None]]:
    message = dead.message
    return [
        ("reason", dead.reason.encode()),
        ("reason_kind", dead.kind.encode()),
        ("source_topic", str(message.topic()).encode()),
        ("source_partition", str(message.partition()).encode()),
        ("source_offset", str(message.offset()).encode()),
    ]
