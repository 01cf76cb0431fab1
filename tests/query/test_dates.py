"""Request dates and response dates against astropy ``Time``, which Fink itself uses.

Fink parses dates with ``isoify_time`` (``Time(text)``, else a number: JD when
``f // 2400000`` else MJD) and prints ``Time(jd, format="jd").iso``.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import numpy as np
import pytest
from astropy.time import Time
from erfa import ErfaWarning
from hypothesis import example, given, settings
from hypothesis import strategies as st

from finkportal_query.dates import jd_to_iso, parse_date
from finkportal_query.errors import BadParameterError

DAY_TOLERANCE = 1e-8  # ~1 ms


def astropy_jd(text: str) -> float:
    return float(Time(text, scale="utc").jd)


@pytest.mark.parametrize(
    "text",
    [
        "2021-01-01",
        "2021-01-01 12:00:00",
        "2021-01-01T12:00:00",
        "2021-01-01 12:00",
        "2021-01-01T12:00",
        "2019-11-01 00:00:00",  # Fink's default startdate
        "2021-01-01 12:00:00.5",
        "2021-01-01T23:59:59.999999",
        "2020-02-29 06:30:15.25",  # leap day
        "2017-01-01 00:00:00",  # just after the last leap second
        "1999-12-31 23:59:59",
    ],
)
def test_iso_text_like_astropy(text: str) -> None:
    assert parse_date(text, "startdate") == pytest.approx(astropy_jd(text), abs=DAY_TOLERANCE)


def test_surrounding_spaces_are_ignored() -> None:
    assert parse_date("  2021-01-01 12:00:00 ", "startdate") == 2459216.0


# No leap second has been inserted since 2016-12-31, so from 2017 on a UTC day is 86400 s
# in both astropy and plain datetime arithmetic.
moments = st.datetimes(min_value=datetime(2017, 1, 1), max_value=datetime(2035, 12, 31))


@settings(max_examples=150, deadline=None)
@given(moments, st.sampled_from([" ", "T"]), st.sampled_from([0, 1, 3, 6]))
def test_iso_datetimes_like_astropy(moment: datetime, separator: str, digits: int) -> None:
    text = moment.isoformat(sep=separator, timespec="microseconds")[: 19 + (digits and digits + 1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ErfaWarning)  # "dubious year" past the leap table
        expected = astropy_jd(text)
    assert parse_date(text, "stopdate") == pytest.approx(expected, abs=DAY_TOLERANCE)


def test_a_leap_second_day_differs_from_astropy_by_under_a_second() -> None:
    # astropy's UTC JD stretches 2016-12-31 over 86401 s; ours counts 86400 s a day. The
    # difference (at most the leap second) predates ZTF and stays below a second.
    text = "2016-12-31 12:00:00"
    difference = parse_date(text, "startdate") - astropy_jd(text)
    assert 0 < difference < 1 / 86400
    assert parse_date(text, "startdate") == 2457754.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2459000.5", 2459000.5),
        ("2459216", 2459216.0),
        ("2400000.5", 2400000.5),  # the first JD read as a JD
        ("59000", 2459000.5),  # MJD
        ("59000.25", 2459000.75),
        ("0", 2400000.5),  # MJD 0
        ("5e4", 2450000.5),
    ],
)
def test_numbers_are_jd_or_mjd(text: str, expected: float) -> None:
    assert parse_date(text, "startdate") == expected


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=2400001, max_value=2500000))
def test_julian_dates_like_astropy(jd: float) -> None:
    assert parse_date(repr(jd), "startdate") == pytest.approx(
        float(Time(jd, format="jd").jd), abs=DAY_TOLERANCE)


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=0, max_value=100000))
def test_modified_julian_dates_like_astropy(mjd: float) -> None:
    assert parse_date(repr(mjd), "startdate") == pytest.approx(
        float(Time(mjd, format="mjd").jd), abs=DAY_TOLERANCE)


@pytest.mark.parametrize(
    "text",
    [
        "", "   ", "yesterday", "2021-13-01", "2021-02-30", "2021-01-01 25:00:00",
        "2021/01/01", "01-01-2021", "2021-01-01 12:00:00 UTC", "nan", "inf", "-inf",
        "-1", "-59000", "-2459000.5", "1e12", "3000000", "2600000", "199999.5",
    ],
)
def test_junk_negative_and_out_of_range_are_rejected(text: str) -> None:
    with pytest.raises(BadParameterError) as caught:
        parse_date(text, "startdate")
    assert caught.value.status == 400
    assert "startdate" in caught.value.message


# --- jd_to_iso ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jd", "expected"),
    [
        (2459000.5, "2020-05-31 00:00:00.000"),
        (2459216.0, "2021-01-01 12:00:00.000"),
        (2458000.0 + 0.25 / 86400, "2017-09-03 12:00:00.250"),
        (2459001.5 - 0.0001 / 86400, "2020-06-01 00:00:00.000"),  # rounds into the next day
        (2459000.5 + 0.0004 / 86400, "2020-05-31 00:00:00.000"),
        (2459000.5 + 0.0006 / 86400, "2020-05-31 00:00:00.001"),
    ],
)
def test_jd_to_iso_examples(jd: float, expected: str) -> None:
    assert Time(jd, format="jd").iso == expected  # the examples are astropy's
    assert jd_to_iso(jd) == expected


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=2458000, max_value=2462000))
# jds whose millisecond lies within ~1e-4 ms of a rounding boundary (found by comparing
# 200000 random jds with astropy)
@example(2459368.3149603414)
@example(2460346.996234566)
@example(2459604.661020839)
def test_jd_to_iso_like_astropy(jd: float) -> None:
    assert jd_to_iso(jd) == Time(jd, format="jd").iso


def test_jd_to_iso_like_astropy_in_bulk() -> None:
    jds = np.random.default_rng(1).uniform(2458000, 2462000, 50_000)
    expected = Time(jds, format="jd").iso
    mismatches = [(jd, iso, jd_to_iso(jd)) for jd, iso in zip(jds.tolist(), expected, strict=True)
                  if jd_to_iso(jd) != iso]
    assert mismatches == []


def test_parse_date_and_jd_to_iso_round_trip() -> None:
    moment = datetime(2023, 7, 14, 3, 25, 46, 789000, tzinfo=UTC)
    text = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    assert jd_to_iso(parse_date(text, "startdate")) == "2023-07-14 03:25:46.789"
