"""End to end: alerts through a real broker and the real ingest process into the store."""

from __future__ import annotations

import hashlib
import signal
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from finkportal_core.alerts import alert_files, encode_ztf_message, iter_alert_files
from finkportal_core.alerts.files import UnsupportedAlertFileError
from finkportal_core.storage import open_store
from finkportal_core.tables import HISTORY_TABLE, MAIN_TABLE, alert_row_key, rows_to_alert
from finkportal_tools.broker import EmbeddedBroker
from finkportal_tools.sim import NightConfig, generate_night
from finkportal_tools.sim.parallel import encoded_night
from tests.ingest.conftest import wait_for_rows
from tests.support.compare import differences
from tests.support.kafka_io import committed_total, produce, wait_committed


def real_alerts(root: Path) -> list[dict[str, Any]]:
    """Every distinct real alert (first copy of each candid), in file order."""
    seen: dict[int, dict[str, Any]] = {}
    for path in alert_files(root / "alerts"):
        try:
            for alert in iter_alert_files(path):
                seen.setdefault(alert["candid"], alert)
        except UnsupportedAlertFileError:
            continue
    return list(seen.values())


def stored_alert(store: Any, alert: dict[str, Any]) -> dict[str, Any]:
    object_id = alert["objectId"]
    main = store.table(MAIN_TABLE).get(alert_row_key(alert))
    history = list(store.table(HISTORY_TABLE).scan(row_prefix=f"{object_id}_".encode()))
    return rows_to_alert(main, history)


def table_digest(store_url: str) -> str:
    """A hash of every cell of both tables: equal digests mean identical contents."""
    digest = hashlib.sha256()
    store = open_store(store_url)
    try:
        for name in (MAIN_TABLE, HISTORY_TABLE):
            for key, cells in store.table(name).scan():
                digest.update(key)
                for column in sorted(cells):
                    digest.update(column + b"=" + cells[column])
    finally:
        store.close()
    return digest.hexdigest()


@pytest.mark.realdata
def test_every_real_alert_reads_back_exactly(broker, real_data_dir, ingest_factory, topic,
                                             store_url):
    alerts = real_alerts(real_data_dir)
    assert len(alerts) > 2000
    produce(broker.bootstrap_servers, topic, (encode_ztf_message(a) for a in alerts))
    ingest = ingest_factory()
    assert wait_for_rows(store_url, len(alerts), process=ingest) == len(alerts)
    store = open_store(store_url)
    try:
        problems = {a["candid"]: differences(a, stored_alert(store, a)) for a in alerts}
    finally:
        store.close()
    wrong = {candid: diff[:3] for candid, diff in problems.items() if diff}
    assert not wrong, f"{len(wrong)} alerts differ, e.g. {list(wrong.items())[:3]}"


def synthetic_messages(n: int, seed: int) -> list[bytes]:
    """A synthetic night in ZTF's wire form, built by two worker processes."""
    config = NightConfig(n_alerts=n, seed=seed, night=date(2024, 3, 1))
    return [encoded.value for encoded in encoded_night(config, workers=2)]


@pytest.mark.slow
def test_synthetic_night_lands_once_and_redelivery_changes_nothing(
        broker, ingest_factory, topic, store_url):
    messages = synthetic_messages(10_000, seed=7)
    produce(broker.bootstrap_servers, topic, messages)
    ingest = ingest_factory(batch_size="1000")
    assert wait_for_rows(store_url, 10_000, timeout_s=300, process=ingest) == 10_000
    before = table_digest(store_url)

    produce(broker.bootstrap_servers, topic, messages[:3000])  # the same alerts again
    group = ingest.env["FINK_INGEST_GROUP_ID"]
    assert wait_committed(broker.bootstrap_servers, group, topic, 13_000) == 13_000
    assert table_digest(store_url) == before


@pytest.mark.slow
def test_sigkill_mid_night_then_restart_stores_each_alert_once(
        broker, ingest_factory, topic, store_url):
    messages = synthetic_messages(4000, seed=11)
    produce(broker.bootstrap_servers, topic, messages)
    first = ingest_factory(batch_size="200")
    assert wait_for_rows(store_url, 600, process=first) >= 600
    first.signal(signal.SIGKILL)
    first.wait()
    second = ingest_factory(batch_size="200")
    assert wait_for_rows(store_url, 4000, timeout_s=300, process=second) == 4000
    time.sleep(2)  # anything re-delivered after the count was reached must not add rows
    store = open_store(store_url)
    try:
        candids = [c[b"i:candid"] for _, c in store.table(MAIN_TABLE).scan(columns=[b"i:candid"])]
    finally:
        store.close()
    assert len(candids) == len(set(candids)) == 4000


def test_sigterm_finishes_the_batch_commits_and_exits_zero(
        broker: EmbeddedBroker, ingest_factory, topic, store_url):
    produce(broker.bootstrap_servers, topic, synthetic_messages(300, seed=3))
    ingest = ingest_factory()
    assert wait_for_rows(store_url, 300, process=ingest) == 300
    ingest.signal(signal.SIGTERM)
    assert ingest.wait(timeout=30) == 0
    group = ingest.env["FINK_INGEST_GROUP_ID"]
    assert committed_total(broker.bootstrap_servers, group, topic) == 300


def test_ingest_writes_through_the_hbase_adapter_over_thrift(
        broker, ingest_factory, topic, hbase_double):
    alerts = list(generate_night(80, seed=13, night=date(2024, 3, 5)))
    produce(broker.bootstrap_servers, topic, (encode_ztf_message(a) for a in alerts))
    url = f"{hbase_double.url}&table_prefix=ingest{topic[4:14]}_"
    ingest = ingest_factory(store_url=url)
    assert wait_for_rows(url, len(alerts), process=ingest) == len(alerts)
    store = open_store(url)
    try:
        for alert in alerts:
            assert not differences(alert, stored_alert(store, alert)), alert["candid"]
    finally:
        store.close()
