"""End to end: the real alerts replayed through ingest and the indexer into every index.

One pipeline for the module (broker, ingest and indexer processes, one store); every
expectation is recomputed here from the main table or from the alerts themselves.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from finkportal_core.classification import alert_class
from finkportal_core.codec import decode_value
from finkportal_core.indexing.layout import (
    CLASS_TABLE,
    OBJECTS_TABLE,
    SKY_TABLE,
    SSO_TABLE,
    STATISTICS_TABLE,
    TIME_TABLE,
    TRACKLET_TABLE,
    decode_index_cells,
)
from finkportal_core.indexing.summary import decode_statistics
from finkportal_core.sky import cell_key, sky_cell
from finkportal_core.storage import open_store
from finkportal_core.tables import jd_text
from finkportal_indexer.reindex import reindex
from finkportal_tools.broker import EmbeddedBroker
from finkportal_tools.replay import replay
from tests.core.test_classification import alerts_frame, reference_classes
from tests.indexer.conftest import (
    Pipeline,
    make_pipeline,
    stop_all,
    wait_metric,
    wait_statistics_settled,
)
from tests.indexer.snapshots import (
    expected_statistics,
    expected_summaries,
    snapshot,
    stored_alerts,
)
from tests.support.fink_client import consume_with_fink_client

pytestmark = [pytest.mark.realdata, pytest.mark.slow]
SN_CLASSES = {"SN candidate", "Early SN Ia candidate"}


@pytest.fixture(scope="module")
def indexed(broker: EmbeddedBroker, real_data_dir: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Pipeline, list[Any]]]:
    """The real alerts stored and indexed; yields the pipeline and the stored alerts."""
    pipeline = make_pipeline(broker, tmp_path_factory.mktemp("indexed"))
    broker.create_topics([pipeline.stream_topic("sn_candidates")])
    ingest = pipeline.start_ingest()
    indexer = pipeline.start_indexer()
    sent = replay([real_data_dir / "alerts"], None, broker.bootstrap_servers,
                  pipeline.nightly_topic, keep_added_values=True).produced
    written = wait_metric(ingest, "ingest_alerts_written", sent)
    assert written == sent > 2000
    assert wait_metric(indexer, "indexer_alerts_indexed", written) == written
    store = open_store(pipeline.store_url)
    try:
        wait_statistics_settled(pipeline)
        yield pipeline, stored_alerts(store)
    finally:
        store.close()
        stop_all(pipeline)


def keys_of(pipeline: Pipeline, table: str) -> dict[bytes, dict[str, Any]]:
    return {key: decode_index_cells(cells) for key, cells in snapshot(
        pipeline.store_url, (table,))[table]}


def test_every_alert_is_in_the_time_sky_and_class_indexes(indexed):
    pipeline, alerts = indexed
    expected_time, expected_sky, expected_class = {}, {}, {}
    for alert in alerts:
        c, oid, candid = alert["candidate"], alert["objectId"], alert["candid"]
        jd = jd_text(c["jd"])
        expected_time[f"{jd}_{oid}_{candid}".encode()] = alert
        sky = cell_key(sky_cell(c["ra"], c["dec"]))
        expected_sky[sky + f"{oid}_{jd}_{candid}".encode()] = alert
        expected_class[f"{alert_class(alert)}_{jd}_{oid}_{candid}".encode()] = alert
    for table, expected in ((TIME_TABLE, expected_time), (SKY_TABLE, expected_sky),
                            (CLASS_TABLE, expected_class)):
        rows = keys_of(pipeline, table)
        assert set(rows) == set(expected), table
        for key, cells in rows.items():
            alert = expected[key]
            assert cells["i:ra"] == alert["candidate"]["ra"]
            assert cells["i:dec"] == alert["candidate"]["dec"]
            assert cells["i:magpsf"] == alert["candidate"]["magpsf"]
            assert cells["i:candid"] == alert["candid"]


def test_solar_system_and_tracklet_indexes_hold_exactly_their_alerts(indexed):
    pipeline, alerts = indexed
    sso = {f"{a['candidate']['ssnamenr']}_{jd_text(a['candidate']['jd'])}_{a['candid']}".encode()
           for a in alerts if a["candidate"].get("ssnamenr") not in (None, "null", "")}
    tracklets = {
        f"{a['tracklet']}_{jd_text(a['candidate']['jd'])}_{a['objectId']}_{a['candid']}".encode()
        for a in alerts if str(a.get("tracklet", "")).startswith("TRCK_")}
    assert len(sso) > 10
    assert set(keys_of(pipeline, SSO_TABLE)) == sso
    assert set(keys_of(pipeline, TRACKLET_TABLE)) == tracklets


def test_classes_of_real_fink_alerts_follow_the_rule_set(indexed):
    """The class index agrees with an independent pandas evaluation of Fink's rules."""
    pipeline, alerts = indexed
    with_fink = [a for a in alerts if "cdsxmatch" in a]
    reference = dict(zip((a["candid"] for a in with_fink),
                         reference_classes(alerts_frame(with_fink)), strict=True))
    indexed_class = {cells["i:candid"]: cells["d:finkclass"]
                     for cells in keys_of(pipeline, CLASS_TABLE).values()}
    assert len(reference) > 500
    assert {candid: indexed_class[candid] for candid in reference} == reference
    assert len(set(reference.values())) > 5  # several classes really occur


def test_statistics_equal_a_recount_from_the_main_table(indexed):
    pipeline, alerts = indexed
    rows = snapshot(pipeline.store_url, (STATISTICS_TABLE,))[STATISTICS_TABLE]
    stored = {key.decode(): decode_statistics(cells) for key, cells in rows}
    assert stored == expected_statistics(alerts)
    assert sum(night["alerts"] for night in stored.values()) == len(alerts)


def test_object_summaries_equal_the_main_table(indexed):
    pipeline, alerts = indexed
    rows = snapshot(pipeline.store_url, (OBJECTS_TABLE,))[OBJECTS_TABLE]
    stored = {}
    for key, cells in rows:
        values = {q.decode(): decode_value(v) for q, v in cells.items() if q.startswith(b"s:")}
        stored[key.decode()] = {name: values[f"s:{name}"] for name in
                                ("ndet", "first_jd", "last_jd", "candid", "finkclass")}
    assert stored == expected_summaries(alerts)


@pytest.mark.usefixtures("quick_group_join")
def test_fink_client_receives_exactly_the_matching_alerts(indexed):
    pipeline, alerts = indexed
    with_fink = [a for a in alerts if "cdsxmatch" in a]
    classes = reference_classes(alerts_frame(with_fink))
    expected = Counter(alert["candid"] for alert, cls in zip(with_fink, classes, strict=True)
                       if cls in SN_CLASSES)
    assert sum(expected.values()) > 50
    received = consume_with_fink_client(pipeline.broker.bootstrap_servers,
                                        pipeline.stream_topic("sn_candidates"),
                                        sum(expected.values()))
    assert Counter(alert["candid"] for alert in received) == expected
    by_candid = {a["candid"]: a for a in alerts}
    for alert in received:  # the whole alert, as stored, with its class
        stored = by_candid[alert["candid"]]
        assert alert["finkclass"] in SN_CLASSES
        assert alert["candidate"] == stored["candidate"]
        assert alert["cutoutScience"] == stored["cutoutScience"]
        assert len(alert["prv_candidates"] or []) == len(stored["prv_candidates"] or [])


class StopAfter(threading.Event):
    """An event that reports itself set after ``checks`` looks: a deterministic interrupt."""

    def __init__(self, checks: int):
        super().__init__()
        self.checks = checks

    def is_set(self) -> bool:
        self.checks -= 1
        return self.checks < 0 or super().is_set()


def test_reindex_reproduces_every_index_table_exactly(indexed, capfd):
    """Drop everything, rebuild in interrupted-then-resumed chunks, compare every cell."""
    pipeline, alerts = indexed
    live = snapshot(pipeline.store_url)
    store = open_store(pipeline.store_url)
    try:
        first = reindex(store, 300, drop=True, stop=StopAfter(2), progress=lambda _t: None)
        assert not first.complete
        assert first.alerts == 900
        second = reindex(store, 300, progress=lambda _t: None)
    finally:
        store.close()
    assert second.complete
    assert second.resumed_after is not None
    assert second.alerts == len(alerts) - 900
    assert not second.skipped
    assert snapshot(pipeline.store_url) == live


def test_reindex_command_reports_progress_and_rebuilds(indexed):
    pipeline, _alerts = indexed
    live = snapshot(pipeline.store_url)
    env = {**os.environ, "FINK_INDEXER_STORE_URL": pipeline.store_url,
           "FINK_INDEXER_REINDEX_BATCH_SIZE": "500"}
    done = subprocess.run([sys.executable, "-m", "finkportal_indexer", "reindex", "--drop"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "scan done" in done.stdout
    assert "statistics recounted" in done.stdout
    assert snapshot(pipeline.store_url) == live


def test_reindex_of_a_store_without_alerts_is_a_clear_error(tmp_path):
    env = {**os.environ, "FINK_INDEXER_STORE_URL": f"sqlite:{tmp_path / 'empty'}"}
    done = subprocess.run([sys.executable, "-m", "finkportal_indexer", "reindex"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "no main table" in done.stderr
