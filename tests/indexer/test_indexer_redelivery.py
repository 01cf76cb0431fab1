"""Restarts, re-delivery and bad records: nothing duplicated, nothing counted twice."""

from __future__ import annotations

import signal
from datetime import date

import msgpack
import pytest

from finkportal_core.indexing.layout import (
    CLASS_TABLE,
    OBJECTS_TABLE,
    STATISTICS_TABLE,
    TIME_TABLE,
)
from finkportal_core.indexing.records import RECORD_VERSION
from finkportal_core.indexing.summary import decode_statistics
from finkportal_core.storage import open_store
from finkportal_tools.sim import NightConfig
from finkportal_tools.sim.parallel import encoded_night
from tests.indexer.conftest import Pipeline, wait_metric, wait_statistics_settled
from tests.indexer.snapshots import expected_statistics, snapshot, stored_alerts
from tests.ingest.conftest import stored_row_count, wait_for_rows
from tests.support.kafka_io import produce, read_all, wait_committed

pytestmark = pytest.mark.slow


def synthetic_messages(count: int, seed: int) -> list[bytes]:
    config = NightConfig(n_alerts=count, seed=seed, night=date(2024, 3, 5), cutouts=False)
    return [encoded.value for encoded in encoded_night(config, keep_added_values=True)]


def time_rows(store_url: str) -> int:
    return stored_row_count(store_url, TIME_TABLE)


def wait_time_rows(store_url: str, expected: int, timeout_s: float = 180) -> int:
    return wait_for_rows(store_url, expected, timeout_s, table=TIME_TABLE)


def test_kill_restart_and_full_redelivery_change_nothing(pipeline: Pipeline):
    messages = synthetic_messages(3000, seed=11)
    ingest = pipeline.start_ingest()
    first = pipeline.start_indexer(batch_size="50")
    produce(pipeline.broker.bootstrap_servers, pipeline.nightly_topic, messages)
    killed_at = wait_metric(first, "indexer_alerts_indexed", 300)
    first.signal(signal.SIGKILL)  # mid-batch, nothing flushed, offsets partly committed
    first.wait()
    assert wait_metric(ingest, "ingest_alerts_written", len(messages)) == len(messages)
    assert killed_at < len(messages), "the kill must land mid-stream"
    pipeline.start_indexer(batch_size="50")
    assert wait_time_rows(pipeline.store_url, len(messages)) == len(messages)
    wait_statistics_settled(pipeline)
    settled = snapshot(pipeline.store_url)

    # Ingest re-stores every alert and re-publishes every record (new offsets) ...
    produce(pipeline.broker.bootstrap_servers, pipeline.nightly_topic, messages)
    assert wait_metric(ingest, "ingest_alerts_written", 2 * len(messages)) == 2 * len(messages)
    # ... and a new consumer group re-reads the whole index topic from the start.
    again = f"{pipeline.indexer_group}-again"
    pipeline.start_indexer(group_id=again)
    bootstrap = pipeline.broker.bootstrap_servers
    assert wait_committed(bootstrap, again, pipeline.index_topic, 2 * len(messages)) == 2 * len(
        messages)
    wait_statistics_settled(pipeline)

    assert snapshot(pipeline.store_url) == settled
    store = open_store(pipeline.store_url)
    try:
        alerts = stored_alerts(store)
        stats = {k.decode(): decode_statistics(c) for k, c in store.table(STATISTICS_TABLE).scan()}
        classes = sum(1 for _ in store.table(CLASS_TABLE).scan(columns=[b"i:candid"]))
        objects = len({a["objectId"] for a in alerts})
        summaries = sum(1 for _ in store.table(OBJECTS_TABLE).scan(columns=[b"s"]))
    finally:
        store.close()
    assert len(alerts) == classes == len(messages)
    assert summaries == objects
    assert stats == expected_statistics(alerts)


def test_bad_records_are_dead_lettered_and_the_rest_indexed(pipeline: Pipeline):
    good = synthetic_messages(40, seed=12)
    dlq = f"{pipeline.index_topic}_dlq"
    pipeline.broker.create_topics([dlq])
    ingest = pipeline.start_ingest()
    indexer = pipeline.start_indexer()
    produce(pipeline.broker.bootstrap_servers, pipeline.nightly_topic, good)
    assert wait_metric(ingest, "ingest_alerts_written", len(good)) == len(good)
    off_sky = {"v": RECORD_VERSION, "key": "ZTF00x_1", "objectId": "ZTF00x", "candid": 1,
               "jd": 2460000.5, "ra": 10.0, "dec": 95.0}
    bad = [b"\x00not msgpack", msgpack.packb({"v": 99}), msgpack.packb(off_sky),
           msgpack.packb({**off_sky, "dec": 5.0, "candid": "seven"})]
    produce(pipeline.broker.bootstrap_servers, pipeline.index_topic, bad)
    dead = read_all(pipeline.broker.bootstrap_servers, dlq, len(bad))
    by_value = {m.value(): dict(m.headers() or [])["reason"].decode() for m in dead}
    reasons = [by_value[value] for value in bad]
    assert "not a msgpack record" in reasons[0]
    assert "version" in reasons[1]
    assert "not on the sky" in reasons[2]
    assert "candid is not an integer" in reasons[3]
    assert wait_metric(indexer, "indexer_alerts_indexed", len(good)) == len(good)
    assert time_rows(pipeline.store_url) == len(good)
