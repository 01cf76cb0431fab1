"""/objects and /cutouts over the real alerts, stored and indexed by the real pipeline."""

from __future__ import annotations

import gzip
import io
import json
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from astropy.io import fits
from astropy.table import Table
from PIL import Image

from tests.query.conftest import IndexedStore
from tests.query.expected import (
    by_object,
    expected_row,
    history_measurements,
    latest_alert,
    same_value,
)

pytestmark = [pytest.mark.realdata, pytest.mark.slow]
IDS_PER_REQUEST = 100


def fetch(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = api.get("/objects", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_every_stored_alert_comes_back_with_its_exact_values(
        api: httpx.Client, indexed_store: IndexedStore) -> None:
    objects = by_object(indexed_store.alerts)
    ids = sorted(objects)
    rows = []
    for start in range(0, len(ids), IDS_PER_REQUEST):
        rows += fetch(api, objectId=",".join(ids[start:start + IDS_PER_REQUEST]))
    assert len(rows) == len(indexed_store.alerts)
    by_candid = {row["i:candid"]: row for row in rows}
    for alert in indexed_store.alerts:
        row = by_candid[alert["candid"]]
        for name, value in expected_row(alert).items():
            assert same_value(row[name], value), (alert["objectId"], name, row[name], value)


def test_rows_are_newest_first_with_the_v_columns(api: httpx.Client,
                                                  indexed_store: IndexedStore) -> None:
    object_id, alerts = max(by_object(indexed_store.alerts).items(), key=lambda kv: len(kv[1]))
    rows = fetch(api, objectId=object_id)
    jds = [row["i:jd"] for row in rows]
    assert jds == sorted(jds, reverse=True)
    assert len(rows) == len(alerts) > 10
    for row in rows:
        assert row["v:lapse"] == pytest.approx(row["i:jd"] - row["i:jdstarthist"])
        assert row["v:lastdate"][:4] in ("2018", "2019", "2020", "2021", "2022", "2023", "2024",
                                         "2025", "2026")
        assert isinstance(row["v:constellation"], str)
        assert row["v:classification"]
    assert any(row["v:g-r"] is not None for row in rows) or {r["i:fid"] for r in rows} != {1, 2}


def test_a_prefix_finds_every_object_it_starts(api: httpx.Client,
                                               indexed_store: IndexedStore) -> None:
    objects = by_object(indexed_store.alerts)
    prefix = sorted(objects)[len(objects) // 2][:8]
    wanted = {name for name in objects if name.startswith(prefix)}
    rows = fetch(api, objectId=prefix, columns="i:objectId")
    assert {row["i:objectId"] for row in rows} == wanted
    assert len(rows) == sum(len(objects[name]) for name in wanted)


def test_upper_limits_and_bad_quality_rows_come_from_the_history(
        api: httpx.Client, indexed_store: IndexedStore) -> None:
    objects = by_object(indexed_store.alerts)
    with_history = [name for name, alerts in objects.items() if history_measurements(alerts)]
    for object_id in with_history[:40]:
        rows = fetch(api, objectId=object_id, withupperlim="true")
        tags = [row["d:tag"] for row in rows]
        assert tags.count("valid") == len(objects[object_id])
        extra = {(row["i:jd"], row["i:candid"] if row.get("i:candid") is not None
                  else ("pid", row.get("i:pid")))
                 for row in rows if row["d:tag"] != "valid"}
        assert extra == history_measurements(objects[object_id])
        for row in rows:
            if row["d:tag"] == "upperlim":
                assert row.get("i:magpsf") is None or row.get("i:candid") is None


def test_withcutouts_adds_the_decoded_stamps(api: httpx.Client,
                                             indexed_store: IndexedStore) -> None:
    alert = next(a for a in indexed_store.alerts
                 if (a.get("cutoutScience") or {}).get("stampData"))
    rows = fetch(api, objectId=alert["objectId"], withcutouts="true", columns="i:candid")
    row = next(row for row in rows if row["i:candid"] == alert["candid"])
    for kind in ("Science", "Template", "Difference"):
        stamp = alert[f"cutout{kind}"]["stampData"]
        expected = fits.getdata(io.BytesIO(gzip.decompress(stamp)))
        np.testing.assert_array_equal(np.array(row[f"b:cutout{kind}_stampData"], dtype=float),
                                      expected.astype(float))


def test_the_four_output_formats_hold_the_same_rows(api: httpx.Client,
                                                    indexed_store: IndexedStore) -> None:
    ids = sorted(by_object(indexed_store.alerts))[:30]
    params = {"objectId": ",".join(ids), "columns": "i:objectId,i:candid,i:jd,i:magpsf,i:fid"}
    rows = fetch(api, **params)
    bodies = {fmt: api.get("/objects", params={**params, "output-format": fmt}).content
              for fmt in ("csv", "parquet", "votable")}
    frames = {
        "csv": pd.read_csv(io.BytesIO(bodies["csv"])),
        "parquet": pq.read_table(io.BytesIO(bodies["parquet"])).to_pandas(),
        "votable": Table.read(io.BytesIO(bodies["votable"]), format="votable",
                              use_names_over_ids=True).to_pandas(),
    }
    for fmt, frame in frames.items():
        assert list(frame.columns) == params["columns"].split(","), fmt
        assert list(frame["i:candid"]) == [row["i:candid"] for row in rows], fmt
        assert list(frame["i:objectId"]) == [row["i:objectId"] for row in rows], fmt
        np.testing.assert_array_equal(frame["i:jd"], [row["i:jd"] for row in rows])


def test_get_and_post_answer_alike(api: httpx.Client, indexed_store: IndexedStore) -> None:
    object_id = sorted(by_object(indexed_store.alerts))[0]
    asked = {"objectId": object_id, "withupperlim": True, "columns": "i:jd,d:tag,v:lapse"}
    got = api.get("/objects", params={**asked, "withupperlim": "true"})
    posted = api.post("/objects", json=asked)
    assert got.status_code == posted.status_code == 200
    assert got.json() == posted.json()
    assert got.json()


def test_cutouts_as_array_fits_and_png(api: httpx.Client, indexed_store: IndexedStore) -> None:
    alert = latest_alert(next(alerts for alerts in by_object(indexed_store.alerts).values()
                              if (latest_alert(alerts).get("cutoutScience") or {}).get(
                                  "stampData")))
    ask = {"objectId": alert["objectId"]}
    array = api.get("/cutouts", params={**ask, "kind": "All", "output-format": "array"}).json()
    for kind in ("Science", "Template", "Difference"):
        expected = fits.getdata(io.BytesIO(gzip.decompress(alert[f"cutout{kind}"]["stampData"])))
        got = np.array(array[f"b:cutout{kind}_stampData"], dtype=float)
        assert got.shape == expected.shape == (63, 63)
        np.testing.assert_array_equal(got, expected.astype(float))
    fits_body = api.get("/cutouts", params={**ask, "kind": "Difference", "output-format": "FITS"})
    with fits.open(io.BytesIO(fits_body.content)) as hdus:
        np.testing.assert_array_equal(hdus[0].data, fits.getdata(io.BytesIO(gzip.decompress(
            alert["cutoutDifference"]["stampData"]))))
    png = api.get("/cutouts", params={**ask, "candid": alert["candid"]})
    assert png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size == (63, 63)


def test_cutouts_of_an_unknown_object_or_alert_are_404(api: httpx.Client,
                                                       indexed_store: IndexedStore) -> None:
    missing = api.get("/cutouts", params={"objectId": "ZTF99zzzzzzz"})
    assert missing.status_code == 404
    assert "no alert" in missing.json()["text"]
    alert = indexed_store.alerts[0]
    wrong = api.get("/cutouts", params={"objectId": alert["objectId"], "candid": 1})
    assert wrong.status_code == 404
    assert "candid 1" in wrong.json()["text"]


def test_unknown_objects_give_an_empty_list(api: httpx.Client) -> None:
    assert fetch(api, objectId="ZTF99zzzzzzz") == []
    assert json.loads(api.get("/objects", params={"objectId": "ZTF99zzzzzz*"}).text) == []
