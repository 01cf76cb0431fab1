"""Encoding then decoding gives back every alert exactly, in both wire forms."""

from __future__ import annotations

import io
import json
import math
import struct
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings

from finkportal_core.alerts import (
    Alert,
    AlertEncodeError,
    decode_message,
    encode_fink_message,
    encode_ztf_message,
    packaged_schema,
    schema_for,
)
from tests.core.alerts.real_alerts import RealAlerts
from tests.core.alerts.strategies import synthetic_alerts
from tests.support.compare import differences


def _field_types(record_type: Any) -> dict[str, Any]:
    """Field types by name of a record type, or of the record branch of a union."""
    if isinstance(record_type, list):
        [record_type] = [branch for branch in record_type if isinstance(branch, dict)]
    return {field["name"]: field["type"] for field in record_type["fields"]}


def _fink_round_trip(alert: Alert) -> Alert:
    key, value = encode_fink_message(alert, schema_for(alert))
    [decoded] = decode_message(value, key)
    return decoded


@pytest.mark.realdata
def test_every_real_alert_round_trips_in_ztf_form(real_alerts: RealAlerts) -> None:
    for alert in real_alerts.alerts:
        decoded = decode_message(encode_ztf_message(alert))
        assert len(decoded) == 1
        assert not differences(alert, decoded[0]), alert["candid"]


@pytest.mark.realdata
def test_every_real_alert_round_trips_in_fink_form(real_alerts: RealAlerts) -> None:
    for alert in real_alerts.alerts:
        assert not differences(alert, _fink_round_trip(alert)), alert["candid"]


@pytest.mark.realdata
def test_real_ztf_packets_decode_like_fastavro_reads_them(real_alerts: RealAlerts) -> None:
    packets = [p for p in real_alerts.alerts_by_file if p.suffix == ".avro"]
    for path in packets:
        data = path.read_bytes()
        reader = fastavro.reader(io.BytesIO(data))
        if reader.writer_schema["name"] != "ztf.alert":
            continue
        assert not differences(decode_message(data), list(reader)), path


@pytest.mark.realdata
def test_native_402_alert_is_written_with_the_packaged_schema(real_alerts: RealAlerts) -> None:
    native = [a for a in real_alerts.alerts if "fp_hists" in a]
    assert native
    message = encode_ztf_message(native[0])
    reader = fastavro.reader(io.BytesIO(message))
    assert reader.writer_schema == fastavro.parse_schema(packaged_schema(), _write_hint=False)
    assert not differences(list(reader), [native[0]])


@pytest.mark.realdata
def test_schema_for_keeps_ztf_types_and_types_added_values(real_alerts: RealAlerts) -> None:
    fink = next(a for a in real_alerts.alerts if "cdsxmatch" in a and a["schemavsn"] == "4.02")
    schema = schema_for(fink)
    fields = _field_types(schema)
    candidate = _field_types(fields["candidate"])
    assert candidate["magpsf"] == "float"
    assert candidate["jd"] == "double"
    assert fields["cdsxmatch"] in (["null", "string"], "string")
    assert [f["name"] for f in schema["fields"]] == list(fink)


def test_float64_values_in_float32_ztf_fields_keep_their_precision() -> None:
    alert = {"schemavsn": "4.02", "objectId": "ZTF20abcdefg", "candid": 1,
             "candidate": {"jd": 2459000.123456789, "magpsf": 0.1}}
    schema = schema_for(alert)
    candidate = _field_types(_field_types(schema)["candidate"])
    assert struct.unpack("<f", struct.pack("<f", 0.1))[0] != 0.1
    assert "double" in json.dumps(candidate["magpsf"])
    assert not differences(decode_message(encode_ztf_message(alert))[0], alert)


@pytest.mark.realdata
@pytest.mark.parametrize("codec", ["null", "deflate", "snappy", "bzip2", "xz"])
def test_containers_from_fastavro_with_each_codec_decode(
    real_alerts: RealAlerts, codec: str
) -> None:
    alerts = [a for a in real_alerts.alerts if "fp_hists" not in a][:40:4]
    schema = schema_for(alerts[0])
    same_shape = [a for a in alerts if schema_for(a) == schema]
    buffer = io.BytesIO()
    fastavro.writer(buffer, schema, same_shape, codec=codec, sync_interval=200_000)
    assert not differences(decode_message(buffer.getvalue()), same_shape)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(synthetic_alerts())
def test_synthetic_alerts_round_trip_in_both_forms(alert: Alert) -> None:
    assert not differences(decode_message(encode_ztf_message(alert))[0], alert)
    assert not differences(_fink_round_trip(alert), alert)


def test_nan_payloads_and_extreme_values_survive() -> None:
    nan32 = struct.unpack("<f", b"\x01\x00\xc0\x7f")[0]
    alert = {"objectId": "ZTF20abcdefg", "candid": -(2**63), "schemavsn": "3.3",
             "candidate": {"jd": 2459000.5, "magpsf": nan32, "big": 2**63 - 1},
             "values": [math.inf, -math.inf, -0.0, 5e-324], "flag": True, "raw": b""}
    decoded = decode_message(encode_ztf_message(alert))[0]
    assert not differences(decoded, alert)
    assert struct.pack("<d", decoded["candidate"]["magpsf"]) == struct.pack("<d", nan32)
    assert type(decoded["flag"]) is bool


@pytest.mark.parametrize("value", [2**64, {1, 2}, object()])
def test_values_outside_the_model_are_refused(value: Any) -> None:
    alert = {"objectId": "ZTF20abcdefg", "candid": 1, "candidate": {"jd": 2459000.5}, "x": value}
    with pytest.raises(AlertEncodeError):
        encode_ztf_message(alert)


def test_an_alert_that_does_not_fit_the_given_schema_is_refused() -> None:
    alert = {"objectId": "ZTF20abcdefg", "candid": 1, "candidate": {"jd": 2459000.5}}
    schema = schema_for(alert)
    with pytest.raises(AlertEncodeError, match="does not fit"):
        encode_fink_message({**alert, "candid": "not a long"}, schema)
    with pytest.raises(AlertEncodeError, match="does not parse"):
        encode_ztf_message(alert, {"type": "record", "name": "x", "fields": [{"name": "a"}]})


def test_added_value_names_must_be_avro_names() -> None:
    alert = {"objectId": "ZTF20abcdefg", "candid": 1, "candidate": {"jd": 2459000.5},
             "not a name": 1.0}
    with pytest.raises(AlertEncodeError, match="not a name"):
        schema_for(alert)


def test_dicts_with_non_name_keys_become_maps() -> None:
    alert = {"objectId": "ZTF20abcdefg", "candid": 1, "candidate": {"jd": 2459000.5},
             "mangrove": {"2MASS_name": "J1", "lum_dist": "12.5"},
             "features": [{"a": 1.0}, {"a": 2.0, "b": None}]}
    fields = _field_types(schema_for(alert))
    assert fields["mangrove"][1]["type"] == "map"
    assert fields["features"][1]["items"]["type"] == "map"
    assert not differences(_fink_round_trip(alert), alert)
