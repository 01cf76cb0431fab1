"""Colour and rate columns, computed as fink-object-api's ``extract_rate_and_color``.

Over the alert rows of a response, per object, in time order:

- ``v:rate`` / ``v:sigma(rate)``: magnitude change per day since the previous alert in
  the same band (g or r), and its error; NaN for the first of a band and other bands;
- ``v:g-r`` / ``v:sigma(g-r)``: each g alert paired with the nearest r alert within
  0.3 day (an r alert may serve several g alerts);
- ``v:rate(g-r)`` / ``v:sigma(rate(g-r))``: change of g-r per day between consecutive
  pairs;
- then every row of the object within 0.3 day of a paired g alert gets that pair's
  four colour values (NaN otherwise), whatever its band.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from finkportal_query.rows import FinkRow, number_or_nan

TOLERANCE_DAYS = 0.3
G_BAND, R_BAND = 1, 2
RATE_COLUMNS = ("v:rate", "v:sigma(rate)")
COLOR_COLUMNS = ("v:g-r", "v:sigma(g-r)", "v:rate(g-r)", "v:sigma(rate(g-r))")
Floats = NDArray[np.float64]


def add_color_columns(rows: Sequence[FinkRow]) -> None:
    """Add the rate and colour columns to alert rows, in place."""
    by_object: dict[object, list[FinkRow]] = defaultdict(list)
    for row in rows:
        if math.isfinite(number_or_nan(row.get("i:jd"))):
            by_object[row.get("i:objectId")].append(row)
        else:  # no place in a light curve (a NaN would also break the sort by jd)
            row.update(dict.fromkeys((*RATE_COLUMNS, *COLOR_COLUMNS)))
    for object_rows in by_object.values():
        _add_to_object(sorted(object_rows, key=lambda row: number_or_nan(row.get("i:jd"))))


def _add_to_object(rows: list[FinkRow]) -> None:
    jd, mag, sigma, fid = (_column(rows, name) for name in ("i:jd", "i:magpsf", "i:sigmapsf",
                                                            "i:fid"))
    rate, rate_sigma = _band_rates(jd, mag, sigma, fid)
    colors = _color_per_row(jd, mag, sigma, fid)
    for position, row in enumerate(rows):
        row["v:rate"], row["v:sigma(rate)"] = _value(rate[position]), _value(rate_sigma[position])
        for name, values in zip(COLOR_COLUMNS, colors, strict=True):
            row[name] = _value(values[position])


def _band_rates(jd: Floats, mag: Floats, sigma: Floats, fid: Floats) -> tuple[Floats, Floats]:
    rate = np.full(len(jd), np.nan)
    rate_sigma = np.full(len(jd), np.nan)
    for band in (G_BAND, R_BAND):
        index = np.flatnonzero(fid == band)
        if len(index) < 2:
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            days = np.diff(jd[index])
            rate[index[1:]] = np.diff(mag[index]) / days
            rate_sigma[index[1:]] = np.hypot(sigma[index[1:]], sigma[index[:-1]]) / days
    return rate, rate_sigma


def _color_per_row(jd: Floats, mag: Floats, sigma: Floats, fid: Floats) -> list[Floats]:
    g, r = np.flatnonzero(fid == G_BAND), np.flatnonzero(fid == R_BAND)
    empty = [np.full(len(jd), np.nan) for _ in COLOR_COLUMNS]
    if len(g) == 0 or len(r) == 0:
        return empty
    partner = nearest_within(jd[g], jd[r], TOLERANCE_DAYS)
    paired = partner >= 0
    g, partner = g[paired], r[partner[paired]]
    if len(g) == 0:
        return empty
    color = mag[g] - mag[partner]
    color_sigma = np.hypot(sigma[g], sigma[partner])
    color_rate, color_rate_sigma = np.full(len(g), np.nan), np.full(len(g), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        days = np.diff(jd[g])
        color_rate[1:] = np.diff(color) / days
        color_rate_sigma[1:] = np.hypot(color_sigma[1:], color_sigma[:-1]) / days
    nearest_pair = nearest_within(jd, jd[g], TOLERANCE_DAYS)
    found = nearest_pair >= 0
    spread = []
    for values in (color, color_sigma, color_rate, color_rate_sigma):
        column = np.full(len(jd), np.nan)
        column[found] = values[nearest_pair[found]]
        spread.append(column)
    return spread


def nearest_within(times: Floats, candidates: Floats, tolerance: float) -> NDArray[np.int64]:
    """Index of the nearest of the sorted ``candidates`` to each time, -1 if none within
    ``tolerance``, as pandas' ``merge_asof(direction="nearest")``: an exact tie goes to
    the earlier side, and among equal candidates the backward one is the last."""
    if len(candidates) == 0:
        return np.full(len(times), -1, dtype=np.int64)
    last = len(candidates) - 1
    before = np.searchsorted(candidates, times, side="right") - 1  # last candidate <= time
    after = np.searchsorted(candidates, times, side="left")  # first candidate >= time
    before_gap = np.where(before >= 0, times - candidates[before.clip(0, last)], np.inf)
    after_gap = np.where(after <= last, candidates[after.clip(0, last)] - times, np.inf)
    choice = np.where(before_gap <= after_gap, before, after)
    gap = np.minimum(before_gap, after_gap)
    return np.where(gap <= tolerance, choice, -1).astype(np.int64)


def _column(rows: list[FinkRow], name: str) -> Floats:
    return np.array([number_or_nan(row.get(name)) for row in rows], dtype=np.float64)


def _value(number: np.float64) -> float | None:
    return None if np.isnan(number) else float(number)
