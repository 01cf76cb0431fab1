"""Light curves as the fitters take them: detections in magnitudes, one band id per point.

``light_curve_from_rows`` reads Fink alert rows (``i:jd``, ``i:magpsf``...) and, when a
reference source lies behind the object, rebuilds the total ("DC") magnitude from the
difference measurement the way Fink does; ``light_curve_from_arrays`` takes magnitudes that
are already final (e.g. the simulator's). Both clean the same way: non-finite values and
errors of 1 mag or more dropped, one point per (jd, band), oldest first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from finkportal_fitter.errors import BadLightCurveError, InvalidFitOptionError

FloatArray = NDArray[np.float64]
LightCurveKind = Literal["dc", "difference"]
UseDc = Literal["auto", "always", "never"]

BAND_NAMES = {1: "g", 2: "r", 3: "i"}
# Fink's cut: a reference source within 1.5" is the object itself (variable star, lens).
MAX_REFERENCE_DISTANCE_ARCSEC = 1.5
# Fink's (rounded) 2.5 / ln 10 between magnitude errors and relative flux errors.
MAG_ERROR_PER_RELATIVE_FLUX = 1.0857
MAX_MAG_ERROR = 1.0
_TRUE_DIFFPOS = ("t", "1", "true")
_FALSE_DIFFPOS = ("f", "0", "false")


@dataclass(frozen=True)
class LightCurve:
    """Detections of one object in magnitudes, sorted by jd, one point per (jd, fid)."""

    jd: FloatArray
    mag: FloatArray
    magerr: FloatArray
    fid: NDArray[np.int64]
    kind: LightCurveKind

    def __len__(self) -> int:
        return len(self.jd)

    @property
    def bands(self) -> list[int]:
        """The band ids present, ascending."""
        return [int(f) for f in np.unique(self.fid)]

    def band(self, fid: int) -> LightCurve:
        """The points of one band."""
        keep = self.fid == fid
        return LightCurve(self.jd[keep], self.mag[keep], self.magerr[keep], self.fid[keep],
                          self.kind)


def light_curve_from_arrays(
    jd: ArrayLike, fid: ArrayLike, mag: ArrayLike, magerr: ArrayLike, *,
    kind: LightCurveKind = "dc",
) -> LightCurve:
    """A cleaned light curve from final magnitudes (``kind`` says which ones they are)."""
    if kind not in ("dc", "difference"):
        raise InvalidFitOptionError(f"kind must be 'dc' or 'difference', got {kind!r}")
    columns = [_float_column(values, name) for values, name in
               ((jd, "jd"), (fid, "fid"), (mag, "mag"), (magerr, "magerr"))]
    if len({len(c) for c in columns}) != 1:
        raise BadLightCurveError(
            f"jd, fid, mag and magerr must have one value per point, got lengths "
            f"{[len(c) for c in columns]}")
    return _cleaned(*columns, kind=kind)


def light_curve_from_rows(
    rows: Sequence[Mapping[str, Any]], *, use_dc: UseDc = "auto",
) -> LightCurve:
    """A cleaned light curve from Fink alert rows (main-table cells, ``i:`` columns).

    ``use_dc``: ``"auto"`` gives DC magnitudes when every usable point has a reference
    source within 1.5" (0 <= ``i:distnr`` <= 1.5), difference magnitudes otherwise;
    ``"always"`` keeps only the points with a reference, as DC magnitudes; ``"never"``
    gives the difference magnitudes ``i:magpsf`` as they are.
    """
    if use_dc not in ("auto", "always", "never"):
        raise InvalidFitOptionError(f"use_dc must be 'auto', 'always' or 'never', got {use_dc!r}")
    if not rows:
        raise BadLightCurveError("no alert rows: the object has no detection to fit")
    table = {key: _row_column(rows, key) for key in
             ("i:jd", "i:fid", "i:magpsf", "i:sigmapsf", "i:magnr", "i:sigmagnr", "i:distnr")}
    sign = np.array([_diffpos_sign(row.get("i:isdiffpos")) for row in rows], dtype=np.float64)
    usable = np.isfinite(table["i:jd"]) & np.isfinite(table["i:magpsf"]) & np.isfinite(
        table["i:sigmapsf"])
    has_reference = _has_reference(table["i:distnr"], table["i:magnr"])
    # With no usable point at all the difference path reports every point, not zero of them.
    if use_dc == "never" or (use_dc == "auto" and not np.all(has_reference[usable])) or (
            use_dc == "auto" and not np.any(usable)):
        return _cleaned(table["i:jd"], table["i:fid"], table["i:magpsf"], table["i:sigmapsf"],
                        kind="difference")
    if use_dc == "always" and not np.any(has_reference & usable):
        raise BadLightCurveError(
            f"no detection has a reference source within {MAX_REFERENCE_DISTANCE_ARCSEC}\" "
            "(i:distnr): DC magnitudes are impossible; ask for use_dc='never' or 'auto'")
    keep = has_reference & usable & np.isfinite(sign)  # no sign, no total flux
    mag, magerr = dc_magnitudes(
        table["i:magpsf"][keep], table["i:sigmapsf"][keep], table["i:magnr"][keep],
        table["i:sigmagnr"][keep], sign[keep] > 0)
    return _cleaned(table["i:jd"][keep], table["i:fid"][keep], mag, magerr, kind="dc")


def dc_magnitudes(
    magpsf: FloatArray, sigmapsf: FloatArray, magnr: FloatArray, sigmagnr: FloatArray,
    positive: NDArray[np.bool_],
) -> tuple[FloatArray, FloatArray]:
    """Fink's total magnitude and error: reference flux plus or minus the difference flux.

    Points whose total flux is not positive come back as NaN (the cleaning drops them).
    """
    ref_flux = np.power(10.0, -0.4 * magnr)
    diff_flux = np.power(10.0, -0.4 * magpsf)
    dc_flux = np.where(positive, ref_flux + diff_flux, ref_flux - diff_flux)
    ref_sigma = sigmagnr / MAG_ERROR_PER_RELATIVE_FLUX * ref_flux
    diff_sigma = sigmapsf / MAG_ERROR_PER_RELATIVE_FLUX * diff_flux
    dc_sigma = np.hypot(ref_sigma, diff_sigma)
    with np.errstate(divide="ignore", invalid="ignore"):
        valid = dc_flux > 0
        mag = np.where(valid, -2.5 * np.log10(np.where(valid, dc_flux, 1.0)), np.nan)
        magerr = np.where(valid, MAG_ERROR_PER_RELATIVE_FLUX * dc_sigma / dc_flux, np.nan)
    return mag, magerr


def _has_reference(distnr: FloatArray, magnr: FloatArray) -> NDArray[np.bool_]:
    # ZTF writes -999 in both fields when no reference source was found.
    with np.errstate(invalid="ignore"):
        near = (distnr >= 0) & (distnr <= MAX_REFERENCE_DISTANCE_ARCSEC)
        return near & np.isfinite(magnr) & (magnr > 0)


def _diffpos_sign(isdiffpos: Any) -> float:
    """+1 or -1 for the difference's sign, NaN when unknown.

    ZTF wrote 't'/'f', later '1'/'0'; stores may hand back booleans or integers.
    """
    if isinstance(isdiffpos, (bool, np.bool_, int, np.integer)):
        return 1.0 if isdiffpos else -1.0
    text = str(isdiffpos).strip().lower()
    if text in _TRUE_DIFFPOS:
        return 1.0
    return -1.0 if text in _FALSE_DIFFPOS else math.nan


def _row_column(rows: Sequence[Mapping[str, Any]], key: str) -> FloatArray:
    return np.array([_as_float(row.get(key)) for row in rows], dtype=np.float64)


def _as_float(value: Any) -> float:
    if value is None:
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _float_column(values: ArrayLike, name: str) -> FloatArray:
    try:
        column = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise BadLightCurveError(f"{name} must be numbers: {exc}") from exc
    if column.ndim != 1:
        raise BadLightCurveError(f"{name} must be one-dimensional, got shape {column.shape}")
    return column


def _cleaned(
    jd: FloatArray, fid: FloatArray, mag: FloatArray, magerr: FloatArray, *, kind: LightCurveKind,
) -> LightCurve:
    keep = (np.isfinite(jd) & np.isfinite(mag) & np.isfinite(magerr) & (magerr > 0)
            & (magerr < MAX_MAG_ERROR) & np.isin(fid, list(BAND_NAMES)))
    if not np.any(keep):
        raise BadLightCurveError(
            f"no usable detection among {len(jd)} points: each needs a finite jd and magnitude, "
            f"an error in (0, {MAX_MAG_ERROR:g}) mag and a ZTF band fid in {sorted(BAND_NAMES)}")
    band = fid[keep].astype(np.int64)
    jd, mag, magerr = jd[keep], mag[keep], magerr[keep]
    # Two alerts of one exposure (or a history copy of a detection) share (jd, fid):
    # keep the most precise measurement.
    order = np.lexsort((magerr, band, jd))
    jd, band, mag, magerr = jd[order], band[order], mag[order], magerr[order]
    first = np.ones(len(jd), dtype=bool)
    first[1:] = (jd[1:] != jd[:-1]) | (band[1:] != band[:-1])
    return LightCurve(jd[first], mag[first], magerr[first], band[first], kind)
