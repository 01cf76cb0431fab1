"""Dates in requests and responses: UTC text, Julian dates, modified Julian dates.

Plain arithmetic on the Unix epoch rather than astropy ``Time``: a request parses one
or two dates and a response may format thousands, and leap seconds (which astropy's
UTC scale would count) do not matter at the millisecond text Fink prints.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from finkportal_core.dates import JD_UNIX_EPOCH, DateOutOfRangeError, NotADateError, date_to_jd
from finkportal_query.errors import BadParameterError

_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECONDS_PER_DAY = 86_400_000


def parse_date(text: str, name: str) -> float:
    """The Julian date of a UTC date text, a JD (> 2400000) or an MJD."""
    try:
        return date_to_jd(text)
    except DateOutOfRangeError:
        raise BadParameterError(f"{name} {text!r} is outside the years 1858-2406") from None
    except NotADateError as exc:
        if exc.numeric:
            raise BadParameterError(f"{name} {text!r} is not a date") from None
        raise BadParameterError(
            f"{name} {text!r} is not a date: use 'YYYY-MM-DD', 'YYYY-MM-DD hh:mm:ss', a Julian "
            "date or a modified Julian date") from None


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
