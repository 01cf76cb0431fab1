"""Read a live stream the way subscribers do: with Fink's own ``fink-client``."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from fink_client import consumer as fink_consumer
from fink_client.consumer import AlertConsumer


def shorten_group_join(monkeypatch: pytest.MonkeyPatch) -> None:
    """Add max.poll.interval.ms (and a session timeout under it) to fink-client's config.

    ``AlertConsumer`` keeps only username/password/group.id/bootstrap.servers from its
    config; with the default 300 s interval Tansu takes ~24 s to let a consumer join a
    group. Everything else stays fink-client's own (subscribe, decoding).
    """
    original = fink_consumer._get_kafka_config

    def with_short_interval(config: dict[str, Any]) -> dict[str, Any]:
        return {**original(config), "max.poll.interval.ms": 10000, "session.timeout.ms": 6000}

    monkeypatch.setattr(fink_consumer, "_get_kafka_config", with_short_interval)


def consume_with_fink_client(bootstrap: str, topic: str, expected: int,
                             timeout_s: float = 90) -> list[dict[str, Any]]:
    """Decoded alerts of ``topic``: until ``expected`` arrived, then one more look."""
    config = {"bootstrap.servers": bootstrap, "group.id": f"fink-client-{uuid.uuid4()}"}
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    with AlertConsumer([topic], config, survey="ztf") as consumer:
        while len(received) < expected and time.monotonic() < deadline:
            received += [alert for _t, alert, _k in consumer.consume(100, 1.0)]
        # Anything beyond the expected alerts would be a non-matching one: look once more.
        received += [alert for _t, alert, _k in consumer.consume(100, 2.0)]
    return received
