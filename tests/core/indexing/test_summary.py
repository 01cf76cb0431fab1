"""Object summaries (order-free merges) and night statistics (recounts), on a real store."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finkportal_core.codec import decode_value, encode_value
from finkportal_core.indexing.layout import (
    INDEX_TABLES,
    OBJECT_NIGHTS_TABLE,
    OBJECTS_TABLE,
    STATISTICS_TABLE,
    night_of,
)
from finkportal_core.indexing.records import RECORD_VERSION, Record, index_record, record_class
from finkportal_core.indexing.summary import (
    decode_statistics,
    merge_summary,
    night_prefix,
    night_statistics,
    object_night_cells,
    object_night_key,
)
from finkportal_core.storage import Store, Table, open_store
from finkportal_core.storage.base import Row
from finkportal_core.tables import alert_to_rows, jd_text
from tests.core.alerts.real_alerts import RealAlerts, load_real_alerts

Classified = tuple[Record, str]
OBJECT = "ZTF24abcdefg"
MIDNIGHT = 2460000.5  # 2023-02-25 00:00 UTC
JDS = (MIDNIGHT - 0.3, MIDNIGHT + 0.2, MIDNIGHT + 0.2, MIDNIGHT + 1.25)  # ties on purpose
CLASSES = ("SN candidate", "Unknown", "Seyfert_1", "Solar System MPC")
# The latest detection's values the summary copies (the documented contract).
LAST_VALUES = ("candid", "ra", "dec", "fid", "magpsf", "ndethist")
_object_ids = (f"ZTF{n:09d}" for n in itertools.count())


def a_record(candid: int, jd: float, object_id: str = OBJECT, **changes: Any) -> Record:
    record: Record = {
        "v": RECORD_VERSION, "key": f"{object_id}_{jd_text(jd)}_{candid}",
        "objectId": object_id, "candid": candid, "jd": jd, "ra": 150.0 + candid % 7,
        "dec": -10.0 - candid % 5, "fid": 1 + candid % 2, "magpsf": 15.0 + candid % 11 / 2,
        "ndethist": candid % 13, "ssnamenr": "null",
    }
    record.update(changes)
    return record


def decoded(cells: dict[bytes, bytes]) -> dict[str, Any]:
    return {qualifier.decode(): decode_value(raw) for qualifier, raw in cells.items()}


def expected_summary(classified: list[Classified]) -> dict[str, Any]:
    """The summary row written out from its definition (records have distinct candids)."""
    last, last_class = max(classified, key=lambda item: (item[0]["jd"], item[0]["candid"]))
    row: dict[str, Any] = {f"a:{record['candid']}": record["jd"] for record, _ in classified}
    row["s:first_jd"] = min(record["jd"] for record, _ in classified)
    row["s:ndet"] = len({record["candid"] for record, _ in classified})
    row.update({f"s:{name}": last.get(name) for name in LAST_VALUES})
    row["s:last_jd"] = last["jd"]
    row["s:finkclass"] = last_class
    return row


def merge_into_store(table: Table, key: bytes, batches: list[list[Classified]]) -> dict[str, Any]:
    """What the indexer does per batch: get the row, merge, put-merge the cells."""
    for batch in batches:
        [(_, existing)] = table.get_many([key]) or [(key, {})]
        table.put_many([(key, merge_summary(existing, batch))])
    return decoded(table.get(key))


@pytest.fixture(scope="module")
def module_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = open_store(f"sqlite:{tmp_path_factory.mktemp('summaries')}")
    for name in (OBJECTS_TABLE, OBJECT_NIGHTS_TABLE, STATISTICS_TABLE):
        store.create_table(name, INDEX_TABLES[name])
    yield store
    store.close()


@pytest.fixture(scope="module")
def summaries(module_store: Store) -> Table:
    return module_store.table(OBJECTS_TABLE)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:{tmp_path}")
    for name in (OBJECTS_TABLE, OBJECT_NIGHTS_TABLE, STATISTICS_TABLE):
        opened.create_table(name, INDEX_TABLES[name])
    yield opened
    opened.close()


# -- merge_summary: order and repetition do not matter ---------------------------------


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[Classified], list[list[Classified]]]:
    """Distinct alerts of one object, then any order and repetition of them in batches."""
    candids = draw(st.lists(st.integers(1, 2**63 - 1), min_size=1, max_size=8, unique=True))
    classified: list[Classified] = []
    for candid in candids:
        record = a_record(candid, draw(st.sampled_from(JDS)))
        if draw(st.booleans()):
            record["magpsf"] = draw(st.none() | st.floats(10, 25))
        if draw(st.booleans()):
            del record["ndethist"]  # older schemas lack fields: the summary holds None
        classified.append((record, draw(st.sampled_from(CLASSES))))
    repeats = draw(st.lists(st.sampled_from(classified), max_size=2 * len(classified)))
    delivered = draw(st.permutations([*classified, *repeats]))
    cuts = sorted(draw(st.sets(st.integers(1, len(delivered) - 1), max_size=len(delivered)))
                  if len(delivered) > 1 else set())
    bounds = [0, *cuts, len(delivered)]
    return classified, [delivered[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deliveries())
def test_summary_is_independent_of_order_repetition_and_batches(
    summaries: Table, delivery: tuple[list[Classified], list[list[Classified]]]
) -> None:
    classified, batches = delivery
    once = next(_object_ids).encode()
    redelivered = next(_object_ids).encode()
    in_one_batch = merge_into_store(summaries, once, [classified])
    final = merge_into_store(summaries, redelivered, batches)
    assert final == in_one_batch == expected_summary(classified)


def test_ndet_counts_distinct_candids(summaries: Table) -> None:
    key = next(_object_ids).encode()
    first = [(a_record(c, MIDNIGHT + c / 10), "Unknown") for c in (1, 2, 3)]
    assert merge_into_store(summaries, key, [first])["s:ndet"] == 3
    again = merge_into_store(summaries, key, [first[1:], first[:1], first])
    assert again["s:ndet"] == 3
    assert sorted(q for q in again if q.startswith("a:")) == ["a:1", "a:2", "a:3"]
    more = merge_into_store(summaries, key, [[(a_record(9, MIDNIGHT - 5), "Unknown")]])
    assert more["s:ndet"] == 4
    assert more["s:first_jd"] == MIDNIGHT - 5
    assert more["s:candid"] == 3  # an older alert arriving late does not become the last


def test_last_values_follow_the_greatest_jd_then_candid(summaries: Table) -> None:
    same_jd_low, same_jd_high = a_record(5, MIDNIGHT), a_record(9, MIDNIGHT)
    later_low = a_record(2, MIDNIGHT + 1e-7)
    for order in itertools.permutations([(same_jd_low, "A"), (same_jd_high, "B")]):
        row = merge_into_store(summaries, next(_object_ids).encode(), [[item] for item in order])
        assert (row["s:candid"], row["s:finkclass"]) == (9, "B")
        assert (row["s:ra"], row["s:magpsf"]) == (same_jd_high["ra"], same_jd_high["magpsf"])
    classified = [(same_jd_high, "B"), (later_low, "C"), (same_jd_low, "A")]
    for order in itertools.permutations(classified):
        row = merge_into_store(summaries, next(_object_ids).encode(), [list(order)])
        assert (row["s:candid"], row["s:last_jd"], row["s:finkclass"]) == (
            2, MIDNIGHT + 1e-7, "C")
        assert (row["s:fid"], row["s:dec"]) == (later_low["fid"], later_low["dec"])


def test_a_resent_last_alert_with_a_new_class_updates_the_class(summaries: Table) -> None:
    key = next(_object_ids).encode()
    old, last = a_record(1, MIDNIGHT), a_record(2, MIDNIGHT + 1)
    before = merge_into_store(summaries, key, [[(old, "Unknown"), (last, "Unknown")]])
    after = merge_into_store(summaries, key, [[(last, "SN candidate")]])
    assert after == {**before, "s:finkclass": "SN candidate"}


def test_a_resent_older_alert_with_a_new_class_leaves_the_class(summaries: Table) -> None:
    key = next(_object_ids).encode()
    old, last = a_record(1, MIDNIGHT), a_record(2, MIDNIGHT + 1)
    before = merge_into_store(summaries, key, [[(old, "Unknown"), (last, "Unknown")]])
    cells = merge_summary(summaries.get(key), [(old, "SN candidate")])
    assert decoded(cells) == {"a:1": MIDNIGHT, "s:first_jd": MIDNIGHT, "s:ndet": 2}
    assert merge_into_store(summaries, key, [[(old, "SN candidate")]]) == before


def test_merge_into_a_new_row_gives_the_whole_row() -> None:
    record = {k: v for k, v in a_record(7, MIDNIGHT).items() if k != "magpsf"}
    assert decoded(merge_summary({}, [(record, "Kilonova candidate")])) == {
        "a:7": MIDNIGHT, "s:first_jd": MIDNIGHT, "s:ndet": 1, "s:candid": 7,
        "s:ra": record["ra"], "s:dec": record["dec"], "s:fid": record["fid"], "s:magpsf": None,
        "s:ndethist": record["ndethist"], "s:last_jd": MIDNIGHT,
        "s:finkclass": "Kilonova candidate",
    }


# -- object nights and night statistics ------------------------------------------------


def _cell(fid: Any, fink_class: str) -> bytes:
    return encode_value([fid, fink_class])


def test_night_statistics_of_hand_built_rows() -> None:
    rows: list[Row] = [
        (b"20230225_ZTFa", {b"c:1": _cell(1, "SN candidate"), b"c:2": _cell(2, "SN candidate"),
                            b"c:3": _cell(1, "Unknown")}),
        (b"20230225_ZTFb", {b"c:4": _cell(2, "Seyfert_1")}),
        (b"20230225_ZTFc", {b"c:5": _cell(3, "Unknown"), b"c:6": _cell(1, "Unknown")}),
    ]
    stats = night_statistics(rows)
    assert decode_statistics(stats) == {
        "alerts": 6, "objects": 3, "fid_1": 3, "fid_2": 2, "fid_3": 1,
        "class:SN candidate": 2, "class:Unknown": 3, "class:Seyfert_1": 1,
    }
    assert all(q.startswith(b"c:") for q in stats)
    assert night_statistics(reversed(rows)) == stats


def test_object_night_rows_follow_the_utc_date() -> None:
    before = a_record(1, float(np.nextafter(MIDNIGHT, 0.0)))
    at = a_record(2, MIDNIGHT)
    assert object_night_key(before) == b"20230224_ZTF24abcdefg"
    assert object_night_key(at) == b"20230225_ZTF24abcdefg"
    assert object_night_cells(at, "Unknown") == {b"c:2": encode_value([at["fid"], "Unknown"])}
    assert night_prefix("20230225") == b"20230225_"


def _write_object_nights(store: Store, batch: list[Classified]) -> None:
    """As the indexer writes them: one put of the merged cells per object-night."""
    rows: dict[bytes, dict[bytes, bytes]] = {}
    for record, fink_class in batch:
        rows.setdefault(object_night_key(record), {}).update(object_night_cells(record, fink_class))
    store.table(OBJECT_NIGHTS_TABLE).put_many(rows.items())


def _recount(store: Store, night: str) -> dict[str, Any]:
    """Count a night, replace its statistics row (a put merges cells), and read it back."""
    cells = night_statistics(store.table(OBJECT_NIGHTS_TABLE).scan(row_prefix=night_prefix(night)))
    store.table(STATISTICS_TABLE).delete_many([night.encode()])
    store.table(STATISTICS_TABLE).put_many([(night.encode(), cells)])
    stored = store.table(STATISTICS_TABLE).get(night.encode())
    assert stored == cells
    return decode_statistics(stored)


def test_night_statistics_count_each_alert_once_per_night(store: Store) -> None:
    night_one = [
        (a_record(1, MIDNIGHT + 0.1, "ZTFa", fid=1), "SN candidate"),
        (a_record(2, MIDNIGHT + 0.2, "ZTFa", fid=2), "SN candidate"),
        (a_record(3, MIDNIGHT + 0.3, "ZTFb", fid=1), "Unknown"),
        (a_record(4, MIDNIGHT + 0.999, "ZTFc", fid=2), "Seyfert_1"),
    ]
    night_zero = [(a_record(5, MIDNIGHT - 0.01, "ZTFa", fid=1), "Unknown")]
    night_two = [(a_record(6, MIDNIGHT + 1, "ZTFb", fid=3), "Unknown")]
    everything = night_one + night_zero + night_two
    _write_object_nights(store, everything)
    _write_object_nights(store, everything[::-1][:3])  # redelivered: nothing counts twice
    _write_object_nights(store, [everything[1]])
    assert _recount(store, "20230225") == {
        "alerts": 4, "objects": 3, "fid_1": 2, "fid_2": 2,
        "class:SN candidate": 2, "class:Unknown": 1, "class:Seyfert_1": 1,
    }
    assert _recount(store, "20230224") == {
        "alerts": 1, "objects": 1, "fid_1": 1, "class:Unknown": 1}
    assert _recount(store, "20230226") == {
        "alerts": 1, "objects": 1, "fid_3": 1, "class:Unknown": 1}
    # A re-sent alert with a new class moves between classes, the totals stay.
    _write_object_nights(store, [(night_one[2][0], "SN candidate")])
    assert _recount(store, "20230225") == {
        "alerts": 4, "objects": 3, "fid_1": 2, "fid_2": 2,
        "class:SN candidate": 3, "class:Seyfert_1": 1,
    }


def test_decode_statistics_round_trips_counts() -> None:
    counts = {"alerts": 120, "objects": 80, "fid_1": 70, "fid_2": 50,
              "class:SN candidate": 3, "class:(TNS) SN Ia": 1}
    cells = {f"c:{name}".encode(): encode_value(count) for name, count in counts.items()}
    assert decode_statistics(cells) == counts
    rows: list[Row] = [(f"20230225_ZTF{n}".encode(), {f"c:{n}".encode(): _cell(1, "Unknown")})
                       for n in range(7)]
    assert decode_statistics(night_statistics(rows)) == {
        "alerts": 7, "objects": 7, "fid_1": 7, "class:Unknown": 7}


@pytest.fixture(scope="module")
def real_alerts(real_data_dir: Path) -> RealAlerts:
    return load_real_alerts(real_data_dir / "alerts")


@pytest.mark.realdata
def test_night_statistics_of_the_real_alerts(store: Store, real_alerts: RealAlerts) -> None:
    classified = []
    for alert in real_alerts.alerts:
        record = index_record(*alert_to_rows(alert)[0])
        classified.append((record, record_class(record)))
    for start in range(0, len(classified), 100):  # batches as the indexer gets them
        _write_object_nights(store, classified[start:start + 100])
    # Written independently: the last write of each candid, counted per UTC date.
    latest = {record["candid"]: (record, cls) for record, cls in classified}
    expected: dict[str, Counter[str]] = {}
    objects: dict[str, set[str]] = {}
    for record, cls in latest.values():
        night = night_of(record["jd"])
        counts = expected.setdefault(night, Counter())
        counts.update(["alerts", f"fid_{record['fid']}", f"class:{cls}"])
        objects.setdefault(night, set()).add(record["objectId"])
    assert len(latest) < len(classified)  # the real data repeat alerts: counted once
    for night, counts in expected.items():
        assert _recount(store, night) == {**counts, "objects": len(objects[night])}, night
    assert sum(counts["alerts"] for counts in expected.values()) == len(latest)
