"""Index layout: observing nights, index rows and their keys, scan bounds, indexability."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.time import Time
from hypothesis import given, settings
from hypothesis import strategies as st

from finkportal_core.alerts.model import JD_MAX, JD_MIN
from finkportal_core.indexing.layout import (
    ADDED_CELL_FIELDS,
    CLASS_FIELD,
    CLASS_TABLE,
    INDEX_CELL_FIELDS,
    INDEX_TABLES,
    NIGHT_JD_MAX,
    NIGHT_JD_MIN,
    SKY_TABLE,
    SSO_TABLE,
    TIME_TABLE,
    TRACKLET_TABLE,
    check_indexable,
    decode_index_cells,
    ensure_index_tables,
    has_prefix,
    index_rows,
    jd_range_bounds,
    night_of,
    record_cells,
    scan_jd_range,
)
from finkportal_core.indexing.records import RECORD_VERSION, Record, RecordError, index_record
from finkportal_core.sky import cell_key, sky_cell
from finkportal_core.storage import Store, open_store
from finkportal_core.tables import alert_to_rows, jd_text
from tests.core.alerts.real_alerts import RealAlerts, load_real_alerts

JD = 2460000.75  # 2023-02-25 06:00 UTC
OBJECT = "ZTF24abcdefg"
CANDID = 2460000750015010001
# ZTF's night id (candidate.nid) counts UTC dates from 2017-01-01, the date of the
# nightly topics (ztf_20190110_programid1): the checks below confirm it on real files.
ZTF_NID_EPOCH = dt.date(2017, 1, 1)
ZTF_TOPIC_FILE = re.compile(r"^ztf_(?:public_)?(\d{8})_")
# night_of formats a four-digit year with datetime: AD 1000-9999 (the range compared).
JD_YEAR_1000 = 2086302.5
JD_YEAR_10000 = 5373484.5
LEAP_SECOND_MIDNIGHTS = (2457204.5, 2457754.5)  # 2015-07-01, 2017-01-01 (after 23:59:60)


def a_record(**changes: Any) -> Record:
    record: Record = {
        "v": RECORD_VERSION, "key": f"{OBJECT}_{jd_text(JD)}_{CANDID}", "objectId": OBJECT,
        "candid": CANDID, "jd": JD, "ra": 150.25, "dec": 2.5, "fid": 1, "magpsf": 18.5,
        "sigmapsf": 0.05, "isdiffpos": "t", "ndethist": 3, "jdstarthist": JD - 4,
        "drb": 0.99, "classtar": 0.9, "ssnamenr": "null", "cdsxmatch": "Unknown", "roid": 0,
        "tracklet": None,
    }
    record.update(changes)
    return record


def astropy_nights(jds: Sequence[float]) -> list[str]:
    """UTC dates from astropy's UTC calendar conversion (``ymdhms`` is not rounded up
    to the next day the way ``strftime`` rounds 23:59:59.9999)."""
    ymdhms = Time(np.asarray(jds, dtype=np.float64), format="jd", scale="utc").ymdhms
    return [f"{y:04d}{m:02d}{d:02d}" for y, m, d in
            zip(ymdhms["year"], ymdhms["month"], ymdhms["day"], strict=True)]


@pytest.fixture(scope="module")
def real_alerts(real_data_dir: Path) -> RealAlerts:
    return load_real_alerts(real_data_dir / "alerts")


@pytest.fixture(scope="module")
def real_records(real_alerts: RealAlerts) -> list[Record]:
    """The records ingest publishes for the real alerts (built from their main rows)."""
    return [index_record(*alert_to_rows(alert)[0]) for alert in real_alerts.alerts]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:{tmp_path}")
    ensure_index_tables(opened)
    yield opened
    opened.close()


# -- night_of --------------------------------------------------------------------------


def _midnight_neighbours(midnight: float) -> list[float]:
    below, above = np.nextafter(midnight, 0.0), np.nextafter(midnight, math.inf)
    return [midnight - 0.25, midnight - 1e-6, float(below), midnight, float(above),
            midnight + 1e-6, midnight + 0.4999]


@pytest.mark.filterwarnings("ignore::erfa.ErfaWarning")  # "dubious year" far from today
def test_night_of_equals_astropy_around_utc_midnight() -> None:
    midnights = [*np.arange(JD_YEAR_1000 + 1, JD_YEAR_10000, 9973.0), *LEAP_SECOND_MIDNIGHTS,
                 *np.arange(2458000.5, 2461000.5, 97.0)]  # ZTF's years, densely
    jds = [jd for midnight in midnights for jd in _midnight_neighbours(float(midnight))]
    assert len(jds) > 2000
    assert [night_of(jd) for jd in jds] == astropy_nights(jds)
    # The instant of midnight opens the new date; the float just below closes the old one.
    assert night_of(2460000.5) == "20230225"
    assert night_of(float(np.nextafter(2460000.5, 0.0))) == "20230224"


@pytest.mark.filterwarnings("ignore::erfa.ErfaWarning")
@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(JD_YEAR_1000, JD_YEAR_10000, exclude_max=True), min_size=1,
                max_size=50))
def test_night_of_equals_astropy_anywhere_in_four_digit_years(jds: list[float]) -> None:
    assert [night_of(jd) for jd in jds] == astropy_nights(jds)


def test_night_of_accepts_integer_jds() -> None:
    assert night_of(2460000) == "20230224"  # noon UTC
    assert night_of(2460001) == astropy_nights([2460001.0])[0]


INDEXABLE_EDGE_JDS = [JD_MIN, 1_500_000.0, 1_721_425.0, JD_YEAR_1000 - 1, JD_YEAR_10000,
                      JD_MAX - 1]


def test_every_indexable_jd_has_an_eight_digit_night_or_is_rejected() -> None:
    for jd in INDEXABLE_EDGE_JDS:
        record = a_record(jd=jd)
        try:
            check_indexable(record)
        except RecordError:
            continue
        assert re.fullmatch(r"\d{8}", night_of(jd)), jd


@pytest.mark.realdata
def test_real_alert_nights_are_the_dates_of_ztfs_nightly_topics(real_alerts: RealAlerts) -> None:
    """Files named after their ZTF topic, and ZTF's night id of every real alert."""
    topic_files = 0
    for path, alerts in real_alerts.alerts_by_file.items():
        match = ZTF_TOPIC_FILE.match(path.name)
        if match:
            topic_files += 1
            assert {night_of(a["candidate"]["jd"]) for a in alerts} == {match[1]}, path
    assert topic_files >= 2
    for alert in real_alerts.alerts:
        candidate = alert["candidate"]
        topic_date = ZTF_NID_EPOCH + dt.timedelta(days=candidate["nid"])
        assert night_of(candidate["jd"]) == topic_date.strftime("%Y%m%d"), alert["candid"]
    assert len({alert["candidate"]["nid"] for alert in real_alerts.alerts}) > 20


# -- index_rows ------------------------------------------------------------------------


def _keys(rows: list[tuple[str, tuple[bytes, dict[bytes, bytes]]]]) -> list[tuple[str, bytes]]:
    return [(table, key) for table, (key, _cells) in rows]


def test_index_rows_of_a_plain_alert_go_to_time_sky_and_class() -> None:
    record = a_record()
    cell = sky_cell(record["ra"], record["dec"])
    rows = index_rows(record, "SN candidate", cell)
    assert _keys(rows) == [
        (TIME_TABLE, b"2460000.7500000_ZTF24abcdefg_2460000750015010001"),
        (SKY_TABLE, cell_key(cell) + b"ZTF24abcdefg_2460000.7500000_2460000750015010001"),
        (CLASS_TABLE, b"SN candidate_2460000.7500000_ZTF24abcdefg_2460000750015010001"),
    ]
    assert {table for table, _ in rows} <= set(INDEX_TABLES)


def test_every_index_row_holds_the_same_compact_cells() -> None:
    record = a_record(tracklet="TRCK_20230225_061044_1", ssnamenr="8467")
    rows = index_rows(record, "Tracklet", sky_cell(record["ra"], record["dec"]))
    assert len(rows) == 5
    decoded = decode_index_cells(rows[0][1][1])
    expected = {f"i:{name}": record[name] for name in INDEX_CELL_FIELDS}
    expected.update({f"d:{name}": record[name] for name in ADDED_CELL_FIELDS})
    expected[f"d:{CLASS_FIELD}"] = "Tracklet"
    assert decoded == expected
    assert not {"i:drb", "i:isdiffpos", "d:roid"} & set(decoded)  # what only classifying reads
    assert all(cells == rows[0][1][1] for _table, (_key, cells) in rows)


def test_index_cells_leave_out_fields_the_record_lacks() -> None:
    record = {name: value for name, value in a_record().items()
              if name not in ("magpsf", "cdsxmatch", "tracklet", "ssnamenr")}
    decoded = decode_index_cells(index_rows(record, "Unknown", 0)[0][1][1])
    assert not {"i:magpsf", "i:ssnamenr", "d:cdsxmatch", "d:tracklet"} & set(decoded)
    assert decoded["d:finkclass"] == "Unknown"


@pytest.mark.parametrize(
    ("ssnamenr", "sso_key"),
    [
        ("null", None), ("", None), ("None", None), (" null ", None), (None, None),
        (12.0, None), ("8467", b"8467_2460000.7500000_2460000750015010001"),
        ("2019 AB12", b"2019 AB12_2460000.7500000_2460000750015010001"),
    ],
)
def test_sso_rows_only_for_a_real_solar_system_name(ssnamenr: Any, sso_key: bytes | None) -> None:
    rows = index_rows(a_record(ssnamenr=ssnamenr), "Unknown", 0)
    sso = [key for table, key in _keys(rows) if table == SSO_TABLE]
    assert sso == ([] if sso_key is None else [sso_key])


def test_no_sso_row_without_ssnamenr() -> None:
    record = {k: v for k, v in a_record().items() if k != "ssnamenr"}
    assert SSO_TABLE not in {table for table, _ in index_rows(record, "Unknown", 0)}


@pytest.mark.parametrize(
    ("tracklet", "tracklet_key"),
    [
        (None, None), ("", None), ("trck_20230225_1", None), ("TRACK_1", None),
        ("null", None), (7, None),
        ("TRCK_20230225_061044_3",
         b"TRCK_20230225_061044_3_2460000.7500000_ZTF24abcdefg_2460000750015010001"),
    ],
)
def test_tracklet_rows_only_for_trck_ids(tracklet: Any, tracklet_key: bytes | None) -> None:
    rows = index_rows(a_record(tracklet=tracklet), "Tracklet", 0)
    keys = [key for table, key in _keys(rows) if table == TRACKLET_TABLE]
    assert keys == ([] if tracklet_key is None else [tracklet_key])


@pytest.mark.realdata
def test_index_rows_of_real_records(real_records: list[Record]) -> None:
    cells = record_cells(real_records)
    with_sso = 0
    for record, cell in zip(real_records, cells, strict=True):
        rows = index_rows(record, "Unknown", cell)
        tables = [table for table, _ in rows]
        named = record.get("ssnamenr") not in (None, "null")
        assert tables == [TIME_TABLE, SKY_TABLE, CLASS_TABLE] + ([SSO_TABLE] if named else [])
        with_sso += named
        jd, oid, candid = jd_text(record["jd"]), record["objectId"], record["candid"]
        keys = dict(_keys(rows))
        assert keys[TIME_TABLE] == f"{jd}_{oid}_{candid}".encode()
        assert keys[CLASS_TABLE] == f"Unknown_{jd}_{oid}_{candid}".encode()
        if named:
            assert keys[SSO_TABLE] == f"{record['ssnamenr']}_{jd}_{candid}".encode()
        decoded = decode_index_cells(rows[0][1][1])
        for name in INDEX_CELL_FIELDS:
            if name in record:
                assert decoded[f"i:{name}"] == record[name] or math.isnan(record[name])
    assert 0 < with_sso < len(real_records)


# -- key order, range bounds -----------------------------------------------------------

# jd_text of the last 5e-8 day below JD_MAX reads "10000000.0000000": see the xfail below.
jds = st.floats(JD_MIN, JD_MAX - 1e-7)
object_ids = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=7).map(
    lambda tail: f"ZTF{tail}")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(jds, object_ids, st.integers(0, 2**63)), min_size=2, max_size=40))
def test_class_and_time_keys_sort_by_time(alerts: list[tuple[float, str, int]]) -> None:
    records = [a_record(jd=jd, objectId=oid, candid=candid) for jd, oid, candid in alerts]
    for table, prefix in ((CLASS_TABLE, "Seyfert_1"), (TIME_TABLE, "")):
        keys = sorted(key for record in records
                      for t, key in _keys(index_rows(record, "Seyfert_1", 0)) if t == table)
        times = [float(key.decode().removeprefix(prefix).lstrip("_")[:15]) for key in keys]
        assert times == sorted(times), table
        assert sorted(times) == sorted(float(jd_text(jd)) for jd, _, _ in alerts)


def test_a_jd_that_rounds_to_jd_max_is_refused_not_misplaced() -> None:
    """jd_text would print it with eight integer digits: its keys would sort first."""
    last = float(np.nextafter(JD_MAX, 0.0))
    with pytest.raises(RecordError, match=r"rounds to 10000000\.0000000"):
        index_rows(a_record(jd=last), "Unknown", 0)
    early = dict(_keys(index_rows(a_record(jd=JD), "Unknown", 0)))
    late = dict(_keys(index_rows(a_record(jd=JD_MAX - 1), "Unknown", 0)))
    for table in (TIME_TABLE, CLASS_TABLE):
        assert early[table] < late[table]


def _put_class_rows(store: Store, classified: list[tuple[Record, str]]) -> None:
    pairs = [pair for record, cls in classified
             for pair in index_rows(record, cls, sky_cell(record["ra"], record["dec"]))]
    store.table(CLASS_TABLE).put_many([row for table, row in pairs if table == CLASS_TABLE])


def _scan_candids(store: Store, bounds: tuple[bytes, bytes]) -> list[int]:
    rows = store.table(CLASS_TABLE).scan(row_start=bounds[0], row_stop=bounds[1])
    return [decode_index_cells(cells)["i:candid"] for _key, cells in rows]


START, STOP = 2459000.5, 2460000.5
EDGE_JDS = {  # candid: jd, around both ends of [START, STOP)
    1: START - 1e-7, 2: START, 3: START + 1e-7, 4: 2459500.0, 5: STOP - 1e-7, 6: STOP,
    7: STOP + 1e-7,
}
NEAR_CLASSES = ("Seyfert_1", "Seyfert_2", "Seyfert1", "Seyfert 2", "Seyfer", "(SIMBAD) Seyfert")


def _seyfert_rows(store: Store) -> None:
    classified = [(a_record(candid=candid, jd=jd), "Seyfert") for candid, jd in EDGE_JDS.items()]
    classified += [(a_record(candid=100 * n + candid, jd=jd), cls)
                   for n, cls in enumerate(NEAR_CLASSES, start=1)
                   for candid, jd in EDGE_JDS.items()]
    _put_class_rows(store, classified)


def test_jd_range_bounds_are_half_open_and_keep_to_the_class(store: Store) -> None:
    _seyfert_rows(store)
    assert _scan_candids(store, jd_range_bounds("Seyfert", START, STOP)) == [2, 3, 4, 5]
    assert _scan_candids(store, jd_range_bounds("Seyfert_1", START, STOP)) == [102, 103, 104, 105]
    assert _scan_candids(store, jd_range_bounds("Seyfert", STOP, STOP + 1)) == [6, 7]
    assert _scan_candids(store, jd_range_bounds("Seyfert", START, START)) == []


def test_raw_default_bounds_let_near_classes_in_but_scan_jd_range_keeps_to_the_class(
    store: Store,
) -> None:
    _seyfert_rows(store)
    leaked = set(_scan_candids(store, jd_range_bounds("Seyfert"))) - set(EDGE_JDS)
    assert leaked, "the raw bounds alone cannot exclude Seyfert_1/Seyfert_2 keys"
    table = store.table(CLASS_TABLE)
    kept = [decode_index_cells(c)["i:candid"] for _k, c in scan_jd_range(table, "Seyfert")]
    assert kept == sorted(EDGE_JDS)
    newest = [decode_index_cells(c)["i:candid"]
              for _k, c in scan_jd_range(table, "Seyfert", reverse=True, limit=3)]
    assert newest == [7, 6, 5]
    assert all(has_prefix(key, "Seyfert_1") for key, _c in scan_jd_range(table, "Seyfert_1"))


def test_default_jd_range_bounds_include_rows_at_both_ends(store: Store) -> None:
    early, late = a_record(candid=1, jd=JD_MIN), a_record(candid=2, jd=JD_MAX - 1 - 1e-7)
    _put_class_rows(store, [(early, "SN candidate"), (late, "SN candidate"),
                            (a_record(candid=3, jd=JD), "SN candidate")])
    assert _scan_candids(store, jd_range_bounds("SN candidate")) == [1, 3, 2]


@pytest.mark.realdata
def test_real_seyfert_rows_come_back_in_time_order_for_a_ztf_range(
    store: Store, real_records: list[Record]
) -> None:
    labels = ("Seyfert", "Seyfert_1", "Seyfert_2")
    classified = [(r, r["cdsxmatch"]) for r in real_records if r.get("cdsxmatch") in labels]
    assert {cls for _, cls in classified} == set(labels)
    _put_class_rows(store, classified)
    ztf_era = (2458000.5, 2461000.5)
    for label in labels:
        expected = sorted({(r["jd"], r["objectId"], r["candid"]) for r, cls in classified
                           if cls == label})
        assert _scan_candids(store, jd_range_bounds(label, *ztf_era)) == [
            candid for _jd, _oid, candid in expected]


# -- sky keys and cells ----------------------------------------------------------------


@pytest.mark.realdata
def test_sky_keys_start_with_the_cell_of_the_position(real_records: list[Record]) -> None:
    one_by_one = [sky_cell(r["ra"], r["dec"]) for r in real_records]
    cells = record_cells(real_records)
    assert cells == one_by_one
    for record, cell, own_cell in zip(real_records, cells, one_by_one, strict=True):
        key = dict(_keys(index_rows(record, "Unknown", cell)))[SKY_TABLE]
        assert key[:8] == cell_key(own_cell)
        tail = f"{record['objectId']}_{jd_text(record['jd'])}_{record['candid']}"
        assert key[8:] == tail.encode()


def test_record_cells_of_hand_built_positions() -> None:
    positions = [(0.0, 0.0), (359.9999999, -89.9), (150, 90), (12.5, -90.0), (360.0, 1.0)]
    records = [a_record(ra=ra, dec=dec) for ra, dec in positions]
    assert record_cells(records) == [sky_cell(ra, dec) for ra, dec in positions]
    assert record_cells(records)[4] == sky_cell(0.0, 1.0)  # ra wraps
    assert record_cells([]) == []


# -- check_indexable -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        ({"ra": math.nan}, r"position \(nan, 2.5\) is not on the sky"),
        ({"ra": math.inf}, r"position \(inf, 2.5\) is not on the sky"),
        ({"dec": math.nan}, r"position \(150.25, nan\) is not on the sky"),
        ({"dec": -math.inf}, r"position \(150.25, -inf\) is not on the sky"),
        ({"dec": 90.000001}, r"position \(150.25, 90.000001\) is not on the sky"),
        ({"dec": -91}, r"position \(150.25, -91.0\) is not on the sky"),
        ({"jd": JD_MIN - 1e-3}, r"jd 999999.999 is not a number in \[1000000, 10000000\)"),
        ({"jd": JD_MAX}, r"jd 10000000.0 is not a number in"),
        ({"jd": math.nan}, r"jd nan is not a number in"),
        ({"jd": math.inf}, r"jd inf is not a number in"),
        ({"jd": JD_MIN}, r"jd 1000000.0000000 is outside the years 1000-9999"),
        ({"jd": NIGHT_JD_MAX}, r"jd \d{7}\.\d{7} is outside the years 1000-9999"),
        ({"jd": float(np.nextafter(JD_MAX, 0.0))}, r"jd .* rounds to 10000000\.0000000"),
        ({"jd": True}, r"jd True is not a number in"),
        ({"jd": "2460000.5"}, r"jd '2460000.5' is not a number in"),
    ],
)
def test_check_indexable_rejects(changes: dict[str, Any], pattern: str) -> None:
    record = a_record(**changes)
    with pytest.raises(RecordError, match=rf"^record '{re.escape(record['key'])}': {pattern}"):
        check_indexable(record)


@pytest.mark.parametrize(
    "changes",
    [{}, {"dec": 90.0}, {"dec": -90}, {"ra": 360.0}, {"ra": -0.0}, {"jd": NIGHT_JD_MIN},
     {"jd": 2460000}, {"jd": NIGHT_JD_MAX - 1e-3}],
)
def test_check_indexable_accepts_and_the_rows_can_be_built(changes: dict[str, Any]) -> None:
    record = a_record(**changes)
    check_indexable(record)
    [cell] = record_cells([record])
    assert len(index_rows(record, "Unknown", cell)) == 3
