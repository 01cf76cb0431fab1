"""Batch fits: requests on the Kafka topic, results in the cache table, offsets committed."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from finkportal_core.storage import open_store
from finkportal_fitter.cache import FitCache
from finkportal_fitter.options import parse_request
from finkportal_tools.broker import EmbeddedBroker
from tests.fitter.conftest import (
    OBJECTS,
    UNKNOWN_ID,
    BatchTopics,
    FitterServer,
    start_fitter,
    stop_fitter,
)
from tests.support.kafka_io import produce, read_all, wait_committed

GOOD = [
    {"objectId": OBJECTS["batch"].object_id, "model": "period"},
    {"objectId": OBJECTS["mulens"].object_id, "model": "microlensing",
     "options": {"method": "LM", "use_dc": "always"}},
]
BAD: list[tuple[bytes, str, str]] = [  # value, reason kind, words of the reason
    (b"{not json", "request", "not a JSON document"),
    (json.dumps({"objectId": OBJECTS["period"].object_id, "model": "period",
                 "options": {"nterms_base": -1}}).encode(), "request", "nterms_base"),
    (json.dumps({"objectId": UNKNOWN_ID, "model": "period"}).encode(), "unknown_object",
     UNKNOWN_ID),
]


def wait_cached(store_url: str, bodies: list[dict[str, Any]], timeout_s: float = 60) -> list[Any]:
    deadline = time.monotonic() + timeout_s
    store = open_store(store_url)
    try:
        while True:
            rows = [FitCache(store).read(parse_request(body)) for body in bodies]
            if all(rows) or time.monotonic() > deadline:
                return rows
            time.sleep(0.2)
    finally:
        store.close()


def test_batch_requests_are_fitted_into_the_cache_and_committed(
        fitter: FitterServer, broker: EmbeddedBroker, batch_topics: BatchTopics) -> None:
    sent = produce(broker.bootstrap_servers, batch_topics.request_topic,
                   [json.dumps(body).encode() for body in GOOD] + [value for value, *_ in BAD])
    rows = wait_cached(fitter.store_url, GOOD)
    assert all(rows), fitter.log()[-3000:]
    period, mulens = (row.outcome for row in rows)
    assert period["status"] == mulens["status"] == "done"
    assert abs(period["result"]["best_period"] / OBJECTS["batch"].params["period"] - 1) < 0.01
    assert mulens["result"]["method"] == "LM"
    assert wait_committed(broker.bootstrap_servers, batch_topics.group_id,
                          batch_topics.request_topic, sent) == sent
    dead = read_all(broker.bootstrap_servers, batch_topics.dead_letter_topic, len(BAD))
    assert len(dead) == len(BAD)
    for message, (value, kind, words) in zip(dead, BAD, strict=True):
        headers = dict(message.headers() or [])
        assert message.value() == value
        assert headers["reason_kind"].decode() == kind
        assert words in headers["reason"].decode(), headers
    assert fitter.metric("fitter_batch_dead_lettered_total", reason_kind="request") == 2
    # A batch result answers HTTP requests from the cache.
    again = fitter.client.post("/fits", json=GOOD[1])
    assert again.status_code == 200
    assert again.json()["cached"]


def test_a_dead_batch_consumer_fails_liveness_so_the_pod_is_restarted(
        fit_store_url: str, broker: EmbeddedBroker, tmp_path: Path) -> None:
    # A bad request with no way to dead-letter it (the broker refuses the topic name): the
    # Kafka thread stops rather than lose or skip it, and nothing in the process would
    # start it again, so liveness must fail.
    topic = f"fit_requests_dead_{time.monotonic_ns()}"
    broker.create_topics([topic])
    server = start_fitter(fit_store_url, tmp_path / "fitter.log", batch_enabled="true",
                          kafka_bootstrap_servers=broker.bootstrap_servers, request_topic=topic,
                          dead_letter_topic="no spaces allowed!", group_id=f"{topic}-group")
    try:
        assert server.client.get("/health/live").status_code == 200
        produce(broker.bootstrap_servers, topic, [b"{not json"])
        live = wait_for(lambda: server.client.get("/health/live"), lambda r: r.status_code == 503)
        assert "batch consumer has stopped" in live.json().get("text", ""), server.log()[-3000:]
        health = server.client.get("/health")
        assert health.status_code == 503
        assert "batch consumer has stopped" in health.json()["text"]
        assert server.client.get("/fits/nope").status_code == 404  # HTTP still answers
    finally:
        assert stop_fitter(server) == 0


def wait_for(call: Any, done: Any, timeout_s: float = 90) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            answer = call()
            if done(answer) or time.monotonic() > deadline:
                return answer
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.3)
