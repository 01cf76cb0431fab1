"""Sky coordinates as people type them, and as the portal shows them.

Parsing accepts what the query API's ``conesearch`` accepts (decimal degrees, or
sexagesimal with spaces, colons or unit letters), so a position the search bar takes
is one the API takes too; it is checked here first so that a typo is reported next to
the search bar rather than as an API error.
"""

from __future__ import annotations

import math
import re

from astropy import units as u
from astropy.coordinates import SkyCoord

__all__ = ["CoordinateError", "format_sexagesimal", "galactic", "parse_dec", "parse_ra",
           "parse_radius"]

_DECIMAL = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_DECIMAL_RE = re.compile(rf"^{_DECIMAL}$")
_SECONDS = r"(?P<s>\d{1,2}(?:\.\d*)?)"
_SIGN = r"(?P<sign>[+-]?)"

# One pattern per way of writing: the separators of one value are not mixed.
_RA_FORMS = tuple(re.compile(pattern, re.IGNORECASE) for pattern in (
    rf"^(?P<a>\d{{1,3}})\s+(?P<m>\d{{1,2}})\s+{_SECONDS}$",
    rf"^(?P<a>\d{{1,3}}):(?P<m>\d{{1,2}}):{_SECONDS}$",
    rf"^(?P<a>\d{{1,3}})h\s*(?P<m>\d{{1,2}})m\s*{_SECONDS}s?$",
))
_DEC_FORMS = tuple(re.compile(pattern, re.IGNORECASE) for pattern in (
    rf"^{_SIGN}(?P<a>\d{{1,3}})\s+(?P<m>\d{{1,2}})\s+{_SECONDS}$",
    rf"^{_SIGN}(?P<a>\d{{1,3}}):(?P<m>\d{{1,2}}):{_SECONDS}$",
    rf"^{_SIGN}(?P<a>\d{{1,3}})[d°]\s*(?P<m>\d{{1,2}})[m'′]\s*{_SECONDS}(?:s|\"|″)?$",
))
_RA_HINT = "decimal degrees, 'HH MM SS.S', 'HH:MM:SS.S' or 'HHhMMmSS.Ss'"
_DEC_HINT = "decimal degrees, '±DD MM SS.S', '±DD:MM:SS.S' or '±DDdMMmSS.Ss'"

_RADIUS_RE = re.compile(rf"^(?P<number>{_DECIMAL})\s*(?P<unit>[a-z'\"″′]*)$", re.IGNORECASE)
_ARCSEC_PER_UNIT = {
    "": 1.0, "s": 1.0, "arcsec": 1.0, '"': 1.0, "″": 1.0,
    "m": 60.0, "arcmin": 60.0, "'": 60.0, "′": 60.0,
    "d": 3600.0, "deg": 3600.0,
}
_RADIUS_HINT = ("a number of arcseconds, optionally with a unit: s, m, d, arcsec, arcmin, "
                "deg, \" or '")


class CoordinateError(ValueError):
    """A coordinate or radius that cannot be read; the message says what is wrong."""


def parse_ra(text: str) -> float:
    """Right ascension in degrees from decimal degrees or sexagesimal hours."""
    stripped = _nonempty(text, "ra")
    if _DECIMAL_RE.match(stripped):
        degrees = _finite(stripped, "ra")
        if not 0.0 <= degrees < 360.0:
            raise CoordinateError(f"ra {stripped} is outside 0 <= ra < 360 degrees")
        return degrees
    match = _first_match(_RA_FORMS, stripped)
    if match is None:
        raise CoordinateError(f"cannot read ra {stripped!r}: expected {_RA_HINT}")
    hours = int(match["a"])
    if hours >= 24:
        raise CoordinateError(f"ra {stripped!r}: hours must be below 24")
    # Sum in seconds of time, then divide once: 18 05 33.9 gives exactly 271.39125.
    # The modulo: 23 59 59.99999999999999 rounds to 360.0, which is 0.
    return _sexagesimal_seconds(match, stripped, "ra") / 240.0 % 360.0


def parse_dec(text: str) -> float:
    """Declination in degrees from decimal degrees or sexagesimal degrees."""
    stripped = _nonempty(text, "dec")
    if _DECIMAL_RE.match(stripped):
        degrees = _finite(stripped, "dec")
    else:
        match = _first_match(_DEC_FORMS, stripped)
        if match is None:
            raise CoordinateError(f"cannot read dec {stripped!r}: expected {_DEC_HINT}")
        magnitude = _sexagesimal_seconds(match, stripped, "dec") / 3600.0
        # The sign is read apart from the degrees so that "-00 30 00" stays negative.
        degrees = -magnitude if match["sign"] == "-" else magnitude
    if not -90.0 <= degrees <= 90.0:
        raise CoordinateError(f"dec {stripped!r} is outside -90 <= dec <= 90 degrees")
    return degrees


def parse_radius(text: str) -> float:
    """A radius in arcseconds: a plain number is arcseconds, else its unit says."""
    stripped = _nonempty(text, "radius")
    match = _RADIUS_RE.match(stripped)
    unit = match["unit"].lower() if match else ""
    if match is None or unit not in _ARCSEC_PER_UNIT:
        raise CoordinateError(f"cannot read radius {stripped!r}: expected {_RADIUS_HINT}")
    arcsec = _finite(match["number"], "radius") * _ARCSEC_PER_UNIT[unit]
    if not arcsec > 0.0:
        raise CoordinateError(f"radius {stripped!r} must be above zero")
    return arcsec


def format_sexagesimal(ra: float, dec: float) -> tuple[str, str]:
    """``(271.39125, 45.2545)`` -> ``("18:05:33.90", "+45:15:16.2")``.

    Rounded once to the last digit shown, then split, so 59.999 s carries into the
    minute instead of printing as 60.00.
    """
    hundredths = round(ra % 360.0 * 240.0 * 100.0) % (24 * 3600 * 100)
    hours, rest = divmod(hundredths, 3600 * 100)
    minutes, rest = divmod(rest, 60 * 100)
    ra_text = f"{hours:02d}:{minutes:02d}:{rest // 100:02d}.{rest % 100:02d}"
    tenths = round(abs(dec) * 3600.0 * 10.0)
    degrees, rest = divmod(tenths, 3600 * 10)
    minutes, rest = divmod(rest, 60 * 10)
    sign = "-" if dec < 0 and tenths > 0 else "+"
    dec_text = f"{sign}{degrees:02d}:{minutes:02d}:{rest // 10:02d}.{rest % 10}"
    return ra_text, dec_text


def galactic(ra: float, dec: float) -> tuple[float, float]:
    """Galactic ``(l, b)`` in degrees of an ICRS position (astropy, no download)."""
    position = SkyCoord(ra=ra * u.deg, dec=dec * u.deg, frame="icrs").galactic
    return float(position.l.deg), float(position.b.deg)


def _nonempty(text: str, name: str) -> str:
    stripped = text.strip()
    if not stripped:
        raise CoordinateError(f"{name} is empty")
    return stripped


def _finite(text: str, name: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e999 overflows to inf
        raise CoordinateError(f"{name} {text!r} is not a finite number")
    return number


def _first_match(forms: tuple[re.Pattern[str], ...], text: str) -> re.Match[str] | None:
    for form in forms:
        match = form.match(text)
        if match is not None:
            return match
    return None


def _sexagesimal_seconds(match: re.Match[str], text: str, name: str) -> float:
    """``a``, ``m``, ``s`` as seconds (of time for ra, of arc for dec), checked < 60."""
    minutes, seconds = int(match["m"]), float(match["s"])
    if minutes >= 60:
        raise CoordinateError(f"{name} {text!r}: minutes must be below 60")
    if seconds >= 60.0:
        raise CoordinateError(f"{name} {text!r}: seconds must be below 60")
    return int(match["a"]) * 3600 + minutes * 60 + seconds
