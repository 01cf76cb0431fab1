"""The compact index record: built from real main-table cells, encoded, decoded, classified."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
import pytest

from finkportal_core.alerts import Alert
from finkportal_core.classification import ADDED_VALUE_FIELDS, alert_class
from finkportal_core.codec import encode_value
from finkportal_core.indexing.records import (
    CANDIDATE_FIELDS,
    RECORD_COLUMNS,
    RECORD_VERSION,
    Record,
    RecordError,
    decode_record,
    encode_record,
    index_record,
    record_class,
)
from finkportal_core.tables import alert_row_key, alert_to_rows
from tests.core.alerts.real_alerts import RealAlerts, load_real_alerts

# Fields the alert holds at its root rather than in its candidate.
ROOT_FIELDS = ("objectId", "candid")
JD = 2460000.75
_DROP = object()  # valid_record(name=_DROP) leaves the field out


@dataclass(frozen=True)
class Stored:
    """A real alert, its main row as ingest stores it, and the record built from that row."""

    alert: Alert
    key: bytes
    cells: dict[bytes, bytes]
    record: Record


@pytest.fixture(scope="module")
def real_alerts(real_data_dir: Path) -> RealAlerts:
    return load_real_alerts(real_data_dir / "alerts")


@pytest.fixture(scope="module")
def stored(real_alerts: RealAlerts) -> list[Stored]:
    """Every readable real alert through ``alert_to_rows`` then ``index_record``."""
    out = []
    for alert in real_alerts.alerts:
        (key, cells), _history = alert_to_rows(alert)
        out.append(Stored(alert, key, cells, index_record(key, cells)))
    return out


def same(left: Any, right: Any) -> bool:
    """Equal values of equal types, NaN equal to NaN (alerts hold NaN scores)."""
    if isinstance(left, float) and isinstance(right, float) and math.isnan(left):
        return math.isnan(right)
    if isinstance(left, list | dict) or isinstance(right, list | dict):
        return encode_value(left) == encode_value(right)
    return type(left) is type(right) and left == right


def expected_record(alert: Alert) -> dict[str, Any]:
    """What the record must hold, read from the alert dict itself (not from its cells)."""
    candidate = alert["candidate"]
    expected: dict[str, Any] = {"v": RECORD_VERSION, "key": alert_row_key(alert).decode()}
    for name in CANDIDATE_FIELDS:
        if name in ROOT_FIELDS:
            expected[name] = alert[name]
        elif name in candidate:
            expected[name] = candidate[name]
    expected.update({name: alert[name] for name in ADDED_VALUE_FIELDS if name in alert})
    return expected


def valid_record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "v": RECORD_VERSION, "key": f"ZTF24aaaaaaa_{JD:.7f}_1", "objectId": "ZTF24aaaaaaa",
        "candid": 1, "jd": JD, "ra": 12.5, "dec": -30.25, "fid": 2, "ssnamenr": "null",
    }
    record.update(changes)
    return {name: value for name, value in record.items() if value is not _DROP}



# -- index_record ----------------------------------------------------------------------


@pytest.mark.realdata
def test_index_record_holds_exactly_the_record_columns_of_real_main_rows(
    stored: list[Stored],
) -> None:
    assert len(stored) > 2000
    picked_names = {column[2:].decode() for column in RECORD_COLUMNS}
    for item in stored:
        present = {column[2:].decode() for column in RECORD_COLUMNS if column in item.cells}
        assert set(item.record) == {"v", "key"} | present, item.key
        assert set(item.record) - {"v", "key"} <= picked_names
        # The main row holds far more than the record: the rest is left out.
        assert len(item.cells) > len(item.record) + 20, item.key


@pytest.mark.realdata
def test_index_record_values_equal_the_alerts_candidate_fields_and_added_values(
    stored: list[Stored],
) -> None:
    with_fink_values = 0
    for item in stored:
        expected = expected_record(item.alert)
        assert set(item.record) == set(expected), item.key
        for name, value in expected.items():
            assert same(item.record[name], value), (item.key, name, item.record[name], value)
        with_fink_values += "cdsxmatch" in item.record
    assert with_fink_values > 500  # the added values really were exercised


@pytest.mark.realdata
def test_index_record_reads_the_root_candid_and_object_id(stored: list[Stored]) -> None:
    for item in stored[:50]:
        assert item.record["candid"] == item.alert["candid"]
        assert type(item.record["candid"]) is int
        assert item.record["objectId"] == item.alert["objectId"]
        assert item.record["key"] == item.key.decode()


def test_index_record_rejects_an_undecodable_cell() -> None:
    cells = {b"i:objectId": encode_value("ZTF1"), b"i:candid": encode_value(1),
             b"i:jd": encode_value(JD), b"i:ra": b"\xc1", b"i:dec": encode_value(1.0)}
    with pytest.raises(RecordError, match=r"main row b'k1'.*not an encoded cell value"):
        index_record(b"k1", cells)


def test_index_record_ignores_undecodable_cells_it_does_not_read() -> None:
    cells = {b"i:objectId": encode_value("ZTF1"), b"i:candid": encode_value(1),
             b"i:jd": encode_value(JD), b"i:ra": encode_value(1.0),
             b"i:dec": encode_value(2.0), b"i:magzpsci": b"\xc1", b"b:cutoutScience": b"\xc1"}
    assert index_record(b"k1", cells) == {"v": RECORD_VERSION, "key": "k1", "objectId": "ZTF1",
                                          "candid": 1, "jd": JD, "ra": 1.0, "dec": 2.0}


@pytest.mark.realdata
def test_index_record_rejects_a_main_row_without_a_required_cell(stored: list[Stored]) -> None:
    item = stored[0]
    for column in (b"i:objectId", b"i:candid", b"i:jd", b"i:ra", b"i:dec"):
        cells = {q: v for q, v in item.cells.items() if q != column}
        with pytest.raises(RecordError, match=rf"lacks \['{column[2:].decode()}'\]"):
            index_record(item.key, cells)


# -- encode / decode -------------------------------------------------------------------


@pytest.mark.realdata
def test_real_records_round_trip_through_their_message(stored: list[Stored]) -> None:
    for item in stored:
        message = encode_record(item.record)
        decoded = decode_record(message)
        assert set(decoded) == set(item.record)
        for name, value in item.record.items():
            assert same(decoded[name], value), (item.key, name)
        assert encode_record(decoded) == message
        assert len(message) < 1024, (item.key, len(message))  # compact, no cutouts


def test_a_record_round_trips_with_its_types() -> None:
    record = valid_record(candid=2**63 + 5, jd=2460000, magpsf=float("nan"), drb=None,
                          isdiffpos="t", mulens=[1.5, 2.5])
    decoded = decode_record(encode_record(record))
    assert type(decoded["candid"]) is int
    assert decoded["candid"] == 2**63 + 5
    assert type(decoded["jd"]) is int
    assert math.isnan(decoded["magpsf"])
    assert decoded["drb"] is None
    assert decoded["mulens"] == [1.5, 2.5]
    assert {k: v for k, v in decoded.items() if k != "magpsf"} == {
        k: v for k, v in record.items() if k != "magpsf"}


def _packed(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


BAD_MESSAGES: list[tuple[str, bytes | None, str]] = [
    ("none", None, r"^empty record message$"),
    ("empty bytes", b"", r"^empty record message$"),
    ("garbage byte", b"\xc1", r"^not a msgpack record"),
    ("text", b"hello, world", r"^not a msgpack record"),
    ("truncated", _packed(valid_record())[:-3], r"^not a msgpack record"),
    ("trailing data", _packed(valid_record()) + b"\x00", r"^not a msgpack record"),
    ("bad utf-8", b"\xa2\xff\xfe", r"^not a msgpack record"),
    ("integer map key", _packed({1: 2}), r"^not a msgpack record"),
    ("a list", _packed([1, "key"]), r"^not a version-1 record$"),
    ("a string", _packed("record"), r"^not a version-1 record$"),
    ("no version", _packed(valid_record(v=_DROP)), r"^not a version-1 record$"),
    ("version 2", _packed(valid_record(v=2)), r"^not a version-1 record$"),
    ("version 0", _packed(valid_record(v=0)), r"^not a version-1 record$"),
    ("version as text", _packed(valid_record(v="1")), r"^not a version-1 record$"),
    ("no key", _packed(valid_record(key=_DROP)), r"^record has no main-table key$"),
    ("key as bytes", _packed(valid_record(key=b"k")), r"^record has no main-table key$"),
    ("key as int", _packed(valid_record(key=7)), r"^record has no main-table key$"),
    ("no objectId", _packed(valid_record(objectId=_DROP)), r"lacks \['objectId'\]$"),
    ("no candid", _packed(valid_record(candid=_DROP)), r"lacks \['candid'\]$"),
    ("no jd", _packed(valid_record(jd=_DROP)), r"lacks \['jd'\]$"),
    ("no ra", _packed(valid_record(ra=_DROP)), r"lacks \['ra'\]$"),
    ("null dec", _packed(valid_record(dec=None)), r"lacks \['dec'\]$"),
    ("no position", _packed(valid_record(ra=_DROP, dec=None)), r"lacks \['ra', 'dec'\]$"),
    ("empty objectId", _packed(valid_record(objectId="")),
     r"objectId is not a non-empty string$"),
    ("int objectId", _packed(valid_record(objectId=17)), r"objectId is not a non-empty string$"),
    ("float candid", _packed(valid_record(candid=1.0)), r"candid is not an integer$"),
    ("text candid", _packed(valid_record(candid="1")), r"candid is not an integer$"),
    ("bool candid", _packed(valid_record(candid=True)), r"candid is not an integer$"),
    ("text jd", _packed(valid_record(jd="2460000.5")), r"jd is not a number$"),
    ("list ra", _packed(valid_record(ra=[1.0])), r"ra is not a number$"),
    ("bool dec", _packed(valid_record(dec=True)), r"dec is not a number$"),
]


@pytest.mark.parametrize(("message", "pattern"), [(m, p) for _, m, p in BAD_MESSAGES],
                         ids=[name for name, _, _ in BAD_MESSAGES])
def test_decode_record_rejects_with_a_clear_message(message: bytes | None, pattern: str) -> None:
    with pytest.raises(RecordError, match=pattern):
        decode_record(message)


def test_decode_record_names_the_record_it_rejects() -> None:
    with pytest.raises(RecordError, match=r"^record 'ZTF24aaaaaaa_2460000\.7500000_1': ra is not"):
        decode_record(_packed(valid_record(ra="east")))


def test_decode_record_accepts_the_minimal_record() -> None:
    minimal = {"v": RECORD_VERSION, "key": "k", "objectId": "o", "candid": 0, "jd": JD,
               "ra": 0, "dec": 0.0}
    assert decode_record(_packed(minimal)) == minimal


# -- record_class ----------------------------------------------------------------------


@pytest.mark.realdata
def test_record_class_equals_the_alert_class_of_every_real_alert_with_fink_values(
    stored: list[Stored],
) -> None:
    classes: set[str] = set()
    checked = 0
    for item in stored:
        if "cdsxmatch" not in item.alert:
            continue
        from_message = decode_record(encode_record(item.record))
        expected = alert_class(item.alert)
        assert record_class(item.record) == expected, item.key
        assert record_class(from_message) == expected, item.key
        classes.add(expected)
        checked += 1
    assert checked > 500
    # Fink's own labels and SIMBAD overrides both occur among the real alerts.
    assert {"SN candidate", "Unknown", "Ambiguous", "Seyfert_2"} <= classes


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        ({"snn_snia_vs_nonia": "high"}, r"snn_snia_vs_nonia='high' is not a number"),
        ({"rf_kn_vs_nonkn": [0.9]}, r"rf_kn_vs_nonkn=\[0.9\] is not a number"),
        ({"roid": {"class": 3}}, r"roid=.* is not a number"),
        ({"drb": b"\x01", "snn_sn_vs_all": 0.9, "cdsxmatch": "Unknown"}, r"drb=.* is not a number"),
        ({"cdsxmatch": 42}, r"cdsxmatch=42 is not a string"),
    ],
    ids=["text score", "list score", "dict roid", "bytes drb", "int cdsxmatch"],
)
def test_record_class_raises_record_error_for_unreadable_scores(
    changes: dict[str, Any], pattern: str
) -> None:
    record = valid_record(**changes)
    with pytest.raises(RecordError, match=r"^record 'ZTF24aaaaaaa_2460000.7500000_1': "
                                          r"cannot classify: ") as caught:
        record_class(record)
    assert caught.match(pattern)


def test_record_class_of_readable_hand_built_records() -> None:
    quiet = valid_record(cdsxmatch="Unknown", roid=0, ndethist=5, drb=0.9, classtar=0.9,
                         jdstarthist=JD - 10, snn_snia_vs_nonia=0.1, snn_sn_vs_all=0.1)
    assert record_class(quiet) == "Unknown"
    assert record_class({**quiet, "snn_snia_vs_nonia": 0.9}) == "SN candidate"
    assert record_class({**quiet, "roid": 3}) == "Solar System MPC"
    assert record_class({**quiet, "cdsxmatch": "RRLyr"}) == "RRLyr"
