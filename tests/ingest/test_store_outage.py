"""A store that is down pauses ingest: it retries with backoff, commits nothing, loses nothing."""

from __future__ import annotations

import sqlite3
import time
from datetime import date
from pathlib import Path

from finkportal_core.alerts import encode_ztf_message
from finkportal_core.storage._sqlite_connections import table_path
from finkportal_core.tables import MAIN_TABLE
from finkportal_tools.demo import metric_total
from finkportal_tools.sim import generate_night
from tests.ingest.conftest import wait_for_rows
from tests.support.kafka_io import committed_total, produce, wait_committed


def retries(port: int) -> float:
    return metric_total(f"http://127.0.0.1:{port}/metrics", "ingest_store_write_retries")


def test_locked_store_pauses_ingest_until_it_is_back(broker, ingest_factory, topic, tmp_path):
    directory = tmp_path / "store"
    url = f"sqlite:{directory}?busy_timeout_ms=200"
    alerts = [encode_ztf_message(a) for a in generate_night(120, seed=9, night=date(2024, 3, 3))]
    produce(broker.bootstrap_servers, topic, alerts[:60])
    ingest = ingest_factory(store_url=url, backoff_initial_s="0.2", backoff_max_s="1")
    group = ingest.env["FINK_INGEST_GROUP_ID"]
    assert wait_for_rows(url, 60, process=ingest) == 60

    lock = sqlite3.connect(table_path(Path(directory), MAIN_TABLE), isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # another writer holds the table: the store is "down"
    try:
        produce(broker.bootstrap_servers, topic, alerts[60:])
        deadline = time.monotonic() + 30
        while retries(ingest.metrics_port) < 3:
            assert time.monotonic() < deadline, ingest.log()[-2000:]
            time.sleep(0.2)
        assert committed_total(broker.bootstrap_servers, group, topic) == 60
        assert ingest.process is not None
        assert ingest.process.poll() is None, "ingest must stay up"
    finally:
        lock.execute("ROLLBACK")
        lock.close()

    assert wait_for_rows(url, 120, process=ingest) == 120
    assert wait_committed(broker.bootstrap_servers, group, topic, 120) == 120
    assert "transient failure, backing off" in ingest.log()
