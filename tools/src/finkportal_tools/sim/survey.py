"""A ZTF-like survey: the night window, field grid, exposure plan and field histories.

The night is a sequence of exposures. Fields are taken in groups: every field of a
group in g, then the same fields in r, so each field gets two visits about half
an hour apart, as in the ZTF public survey. Every exposure covers 64 readout
quadrants (``rcid``); all alerts of one exposure share its ``jd`` and ``pid``
prefix. A field's history (earlier nights) follows a ~2-3 day cadence with gaps.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

JD_UNIX_EPOCH = 2440587.5
# Palomar nights, in UTC fractions of the night date: 03:00 to 12:30.
NIGHT_START_FRACTION = 0.125
NIGHT_END_FRACTION = 0.52
FIELD_HALF_WIDTH_DEG = 3.45
QUADRANTS_PER_SIDE = 8
QUADRANT_PIXELS = (3072, 3080)
FIRST_FIELD_ID = 245
_NID_EPOCH = date(2017, 1, 1)
_LIMIT_MEAN = {1: 20.35, 2: 20.25}


def night_jd0(night: date) -> float:
    """Julian date at 00:00 UTC of ``night``."""
    return JD_UNIX_EPOCH + (night - date(1970, 1, 1)).days


def night_id(night: date) -> int:
    """ZTF-style night number (``nid``): days since 2017-01-01."""
    nid = (night - _NID_EPOCH).days
    if not 0 < nid < 9000:
        raise ValueError(f"night {night} is outside the simulated survey years (2017-2041)")
    return nid


@dataclass(frozen=True)
class Field:
    field_id: int
    ra: float
    dec: float


@cache
def field_grid() -> tuple[Field, ...]:
    """ZTF-like tiling of the sky north of dec -31 with ~7 degree fields."""
    fields: list[Field] = []
    for dec in np.arange(-31.0, 90.0, 7.1):
        count = max(1, int(360.0 * math.cos(math.radians(dec)) / 7.3))
        for i in range(count):
            ra = (i + 0.5) * 360.0 / count
            fields.append(Field(FIRST_FIELD_ID + len(fields), ra, float(dec)))
    return tuple(fields)


@dataclass(frozen=True)
class Placement:
    """Where a position lands on the focal plane."""

    rcid: int
    xpos: float
    ypos: float
    mindtoedge: float


def place(field: Field, u_deg: float, v_deg: float) -> Placement:
    """Quadrant and pixel of offset (u, v) degrees from the field centre."""
    size = 2 * FIELD_HALF_WIDTH_DEG / QUADRANTS_PER_SIDE
    fx, fy = (u_deg + FIELD_HALF_WIDTH_DEG) / size, (v_deg + FIELD_HALF_WIDTH_DEG) / size
    ix = min(int(fx), QUADRANTS_PER_SIDE - 1)
    iy = min(int(fy), QUADRANTS_PER_SIDE - 1)
    ccd = (iy // 2) * 4 + ix // 2
    rcid = ccd * 4 + (iy % 2) * 2 + ix % 2
    xpos, ypos = (fx - ix) * QUADRANT_PIXELS[0], (fy - iy) * QUADRANT_PIXELS[1]
    edge = min(xpos, ypos, QUADRANT_PIXELS[0] - xpos, QUADRANT_PIXELS[1] - ypos)
    return Placement(rcid, xpos, ypos, edge)


def sky_position(field: Field, u_deg: float, v_deg: float) -> tuple[float, float]:
    dec = max(min(field.dec + v_deg, 89.99), -89.99)
    ra = (field.ra + u_deg / max(math.cos(math.radians(dec)), 0.05)) % 360.0
    return ra, dec


@dataclass(frozen=True)
class Exposure:
    """One exposure of tonight's plan."""

    index: int
    slot: int  # which field visit pair (seeds that field's objects)
    field: Field
    fid: int
    jd: float
    diffmaglim: float
    quota: int  # alerts this exposure must at least produce
    fwhm: float  # seeing, pixels


@dataclass(frozen=True)
class Plan:
    exposures: tuple[Exposure, ...]
    visits: dict[int, tuple[int, int]]  # slot -> indices of its (g, r) exposures


DEFAULT_ALERTS_PER_EXPOSURE = 250
MAX_GROUP_FIELDS = 32


def plan_night(n_alerts: int, night: date, seed: int) -> Plan:
    """Tonight's exposures: enough for ``n_alerts``, each field once per filter."""
    grid = field_grid()
    per_exposure = max(DEFAULT_ALERTS_PER_EXPOSURE, math.ceil(n_alerts / (2 * len(grid))))
    n_pairs = max(1, math.ceil(n_alerts / (2 * per_exposure)))
    quota = math.ceil(n_alerts / (2 * n_pairs))
    rng = np.random.default_rng([seed, 0x504C414E])
    fields = [grid[i] for i in rng.permutation(len(grid))[:n_pairs]]
    order = _visit_order(n_pairs, MAX_GROUP_FIELDS)
    jd0 = night_jd0(night)
    start, span = jd0 + NIGHT_START_FRACTION, NIGHT_END_FRACTION - NIGHT_START_FRACTION
    step = span / len(order)
    exposures, first_visit, visits = [], {}, {}
    for index, (slot, fid) in enumerate(order):
        limit = float(np.clip(rng.normal(_LIMIT_MEAN[fid], 0.25), 19.0, 21.1))
        fwhm = float(np.clip(rng.normal(2.1, 0.35), 1.4, 3.6))
        jd = round(start + (index + 0.5) * step, 7)
        exposures.append(Exposure(index, slot, fields[slot], fid, jd, limit, quota, fwhm))
        if fid == 1:
            first_visit[slot] = index
        else:
            visits[slot] = (first_visit[slot], index)
    return Plan(tuple(exposures), visits)


def _visit_order(n_pairs: int, group_size: int) -> list[tuple[int, int]]:
    """(slot, fid) in observing order: groups of fields in g, then the same in r."""
    order: list[tuple[int, int]] = []
    for start in range(0, n_pairs, group_size):
        group = range(start, min(start + group_size, n_pairs))
        order.extend((slot, 1) for slot in group)
        order.extend((slot, 2) for slot in group)
    return order


@dataclass(frozen=True)
class Epochs:
    """Every visit of one field, oldest first; tonight's two visits are the last."""

    jd: NDArray[np.float64]
    fid: NDArray[np.int64]
    diffmaglim: NDArray[np.float64]
    nid: NDArray[np.int64]
    fwhm: NDArray[np.float64]
    # Per-(epoch, quadrant) record parts shared by every object of the field.
    cache: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict, compare=False)

    def __len__(self) -> int:
        return len(self.jd)


def field_history(
    tonight: tuple[Exposure, Exposure], night: date, history_days: int, rng: np.random.Generator,
) -> Epochs:
    """Earlier visits of a field over ``history_days`` nights, plus tonight's two."""
    rows = list(_past_visits(tonight[0].jd, night, history_days, rng))
    rows += [(e.jd, e.fid, e.diffmaglim, night_id(night), e.fwhm) for e in tonight]
    jd, fid, lim, nid, fwhm = zip(*rows, strict=True)
    return Epochs(np.array(jd), np.array(fid, dtype=np.int64), np.array(lim),
                  np.array(nid, dtype=np.int64), np.array(fwhm))


def _past_visits(
    tonight_jd: float, night: date, history_days: int, rng: np.random.Generator,
) -> Iterator[tuple[float, int, float, int, float]]:
    nights_back = np.arange(history_days, 0, -1)
    observed = rng.random(history_days) < 0.5
    if history_days > 6 and rng.random() < 0.4:  # a stretch of bad weather
        gap_start = int(rng.integers(0, history_days - 6))
        observed[gap_start:gap_start + int(rng.integers(2, 7))] = False
    nid_tonight = night_id(night)
    for back, seen in zip(nights_back, observed, strict=True):
        if not seen:
            continue
        # Fields rise ~4 minutes earlier each night, so earlier nights saw this one
        # later; wrapped to stay inside the night window on long histories.
        drift = (0.00274 * back) % (NIGHT_END_FRACTION - NIGHT_START_FRACTION - 0.1)
        when = tonight_jd - back + drift + rng.normal(0.0, 0.01)
        yield from _visit_pair(when, int(nid_tonight - back), rng)


def _visit_pair(jd: float, nid: int, rng: np.random.Generator) -> Iterator[tuple]:
    filters = (1, 2) if rng.random() < 0.75 else ((1,) if rng.random() < 0.5 else (2,))
    seeing = float(np.clip(rng.normal(2.1, 0.35), 1.4, 3.6))
    for offset, fid in enumerate(filters):
        limit = float(np.clip(rng.normal(_LIMIT_MEAN[fid], 0.35), 18.5, 21.2))
        yield round(jd + offset * rng.uniform(0.02, 0.06), 7), fid, limit, nid, seeing
