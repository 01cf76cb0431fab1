"""Live-stream filters: the registry, the records, and Fink's own client reading them."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import fastavro
import pytest

from finkportal_core.alerts import (
    Alert,
    InvalidAlertError,
    UnsupportedAlertFileError,
    alert_files,
    iter_alert_files,
)
from finkportal_core.classification import FINK_CLASSES, alert_class
from finkportal_core.filters import (
    FINK_CLASS_FIELD,
    STREAM_FILTERS,
    matching_filters,
    stream_filter,
    stream_message,
    stream_record,
    stream_schema,
    stream_topic,
)
from finkportal_tools.broker import EmbeddedBroker
from tests.support.fink_client import consume_with_fink_client
from tests.support.kafka_io import produce

SN_CLASSES = ("SN candidate", "Early SN Ia candidate")


def _alert(**added: object) -> Alert:
    candidate = {"jd": 2460000.5, "ndethist": 3, "drb": 0.9, "classtar": 0.9}
    return {"objectId": "ZTF23aaaaaaa", "candid": 1, "candidate": candidate, **added}


@pytest.fixture(scope="module")
def fink_alerts(real_data_dir: Path) -> list[tuple[Alert, str]]:
    """Real alerts carrying Fink added values, with their Fink class."""
    found: list[tuple[Alert, str]] = []
    for path in alert_files(real_data_dir / "alerts"):
        try:
            alerts = list(iter_alert_files(path))
        except UnsupportedAlertFileError:
            continue  # aggregated light curves and other tables that are not alerts
        found += [(alert, alert_class(alert)) for alert in alerts if "cdsxmatch" in alert]
    assert len(found) > 100
    return found


# -- registry -------------------------------------------------------------------


def test_filter_names_are_unique_and_topics_follow_fink():
    names = [f.name for f in STREAM_FILTERS]
    assert len(names) == len(set(names))
    assert {"early_sn_candidates", "sn_candidates", "kn_candidates", "microlensing_candidates",
            "sso_candidates", "all_classified"} <= set(names)
    for item in STREAM_FILTERS:
        assert item.topic == f"fink_{item.name}_ztf" == stream_topic(item.name)
        assert stream_filter(item.name) is item
        assert item.description


@pytest.mark.parametrize("bad", ["", "a-b", "sn candidates", "é"])
def test_stream_topic_rejects_names_kafka_or_fink_would_not_take(bad):
    with pytest.raises(ValueError, match="filter name"):
        stream_topic(bad)


def test_unknown_filter_name_is_a_clear_error():
    with pytest.raises(KeyError, match="known: early_sn_candidates"):
        stream_filter("nope")


@pytest.mark.parametrize(
    ("fink_class", "expected"),
    [
        ("Early SN Ia candidate", {"early_sn_candidates", "sn_candidates", "all_classified"}),
        ("SN candidate", {"sn_candidates", "all_classified"}),
        ("Kilonova candidate", {"kn_candidates", "all_classified"}),
        ("Microlensing candidate", {"microlensing_candidates", "all_classified"}),
        ("Ambiguous", {"all_classified"}),
        ("RRLyr", {"all_classified"}),
        ("Unknown", set()),
    ],
)
def test_class_filters(fink_class, expected):
    names = {f.name for f in matching_filters(_alert(roid=0), fink_class)}
    assert names == expected


@pytest.mark.parametrize(
    ("roid", "is_sso"),
    [(3, True), (2, True), (2.7, True), (3.0, True), (1, False), (0, False), (4, False),
     (None, False), (float("nan"), False), ("3", False), (True, False)],
)
def test_sso_filter_reads_roid(roid, is_sso):
    assert stream_filter("sso_candidates").matches(_alert(roid=roid), "Unknown") is is_sso


def test_every_fink_class_but_unknown_is_streamed_somewhere():
    for fink_class in FINK_CLASSES:
        matched = matching_filters(_alert(), fink_class)
        assert bool(matched) is (fink_class != "Unknown"), fink_class


# -- records and messages ---------------------------------------------------------


def test_stream_record_adds_finkclass_and_keeps_the_alert():
    alert = _alert(cdsxmatch="Unknown", roid=0)
    record = stream_record(alert, "SN candidate")
    assert record == {**alert, FINK_CLASS_FIELD: "SN candidate"}
    assert FINK_CLASS_FIELD not in alert


@pytest.mark.parametrize("bad_class", ["", None, 3])
def test_stream_record_rejects_a_missing_class(bad_class):
    with pytest.raises(ValueError, match="fink_class"):
        stream_record(_alert(), bad_class)


def test_stream_record_rejects_an_alert_without_identity():
    with pytest.raises(InvalidAlertError):
        stream_record({"candid": 1}, "SN candidate")


def test_schema_is_shared_between_alerts_of_one_shape():
    first = stream_record(_alert(cdsxmatch="Unknown"), "Unknown")
    second = stream_record({**_alert(cdsxmatch="RRLyr"), "candid": 2}, "RRLyr")
    assert stream_schema(first) is stream_schema(second)
    other = stream_record(_alert(cdsxmatch="Unknown", roid=3), "Unknown")
    assert stream_schema(other) is not stream_schema(first)


def _decode_like_fink_client(key: bytes, value: bytes) -> Alert:
    # What fink_client.consumer.AlertConsumer.process_message does with a message.
    parsed = fastavro.parse_schema(json.loads(key.decode("utf8")))
    decoded = fastavro.schemaless_reader(io.BytesIO(value), parsed)
    assert isinstance(decoded, dict)
    return decoded


@pytest.mark.realdata
def test_every_real_fink_alert_round_trips_in_fink_form(fink_alerts):
    for alert, fink_class in fink_alerts:
        key, value = stream_message(alert, fink_class)
        decoded = _decode_like_fink_client(key, value)
        # repr compares NaN added values (lc_features_*) as equal, and key order too.
        assert repr(decoded) == repr(stream_record(alert, fink_class))


# -- through the broker, read by fink-client ---------------------------------------


def _publish(bootstrap: str, fink_alerts: list[tuple[Alert, str]]) -> Counter[str]:
    """Publish every alert to each filter topic it matches; return counts per topic."""
    by_topic: dict[str, list[tuple[bytes, bytes]]] = {f.topic: [] for f in STREAM_FILTERS}
    for alert, fink_class in fink_alerts:
        message = stream_message(alert, fink_class)
        for matched in matching_filters(alert, fink_class):
            by_topic[matched.topic].append(message)
    return Counter({topic: produce(bootstrap, topic, msgs) for topic, msgs in by_topic.items()})


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.usefixtures("quick_group_join")
def test_fink_client_reads_exactly_the_matching_alerts(broker: EmbeddedBroker, fink_alerts):
    broker.create_topics([f.topic for f in STREAM_FILTERS])
    published = _publish(broker.bootstrap_servers, fink_alerts)
    sn = stream_filter("sn_candidates")
    expected = Counter((a["candid"], a["objectId"], c) for a, c in fink_alerts if c in SN_CLASSES)
    assert published[sn.topic] == sum(expected.values()) >= 50

    received = consume_with_fink_client(broker.bootstrap_servers, sn.topic, published[sn.topic])

    got = Counter((a["candid"], a["objectId"], a[FINK_CLASS_FIELD]) for a in received)
    assert got == expected
    assert published[stream_topic("all_classified")] == sum(
        1 for _a, c in fink_alerts if c != "Unknown")
