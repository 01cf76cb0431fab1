"""Period fits of variable stars: gatspy's multiband Lomb-Scargle on all bands at once.

``LombScargleMultiband`` (VanderPlas & Ivezic 2015) fits a base Fourier series shared by
the bands plus one per band; ``LombScargleMultibandFast`` sums single-band periodograms
(FFT for one term). gatspy's optimiser scans 5 points per peak width, then zooms on 5
candidates with a 500-per-width grid, and throws the scan away. Here the scan is the
periodogram we return, and its 5 best peaks are refined by a bounded Brent search on the
exact score (to 1e-4 of a peak width, ~30 evaluations each): 1 % on a 10-day period over
100 days needs ~1/30 of a peak width. The least-squares scores are computed on blocks of
frequencies (see the end of the module): the same numbers as gatspy, 3-5 times faster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from gatspy.periodic import LombScargleMultiband, LombScargleMultibandFast
from gatspy.periodic.lomb_scargle import LombScargle
from gatspy.periodic.lomb_scargle_fast import LombScargleFast
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar

from finkportal_fitter.errors import BadLightCurveError, InvalidFitOptionError
from finkportal_fitter.lightcurve import FloatArray, LightCurve

MIN_POINTS = 10
MAX_TERMS = 6
MAX_PERIODOGRAM_POINTS = 2000
MODEL_PHASES = 200
# Coarse-grid frequencies: a multiband scan of 400 points takes ~10 s per 100,000.
MAX_GRID_FREQUENCIES = 400_000
CANDIDATE_PEAKS = 5


@dataclass(frozen=True)
class PeriodOptions:
    """What to fit; ``oversampling`` is the number of coarse-grid points per peak width."""

    fast: bool = False
    nterms_base: int = 1
    nterms_band: int = 1
    period_min: float = 0.1
    period_max: float = 1.2
    oversampling: float = 5.0


@dataclass(frozen=True)
class PeriodFit:
    """A multiband period fit; arrays are plain float64, phases in [0, 1)."""

    best_period: float
    best_power: float
    method: str  # "LombScargleMultiband" or "LombScargleMultibandFast"
    options: PeriodOptions
    periods: FloatArray  # periodogram (coarse grid, peak-preserving downsample), ascending
    powers: FloatArray
    epoch: float  # jd of phase 0: maximum light of the model in the best-sampled band
    phases: FloatArray  # folded phase of each point of the light curve, in its order
    model_phases: FloatArray
    model_mags: dict[int, FloatArray]  # per fid, on model_phases
    chi2: float
    n_points: int
    n_parameters: int
    bands: list[int]

    @property
    def dof(self) -> int:
        return self.n_points - self.n_parameters

    @property
    def reduced_chi2(self) -> float:
        return self.chi2 / self.dof

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (lists and floats) for the service's answers and cache."""
        return {
            "best_period": self.best_period, "best_power": self.best_power,
            "method": self.method, "options": self.options.__dict__.copy(),
            "periodogram": {"period": self.periods.tolist(), "power": self.powers.tolist()},
            "epoch": self.epoch, "phases": self.phases.tolist(),
            "model": {"phase": self.model_phases.tolist(),
                      "mag": {str(f): m.tolist() for f, m in self.model_mags.items()}},
            "chi2": self.chi2, "dof": self.dof, "reduced_chi2": self.reduced_chi2,
            "n_points": self.n_points, "n_parameters": self.n_parameters, "bands": self.bands,
        }


def fit_period(
    lc: LightCurve, *, fast: bool = False, nterms_base: int = 1, nterms_band: int = 1,
    period_min: float = 0.1, period_max: float = 1.2, oversampling: float = 5.0,
) -> PeriodFit:
    """The best period of ``lc`` in [period_min, period_max] days, with model and periodogram.

    ``fast`` uses ``LombScargleMultibandFast`` with ``nterms_band`` terms per band (it has no
    base model: ``nterms_base`` must stay 0 or 1), fitting each band on its own: bands with
    fewer than 2 + 2 ``nterms_band`` points are left out (``PeriodFit.bands`` lists those
    used). Otherwise ``LombScargleMultiband`` with ``nterms_base`` shared and ``nterms_band``
    per-band terms, on every band.
    """
    options = validated_options(PeriodOptions(
        fast, nterms_base, nterms_band, period_min, period_max, oversampling))
    used = usable_bands(lc, options)
    n_parameters = parameter_count(options, len(used.bands))
    check_light_curve(used, options, n_parameters)
    try:
        model = _fitted_model(used, options)
        frequencies, powers = _coarse_periodogram(model, used, options)
        best_frequency, best_power = _refined_peak(model, frequencies, powers)
    except np.linalg.LinAlgError as exc:
        raise BadLightCurveError(
            f"the light curve cannot constrain a {n_parameters}-parameter model ({exc}): "
            "use fewer Fourier terms") from exc
    return _result(model, used, options, 1.0 / best_frequency, best_power,
                   (frequencies, powers), n_parameters)


def usable_bands(lc: LightCurve, options: PeriodOptions) -> LightCurve:
    """``lc`` without the bands too sparse for their own Fourier series (fast mode only)."""
    if not options.fast:
        return lc
    minimum = 2 + 2 * options.nterms_band
    keep = np.isin(lc.fid, [f for f in lc.bands if np.count_nonzero(lc.fid == f) >= minimum])
    if not np.any(keep):
        raise BadLightCurveError(
            f"no band has the {minimum} points a {options.nterms_band}-term series per band "
            "needs: use fewer terms or the multiband (non-fast) model")
    return LightCurve(lc.jd[keep], lc.mag[keep], lc.magerr[keep], lc.fid[keep], lc.kind)


def validated_options(options: PeriodOptions) -> PeriodOptions:
    """``options`` if every value is in range, else InvalidFitOptionError saying which."""
    for name in ("nterms_base", "nterms_band"):
        value = getattr(options, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not (
                0 <= value <= MAX_TERMS):
            raise InvalidFitOptionError(f"{name} must be an integer from 0 to {MAX_TERMS}, "
                                        f"got {value!r}")
    if options.fast and (options.nterms_band < 1 or options.nterms_base > 1):
        raise InvalidFitOptionError(
            "the fast multiband periodogram has one Fourier series per band and no base model: "
            f"nterms_band must be >= 1 and nterms_base 0 or 1, got {options.nterms_band} and "
            f"{options.nterms_base}")
    if options.nterms_base + options.nterms_band < 1:
        raise InvalidFitOptionError("nterms_base + nterms_band must be at least 1")
    low, high = float(options.period_min), float(options.period_max)
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
        raise InvalidFitOptionError(
            f"the period range must satisfy 0 < period_min < period_max (finite, days), "
            f"got {options.period_min!r}..{options.period_max!r}")
    if not 1 <= float(options.oversampling) <= 100:
        raise InvalidFitOptionError(
            f"oversampling (grid points per peak width) must be in [1, 100], "
            f"got {options.oversampling!r}")
    return options


def parameter_count(options: PeriodOptions, n_bands: int) -> int:
    """Free parameters of the model, the period included (for the χ² degrees of freedom)."""
    if options.fast:
        return n_bands * (1 + 2 * options.nterms_band) + 1
    # One offset per band (gatspy's shared constant is regularised into them).
    return n_bands + 2 * options.nterms_base + 2 * options.nterms_band * n_bands + 1


def check_light_curve(lc: LightCurve, options: PeriodOptions, n_parameters: int) -> None:
    """BadLightCurveError unless ``lc`` can constrain the model over the period range."""
    if len(lc) < max(MIN_POINTS, n_parameters + 1):
        raise BadLightCurveError(
            f"{len(lc)} detections are too few for a period fit with {n_parameters} free "
            f"parameters: at least {max(MIN_POINTS, n_parameters + 1)} are needed "
            "(fewer Fourier terms need fewer points)")
    baseline = float(lc.jd[-1] - lc.jd[0])
    if baseline < options.period_max:
        raise BadLightCurveError(
            f"the light curve spans {baseline:.3g} d, less than period_max = "
            f"{options.period_max:g} d: lower period_max or wait for a longer light curve")
    grid = _grid_size(baseline, options)
    if grid > MAX_GRID_FREQUENCIES:
        raise InvalidFitOptionError(
            f"the period range needs {grid:,} trial frequencies over a {baseline:.0f}-day "
            f"light curve (limit {MAX_GRID_FREQUENCIES:,}): raise period_min, lower "
            "period_max or lower oversampling")


def _grid_size(baseline: float, options: PeriodOptions) -> int:
    step = 1.0 / (baseline * options.oversampling)
    return math.ceil((1.0 / options.period_min - 1.0 / options.period_max) / step) + 1


def _fitted_model(lc: LightCurve, options: PeriodOptions) -> Any:
    if options.fast:
        base = _BatchedLombScargleFast if options.nterms_band == 1 else _BatchedLombScargle
        model: Any = LombScargleMultibandFast(Nterms=options.nterms_band, BaseModel=base,
                                              optimizer_kwds={"quiet": True})
    else:
        model = _BatchedMultiband(Nterms_base=options.nterms_base,
                                  Nterms_band=options.nterms_band, optimizer_kwds={"quiet": True})
    # Band by band: each band's rows are then one slice of the design matrix.
    order = np.lexsort((lc.jd, lc.fid))
    return model.fit(lc.jd[order], lc.mag[order], lc.magerr[order], lc.fid[order])


def _coarse_periodogram(
    model: Any, lc: LightCurve, options: PeriodOptions,
) -> tuple[FloatArray, FloatArray]:
    baseline = float(lc.jd[-1] - lc.jd[0])
    step = 1.0 / (baseline * options.oversampling)
    count = _grid_size(baseline, options)
    start = 1.0 / options.period_max
    frequencies: FloatArray = start + step * np.arange(count, dtype=np.float64)
    with np.errstate(all="ignore"):
        powers = np.asarray(model.score_frequency_grid(start, step, count), dtype=np.float64)
    powers = np.where(np.isfinite(powers), powers, 0.0)
    return frequencies, powers


def _refined_peak(model: Any, frequencies: FloatArray, powers: FloatArray) -> tuple[float, float]:
    """The best of the candidate peaks, each refined on the exact score.

    Only refined (exact) powers compete: the FFT scan of the fast model is approximate.
    """
    step = float(frequencies[1] - frequencies[0])
    low, high = float(frequencies[0]), float(frequencies[-1])
    best = (float(frequencies[int(np.argmax(powers))]), -math.inf)
    for candidate in _candidate_peaks(powers):
        centre = float(frequencies[candidate])
        found = minimize_scalar(lambda f: -_exact_power(model, f),
                                bounds=(max(low, centre - step), min(high, centre + step)),
                                method="bounded", options={"xatol": step * 1e-4})
        if np.isfinite(found.fun) and -found.fun > best[1]:
            best = (float(found.x), float(-found.fun))
    return best


def _candidate_peaks(powers: FloatArray) -> list[int]:
    """Indices of the highest local maxima of the coarse periodogram."""
    padded = np.concatenate(([-np.inf], powers, [-np.inf]))
    is_peak = (padded[1:-1] >= padded[:-2]) & (padded[1:-1] >= padded[2:])
    peaks = np.flatnonzero(is_peak)
    return [int(i) for i in peaks[np.argsort(powers[peaks])[::-1][:CANDIDATE_PEAKS]]]


def _exact_power(model: Any, frequency: float) -> float:
    with np.errstate(all="ignore"):
        return float(model.score(np.array([1.0 / frequency]))[0])


def _result(
    model: Any, lc: LightCurve, options: PeriodOptions, period: float, power: float,
    periodogram: tuple[FloatArray, FloatArray], n_parameters: int,
) -> PeriodFit:
    epoch = _maximum_light_epoch(model, lc, period)
    model_phases = np.linspace(0.0, 1.0, MODEL_PHASES)
    model_mags = {fid: _predict(model, epoch + model_phases * period, fid, period)
                  for fid in lc.bands}
    residuals = (lc.mag - model.predict(lc.jd, lc.fid, period=period)) / lc.magerr
    periods, powers = _downsampled(*periodogram)
    return PeriodFit(
        best_period=period, best_power=power, options=options,
        method="LombScargleMultibandFast" if options.fast else "LombScargleMultiband",
        periods=periods, powers=powers, epoch=epoch,
        phases=np.mod((lc.jd - epoch) / period, 1.0), model_phases=model_phases,
        model_mags=model_mags, chi2=float(np.sum(residuals**2)), n_points=len(lc),
        n_parameters=n_parameters, bands=lc.bands,
    )


def _maximum_light_epoch(model: Any, lc: LightCurve, period: float) -> float:
    """Phase 0 at the model's brightest point in the band with most points."""
    fids, counts = np.unique(lc.fid, return_counts=True)
    reference = int(fids[np.argmax(counts)])
    grid = lc.jd[0] + np.linspace(0.0, period, 1000, endpoint=False)
    return float(grid[np.argmin(_predict(model, grid, reference, period))])


def _predict(model: Any, jd: FloatArray, fid: int, period: float) -> FloatArray:
    return np.asarray(model.predict(jd, np.full(len(jd), fid), period=period), dtype=np.float64)


def _downsampled(frequencies: FloatArray, powers: FloatArray) -> tuple[FloatArray, FloatArray]:
    """At most MAX_PERIODOGRAM_POINTS points, keeping the maximum of each chunk (the peaks)."""
    if len(frequencies) > MAX_PERIODOGRAM_POINTS:
        chunks = np.array_split(np.arange(len(frequencies)), MAX_PERIODOGRAM_POINTS)
        picks = np.array([chunk[np.argmax(powers[chunk])] for chunk in chunks])
        frequencies, powers = frequencies[picks], powers[picks]
    periods: FloatArray = 1.0 / frequencies
    order = np.argsort(periods)
    return periods[order], powers[order]


# -- gatspy's least-squares periodograms, many frequencies at a time ----------------------
#
# gatspy scores its least-squares models (LombScargleMultiband; LombScargle, which
# LombScargleMultibandFast uses per band for Nterms > 1) one frequency at a time in Python,
# with sin and cos of every harmonic at every point: ~220 us per frequency for 450 points,
# 7 s for the default range over a 1,000-day light curve. The classes below do the same
# algebra (same columns, weights and regularisation; tests compare with gatspy) on blocks
# of frequencies, with the harmonics as powers of exp(i w t) and, on the regular grid of the
# periodogram, exp(i w t) itself stepped from one frequency to the next by a product.

_BLOCK_VALUES = 2_000_000  # design-matrix values per block (16 MB)


def _phasors(t: FloatArray, omegas: FloatArray, regular: bool) -> NDArray[np.complex128]:
    """(B, N) exp(i w t); on a regular grid, one complex product per value instead of trig."""
    if not regular or len(omegas) < 3:
        return np.exp(1j * omegas[:, None] * t[None, :])
    phasors = np.empty((len(omegas), len(t)), dtype=np.complex128)
    phasors[0] = np.exp(1j * omegas[0] * t)
    phasors[1:] = np.exp(1j * (omegas[1] - omegas[0]) * t)
    # Rounding grows by ~1e-16 per step: ~1e-13 over a block, re-anchored at every block.
    return np.cumprod(phasors, axis=0, out=phasors)


def _harmonics(phasors: NDArray[np.complex128], nterms: int) -> FloatArray:
    """(B, N, 2 nterms): sin(k w t), cos(k w t) for k = 1..nterms, interleaved as in gatspy."""
    columns = np.empty((*phasors.shape, 2 * nterms))
    power = phasors
    for k in range(nterms):
        if k:
            power = power * phasors
        columns[..., 2 * k] = power.imag
        columns[..., 2 * k + 1] = power.real
    return columns


def _batched_power(model: Any, omegas: FloatArray, regular: bool = False) -> FloatArray:
    """``LeastSquaresMixin._score`` for every frequency of ``omegas`` (same normalisation)."""
    yw = model.yw_
    yref = model._construct_y(weighted=True, center_data=bool(model.center_data
                                                              or model.fit_offset))
    chi2_0, chi2_ref = float(yw @ yw), float(yref @ yref)
    reduction = np.empty(len(omegas))
    block = max(1, _BLOCK_VALUES // (len(yw) * 16))
    for start in range(0, len(omegas), block):
        phasors = _phasors(model.t, omegas[start:start + block], regular)
        design = model._designs(phasors)
        design /= model.dy[None, :, None]
        normal = np.matmul(design.transpose(0, 2, 1), design)
        _regularise(model, normal)
        projected = design.transpose(0, 2, 1) @ yw
        solution = np.linalg.solve(normal, projected[..., None])[..., 0]
        reduction[start:start + block] = np.einsum("bk,bk->b", projected, solution)
    if model.center_data:
        return reduction / chi2_ref
    return 1 + (reduction - chi2_0) / chi2_ref


def _regularise(model: Any, normal: FloatArray) -> None:
    regularization = getattr(model, "regularization", None)
    if regularization is None:
        return
    diagonal = np.arange(normal.shape[1])
    scale = normal[:, diagonal, diagonal].sum(axis=1)[:, None] if model.regularize_by_trace else 1
    normal[:, diagonal, diagonal] += scale * np.asarray(regularization)


class _BatchedScore:
    """gatspy's least-squares score, computed by ``_batched_power``."""

    def _score(self, periods: FloatArray) -> FloatArray:
        return _batched_power(self, 2 * np.pi / np.asarray(periods, dtype=np.float64))

    def _score_frequency_grid(self, f0: float, df: float, n: int) -> FloatArray:
        omegas = 2 * np.pi * (f0 + df * np.arange(n, dtype=np.float64))
        return _batched_power(self, omegas, regular=True)


class _BatchedMultiband(_BatchedScore, LombScargleMultiband):
    def _designs(self, phasors: NDArray[np.complex128]) -> FloatArray:
        harmonics = _harmonics(phasors, max(self.Nterms_base, self.Nterms_band))
        base = 1 + 2 * self.Nterms_base
        width = 1 + 2 * self.Nterms_band
        design = np.zeros((*phasors.shape, base + width * len(self.unique_filts_)))
        design[..., 0] = 1.0
        design[..., 1:base] = harmonics[..., :base - 1]
        for index, rows in enumerate(self._band_rows()):
            first = base + index * width
            design[:, rows, first] = 1.0
            design[:, rows, first + 1:first + width] = harmonics[:, rows, :width - 1]
        return design

    def _band_rows(self) -> list[slice | NDArray[np.bool_]]:
        """Each band's rows: a slice when the data are sorted by band (fit_period does so)."""
        filts, bands = np.asarray(self.filts), np.asarray(self.unique_filts_)
        if np.all(filts[1:] >= filts[:-1]):
            starts = np.searchsorted(filts, bands, side="left").tolist()
            ends = np.searchsorted(filts, bands, side="right").tolist()
            return [slice(a, b) for a, b in zip(starts, ends, strict=True)]
        return [self.filts == filt for filt in self.unique_filts_]


class _BatchedLombScargle(_BatchedScore, LombScargle):
    def _designs(self, phasors: NDArray[np.complex128]) -> FloatArray:
        harmonics = _harmonics(phasors, self.Nterms)
        if not self.fit_offset:
            return harmonics
        return np.concatenate([np.ones((*phasors.shape, 1)), harmonics], axis=2)


class _BatchedLombScargleFast(LombScargleFast):
    """FFT periodogram on grids; the exact score (peak refinement) batched, warnings off."""

    def __init__(self, **kwargs: Any) -> None:
        # Silenced: the exact score is called on purpose to refine peaks.
        super().__init__(silence_warnings=True, **kwargs)

    _score = _BatchedScore._score
    _designs = _BatchedLombScargle._designs
