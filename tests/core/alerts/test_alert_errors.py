"""Bad messages give AlertDecodeError (and nothing else); bad alerts InvalidAlertError."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
from pathlib import Path
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finkportal_core.alerts import (
    Alert,
    AlertDecodeError,
    InvalidAlertError,
    alert_files,
    decode_message,
    encode_fink_message,
    encode_ztf_message,
    schema_for,
    validate_alert,
)
from finkportal_core.alerts.container import SYNC_SIZE, container_block, container_header

ALERT: Alert = {
    "schemavsn": "4.02",
    "publisher": "test",
    "objectId": "ZTF21abcdefg",
    "candid": 1580161612015015001,
    "candidate": {"jd": 2459345.6612037, "magpsf": 18.5, "fid": 1},
    "prv_candidates": [{"jd": 2459340.6, "candid": None, "magpsf": None}],
    "cdsxmatch": "Unknown",
}
MESSAGE = encode_ztf_message(ALERT)
FINK_KEY, FINK_VALUE = encode_fink_message(ALERT, schema_for(ALERT))


def _reason(value: bytes, key: bytes | None = None) -> str:
    with pytest.raises(AlertDecodeError) as caught:
        decode_message(value, key)
    assert caught.value.reason == str(caught.value)
    return caught.value.reason


def _decodes_or_refuses(value: bytes, key: bytes | None = None) -> None:
    with contextlib.suppress(AlertDecodeError):
        decode_message(value, key)


def test_empty_and_non_container_bytes_without_key() -> None:
    assert _reason(b"") == "empty message"
    assert _reason(b"definitely not avro") == "not an Avro container and no schema key"
    assert "not bytes" in _reason("a string")  # type: ignore[arg-type]


def test_truncated_containers() -> None:
    for cut in (5, 20, len(MESSAGE) // 2, len(MESSAGE) - SYNC_SIZE - 1, len(MESSAGE) - 1):
        assert "truncated" in _reason(MESSAGE[:cut]), cut


def test_corrupt_containers() -> None:
    wrong_sync = MESSAGE[:-SYNC_SIZE] + bytes(SYNC_SIZE)
    assert _reason(wrong_sync) == "corrupt container: sync marker mismatch"
    unknown_codec = MESSAGE.replace(b"avro.codec\x08null", b"avro.codec\x08lzzz")
    assert "unsupported container codec" in _reason(unknown_codec)
    no_records = MESSAGE[: MESSAGE.index(b"avro.codec") + 16 + SYNC_SIZE]
    assert _reason(no_records) == "container holds no alert"


def test_a_block_that_lies_about_its_record_count() -> None:
    header = container_header(json.dumps(schema_for(ALERT)).encode())
    record = FINK_VALUE
    assert "longer than its records" in _reason(
        header + container_block(record + record, 1, header[-SYNC_SIZE:]))
    assert "does not decode" in _reason(header + container_block(record, 2, header[-SYNC_SIZE:]))


def test_a_valid_avro_file_that_is_not_an_alert() -> None:
    buffer = io.BytesIO()
    schema = {"type": "record", "name": "weather", "fields": [{"name": "t", "type": "double"}]}
    fastavro.writer(buffer, schema, [{"t": 21.5}])
    assert "not an alert schema" in _reason(buffer.getvalue())
    assert "not an alert schema" in _reason(b"\x00", json.dumps(schema).encode())


def test_bad_schema_keys() -> None:
    assert "schema does not parse" in _reason(FINK_VALUE, b"{not json")
    assert "schema does not parse" in _reason(FINK_VALUE, b'{"type": "nonsense"}')


def test_fink_value_with_the_wrong_schema() -> None:
    extended = {**ALERT, "extra": 1.5}
    _, longer_value = encode_fink_message(extended, schema_for(extended))
    assert "schema does not match" in _reason(longer_value, FINK_KEY)
    assert "schema does not match" in _reason(FINK_VALUE + b"\x00", FINK_KEY)
    assert "does not decode" in _reason(FINK_VALUE[:10], FINK_KEY)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_garbage_never_raises_anything_else(garbage: bytes) -> None:
    _decodes_or_refuses(garbage)
    _decodes_or_refuses(b"Obj\x01" + garbage)
    _decodes_or_refuses(garbage, FINK_KEY)
    _decodes_or_refuses(MESSAGE[:200] + garbage)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(MESSAGE) - 1), st.integers(0, 255)), min_size=1,
                max_size=4))
def test_corrupted_bytes_never_raise_anything_else(flips: list[tuple[int, int]]) -> None:
    corrupted = bytearray(MESSAGE)
    fink = bytearray(FINK_VALUE)
    for position, byte in flips:
        corrupted[position] = byte
        fink[position % len(fink)] = byte
    _decodes_or_refuses(bytes(corrupted))
    _decodes_or_refuses(bytes(fink), FINK_KEY)


@pytest.mark.realdata
def test_real_packets_cut_anywhere_are_refused(real_data_dir: Path) -> None:
    packet = next(p for p in alert_files(real_data_dir / "alerts") if p.suffix == ".avro")
    data = packet.read_bytes()
    decode_message(data)
    for cut in range(0, len(data) - 1, 997):
        assert _reason(data[:cut])


def _without(path: tuple[str, ...]) -> Alert:
    alert = copy.deepcopy(ALERT)
    target = alert
    for name in path[:-1]:
        target = target[name]
    del target[path[-1]]
    return alert


def _with(path: tuple[str, ...], value: Any) -> Alert:
    alert = copy.deepcopy(ALERT)
    target = alert
    for name in path[:-1]:
        target = target[name]
    target[path[-1]] = value
    return alert


@pytest.mark.parametrize(
    ("alert", "reason"),
    [
        (_without(("objectId",)), "objectId"),
        (_with(("objectId",), ""), "objectId"),
        (_with(("objectId",), 42), "objectId"),
        (_without(("candid",)), "candid"),
        (_with(("candid",), None), "candid"),
        (_with(("candid",), True), "candid"),
        (_without(("candidate",)), "candidate"),
        (_with(("candidate",), None), "candidate"),
        (_without(("candidate", "jd")), "jd"),
        (_with(("candidate", "jd"), math.nan), "jd"),
        (_with(("candidate", "jd"), math.inf), "jd"),
        (_with(("candidate", "jd"), "2459345.5"), "jd"),
        (_with(("candidate", "jd"), False), "jd"),
        (_with(("candidate", "jd"), 12.5), "outside"),
        ([ALERT], "not a dict"),
    ],
)
def test_alerts_without_identity_or_time_are_invalid(alert: Any, reason: str) -> None:
    with pytest.raises(InvalidAlertError, match=reason):
        validate_alert(alert)


def test_a_decoded_alert_missing_its_time_is_invalid_after_decoding() -> None:
    alert = _with(("candidate", "jd"), None)
    [decoded] = decode_message(encode_ztf_message(alert))
    with pytest.raises(InvalidAlertError, match="jd"):
        validate_alert(decoded)
    validate_alert(decode_message(MESSAGE)[0])
