"""Sky-position index math: HEALPix cells, cone coverage as key ranges, separations, parsing.

Every alert position is keyed by one NESTED HEALPix cell at the fixed fine depth ``SKY_DEPTH``.
In the NESTED scheme a coarser cell of depth ``d`` is exactly the contiguous range
``[i << 2(D-d), (i+1) << 2(D-d))`` of its depth-D descendants, so a multi-order coverage (MOC)
of a disc becomes a short sorted list of half-open row-key ranges to scan. The choice of depths
was measured; see ``docs/sky-index.md``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import astropy.units as u
import cdshealpix.nested as healpix
import numpy as np
from astropy.coordinates import Latitude, Longitude
from numpy.typing import ArrayLike, NDArray

# Finest depth cdshealpix supports (cells ~0.4 mas): positions are kept at full precision, every
# coarser depth is a right shift, and 12 * 4**29 < 2**63 still fits a signed 64-bit integer.
SKY_DEPTH = 29
CELL_KEY_BYTES = 8
MAX_CELL = 12 * 4**SKY_DEPTH  # exclusive upper bound of cell numbers at SKY_DEPTH

# Edge of a depth-0 cell is ~58.6 deg; a depth-d cell's edge is that halved d times.
_BASE_CELL_EDGE_DEG = math.degrees(math.sqrt(4 * math.pi / 12))
# cdshealpix refines cell/disc overlap tests this many levels deeper (its default, measured best).
_COVERAGE_DELTA_DEPTH = 2
# Coverage goes 1 level deeper than radius-sized cells up to 15", rising to 3 levels at 1 deg.
_SMALL_CONE_DEG = 15 / 3600
_EXTRA_PER_OCTAVE = 2.0 / math.log2(1.0 / _SMALL_CONE_DEG)


def sky_cell(ra_deg: float, dec_deg: float) -> int:
    """NESTED HEALPix cell number at ``SKY_DEPTH`` of one position in degrees."""
    return int(sky_cells(np.array([ra_deg]), np.array([dec_deg]))[0])


def sky_cells(ra_deg: ArrayLike, dec_deg: ArrayLike) -> NDArray[np.int64]:
    """Vectorised :func:`sky_cell` for numpy arrays (broadcast together)."""
    ra = np.asarray(ra_deg, dtype=np.float64)
    dec = np.asarray(dec_deg, dtype=np.float64)
    _check_positions(ra, dec)
    # Longitude wraps 360 -> 0 instead of rejecting it.
    cells = healpix.lonlat_to_healpix(Longitude(ra, u.deg), Latitude(dec, u.deg), SKY_DEPTH)
    return np.asarray(cells, dtype=np.int64)


def _check_positions(ra: NDArray[np.float64], dec: NDArray[np.float64]) -> None:
    if not (np.all(np.isfinite(ra)) and np.all(np.isfinite(dec))):
        raise ValueError("positions must be finite numbers (no NaN/inf)")
    if np.any(dec < -90.0) or np.any(dec > 90.0):
        raise ValueError("declination must be within [-90, 90] degrees")


def coverage_depth(radius_deg: float) -> int:
    """HEALPix depth of the cells covering a cone of this radius (see docs/sky-index.md).

    ``log2(edge0 / radius)`` is where a cell edge equals the radius; going 1-3 levels deeper
    trades more ranges (scans) for fewer false-positive rows. Tiny cones hold < 1 alert, so the
    scan count dominates (1 level); cones of >= 1 deg hold ~1e4 alerts, so the excess area does
    (3 levels). The extra grows with log2(radius) at slope < 1, so wider never means deeper.
    """
    octaves_above_small = max(0.0, math.log2(radius_deg / _SMALL_CONE_DEG))
    extra = min(3.0, 1.0 + octaves_above_small * _EXTRA_PER_OCTAVE)
    depth = math.floor(math.log2(_BASE_CELL_EDGE_DEG / radius_deg) + extra)
    return max(0, min(SKY_DEPTH, depth))


def cone_ranges(ra_deg: float, dec_deg: float, radius_deg: float) -> list[tuple[int, int]]:
    """Sorted, disjoint, merged half-open ``[start, stop)`` cell ranges at ``SKY_DEPTH``.

    Every position within ``radius_deg`` of the centre has its :func:`sky_cell` in one of the
    ranges (the coverage is conservative); candidates must still be filtered by separation.
    """
    _check_cone(ra_deg, dec_deg, radius_deg)
    ipix, depths, _fully_covered = healpix.cone_search(
        Longitude(ra_deg, u.deg),
        Latitude(dec_deg, u.deg),
        radius_deg * u.deg,
        depth=coverage_depth(radius_deg),
        depth_delta=_COVERAGE_DELTA_DEPTH,
    )
    shifts = 2 * (SKY_DEPTH - depths.astype(np.int64))
    starts = ipix.astype(np.int64) << shifts
    stops = (ipix.astype(np.int64) + 1) << shifts
    return merge_ranges(zip(starts.tolist(), stops.tolist(), strict=True))


def _check_cone(ra_deg: float, dec_deg: float, radius_deg: float) -> None:
    _check_positions(np.array([ra_deg], dtype=np.float64), np.array([dec_deg], dtype=np.float64))
    if not math.isfinite(radius_deg) or not 0.0 < radius_deg < 180.0:
        raise ValueError(f"cone radius must be in (0, 180) degrees, got {radius_deg!r}")


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort half-open ranges and fuse overlapping or touching ones."""
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def cell_key(cell: int) -> bytes:
    """Fixed-width 8-byte big-endian unsigned row-key prefix: byte order equals numeric order."""
    if not 0 <= cell < MAX_CELL:
        raise ValueError(f"cell {cell!r} outside [0, {MAX_CELL}) at depth {SKY_DEPTH}")
    return cell.to_bytes(CELL_KEY_BYTES, "big")


def cell_from_key(key: bytes) -> int:
    """Inverse of :func:`cell_key` (reads the first 8 bytes of a row key)."""
    if len(key) < CELL_KEY_BYTES:
        raise ValueError(f"row key shorter than {CELL_KEY_BYTES} bytes: {key!r}")
    return int.from_bytes(key[:CELL_KEY_BYTES], "big")


def angular_separation_deg(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Great-circle distance in degrees (Vincenty: accurate at tiny and antipodal separations)."""
    ra1_r, dec1_r, ra2_r, dec2_r = (math.radians(v) for v in (ra1, dec1, ra2, dec2))
    delta_ra = ra2_r - ra1_r
    sin_d1, cos_d1 = math.sin(dec1_r), math.cos(dec1_r)
    sin_d2, cos_d2 = math.sin(dec2_r), math.cos(dec2_r)
    across = cos_d2 * math.sin(delta_ra)
    along = cos_d1 * sin_d2 - sin_d1 * cos_d2 * math.cos(delta_ra)
    straight = sin_d1 * sin_d2 + cos_d1 * cos_d2 * math.cos(delta_ra)
    return math.degrees(math.atan2(math.hypot(across, along), straight))


# --- coordinate parsing -----------------------------------------------------------------------

_NUMBER = r"\d+(?:\.\d*)?"
_SEXAGESIMAL = re.compile(
    rf"^\s*(?P<sign>[+-]?)\s*(?P<a>\d+)\s*(?:[:hd°]\s*|\s+)(?P<b>\d+)\s*(?:[:m'′]\s*|\s+)"
    rf"(?P<c>{_NUMBER})\s*[s\"″]?\s*$"
)


def parse_ra_dec(ra: str | float, dec: str | float) -> tuple[float, float]:
    """Parse a position into decimal degrees ``(ra, dec)``.

    RA: decimal degrees, or hours as ``HH MM SS.S`` / ``HH:MM:SS`` / ``HHhMMmSSs``.
    Dec: decimal degrees, or ``±DD MM SS`` / ``±DD:MM:SS`` / ``±DDdMMmSSs`` (``-00 30 00`` is -0.5).
    """
    ra_deg = _parse_angle(ra, "ra", hours=True)
    dec_deg = _parse_angle(dec, "dec", hours=False)
    if not 0.0 <= ra_deg < 360.0:
        raise ValueError(f"ra must satisfy 0 <= ra < 360 degrees, got {ra_deg!r} from {ra!r}")
    if not -90.0 <= dec_deg <= 90.0:
        raise ValueError(f"dec must satisfy -90 <= dec <= 90 degrees, got {dec_deg!r} from {dec!r}")
    return ra_deg, dec_deg


def _parse_angle(value: str | float, name: str, *, hours: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{name} must be a number or a string, got {type(value).__name__}")
    if not isinstance(value, str):
        return _finite(float(value), name, value)
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        return _parse_sexagesimal(text, name, hours=hours)
    return _finite(number, name, value)


def _finite(number: float, name: str, original: object) -> float:
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {original!r}")
    return number


def _parse_sexagesimal(text: str, name: str, *, hours: bool) -> float:
    match = _SEXAGESIMAL.match(text)
    unit = "HH MM SS.S, HH:MM:SS or HHhMMmSSs" if hours else "±DD MM SS, ±DD:MM:SS or ±DDdMMmSSs"
    if match is None or (hours and match["sign"] == "-"):
        raise ValueError(f"cannot parse {name} {text!r}: expected decimal degrees or {unit}")
    _check_separators(text, name, hours=hours)
    whole, minutes, seconds = int(match["a"]), int(match["b"]), float(match["c"])
    if minutes >= 60 or seconds >= 60:
        raise ValueError(f"{name} {text!r}: minutes and seconds must be below 60")
    if hours and whole >= 24:
        raise ValueError(f"ra {text!r}: hours must be below 24")
    magnitude = whole + minutes / 60 + seconds / 3600
    # The sign is read apart from the digits so that "-00 30 00" stays negative.
    signed = -magnitude if match["sign"] == "-" else magnitude
    return signed * 15.0 if hours else signed


def _check_separators(text: str, name: str, *, hours: bool) -> None:
    """Reject unit letters of the other coordinate, e.g. ``10d20m`` given as an RA."""
    wrong = "d°" if hours else "h"
    if any(letter in text for letter in wrong):
        raise ValueError(f"{name} {text!r} uses a unit letter meant for the other coordinate")
