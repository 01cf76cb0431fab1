"""Request dates as Julian dates: UTC text, a Julian date or a modified Julian date.

One reading for the query API and the portal's search bar, so that what the portal
accepts is exactly what the API accepts. Callers word the errors for their users.
Plain arithmetic on the Unix epoch rather than astropy ``Time``: leap seconds do not
matter at the precision of a request's date.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

JD_UNIX_EPOCH = 2440587.5
MJD_OFFSET = 2400000.5
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECONDS_PER_DAY = 86400.0
_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M")


class NotADateError(ValueError):
    """The text is no date format (``numeric`` False), or a number that cannot be a
    (modified) Julian date: negative, infinite or NaN (``numeric`` True)."""

    def __init__(self, text: str, *, numeric: bool) -> None:
        super().__init__(text)
        self.numeric = numeric


class DateOutOfRangeError(ValueError):
    """A Julian date outside the years 1858-2406."""


def date_to_jd(text: str) -> float:
    """The Julian date of a UTC date text, a JD (> 2400000) or an MJD."""
    stripped = text.strip()
    try:
        number = float(stripped)
    except ValueError:
        return datetime_to_jd(_parse_text(stripped))
    if not math.isfinite(number) or number < 0:
        raise NotADateError(text, numeric=True)
    jd = number if number > 2_400_000 else number + MJD_OFFSET
    if not 2_400_000.5 <= jd < 2_600_000:
        raise DateOutOfRangeError(text)
    return jd


def _parse_text(text: str) -> datetime:
    for pattern in _FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise NotADateError(text, numeric=False)


def datetime_to_jd(moment: datetime) -> float:
    return JD_UNIX_EPOCH + (moment - _UNIX_EPOCH).total_seconds() / _SECONDS_PER_DAY
