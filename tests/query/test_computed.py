"""The basic ``v:`` columns: class, dates, lapse and constellation of alert rows."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from astropy.coordinates import SkyCoord, get_constellation
from astropy.time import Time
from hypothesis import given, settings
from hypothesis import strategies as st

from finkportal_core.classification import alert_class
from finkportal_query.computed import BASIC_COLUMNS, add_basic_columns
from finkportal_query.dates import jd_to_iso

JD = 2460000.5
CANDIDATE = ("ndethist", "drb", "classtar", "jd", "jdstarthist")
ADDED = ("cdsxmatch", "roid", "mulens", "snn_snia_vs_nonia", "snn_sn_vs_all", "rf_snia_vs_nonia",
         "rf_kn_vs_nonkn", "tracklet")
Row = dict[str, Any]


def row_of(values: dict[str, Any], ra: float = 150.0, dec: float = 2.0) -> Row:
    """A Fink row: ``i:`` candidate fields, ``d:`` added values, plus a position."""
    row: Row = {"i:objectId": "ZTF23abcdefg", "i:ra": ra, "i:dec": dec}
    row.update({f"i:{name}": values[name] for name in CANDIDATE if name in values})
    row.update({f"d:{name}": values[name] for name in ADDED if name in values})
    return row


def alert_of(values: dict[str, Any]) -> dict[str, Any]:
    """The same values as an alert dict, the shape finkportal_core.alert_class reads."""
    alert: dict[str, Any] = {name: values[name] for name in ADDED if name in values}
    alert["candidate"] = {name: values[name] for name in CANDIDATE if name in values}
    return alert


def computed(row: Row) -> Row:
    add_basic_columns([row])
    return row


# --- v:classification ------------------------------------------------------------------

QUIET = {"cdsxmatch": "Unknown", "roid": 0, "mulens": 0.0, "snn_snia_vs_nonia": 0.1,
         "snn_sn_vs_all": 0.1, "rf_snia_vs_nonia": 0.1, "rf_kn_vs_nonkn": 0.1, "ndethist": 5,
         "drb": 0.9, "classtar": 0.9, "jd": JD, "jdstarthist": JD - 10, "tracklet": None}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "Unknown"),
        ({"snn_snia_vs_nonia": 0.9}, "SN candidate"),
        ({"snn_snia_vs_nonia": 0.9, "rf_snia_vs_nonia": 0.9}, "Early SN Ia candidate"),
        ({"rf_kn_vs_nonkn": 0.9, "jdstarthist": JD - 2}, "Kilonova candidate"),
        ({"mulens": 0.5}, "Microlensing candidate"),
        ({"roid": 2}, "Solar System candidate"),
        ({"roid": 3}, "Solar System MPC"),
        ({"tracklet": "TRCK_20231012_081523_00"}, "Tracklet"),
        ({"mulens": 0.5, "roid": 3}, "Ambiguous"),
        ({"cdsxmatch": "RRLyr", "roid": 3}, "RRLyr"),  # a SIMBAD label wins
        ({"cdsxmatch": "Galaxy", "snn_snia_vs_nonia": 0.9}, "SN candidate"),
        # no added values at all (e.g. an alert stored without them)
        (dict.fromkeys(ADDED), "Unknown"),
    ],
)
def test_classification_examples(changes: dict[str, Any], expected: str) -> None:
    assert computed(row_of({**QUIET, **changes}))["v:classification"] == expected


scores = st.one_of(st.none(), st.sampled_from([0.1, 0.5, 0.51, 0.9]), st.floats(0, 1))
class_values = st.fixed_dictionaries(
    {
        "cdsxmatch": st.sampled_from(["Unknown", "Galaxy", "galaxy", "SN", "RRLyr", "EB*",
                                      "Fail 504", "Transient", "QSO", None]),
        "roid": st.sampled_from([0, 1, 2, 3, None]),
        "mulens": st.one_of(st.none(), st.sampled_from([0.0, 0.3]), st.floats(0, 1)),
        "snn_snia_vs_nonia": scores,
        "snn_sn_vs_all": scores,
        "rf_snia_vs_nonia": scores,
        "rf_kn_vs_nonkn": scores,
        "ndethist": st.one_of(st.none(), st.integers(0, 30)),
        "drb": scores,
        "classtar": scores,
        "jd": st.just(JD),
        "jdstarthist": st.one_of(st.none(),
                                 st.sampled_from([0.0, 2.0, 4.9, 5.0, 10.0, 90.0, 100.0])
                                 .map(lambda age: JD - age)),
        "tracklet": st.sampled_from([None, "", "TRCK_20231012_081523_00"]),
    }
)


@settings(max_examples=100, deadline=None)
@given(st.lists(class_values, min_size=1, max_size=5))
def test_classification_is_fink_class_of_the_same_values(values: list[dict[str, Any]]) -> None:
    rows = [row_of(one) for one in values]
    add_basic_columns(rows)
    assert [row["v:classification"] for row in rows] == [alert_class(alert_of(one))
                                                        for one in values]


# --- v:lastdate, v:firstdate, v:lapse ---------------------------------------------------


def test_dates_and_lapse_example() -> None:
    row = computed({"i:jd": 2459000.5, "i:jdstarthist": 2458990.25})
    assert row["v:lastdate"] == "2020-05-31 00:00:00.000" == Time(2459000.5, format="jd").iso
    assert row["v:firstdate"] == "2020-05-20 18:00:00.000" == Time(2458990.25, format="jd").iso
    assert row["v:lapse"] == 10.25


@settings(max_examples=100, deadline=None)
@given(st.floats(2458000, 2462000), st.floats(0, 1000))
def test_dates_and_lapse_from_jd_and_jdstarthist(jd: float, age: float) -> None:
    first = jd - age
    row = computed({"i:jd": jd, "i:jdstarthist": first})
    assert row["v:lastdate"] == jd_to_iso(jd)
    assert row["v:firstdate"] == jd_to_iso(first)
    assert row["v:lapse"] == jd - first
    assert row["v:lapse"] >= 0


# --- v:constellation -------------------------------------------------------------------


def one_constellation(ra: float, dec: float) -> str:
    """Fink's way: one SkyCoord per row."""
    return str(get_constellation(SkyCoord(ra, dec, unit="deg")))


@pytest.mark.parametrize(
    ("ra", "dec", "expected"),
    [
        (83.822, -5.391, "Orion"),  # M42
        (10.685, 41.269, "Andromeda"),  # M31
        (201.365, -43.019, "Centaurus"),  # Centaurus A
        (266.417, -29.008, "Sagittarius"),  # Sgr A*
        (0.0, 90.0, "Ursa Minor"),
        (0.0, -90.0, "Octans"),
    ],
)
def test_constellation_examples(ra: float, dec: float, expected: str) -> None:
    assert computed({"i:ra": ra, "i:dec": dec})["v:constellation"] == expected


def test_constellations_in_one_call_match_one_by_one() -> None:
    rng = np.random.default_rng(3)
    ra = rng.uniform(0, 360, 60)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, 60)))  # uniform on the sphere
    edges = [(0.0, 0.0), (360.0, 0.0), (-10.0, 5.0), (359.9999, -89.9999), (180.0, 89.99),
             (120, 30)]  # ints are valid too
    positions = [*zip(ra.tolist(), dec.tolist(), strict=True), *edges]
    rows = [{"i:ra": r, "i:dec": d} for r, d in positions]
    add_basic_columns(rows)
    expected = [one_constellation(r, d) for r, d in positions]
    assert [row["v:constellation"] for row in rows] == expected
    assert len(set(expected)) > 25  # the sample really spans the sky


# --- missing and malformed values --------------------------------------------------------


@pytest.mark.parametrize(
    "row",
    [
        pytest.param({}, id="empty row"),
        pytest.param({"i:ra": None, "i:dec": None, "i:jd": None, "i:jdstarthist": None},
                     id="all None"),
        pytest.param({"i:ra": math.nan, "i:dec": 1.0, "i:jd": math.nan,
                      "i:jdstarthist": math.nan}, id="NaN"),
        pytest.param({"i:ra": "12.5", "i:dec": "1.0", "i:jd": "2459000.5"}, id="strings"),
        pytest.param({"i:ra": 10.0, "i:dec": 95.0, "i:jd": math.inf}, id="out of range"),
        pytest.param({"i:ra": True, "i:dec": False, "i:jd": True}, id="booleans"),
    ],
)
def test_missing_values_give_none(row: Row) -> None:
    computed(row)
    assert row["v:classification"] == "Unknown"
    for name in ("v:lastdate", "v:firstdate", "v:lapse", "v:constellation"):
        assert row[name] is None, name


def test_partial_rows_get_what_can_be_computed() -> None:
    rows = [
        {"i:ra": 83.822, "i:dec": -5.391, "i:jd": 2459000.5},  # no jdstarthist
        {"i:ra": None, "i:dec": -5.391, "i:jdstarthist": 2459000.5},  # no ra, no jd
        {"i:ra": 10.685, "i:dec": 41.269, "i:jd": 2459001.5, "i:jdstarthist": 2459000.5},
    ]
    add_basic_columns(rows)
    assert [row["v:lastdate"] for row in rows] == [
        "2020-05-31 00:00:00.000", None, "2020-06-01 00:00:00.000"]
    assert [row["v:firstdate"] for row in rows] == [None, "2020-05-31 00:00:00.000",
                                                    "2020-05-31 00:00:00.000"]
    assert [row["v:lapse"] for row in rows] == [None, None, 1.0]
    # the positions around a missing one still get their own constellation
    assert [row["v:constellation"] for row in rows] == ["Orion", None, "Andromeda"]


def test_no_rows_and_every_column_added() -> None:
    add_basic_columns([])
    row = computed(row_of(QUIET))
    assert set(BASIC_COLUMNS) <= row.keys()
    assert row["i:jd"] == JD  # input cells untouched
