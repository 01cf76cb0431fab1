"""Reading alert files: every real file, archives, Parquet normalization, bad files."""

from __future__ import annotations

import collections
import csv
import datetime as dt
import io
import math
import tarfile
from pathlib import Path
from typing import Any

import fastavro
import pytest

from finkportal_core.alerts import (
    UnsupportedAlertFileError,
    alert_files,
    encode_ztf_message,
    iter_alert_files,
    normalize_record,
    validate_alert,
)
from tests.core.alerts.real_alerts import RealAlerts
from tests.support.compare import differences

PLAIN_TYPES = (type(None), bool, int, float, str, bytes)


def _inventory(real_data_dir: Path) -> dict[Path, dict[str, str]]:
    with open(real_data_dir / "INVENTORY.csv", newline="") as handle:
        return {real_data_dir / row["path"]: row for row in csv.DictReader(handle)}


def _plain_types_only(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_types_only(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain_types_only(item) for item in value)
    return type(value) in PLAIN_TYPES


@pytest.mark.realdata
def test_every_real_alert_file_reads_as_the_inventory_says(
    real_alerts: RealAlerts, real_data_dir: Path
) -> None:
    inventory = _inventory(real_data_dir)
    for path, alerts in real_alerts.alerts_by_file.items():
        row = inventory[path]
        assert len(alerts) == int(row["alerts"]), path
        assert {a["schemavsn"] for a in alerts} == set(row["schemavsn"].split(",")), path
    listed = {p for p, row in inventory.items() if row["format"] in ("avro", "parquet")}
    assert set(real_alerts.alerts_by_file) == listed
    for path, error in real_alerts.unsupported.items():
        assert path not in inventory
        assert str(path) in str(error)
    per_version = collections.Counter(a["schemavsn"] for a in real_alerts.alerts)
    candids = {a["candid"] for a in real_alerts.alerts}
    print(
        f"\n{len(real_alerts.files)} alert files, {len(real_alerts.unsupported)} unsupported, "
        f"{len(real_alerts.alerts)} alerts, {len(candids)} distinct candids, {dict(per_version)}"
    )


@pytest.mark.realdata
def test_every_real_alert_is_valid_and_plain(real_alerts: RealAlerts) -> None:
    for alert in real_alerts.alerts:
        validate_alert(alert)
        assert _plain_types_only(alert), alert["candid"]


@pytest.mark.realdata
def test_json_alerts_are_reported_unsupported(real_data_dir: Path) -> None:
    json_files = sorted((real_data_dir / "alerts").rglob("*.json"))
    assert json_files
    for path in json_files:
        with pytest.raises(UnsupportedAlertFileError, match="JSON") as caught:
            list(iter_alert_files(path))
        assert caught.value.path == str(path)
    assert not set(json_files) & set(alert_files(real_data_dir / "alerts"))


@pytest.mark.realdata
def test_alert_files_recurse_sorted_into_spark_directories(real_data_dir: Path) -> None:
    files = alert_files(real_data_dir / "alerts")
    assert files == sorted(files)
    assert all(p.is_file() for p in files)
    spark_dirs = [p for p in (real_data_dir / "alerts").rglob("*.avro") if p.is_dir()]
    assert spark_dirs
    assert any(p.parent == spark_dirs[0] for p in files)
    assert not [p for p in files if p.suffix in (".csv", ".json", ".features")]


@pytest.mark.realdata
def test_a_directory_reads_like_its_files_in_order(real_data_dir: Path) -> None:
    directory = next(p for p in (real_data_dir / "alerts").rglob("*.avro") if p.is_dir())
    one_by_one = [a for f in alert_files(directory) for a in iter_alert_files(f)]
    assert one_by_one
    assert not differences(list(iter_alert_files(directory)), one_by_one)


@pytest.mark.realdata
def test_tarball_reads_like_its_packets(real_alerts: RealAlerts, tmp_path: Path) -> None:
    packets = [p for p, alerts in real_alerts.alerts_by_file.items()
               if p.suffix == ".avro" and len(alerts) == 1][:7]
    archive = tmp_path / "ztf_public_20181129.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for index, packet in enumerate(packets):
            tar.add(packet, arcname=f"{index}_{packet.name}")
        notes = b"not an alert"
        info = tarfile.TarInfo("README.txt")
        info.size = len(notes)
        tar.addfile(info, io.BytesIO(notes))
    expected = [real_alerts.alerts_by_file[p][0] for p in packets]
    assert not differences(list(iter_alert_files(archive)), expected)
    assert alert_files(tmp_path) == [archive]


@pytest.mark.realdata
def test_spark_avro_matches_fastavro_after_normalization(real_alerts: RealAlerts) -> None:
    spark_files = [p for p in real_alerts.alerts_by_file if p.suffix == ".avro"]
    for path in spark_files[::25]:
        with open(path, "rb") as handle:
            reference = [normalize_record(r) for r in fastavro.reader(handle)]
        assert not differences(real_alerts.alerts_by_file[path], reference), path


@pytest.mark.realdata
def test_parquet_maps_and_timestamps_are_normalized(real_alerts: RealAlerts) -> None:
    parquet = [a for p, alerts in real_alerts.alerts_by_file.items()
               if p.suffix == ".parquet" for a in alerts]
    with_map = [a for a in parquet if isinstance(a.get("mangrove"), dict)]
    assert with_map
    assert all(isinstance(a["mangrove"].get("2MASS_name"), str | None) for a in with_map)
    stamps = [a["timestamp"] for a in parquet if "timestamp" in a]
    assert stamps
    assert all(dt.datetime.strptime(s[:19], "%Y-%m-%d %H:%M:%S") for s in stamps)
    assert all(isinstance(a["prv_candidates"], list | None) for a in parquet)
    assert any(a["prv_candidates"] for a in parquet)
    assert all(isinstance(a["cutoutScience"]["stampData"], bytes) for a in parquet)


def test_bad_files_name_themselves(tmp_path: Path) -> None:
    packet = encode_ztf_message({"objectId": "ZTF18aaaaaaa", "candid": 1,
                                 "candidate": {"jd": 2459000.5}, "stamp": bytes(5000)})
    cases = {
        "garbage.avro": b"this is not avro at all",
        "truncated.avro": packet[: len(packet) // 2],
        "garbage.parquet": b"PAR1 nonsense",
        "broken.tar.gz": b"\x1f\x8b\x08 broken",
        "alerts.csv": b"objectId,jd\n",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(UnsupportedAlertFileError) as caught:
            list(iter_alert_files(tmp_path / name))
        assert name in str(caught.value)


def test_a_table_without_alert_columns_is_unsupported(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "light_curves.parquet"
    pq.write_table(pa.table({"objectId": ["ZTF18aaaaaaa"], "jd": [2459000.5]}), path)
    with pytest.raises(UnsupportedAlertFileError, match=r"candidate\.jd"):
        list(iter_alert_files(path))


def test_normalize_record_converts_library_types() -> None:
    np = pytest.importorskip("numpy")
    record = {
        "objectId": np.str_("ZTF18aaaaaaa"),
        "candid": np.int64(123),
        "candidate": {"jd": np.float64(2459000.5), "fid": np.int32(1), "flag": np.bool_(True)},
        "prv_candidates": np.array([{"jd": 2458999.5, "magpsf": np.float32(18.25)}], dtype=object),
        "cutoutScience": {"fileName": "x.fits.gz", "stampData": bytearray(b"\x00\x01")},
        "lc": np.array([1.5, float("nan")], dtype=np.float32),
        "pair": (1, "a"),
        "timestamp": dt.datetime(2023, 10, 18, 5, 43, 12, 996463, tzinfo=dt.UTC),
        "__index_level_0__": 7,
    }
    alert = normalize_record(record)
    assert _plain_types_only(alert)
    assert "__index_level_0__" not in alert
    assert alert["candid"] == 123
    assert type(alert["candidate"]["flag"]) is bool
    assert alert["prv_candidates"] == [{"jd": 2458999.5, "magpsf": 18.25}]
    assert alert["cutoutScience"]["stampData"] == b"\x00\x01"
    assert alert["lc"][0] == 1.5
    assert math.isnan(alert["lc"][1])
    assert alert["pair"] == [1, "a"]
    assert alert["timestamp"] == "2023-10-18 05:43:12.996463"
    with pytest.raises(TypeError, match="set"):
        normalize_record({"objectId": {1, 2}})
