"""The portal's data shaping: result summaries, tag counts, the row cache."""

from __future__ import annotations

import math

import pytest

from finkportal_portal.data import (
    RowCache,
    TimedValue,
    band_label,
    is_alert,
    rows_by_object,
    summarise,
    tag_counts,
)


def row(object_id: str, **values: object) -> dict[str, object]:
    return {"i:objectId": object_id, **values}


def test_summaries_keep_each_objects_newest_row_and_count_its_alerts() -> None:
    rows = [row("ZTF1", **{"i:magpsf": 18.123, "i:fid": 2, "v:classification": "SN candidate",
                           "v:lastdate": "2024-03-05 12:00:00.000", "i:ra": 10.0,
                           "i:dec": -5.0, "v:separation_degree": 1 / 3600}),
            row("ZTF2", **{"i:fid": 1}), row("ZTF1", **{"i:magpsf": 19.0})]
    first, second = summarise(rows)
    assert first == {"objectId": "ZTF1", "class": "SN candidate",
                     "lastdate": "2024-03-05 12:00:00.000", "ndet": 2, "mag": 18.12,
                     "band": "r", "ra": 10.0, "dec": -5.0, "separation_arcsec": 1.0}
    assert (second["objectId"], second["band"], second["class"], second["ndet"]) == (
        "ZTF2", "g", "Unknown", 1)
    assert math.isnan(second["mag"])
    assert second["separation_arcsec"] is None


def test_rows_are_grouped_per_object_and_tags_counted() -> None:
    rows = [row("A"), row("B", **{"d:tag": "upperlim"}), row("A", **{"d:tag": "badquality"})]
    assert {k: len(v) for k, v in rows_by_object(rows).items()} == {"A": 2, "B": 1}
    assert tag_counts(rows) == {"valid": 1, "upperlim": 1, "badquality": 1}
    assert [is_alert(r) for r in rows] == [True, False, False]


def test_band_labels_survive_missing_and_unknown_filter_ids() -> None:
    assert [band_label(fid) for fid in (1, 2.0, "3")] == ["g", "r", "i"]
    assert band_label(None) == band_label("x") == band_label(7) == "?"
    assert band_label(None, unknown="-") == "-"
    assert summarise([row("ZTF3")])[0]["band"] == "?"  # a row without i:fid


def test_the_row_cache_asks_once_until_fresh_or_expired() -> None:
    calls: list[str] = []

    def fetch(object_id: str) -> list[dict[str, object]]:
        calls.append(object_id)
        return [row(object_id, n=len(calls))]

    cache = RowCache(fetch, ttl_s=60, size=2)
    assert cache.get("A") == cache.get("A") == [row("A", n=1)]
    assert cache.get("A", fresh=True) == [row("A", n=2)]  # a page load always asks again
    cache.get("B"), cache.get("C")  # "A" is the least recently used: evicted
    cache.get("A")
    assert calls == ["A", "A", "B", "C", "A"]
    expired = RowCache(fetch, ttl_s=0)
    expired.get("D"), expired.get("D")
    assert calls[-2:] == ["D", "D"]


def test_a_timed_value_is_fetched_again_only_after_its_ttl_or_a_failure() -> None:
    calls: list[int] = []

    def fetch() -> list[str]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("API down")
        return ["SN candidate"]

    value = TimedValue(fetch, ttl_s=60)
    with pytest.raises(RuntimeError):
        value.get()
    assert value.get() == value.get() == ["SN candidate"]  # the failure was not kept
    assert len(calls) == 2
    assert TimedValue(fetch, ttl_s=0).get() == ["SN candidate"]
    assert len(calls) == 3
