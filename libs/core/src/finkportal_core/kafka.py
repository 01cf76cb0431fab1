"""Kafka client configuration and small helpers shared by the services."""

from __future__ import annotations

from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from finkportal_core.settings import ServiceSettings

# Alerts with cutouts are ~60-100 KB; a Fink stream message can carry a history.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024


def common_config(settings: ServiceSettings) -> dict[str, Any]:
    """Connection and security options common to producers and consumers."""
    config: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "security.protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_sasl_mechanism:
        config["sasl.mechanism"] = settings.kafka_sasl_mechanism
        config["sasl.username"] = settings.kafka_sasl_username or ""
        password = settings.kafka_sasl_password
        config["sasl.password"] = password.get_secret_value() if password else ""
    return config


def consumer_config(settings: ServiceSettings, group_id: str) -> dict[str, Any]:
    """A manually committed consumer that starts from the earliest offset of new groups."""
    return {
        **common_config(settings),
        "group.id": group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "max.poll.interval.ms": settings.kafka_max_poll_interval_ms,
        "session.timeout.ms": settings.kafka_session_timeout_ms,
        "topic.metadata.refresh.interval.ms": settings.kafka_metadata_refresh_ms,
        "fetch.wait.max.ms": settings.kafka_fetch_wait_max_ms,
        "fetch.max.bytes": 64 * 1024 * 1024,
        "max.partition.fetch.bytes": MAX_MESSAGE_BYTES,
    }


def producer_config(settings: ServiceSettings) -> dict[str, Any]:
    """An idempotent-minded producer that batches without adding much latency."""
    return {
        **common_config(settings),
        "linger.ms": 5,
        "acks": "all",
        "message.max.bytes": MAX_MESSAGE_BYTES,
        "batch.size": 1024 * 1024,
    }


def make_consumer(settings: ServiceSettings, group_id: str) -> Consumer:
    return Consumer(consumer_config(settings, group_id))


def make_producer(settings: ServiceSettings) -> Producer:
    return Producer(producer_config(settings))


def next_offsets(messages: list[Any]) -> list[TopicPartition]:
    """Offsets to commit after ``messages``: one past the highest seen per partition."""
    highest: dict[tuple[str, int], int] = {}
    for message in messages:
        key = (message.topic(), message.partition())
        highest[key] = max(highest.get(key, -1), message.offset())
    return [TopicPartition(topic, part, offset + 1) for (topic, part), offset in highest.items()]


def consumer_lag(consumer: Consumer) -> dict[tuple[str, int], int]:
    """Messages not yet consumed per assigned partition (high watermark minus position)."""
    lag: dict[tuple[str, int], int] = {}
    assignment = consumer.assignment()
    if not assignment:
        return lag
    for tp in consumer.position(assignment):
        _, high = consumer.get_watermark_offsets(tp, timeout=2, cached=False)
        position = tp.offset if tp.offset >= 0 else 0
        lag[(tp.topic, tp.partition)] = max(high - position, 0)
    return lag


class Delivery:
    """Messages produced as one unit: :meth:`wait` says whether the broker took them all.

    Services commit their input only after :meth:`wait` returns None, so every message
    produced here is delivered at least once.
    """

    def __init__(self, producer: Producer):
        self._producer = producer
        self._failures: list[str] = []
        self.count = 0

    def produce(self, topic: str, value: bytes | None, key: bytes | None = None,
                headers: list[tuple[str, str | bytes | None]] | None = None) -> None:
        options: dict[str, Any] = {"value": value, "key": key, "on_delivery": self._on_delivery}
        if headers is not None:
            options["headers"] = headers
        self._producer.produce(topic, **options)
        self.count += 1

    def wait(self, timeout_s: float = 30) -> str | None:
        """Flush; None when every message was acknowledged, else what went wrong first."""
        if self.count == 0:
            return None
        left = self._producer.flush(timeout_s)
        if left > 0:
            return f"{left} messages not acknowledged within {timeout_s:.0f} s"
        return self._failures[0] if self._failures else None

    def _on_delivery(self, error: Any, _message: Any) -> None:
        if error is not None:
            self._failures.append(str(error))
