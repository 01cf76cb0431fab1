"""A store that is down pauses the indexer: it backs off, commits nothing, loses nothing."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from finkportal_core.indexing.layout import CLASS_TABLE
from finkportal_core.storage._sqlite_connections import table_path
from finkportal_tools.demo import metric_total
from tests.indexer.conftest import Pipeline, metrics_url, wait_metric
from tests.indexer.test_indexer_redelivery import synthetic_messages, wait_time_rows
from tests.support.kafka_io import committed_total, produce, wait_committed

pytestmark = pytest.mark.slow


def test_locked_index_table_pauses_the_indexer_until_it_is_back(pipeline: Pipeline):
    directory = Path(pipeline.store_url.removeprefix("sqlite:"))
    pipeline.store_url += "?busy_timeout_ms=200"
    messages = synthetic_messages(120, seed=13)
    bootstrap = pipeline.broker.bootstrap_servers
    ingest = pipeline.start_ingest()
    indexer = pipeline.start_indexer(backoff_initial_s="0.2", backoff_max_s="1")
    produce(bootstrap, pipeline.nightly_topic, messages[:60])
    assert wait_time_rows(pipeline.store_url, 60) == 60

    lock = sqlite3.connect(table_path(directory, CLASS_TABLE), isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # another writer holds one index table: the store is "down"
    try:
        produce(bootstrap, pipeline.nightly_topic, messages[60:])
        assert wait_metric(ingest, "ingest_alerts_written", 120) == 120
        deadline = time.monotonic() + 30
        while metric_total(metrics_url(indexer), "indexer_retries") < 3:
            assert time.monotonic() < deadline, indexer.log()[-2000:]
            time.sleep(0.2)
        assert committed_total(bootstrap, pipeline.indexer_group, pipeline.index_topic) == 60
        assert indexer.process is not None
        assert indexer.process.poll() is None, "the indexer must stay up"
    finally:
        lock.execute("ROLLBACK")
        lock.close()

    assert wait_time_rows(pipeline.store_url, 120) == 120
    assert wait_committed(bootstrap, pipeline.indexer_group, pipeline.index_topic, 120) == 120
    assert "transient failure, backing off" in indexer.log()
