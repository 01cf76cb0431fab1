"""Coordinate parsing and formatting of the portal (finkportal_portal.coords).

Expected values are computed by hand in the comments: RA hours x 15 = degrees,
1 minute of time = 0.25 degree, 1 second of time = 1/240 degree.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finkportal_core.sky import parse_ra_dec
from finkportal_portal.coords import (
    CoordinateError,
    format_sexagesimal,
    galactic,
    parse_dec,
    parse_ra,
    parse_radius,
)

# 18h05m33.9s = (18*3600 + 5*60 + 33.9) s / 240 = 65133.9 / 240 = 271.39125 degrees
RA_18_05_33_9 = 271.39125
# +45d15m16.2s = 45 + 15/60 + 16.2/3600 = 45 + 0.25 + 0.0045 = 45.2545 degrees
DEC_45_15_16_2 = 45.2545


@pytest.mark.parametrize("text", [
    "18 05 33.9", "18:05:33.9", "18h05m33.9s", "18h05m33.9", "18h 05m 33.9s", "18H05M33.9S",
    "  18 05 33.9  ", "18  05  33.90",
])
def test_ra_sexagesimal_forms(text: str) -> None:
    assert parse_ra(text) == pytest.approx(RA_18_05_33_9, abs=1e-12)


@pytest.mark.parametrize(("text", "degrees"), [
    ("271.3914", 271.3914),
    ("0", 0.0),
    ("359.9999", 359.9999),
    (".5", 0.5),
    ("1e-3", 0.001),
    ("00 00 00", 0.0),
    ("23:59:59.99", 359.9999583333333),  # (86400 - 0.01) / 240
    ("12 00 00", 180.0),
    ("01:00:00", 15.0),
    ("00h01m00s", 0.25),
    ("00 00 01", 1 / 240),
    ("23 59 59.99999999999999", 0.0),  # the sum rounds to 360.0, i.e. 0
])
def test_ra_values(text: str, degrees: float) -> None:
    assert parse_ra(text) == pytest.approx(degrees, abs=1e-12)


@pytest.mark.parametrize("text", [
    "+45 15 16.2", "45 15 16.2", "+45:15:16.2", "+45d15m16.2s", "+45d15m16.2", "45d 15m 16.2s",
    "+45°15'16.2\"", "+45°15′16.2″", "+45d15'16.2\"",
])
def test_dec_sexagesimal_forms(text: str) -> None:
    assert parse_dec(text) == pytest.approx(DEC_45_15_16_2, abs=1e-12)


@pytest.mark.parametrize(("text", "degrees"), [
    ("-10 30 00", -10.5),
    ("-10:30:00", -10.5),
    ("-10d30m00s", -10.5),
    ("-00 30 00", -0.5),  # the sign of a zero degree field is kept
    ("-00:00:36", -0.01),  # 36 / 3600
    ("+90 00 00", 90.0),
    ("-90:00:00", -90.0),
    ("45.2545", 45.2545),
    ("-12.5", -12.5),
    ("+7", 7.0),
    ("90", 90.0),
])
def test_dec_values(text: str, degrees: float) -> None:
    assert parse_dec(text) == pytest.approx(degrees, abs=1e-12)


@pytest.mark.parametrize(("text", "message"), [
    ("", "ra is empty"),
    ("   ", "ra is empty"),
    ("abc", "cannot read ra 'abc': expected decimal degrees, 'HH MM SS.S'"),
    ("-10", "ra -10 is outside 0 <= ra < 360 degrees"),
    ("360", "ra 360 is outside 0 <= ra < 360 degrees"),
    ("400.5", "ra 400.5 is outside"),
    ("24 00 00", "ra '24 00 00': hours must be below 24"),
    ("100:00:00", "ra '100:00:00': hours must be below 24"),
    ("18 60 00", "ra '18 60 00': minutes must be below 60"),
    ("18:05:60", "ra '18:05:60': seconds must be below 60"),
    ("18h05m75.5s", "ra '18h05m75.5s': seconds must be below 60"),
    ("-18 05 33.9", "cannot read ra"),  # hours have no sign
    ("18d05m33.9s", "cannot read ra"),  # degree letters are for dec
    ("18:05 33.9", "cannot read ra"),  # separators are not mixed
    ("18 05", "cannot read ra"),
    ("1e999", "ra '1e999' is not a finite number"),
    ("nan", "cannot read ra 'nan'"),
])
def test_ra_errors(text: str, message: str) -> None:
    with pytest.raises(CoordinateError, match="^" + re.escape(message)):
        parse_ra(text)


@pytest.mark.parametrize(("text", "message"), [
    ("", "dec is empty"),
    ("north", "cannot read dec 'north': expected decimal degrees, '±DD MM SS.S'"),
    ("95", "dec '95' is outside -90 <= dec <= 90 degrees"),
    ("-90.0001", "dec '-90.0001' is outside"),
    ("+90 00 01", "dec '+90 00 01' is outside"),
    ("+45 61 00", "dec '+45 61 00': minutes must be below 60"),
    ("+45:15:60", "dec '+45:15:60': seconds must be below 60"),
    ("+45h15m16s", "cannot read dec"),  # hour letters are for ra
    ("+ 45 15 16", "cannot read dec"),
    ("-inf", "cannot read dec"),
])
def test_dec_errors(text: str, message: str) -> None:
    with pytest.raises(CoordinateError, match="^" + re.escape(message)):
        parse_dec(text)


def test_coordinate_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="cannot read dec"):
        parse_dec("x")


@pytest.mark.parametrize(("text", "arcsec"), [
    ("10", 10.0),
    ("2.5", 2.5),
    ("5s", 5.0),
    ("5arcsec", 5.0),
    ('5"', 5.0),
    ("2m", 120.0),
    ("2 arcmin", 120.0),
    ("2'", 120.0),
    ("0.5d", 1800.0),
    ("1deg", 3600.0),
    ("1.5DEG", 5400.0),
    (" 3M ", 180.0),
])
def test_radius_units(text: str, arcsec: float) -> None:
    assert parse_radius(text) == pytest.approx(arcsec)


@pytest.mark.parametrize(("text", "message"), [
    ("", "radius is empty"),
    ("wide", "cannot read radius 'wide': expected a number of arcseconds, optionally with "
             "a unit: s, m, d, arcsec, arcmin, deg"),
    ("5h", "cannot read radius '5h'"),
    ("5 km", "cannot read radius '5 km'"),
    ("0", "radius '0' must be above zero"),
    ("-3s", "radius '-3s' must be above zero"),
    ("1e999", "radius '1e999' is not a finite number"),
])
def test_radius_errors(text: str, message: str) -> None:
    with pytest.raises(CoordinateError, match="^" + re.escape(message)):
        parse_radius(text)


@pytest.mark.parametrize(("ra", "dec", "expected"), [
    (RA_18_05_33_9, DEC_45_15_16_2, ("18:05:33.90", "+45:15:16.2")),
    (0.0, 0.0, ("00:00:00.00", "+00:00:00.0")),
    (180.0, -10.5, ("12:00:00.00", "-10:30:00.0")),
    (15.0, -0.5, ("01:00:00.00", "-00:30:00.0")),
    # 359.99999999 deg is 0.0000024 s of time before 24h: rounds up and wraps to 0h.
    (359.99999999, 89.99999999, ("00:00:00.00", "+90:00:00.0")),
    # 0.249999 deg = 59.99976 s of time -> 60.00 s carries into the minute.
    (0.249999, -0.0000001, ("00:01:00.00", "+00:00:00.0")),
])
def test_format_sexagesimal(ra: float, dec: float, expected: tuple[str, str]) -> None:
    assert format_sexagesimal(ra, dec) == expected


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 359.999), st.floats(-90, 90))
def test_formatted_position_reads_back(ra: float, dec: float) -> None:
    ra_text, dec_text = format_sexagesimal(ra, dec)
    # Shown to 0.01 s of time (0.15 arcsec) and 0.1 arcsec: half of that at most.
    assert parse_ra(ra_text) == pytest.approx(ra, abs=0.005 / 240 + 1e-12)
    assert parse_dec(dec_text) == pytest.approx(dec, abs=0.05 / 3600 + 1e-12)


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 359.999), st.floats(-90, 90), st.sampled_from([" ", ":", "hdms"]))
def test_parsing_agrees_with_the_query_service(ra: float, dec: float, style: str) -> None:
    """The portal reads a position as the query API's parser does (finkportal_core.sky)."""
    ra_text, dec_text = (_styled(text, style) for text in format_sexagesimal(ra, dec))
    expected_ra, expected_dec = parse_ra_dec(ra_text, dec_text)
    assert parse_ra(ra_text) == pytest.approx(expected_ra, abs=1e-9)
    assert parse_dec(dec_text) == pytest.approx(expected_dec, abs=1e-9)


def test_galactic_centre_and_pole() -> None:
    # Known ICRS positions: the Galactic centre (l = b = 0) and north Galactic pole (b = 90).
    centre_l, centre_b = galactic(266.40498829, -28.93617776)
    assert min(centre_l, 360.0 - centre_l) == pytest.approx(0.0, abs=1e-6)
    assert centre_b == pytest.approx(0.0, abs=1e-6)
    assert galactic(192.85948, 27.12825)[1] == pytest.approx(90.0, abs=1e-4)


def test_galactic_of_a_plain_position() -> None:
    # The Galactic anticentre direction, l = 180, b = 0, is near ICRS (86.405, 28.936).
    galactic_l, galactic_b = galactic(86.40498829, 28.93617776)
    assert galactic_l == pytest.approx(180.0, abs=1e-6)
    assert galactic_b == pytest.approx(0.0, abs=1e-6)


def _styled(text: str, style: str) -> str:
    """'18:05:33.90' as '18 05 33.90' or '18h05m33.90s' ('+45d15m16.2s' for dec)."""
    if style == ":":
        return text
    if style == " ":
        return text.replace(":", " ")
    first, second, third = text.split(":")
    letter = "d" if first[0] in "+-" else "h"
    return f"{first}{letter}{second}m{third}s"
