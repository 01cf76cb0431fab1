"""The alert <-> rows mapping: keys, layout, tags, exact rebuild, through a real store."""

from __future__ import annotations

import collections
import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finkportal_core.alerts import Alert, InvalidAlertError
from finkportal_core.codec import decode_value, encode_value
from finkportal_core.storage import Store, open_store
from finkportal_core.tables import (
    HISTORY_FAMILIES,
    HISTORY_TABLE,
    MAIN_FAMILIES,
    MAIN_TABLE,
    TAG_BADQUALITY,
    TAG_CELL,
    TAG_UPPERLIM,
    RowDecodeError,
    alert_row_key,
    alert_to_rows,
    history_key_prefix,
    history_keys,
    object_prefix,
    row_key,
    rows_to_alert,
)
from tests.core.alerts.real_alerts import RealAlerts, load_real_alerts
from tests.core.alerts.strategies import synthetic_alerts
from tests.support.compare import differences

JDS = st.floats(min_value=1_000_000, max_value=9_999_999.9999999)
BASE: Alert = {
    "schemavsn": "4.02",
    "publisher": "ZTF (www.ztf.caltech.edu)",
    "objectId": "ZTF18abodpsb",
    "candid": 697252380515015008,
    "candidate": {"jd": 2458451.7523843, "candid": 697252380515015008, "magpsf": 15.5},
    "prv_candidates": [],
    "cutoutScience": {"fileName": "sci.fits.gz", "stampData": b"\x1f\x8b\x08\x00"},
}


@pytest.fixture(scope="module")
def real_alerts(real_data_dir: Path) -> RealAlerts:
    return load_real_alerts(real_data_dir / "alerts")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:{tmp_path / 'store'}")
    opened.create_table(MAIN_TABLE, MAIN_FAMILIES)
    opened.create_table(HISTORY_TABLE, HISTORY_FAMILIES)
    yield opened
    opened.close()


def _alert(**changes: Any) -> Alert:
    alert = copy.deepcopy(BASE)
    alert.update(changes)
    return alert


def _round_trip(alert: Alert) -> Alert:
    (_, cells), history = alert_to_rows(alert)
    return rows_to_alert(cells, history)


def _write(store: Store, alerts: list[Alert]) -> None:
    rows = [alert_to_rows(alert) for alert in alerts]
    store.table(MAIN_TABLE).put_many(main for main, _ in rows)
    store.table(HISTORY_TABLE).put_many(row for _, history in rows for row in history)


def _read(store: Store, alert: Alert) -> Alert:
    main = store.table(MAIN_TABLE).get(alert_row_key(alert))
    history = store.table(HISTORY_TABLE).get_many(history_keys(main))
    return rows_to_alert(main, history)


def test_table_names_and_families() -> None:
    assert (MAIN_TABLE, MAIN_FAMILIES) == ("ztf_alerts", ("i", "d", "b"))
    assert (HISTORY_TABLE, HISTORY_FAMILIES) == ("ztf_history", ("i", "d"))


def test_row_key_has_seven_fixed_decimals_then_the_candid() -> None:
    assert row_key("ZTF18abodpsb", 2458451.7523843, 7) == b"ZTF18abodpsb_2458451.7523843_7"
    assert row_key("ZTF18abodpsb", 2458451.5, 12) == b"ZTF18abodpsb_2458451.5000000_12"
    assert object_prefix("ZTF18abodpsb") == b"ZTF18abodpsb_"


@pytest.mark.parametrize("candid", [1.0, None, "12", True])
def test_row_key_refuses_unusable_candids(candid: Any) -> None:
    with pytest.raises(ValueError, match="candid"):
        row_key("ZTF18abodpsb", 2458451.5, candid)


@given(JDS, JDS)
def test_row_keys_sort_by_time(first: float, second: float) -> None:
    if round(first, 7) != round(second, 7):
        keys = row_key("ZTF18abodpsb", first, 9), row_key("ZTF18abodpsb", second, 1)
        assert (keys[0] < keys[1]) == (first < second)


@pytest.mark.parametrize("jd", [float("nan"), float("inf"), 12.5, 1e7, "2458451.5", None, True])
def test_row_key_refuses_unusable_jds(jd: Any) -> None:
    with pytest.raises(ValueError, match="jd"):
        row_key("ZTF18abodpsb", jd, 1)


@pytest.mark.realdata
def test_every_real_alert_rebuilds_exactly_from_its_rows(real_alerts: RealAlerts) -> None:
    for alert in real_alerts.alerts:
        assert not differences(_round_trip(alert), alert), alert["candid"]


@pytest.mark.realdata
def test_main_row_layout_of_a_fink_alert(real_alerts: RealAlerts) -> None:
    alert = next(a for a in real_alerts.alerts if "cdsxmatch" in a and a["prv_candidates"])
    (key, cells), history = alert_to_rows(alert)
    assert key == alert_row_key(alert)
    decoded = {qualifier: decode_value(value) for qualifier, value in cells.items()}
    assert decoded[b"i:jd"] == alert["candidate"]["jd"]
    assert decoded[b"i:magpsf"] == alert["candidate"]["magpsf"]
    assert decoded[b"i:objectId"] == alert["objectId"]
    assert decoded[b"d:cdsxmatch"] == alert["cdsxmatch"]
    assert decoded[b"b:cutoutScience_stampData"] == alert["cutoutScience"]["stampData"]
    assert decoded[b"b:cutoutDifference_fileName"] == alert["cutoutDifference"]["fileName"]
    assert {q.split(b":")[0] for q in cells} == {b"i", b"d", b"b"}
    assert set(history_keys(cells)) == {k for k, _ in history}


@pytest.mark.realdata
def test_history_rows_are_keyed_by_time_and_tagged(real_alerts: RealAlerts) -> None:
    tags: collections.Counter[str] = collections.Counter()
    for alert in real_alerts.alerts[::10]:
        _, history = alert_to_rows(alert)
        prefix = object_prefix(alert["objectId"])
        for key, cells in history:
            item = {q[2:].decode(): decode_value(v) for q, v in cells.items() if q != TAG_CELL}
            assert key.startswith(prefix + f"{item['jd']:.7f}".encode())
            upper = item.get("candid") is None or item.get("magpsf") is None
            tags[decode_value(cells[TAG_CELL])] += 1
            assert decode_value(cells[TAG_CELL]) == (TAG_UPPERLIM if upper else TAG_BADQUALITY)
    assert tags[TAG_UPPERLIM]
    assert tags[TAG_BADQUALITY]


@pytest.mark.realdata
def test_real_alerts_rebuild_exactly_through_a_sqlite_store(
    real_alerts: RealAlerts, store: Store
) -> None:
    # Some candids come twice, enriched by two Fink versions: one copy of each.
    alerts = list({a["candid"]: a for a in real_alerts.alerts}.values())
    _write(store, alerts)
    for alert in alerts:
        assert not differences(_read(store, alert), alert), alert["candid"]
    assert sum(1 for _ in store.table(MAIN_TABLE).scan(columns=[b"i:candid"])) == len(alerts)


def test_distinct_alerts_sharing_object_and_jd_keep_their_own_rows(store: Store) -> None:
    first = _alert()
    second = _alert(candid=first["candid"] + 1)
    second["candidate"] = {**first["candidate"], "candid": second["candid"], "magpsf": 17.25}
    _write(store, [first, second])
    assert alert_row_key(first) != alert_row_key(second)
    assert alert_row_key(first).startswith(object_prefix(first["objectId"]))
    assert not differences(_read(store, first), first)
    assert not differences(_read(store, second), second)


@pytest.mark.realdata
def test_alerts_of_one_object_share_history_rows_in_a_store(
    real_alerts: RealAlerts, store: Store
) -> None:
    by_object = collections.defaultdict(list)
    for path, alerts in real_alerts.alerts_by_file.items():
        if "microlensing_object_candidates" in str(path):
            for alert in alerts:
                by_object[alert["objectId"]].append(alert)
    alerts = [a for group in by_object.values() for a in group]
    _write(store, alerts)
    for alert in alerts:
        assert not differences(_read(store, alert), alert), alert["candid"]
    history_rows = list(store.table(HISTORY_TABLE).scan())
    written = sum(len(alert_to_rows(a)[1]) for a in alerts)
    assert len(by_object) == 3
    assert len(history_rows) < written


def test_tags_follow_candid_and_magpsf() -> None:
    prv = [
        {"jd": 2458440.5, "candid": None, "magpsf": None, "pid": 1},
        {"jd": 2458441.5, "candid": 11, "magpsf": None, "pid": 2},
        {"jd": 2458442.5, "candid": 12, "magpsf": 17.0, "pid": 3},
    ]
    _, history = alert_to_rows(_alert(prv_candidates=prv))
    tags = [decode_value(cells[TAG_CELL]) for _, cells in history]
    assert tags == [TAG_UPPERLIM, TAG_UPPERLIM, TAG_BADQUALITY]
    prefixes = [
        history_key_prefix("ZTF18abodpsb", item["jd"], measurement)
        for item, measurement in zip(prv, [1, 11, 12], strict=True)
    ]
    assert prefixes[0] == b"ZTF18abodpsb_2458440.5000000_1_"
    for (key, _), prefix in zip(history, prefixes, strict=True):
        assert re.fullmatch(re.escape(prefix) + rb"[0-9a-f]{8}", key)


def test_measurements_sharing_a_jd_keep_their_own_rows() -> None:
    jd = 2458426.7518634
    prv = [
        {"jd": jd, "candid": 672251860515015007, "magpsf": 15.49, "pid": 672251860515},
        {"jd": jd, "candid": 672251860515015008, "magpsf": 15.61, "pid": 672251860515},
        {"jd": jd, "candid": None, "magpsf": None, "pid": 5},
        {"jd": jd, "candid": None, "magpsf": None, "pid": 6},
        {"jd": jd, "candid": 1.77222336011501e18, "magpsf": 1.0, "pid": 7},
        {"jd": jd, "candid": 1.77222336011501e18, "magpsf": 2.0, "pid": 8},
        {"jd": jd, "candid": None, "magpsf": None, "pid": 5},
    ]
    alert = _alert(prv_candidates=prv)
    _, history = alert_to_rows(alert)
    assert len(history) == 6
    assert len({key for key, _ in history}) == 6
    assert not differences(_round_trip(alert), alert)


def test_digest_collisions_inside_one_alert_keep_rows_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("finkportal_core.tables._digest", lambda layout, values: "00000000")
    prv = [{"jd": 2458440.5, "candid": 7, "magpsf": magpsf} for magpsf in (17.0, 18.0, 19.0)]
    alert = _alert(prv_candidates=prv)
    _, history = alert_to_rows(alert)
    assert [key for key, _ in history] == [
        b"ZTF18abodpsb_2458440.5000000_7_00000000",
        b"ZTF18abodpsb_2458440.5000000_7~2_00000000",
        b"ZTF18abodpsb_2458440.5000000_7~3_00000000",
    ]
    assert not differences(_round_trip(alert), alert)


@pytest.mark.parametrize(
    "changes",
    [
        {"candidate": {"jd": 2458451.75, "candid": 1}},
        {"candidate": {"jd": 2458451.75}},
        {"candidate": {"jd": 2458451.75, "candid": None}},
        {"prv_candidates": None},
        {"cutoutScience": None, "cutoutTemplate": {}, "cutoutDifference": {"fileName": "d"}},
        {"fp_hists": [{"jd": 2458450.5, "forcediffimflux": -99999.0}]},
        {"publisher": None, "tag": "added values may be named anything", "mulens": {"a": [1]}},
    ],
)
def test_structure_variants_rebuild_exactly(changes: dict[str, Any]) -> None:
    alert = _alert(**changes)
    assert not differences(_round_trip(alert), alert)


@pytest.mark.parametrize("absent", ["prv_candidates", "cutoutScience", "publisher", "schemavsn"])
def test_absent_fields_stay_absent(absent: str) -> None:
    alert = _alert()
    del alert[absent]
    assert absent not in _round_trip(alert)
    assert not differences(_round_trip(alert), alert)


@settings(max_examples=150, deadline=None)
@given(synthetic_alerts())
def test_synthetic_alerts_rebuild_exactly(alert: Alert) -> None:
    assert not differences(_round_trip(alert), alert)


@pytest.mark.parametrize(
    ("alert", "reason"),
    [
        (_alert(objectId=""), "objectId"),
        (_alert(candidate={"jd": 2458451.75, "objectId": "x"}), "clash"),
        (_alert(candidate={"jd": 2458451.75, "_prv": 1}), "clash"),
        (_alert(prv_candidates=[{"candid": 1}]), r"prv_candidates\[0\]\.jd"),
        (_alert(prv_candidates=["not a record"]), "not a record"),
        (_alert(prv_candidates="nope"), "neither a list nor null"),
        (_alert(extra={1, 2}), "cannot be stored"),
    ],
)
def test_alerts_that_cannot_be_stored_are_refused(alert: Alert, reason: str) -> None:
    with pytest.raises(InvalidAlertError, match=reason):
        alert_to_rows(alert)


def test_incomplete_rows_are_reported() -> None:
    prv = [{"jd": 2458440.5, "candid": None, "magpsf": None, "pid": 1}]
    (_, cells), history = alert_to_rows(_alert(prv_candidates=prv))
    with pytest.raises(RowDecodeError, match=r"history row ZTF18abodpsb_2458440\.5000000_1_"):
        rows_to_alert(cells, [])
    key, history_cells = history[0]
    partial = {q: v for q, v in history_cells.items() if q != b"i:pid"}
    with pytest.raises(RowDecodeError, match="lacks cells"):
        rows_to_alert(cells, [(key, partial)])
    changed = {**history_cells, b"i:pid": encode_value(2)}
    with pytest.raises(RowDecodeError, match="other values"):
        rows_to_alert(cells, [(key, changed)])
    with pytest.raises(RowDecodeError, match="unexpected cell"):
        rows_to_alert({**cells, b"x:y": encode_value(1)}, history)
    with pytest.raises(RowDecodeError, match="objectId"):
        rows_to_alert({q: v for q, v in cells.items() if q != b"i:objectId"}, history)
