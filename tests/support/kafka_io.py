"""Produce to and read back from the real test broker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition


def produce(bootstrap: str, topic: str,
            messages: Iterable[bytes | tuple[bytes | None, bytes]]) -> int:
    """Send values (or (key, value) pairs) and wait for every delivery; return the count."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5,
                         "message.max.bytes": 8 * 1024 * 1024})
    errors: list[str] = []
    count = 0
    for item in messages:
        key, value = item if isinstance(item, tuple) else (None, item)
        producer.produce(topic, value=value, key=key,
                         on_delivery=lambda err, _m: errors.append(str(err)) if err else None)
        producer.poll(0)
        count += 1
    producer.flush(60)
    assert not errors, errors[:3]
    return count


def read_all(bootstrap: str, topic: str, expected: int, timeout_s: float = 60) -> list[Message]:
    """Read every partition of a topic from the start, without a consumer group."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4()}",
                         "enable.auto.commit": False})
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    found: list[Message] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(found) < expected and time.monotonic() < deadline:
            for message in consumer.consume(500, 0.5):
                error = message.error()
                if error is None:
                    found.append(message)
                elif error.code() != KafkaError._PARTITION_EOF:
                    raise RuntimeError(str(error))
    finally:
        consumer.close()
    return found


def committed_total(bootstrap: str, group_id: str, topic: str) -> int:
    """Sum of a consumer group's committed offsets over a topic's partitions (0 when none)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id,
                         "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        committed = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
        return sum(max(int(tp.offset), 0) for tp in committed)
    finally:
        consumer.close()


def wait_committed(bootstrap: str, group_id: str, topic: str, expected: int,
                   timeout_s: float = 60) -> int:
    """Poll until the group has committed ``expected`` messages of the topic; return the total."""
    deadline = time.monotonic() + timeout_s
    total = committed_total(bootstrap, group_id, topic)
    while total < expected and time.monotonic() < deadline:
        time.sleep(0.3)
        total = committed_total(bootstrap, group_id, topic)
    return total
