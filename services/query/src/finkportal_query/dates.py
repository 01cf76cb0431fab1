"""Dates in requests and responses: UTC text, Julian dates, modified Julian dates.

Plain arithmetic on the Unix epoch rather than astropy ``Time``: a request parses one
or two dates and a response may format thousands, and leap seconds (which astropy's
UTC scale would count) do not matter at the millisecond text Fink prints.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from finkportal_query.errors import BadParameterError

JD_UNIX_EPOCH = 2440587.5
MJD_OFFSET = 2400000.5
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECONDS_PER_DAY = 86400.0
_MILLISECONDS_PER_DAY = 86_400_000
_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M")


def parse_date(text: str, name: str) -> float:
    """The Julian date of a UTC date text, a JD (> 2400000) or an MJD."""
    stripped = text.strip()
    try:
        number = float(stripped)
    except ValueError:
        return datetime_to_jd(_parse_text(stripped, name))
    if not math.isfinite(number) or number < 0:
        raise BadParameterError(f"{name} {text!r} is not a date")
    jd = number if number > 2_400_000 else number + MJD_OFFSET
    if not 2_400_000.5 <= jd < 2_600_000:
        raise BadParameterError(f"{name} {text!r} is outside the years 1858-2406")
    return jd


def _parse_text(text: str, name: str) -> datetime:
    for pattern in _FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise BadParameterError(
        f"{name} {text!r} is not a date: use 'YYYY-MM-DD', 'YYYY-MM-DD hh:mm:ss', a Julian "
        "date or a modified Julian date")


def datetime_to_jd(moment: datetime) -> float:
    return JD_UNIX_EPOCH + (moment - _UNIX_EPOCH).total_seconds() / _SECONDS_PER_DAY


def jd_to_iso(jd: float) -> str:
    """``2459000.5`` -> ``'2020-05-31 00:00:00.000'`` (astropy's 'iso' text, milliseconds)."""
    # Split off whole days first (both subtractions are exact) and round only the day
    # fraction, as erfa does: scaling all ~2e4 days to milliseconds costs ~1e-4 ms of
    # float error, enough to round 1 jd in 10^4 to the wrong millisecond.
    days = jd - JD_UNIX_EPOCH
    whole_days = math.floor(days)
    milliseconds = math.floor((days - whole_days) * _MILLISECONDS_PER_DAY + 0.5)
    moment = _UNIX_EPOCH + timedelta(days=whole_days, milliseconds=milliseconds)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
