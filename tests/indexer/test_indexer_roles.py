"""Indexing and stream publishing split over two processes, each in its own group."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from finkportal_core.alerts import decode_message
from finkportal_core.classification import alert_class
from finkportal_core.storage import open_store
from finkportal_tools.demo import metric_total
from tests.indexer.conftest import Pipeline, metrics_url, wait_metric
from tests.indexer.snapshots import stored_alerts
from tests.indexer.test_indexer_redelivery import synthetic_messages, wait_time_rows
from tests.support.kafka_io import produce, read_all

pytestmark = pytest.mark.slow


def test_index_only_and_streams_only_processes_share_the_work(pipeline: Pipeline):
    messages = synthetic_messages(300, seed=14)
    stream = pipeline.stream_topic("all_classified")
    pipeline.broker.create_topics([stream])
    ingest = pipeline.start_ingest()
    indexer = pipeline.start_indexer(streams_enabled="false")
    streamer = pipeline.start_indexer(index_enabled="false",
                                      group_id=f"{pipeline.indexer_group}-streams")
    produce(pipeline.broker.bootstrap_servers, pipeline.nightly_topic, messages)
    assert wait_metric(ingest, "ingest_alerts_written", len(messages)) == len(messages)
    assert wait_time_rows(pipeline.store_url, len(messages)) == len(messages)
    store = open_store(pipeline.store_url)
    try:
        classified = {a["candid"] for a in stored_alerts(store) if alert_class(a) != "Unknown"}
    finally:
        store.close()
    assert 0 < len(classified) < len(messages)
    received = read_all(pipeline.broker.bootstrap_servers, stream, len(classified))
    got = [alert["candid"] for m in received for alert in decode_message(m.value(), m.key())]
    assert sorted(got) == sorted(classified)
    assert metric_total(metrics_url(indexer), "indexer_stream_messages") == 0
    assert metric_total(metrics_url(streamer), "indexer_alerts_indexed") == 0


def test_a_process_with_nothing_to_do_refuses_to_start():
    env = {**os.environ, "FINK_INDEXER_STREAMS_ENABLED": "false",
           "FINK_INDEXER_INDEX_ENABLED": "false"}
    done = subprocess.run([sys.executable, "-m", "finkportal_indexer"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "nothing to do" in done.stderr
