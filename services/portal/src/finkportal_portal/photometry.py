"""Fink's light-curve units, computed from the query API's rows (pure numpy).

Four units, as on Fink's portal:

- ``diffmag``: the difference magnitude ``i:magpsf`` (what ZTF measures on the difference
  image), with upper limits (``i:diffmaglim``) and bad-quality detections when the rows
  carry ``d:tag`` (``withupperlim=true``);
- ``dcmag``: the total ("DC") magnitude of object plus reference source, only where a
  reference source lies within 1.5" (``0 <= i:distnr <= 1.5``): f_DC = f_ref +/- f_diff;
- ``diffflux`` and ``dcflux``: the same two in mJy (AB: 3631 Jy at magnitude 0); the
  difference flux is negative when the object got fainter than on the reference image.

Upper limits and bad-quality points exist only in ``diffmag``: a limit on the difference
image says nothing about a total flux, and Fink draws them there only. Points whose
magnitude error is 1 mag or more are dropped in every unit (they carry no information).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
Row = Mapping[str, Any]

UNITS: dict[str, str] = {
    "diffmag": "Difference magnitude",
    "dcmag": "DC magnitude",
    "diffflux": "Difference flux (mJy)",
    "dcflux": "DC flux (mJy)",
}
MAGNITUDE_UNITS = frozenset(("diffmag", "dcmag"))
DC_UNITS = frozenset(("dcmag", "dcflux"))
BAND_NAMES: dict[int, str] = {1: "g", 2: "r", 3: "i"}
KINDS = ("valid", "upperlim", "badquality")

# Fink's (rounded) 2.5 / ln 10: a magnitude error is 1.0857 times the relative flux error.
MAG_ERROR_PER_RELATIVE_FLUX = 1.0857
MAX_MAG_ERROR = 1.0
# A reference source this close is the object itself (variable star, nuclear transient).
MAX_REFERENCE_DISTANCE_ARCSEC = 1.5
AB_ZERO_POINT_MJY = 3631.0 * 1e3
# Julian date of the Unix epoch, 1970-01-01T00:00 UTC.
UNIX_EPOCH_JD = 2440587.5
_TRUE_DIFFPOS = ("t", "1", "true")
_FALSE_DIFFPOS = ("f", "0", "false")


@dataclass(frozen=True)
class BandPoints:
    """The points of one band in one unit, oldest first.

    ``yerr`` is NaN for upper limits; ``candid`` is the alert id as text ('' for upper
    limits, which are no alert); ``kind`` is 'valid', 'upperlim' or 'badquality'.
    """

    fid: int
    jd: FloatArray
    y: FloatArray
    yerr: FloatArray
    candid: NDArray[np.str_]
    kind: NDArray[np.str_]

    def __len__(self) -> int:
        return len(self.jd)

    def of_kind(self, kind: str) -> BandPoints:
        """Only the points of one kind."""
        keep = self.kind == kind
        return BandPoints(self.fid, self.jd[keep], self.y[keep], self.yerr[keep],
                          self.candid[keep], self.kind[keep])


# -- small conversions ---------------------------------------------------------------------


def mag_to_flux(mag: ArrayLike) -> FloatArray:
    """Relative flux 10^(-0.4 m) (1 at magnitude 0)."""
    # ZTF's -999 "no reference" magnitudes overflow to inf; callers mask those rows.
    with np.errstate(over="ignore"):
        flux: FloatArray = np.power(10.0, -0.4 * np.asarray(mag, dtype=np.float64))
    return flux


def mag_to_mjy(mag: ArrayLike) -> FloatArray:
    """AB magnitude -> flux in mJy: 3631 Jy * 10^(-0.4 m) * 1e3."""
    return AB_ZERO_POINT_MJY * mag_to_flux(mag)


def flux_error(mag_error: ArrayLike, flux: ArrayLike) -> FloatArray:
    """Flux error from a magnitude error: sigma_m / 1.0857 * |f|."""
    sigma: FloatArray = (np.asarray(mag_error, dtype=np.float64) / MAG_ERROR_PER_RELATIVE_FLUX
                         * np.abs(np.asarray(flux, dtype=np.float64)))
    return sigma


def mag_error(flux_sigma: ArrayLike, flux: ArrayLike) -> FloatArray:
    """Magnitude error from a flux error: 1.0857 * sigma_f / f."""
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma: FloatArray = (MAG_ERROR_PER_RELATIVE_FLUX * np.asarray(flux_sigma, dtype=np.float64)
                             / np.asarray(flux, dtype=np.float64))
    return sigma


def flux_to_mag(flux: ArrayLike) -> FloatArray:
    """-2.5 log10 f, NaN where the flux is not positive."""
    values = np.asarray(flux, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag: FloatArray = np.where(values > 0, -2.5 * np.log10(np.where(values > 0, values, 1.0)),
                                   np.nan)
    return mag


def diffpos_sign(isdiffpos: Any) -> float:
    """+1 when the difference is positive, -1 when negative, NaN when unknown.

    ZTF wrote 't'/'f', later '1'/'0'; stores and JSON may also give booleans or integers.
    """
    if isinstance(isdiffpos, (bool, np.bool_, int, np.integer)):
        return 1.0 if isdiffpos else -1.0
    text = str(isdiffpos).strip().lower() if isdiffpos is not None else ""
    if text in _TRUE_DIFFPOS:
        return 1.0
    return -1.0 if text in _FALSE_DIFFPOS else math.nan


def dc_flux(magpsf: ArrayLike, sigmapsf: ArrayLike, magnr: ArrayLike, sigmagnr: ArrayLike,
            sign: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Fink's total flux f_ref + sign * f_diff (relative units) and its error in quadrature."""
    ref, diff = mag_to_flux(magnr), mag_to_flux(magpsf)
    total: FloatArray = ref + np.asarray(sign, dtype=np.float64) * diff
    sigma: FloatArray = np.hypot(flux_error(sigmagnr, ref), flux_error(sigmapsf, diff))
    return total, sigma


def dc_mag(magpsf: ArrayLike, sigmapsf: ArrayLike, magnr: ArrayLike, sigmagnr: ArrayLike,
           isdiffpos: Any) -> tuple[FloatArray, FloatArray]:
    """Fink's DC magnitude and error; NaN where the total flux is not positive.

    ``isdiffpos`` is one flag ('t', 'f', '1', '0', bool) or one per point.
    """
    flags = np.atleast_1d(np.asarray(isdiffpos, dtype=object))
    sign = np.array([diffpos_sign(flag) for flag in flags], dtype=np.float64)
    total, sigma = dc_flux(magpsf, sigmapsf, magnr, sigmagnr, sign)
    mag = flux_to_mag(total)
    return mag, np.where(np.isfinite(mag), mag_error(sigma, total), np.nan)


def has_reference(distnr: ArrayLike, magnr: ArrayLike) -> NDArray[np.bool_]:
    """Whether a reference source lies within 1.5" (ZTF writes -999 when there is none)."""
    distance = np.asarray(distnr, dtype=np.float64)
    reference = np.asarray(magnr, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        near: NDArray[np.bool_] = ((distance >= 0) & (distance <= MAX_REFERENCE_DISTANCE_ARCSEC)
                                   & np.isfinite(reference) & (reference > 0))
    return near


def jd_to_datetime(jd: ArrayLike) -> NDArray[np.datetime64]:
    """Julian dates (UTC) -> numpy datetimes to the millisecond (NaT for NaN)."""
    values = np.asarray(jd, dtype=np.float64)
    milliseconds = np.round((values - UNIX_EPOCH_JD) * 86_400_000.0)
    finite = np.isfinite(milliseconds)
    stamps = np.full(values.shape, np.datetime64("NaT"), dtype="datetime64[ms]")
    stamps[finite] = milliseconds[finite].astype(np.int64).astype("datetime64[ms]")
    return stamps


def jd_to_iso(jd: ArrayLike) -> list[str]:
    """Julian dates -> ISO 8601 UTC texts ('2020-01-01T12:00:00.000'), what plotly plots."""
    return [str(stamp) for stamp in jd_to_datetime(jd)]


# -- rows ----------------------------------------------------------------------------------


def as_float(value: Any) -> float:
    """A row value as a float: None, text and booleans become NaN."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def float_column(rows: Sequence[Row], key: str) -> FloatArray:
    """One column of the rows as floats (missing -> NaN)."""
    return np.array([as_float(row.get(key)) for row in rows], dtype=np.float64)


def candid_text(value: Any) -> str:
    """An alert id as exact text: ZTF's 19-digit candids do not survive a float."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if math.isfinite(value) else ""
    return str(value).strip()


def row_kind(row: Row) -> str:
    """'valid', 'upperlim' or 'badquality'; rows without ``d:tag`` are alerts (valid)."""
    tag = row.get("d:tag")
    if tag is None:
        return "valid"
    text = str(tag).strip().lower()
    return text if text in KINDS else ""


@dataclass(frozen=True)
class _Columns:
    jd: FloatArray
    fid: FloatArray
    magpsf: FloatArray
    sigmapsf: FloatArray
    magnr: FloatArray
    sigmagnr: FloatArray
    distnr: FloatArray
    diffmaglim: FloatArray
    sign: FloatArray
    candid: NDArray[np.str_]
    kind: NDArray[np.str_]


def _columns(rows: Sequence[Row]) -> _Columns:
    def column(name: str) -> FloatArray:
        return float_column(rows, f"i:{name}")

    return _Columns(
        column("jd"), column("fid"), column("magpsf"), column("sigmapsf"), column("magnr"),
        column("sigmagnr"), column("distnr"), column("diffmaglim"),
        np.array([diffpos_sign(row.get("i:isdiffpos")) for row in rows], dtype=np.float64),
        np.array([candid_text(row.get("i:candid")) for row in rows], dtype=np.str_),
        np.array([row_kind(row) for row in rows], dtype=np.str_),
    )


def dc_available(rows: Sequence[Row]) -> bool:
    """Whether any alert (valid row) has a reference source within 1.5"."""
    table = _columns(rows)
    return bool(np.any(has_reference(table.distnr, table.magnr) & (table.kind == "valid")))


# -- units ---------------------------------------------------------------------------------


def _precise(sigma: FloatArray) -> NDArray[np.bool_]:
    with np.errstate(invalid="ignore"):
        kept: NDArray[np.bool_] = np.isfinite(sigma) & (sigma >= 0) & (sigma < MAX_MAG_ERROR)
    return kept


def _diffmag(table: _Columns) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    limit = table.kind == "upperlim"
    y = np.where(limit, table.diffmaglim, table.magpsf)
    yerr = np.where(limit, np.nan, table.sigmapsf)
    keep = np.where(limit, True, _precise(table.sigmapsf)) & (table.kind != "")
    return y, yerr, keep & np.isfinite(y)


def _diffflux(table: _Columns) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    flux = table.sign * mag_to_mjy(table.magpsf)
    keep = (table.kind == "valid") & _precise(table.sigmapsf) & np.isfinite(flux)
    return flux, flux_error(table.sigmapsf, flux), keep


def _dc(table: _Columns) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(mag, mag error, flux mJy, flux error mJy) of the total flux, NaN where impossible."""
    total, sigma = dc_flux(table.magpsf, table.sigmapsf, table.magnr, table.sigmagnr,
                           table.sign)
    usable = has_reference(table.distnr, table.magnr) & (table.kind == "valid")
    total = np.where(usable, total, np.nan)
    mag = flux_to_mag(total)
    magerr = np.where(np.isfinite(mag), mag_error(sigma, total), np.nan)
    return mag, magerr, total * AB_ZERO_POINT_MJY, sigma * AB_ZERO_POINT_MJY


def _dcmag(table: _Columns) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    mag, magerr, _, _ = _dc(table)
    return mag, magerr, np.isfinite(mag) & _precise(magerr)


def _dcflux(table: _Columns) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    mag, magerr, flux, sigma = _dc(table)
    return flux, sigma, np.isfinite(mag) & _precise(magerr)


_UNIT_VALUES = {"diffmag": _diffmag, "dcmag": _dcmag, "diffflux": _diffflux, "dcflux": _dcflux}


def check_unit(unit: str) -> str:
    """``unit`` if it is one of ``UNITS``, else ValueError naming them."""
    if unit not in UNITS:
        raise ValueError(f"unknown light-curve unit {unit!r}: use one of {', '.join(UNITS)}")
    return unit


def light_curve_points(rows: Sequence[Row], unit: str) -> dict[int, BandPoints]:
    """The plotted points of each band (fid 1, 2, 3 present), oldest first.

    ``rows``: the query API's JSON rows of one object (``i:jd``, ``i:fid``, ``i:magpsf``,
    ``i:sigmapsf``, ``i:isdiffpos``, ``i:magnr``, ``i:sigmagnr``, ``i:distnr``,
    ``i:diffmaglim``, ``i:candid``, optional ``d:tag``); None is a missing value.
    """
    values = _UNIT_VALUES[check_unit(unit)]
    if not rows:
        return {}
    table = _columns(rows)
    y, yerr, keep = values(table)
    keep = keep & np.isfinite(table.jd)
    bands: dict[int, BandPoints] = {}
    for fid in BAND_NAMES:
        chosen = np.flatnonzero(keep & (table.fid == fid))
        if chosen.size:
            order = chosen[np.argsort(table.jd[chosen], kind="stable")]
            bands[fid] = BandPoints(fid, table.jd[order], y[order], yerr[order],
                                    table.candid[order], table.kind[order])
    return bands


def point_count(bands: Mapping[int, BandPoints], kind: str | None = None) -> int:
    """How many points the bands hold (of one kind, or all)."""
    return sum(len(band if kind is None else band.of_kind(kind)) for band in bands.values())
