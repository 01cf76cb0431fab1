"""Result documents: every format read back by its usual reader gives the same rows."""

from __future__ import annotations

import base64
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from astropy.table import Table

from finkportal_core.alerts.files import iter_alert_files
from finkportal_query.cutouts import stamp_to_array
from finkportal_query.errors import BadParameterError
from finkportal_query.formats import MEDIA_TYPES, OUTPUT_FORMATS, column_names, render_table

NAN = float("nan")
CUTOUT = [[1.5, NAN, -2.0], [0.0, 3.25, NAN]]  # a tiny 2-D stamp array, NaN inside
ROWS: list[dict[str, Any]] = [
    {"i:objectId": "ZTF18acsvkds", "i:candid": 1311156250015010003, "i:jd": 2459065.6909028,
     "i:fid": 1, "d:cdsxmatch": "Unknown", "d:rf_snia_vs_nonia": 0.25, "d:is_sso": True,
     "v:lastdate": "2020-07-29 04:34:54.000"},
    {"i:objectId": "ZTF19abcdefg", "i:candid": 1311156250015010004, "i:jd": 2459066.5,
     "i:fid": None, "d:cdsxmatch": None, "d:rf_snia_vs_nonia": NAN, "d:is_sso": None,
     "v:lastdate": "2020-07-30 00:00:00.000"},
    # keys missing (null) and a new one; a string that needs CSV quoting and is not ASCII
    {"i:objectId": 'ZTF20 "quoted", α\nline', "i:candid": 7, "i:jd": 2459067.25,
     "i:fid": 2, "d:is_sso": False, "d:new": -3.5},
]
COLUMNS = ["i:objectId", "i:candid", "i:jd", "i:fid", "d:cdsxmatch", "d:rf_snia_vs_nonia",
           "d:is_sso", "v:lastdate", "d:new"]


def expected_rows(rows: list[dict[str, Any]], columns: list[str]) -> list[list[Any]]:
    """The table's cells, with every missing value and NaN as None."""
    return [[_null_nan(row.get(name)) for name in columns] for row in rows]


def _null_nan(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_null_nan(item) for item in value]
    return value


def _cell(value: Any) -> Any:
    """A cell read back, with missing values (NaN, masked, pandas' NA) as None."""
    if value is None or value is np.ma.masked:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def strict_json(body: bytes) -> Any:
    def refuse(token: str) -> None:
        raise AssertionError(f"invalid JSON token {token}")

    return json.loads(body, parse_constant=refuse)


def read_csv(body: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(body), keep_default_na=False, na_values=[""])


def read_votable(body: bytes) -> Table:
    return Table.read(io.BytesIO(body), format="votable", use_names_over_ids=True)


def votable_cells(table: Table) -> list[list[Any]]:
    return [[_cell(table[name][index]) for name in table.colnames] for index in range(len(table))]


def test_columns_are_the_union_of_keys_in_first_appearance_order() -> None:
    assert column_names(ROWS) == COLUMNS
    assert column_names([]) == []


def test_json_is_strict_records_with_every_column() -> None:
    body, media_type = render_table(ROWS, "json")
    assert media_type == "application/json"
    records = strict_json(body)
    assert [list(record) for record in records] == [COLUMNS] * len(ROWS)
    assert [list(record.values()) for record in records] == expected_rows(ROWS, COLUMNS)
    assert records[0]["i:candid"] == 1311156250015010003  # beyond 2**53: still exact


def test_csv_reads_back_with_pandas() -> None:
    body, media_type = render_table(ROWS, "csv")
    assert media_type.startswith("text/csv")
    frame = read_csv(body)
    assert list(frame.columns) == COLUMNS
    cells = [[_cell(value) for value in row] for row in frame.itertuples(index=False)]
    assert cells == expected_rows(ROWS, COLUMNS)
    assert frame["i:candid"].dtype == np.int64  # exact, not through float


def test_parquet_reads_back_typed_with_nan_and_null_kept_apart() -> None:
    body, media_type = render_table(ROWS, "parquet")
    assert media_type == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(body))
    assert table.column_names == COLUMNS
    assert [str(table.schema.field(name).type) for name in ("i:candid", "i:fid", "d:is_sso")] \
        == ["int64", "int64", "bool"]
    read = table.to_pylist()
    assert math.isnan(read[1]["d:rf_snia_vs_nonia"])
    assert read[2]["d:rf_snia_vs_nonia"] is None
    assert [[_cell(row[name]) for name in COLUMNS] for row in read] == expected_rows(ROWS, COLUMNS)


def test_votable_reads_back_with_astropy_under_the_column_names() -> None:
    body, media_type = render_table(ROWS, "votable")
    assert media_type == "application/x-votable+xml"
    table = read_votable(body)
    assert table.colnames == COLUMNS
    expected = expected_rows(ROWS, COLUMNS)
    expected[1][COLUMNS.index("d:cdsxmatch")] = ""  # TABLEDATA has no null string
    expected[2][COLUMNS.index("d:cdsxmatch")] = ""
    expected[2][COLUMNS.index("v:lastdate")] = ""
    assert votable_cells(table) == expected
    assert table["i:candid"].dtype == np.int64
    assert table["d:is_sso"].dtype == np.bool_
    by_id = Table.read(io.BytesIO(body), format="votable")  # astropy's default: the ids
    assert by_id.colnames[:3] == ["i_objectId", "i_candid", "i_jd"]


def test_colliding_xml_ids_stay_unique() -> None:
    rows = [{"i:a": 1, "i_a": 2, "1x": 3, "d:a.b c": 4}]
    body = render_table(rows, "votable")[0]
    assert read_votable(body).colnames == ["i:a", "i_a", "1x", "d:a.b c"]
    assert votable_cells(read_votable(body)) == [[1, 2, 3, 4]]
    assert Table.read(io.BytesIO(body), format="votable").colnames == [
        "i_a", "i_a_2", "_1x", "d_a.b_c"]


def test_arrays_bytes_and_mixed_columns_per_format() -> None:
    stamp = b"\x1f\x8b\x00binary"
    rows: list[dict[str, Any]] = [
        {"b:cutoutScience_stampData": CUTOUT, "b:raw": stamp, "d:mixed": 1, "d:huge": 2**64},
        {"b:cutoutScience_stampData": None, "b:raw": None, "d:mixed": "one", "d:huge": 1},
    ]
    as_json = strict_json(render_table(rows, "json")[0])
    assert as_json[0]["b:cutoutScience_stampData"] == _null_nan(CUTOUT)
    assert base64.b64decode(as_json[0]["b:raw"]) == stamp
    assert [row["d:mixed"] for row in as_json] == [1, "one"]
    assert [row["d:huge"] for row in as_json] == [2**64, 1]

    frame = read_csv(render_table(rows, "csv")[0])
    assert json.loads(frame["b:cutoutScience_stampData"][0]) == _null_nan(CUTOUT)
    assert base64.b64decode(frame["b:raw"][0]) == stamp
    assert pd.isna(frame["b:raw"][1])

    parquet = pq.read_table(io.BytesIO(render_table(rows, "parquet")[0])).to_pylist()
    assert str(parquet[0]["b:cutoutScience_stampData"]) == str(CUTOUT)  # NaN kept
    assert parquet[0]["b:raw"] == stamp
    assert parquet[1]["b:raw"] is None
    assert [row["d:mixed"] for row in parquet] == ["1", "one"]  # no common type: text
    assert [row["d:huge"] for row in parquet] == [str(2**64), "1"]  # beyond int64: text

    votable = read_votable(render_table(rows, "votable")[0])
    assert json.loads(votable["b:cutoutScience_stampData"][0]) == _null_nan(CUTOUT)
    assert base64.b64decode(votable["b:raw"][0]) == stamp
    assert list(votable["d:mixed"]) == ["1", "one"]
    assert list(votable["d:huge"]) == [str(2**64), "1"]


def test_infinities_and_numpy_values() -> None:
    rows: list[dict[str, Any]] = [
        {"d:x": math.inf, "d:y": np.float32(2.5), "d:z": np.int64(7),
         "d:arr": np.array([[1.0, np.nan]])},
        {"d:x": -math.inf, "d:y": np.float32("nan"), "d:z": None, "d:arr": None},
    ]
    as_json = strict_json(render_table(rows, "json")[0])
    assert as_json == [{"d:x": None, "d:y": 2.5, "d:z": 7, "d:arr": [[1.0, None]]},
                       {"d:x": None, "d:y": None, "d:z": None, "d:arr": None}]
    frame = read_csv(render_table(rows, "csv")[0])
    assert list(frame["d:x"]) == [math.inf, -math.inf]
    parquet = pq.read_table(io.BytesIO(render_table(rows, "parquet")[0])).to_pylist()
    assert parquet[0]["d:x"] == math.inf
    assert parquet[0]["d:z"] == 7
    votable = read_votable(render_table(rows, "votable")[0])
    assert list(votable["d:x"]) == [math.inf, -math.inf]
    assert votable["d:z"][0] == 7


@pytest.mark.parametrize("output_format", OUTPUT_FORMATS)
def test_null_only_columns_render(output_format: str) -> None:
    rows: list[dict[str, Any]] = [
        {"i:objectId": "ZTF1", "d:nothing": None},
        {"i:objectId": "ZTF2", "d:nothing": NAN},
    ]
    body, _ = render_table(rows, output_format)
    if output_format == "votable":
        assert votable_cells(read_votable(body)) == [["ZTF1", None], ["ZTF2", None]]
    elif output_format == "parquet":
        column = pq.read_table(io.BytesIO(body)).column("d:nothing").to_pylist()
        assert [_cell(value) for value in column] == [None, None]
    elif output_format == "csv":
        assert read_csv(body)["d:nothing"].isna().all()
    else:
        assert strict_json(body)[1] == {"i:objectId": "ZTF2", "d:nothing": None}


def test_empty_results_are_valid_empty_documents() -> None:
    assert strict_json(render_table([], "json")[0]) == []
    assert render_table([], "csv")[0] == b""
    parquet = pq.read_table(io.BytesIO(render_table([], "parquet")[0]))
    assert parquet.num_rows == 0
    assert parquet.num_columns == 0
    assert len(read_votable(render_table([], "votable")[0])) == 0


def test_formats_and_media_types() -> None:
    assert set(MEDIA_TYPES) == set(OUTPUT_FORMATS)
    assert render_table(ROWS, "JSON")[1] == MEDIA_TYPES["json"]
    with pytest.raises(BadParameterError, match=r"json, csv, parquet, votable.*'xml'"):
        render_table(ROWS, "xml")


@pytest.fixture(scope="module")
def real_rows(real_data_dir: Path) -> list[dict[str, Any]]:
    """Fink-style rows of real alerts: every candidate field, added values, a cutout."""
    source = real_data_dir / "alerts/astrolabsoftware_fink-alert-schemas/ztf"
    rows = []
    for alert in iter_alert_files(source):
        row = {f"i:{name}": value for name, value in alert["candidate"].items()}
        row["i:objectId"] = alert["objectId"]
        row.update({f"d:{name}": value for name, value in alert.items()
                    if name not in ("candidate", "prv_candidates", "objectId")
                    and not name.startswith("cutout") and not isinstance(value, dict | list)})
        row["b:cutoutScience_stampData"] = stamp_to_array(
            alert["cutoutScience"]["stampData"]).tolist()
        rows.append(row)
    assert len(rows) >= 2
    return rows


def test_real_rows_round_trip_in_every_format(real_rows: list[dict[str, Any]]) -> None:
    columns = column_names(real_rows)
    expected = expected_rows(real_rows, columns)
    as_json = strict_json(render_table(real_rows, "json")[0])
    assert [list(record.values()) for record in as_json] == expected
    parquet = pq.read_table(io.BytesIO(render_table(real_rows, "parquet")[0]))
    assert parquet.column_names == columns
    assert [[_null_nan(_cell(row[name])) for name in columns]
            for row in parquet.to_pylist()] == expected
    frame = read_csv(render_table(real_rows, "csv")[0])
    assert list(frame.columns) == columns
    assert len(frame) == len(real_rows)
    assert list(frame["i:candid"]) == [row["i:candid"] for row in real_rows]
    votable = read_votable(render_table(real_rows, "votable")[0])
    assert votable.colnames == columns
    assert len(votable) == len(real_rows)
    np.testing.assert_array_equal(votable["i:ra"], [row["i:ra"] for row in real_rows])
    cutout = json.loads(votable["b:cutoutScience_stampData"][0])
    assert cutout == expected[0][columns.index("b:cutoutScience_stampData")]
