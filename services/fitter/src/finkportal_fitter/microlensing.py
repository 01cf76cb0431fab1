"""Point-source point-lens (PSPL) fits with pyLIMA, one telescope per ZTF band.

Each band becomes a pyLIMA telescope (``ZTF_g``, ``ZTF_r``, ``ZTF_i``) with its own source
and blend fluxes; t0, u0 and tE are shared. Methods: ``TRF`` (trust-region least squares,
bounded; the default), ``LM`` (Levenberg-Marquardt, unbounded) and ``DE`` (differential
evolution over t0, u0, tE with the fluxes solved linearly at each trial, then a TRF polish
from the DE optimum for the fluxes and the covariance). Uncertainties are the square roots
of the covariance diagonal: (J^T J)^-1, inflated by the reduced chi^2 when it exceeds 1.

No parallax, so pyLIMA never asks for ephemerides; IERS auto-download is off anyway.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from astropy.utils import iers
from pyLIMA import event as pylima_event
from pyLIMA import telescopes as pylima_telescopes
from pyLIMA.fits import DE_fit, LM_fit, ML_fit, TRF_fit
from pyLIMA.models import PSPL_model
from pyLIMA.priors import guess as pylima_guess
from pyLIMA.toolbox.brightness_transformation import ZERO_POINT

from finkportal_fitter.errors import BadLightCurveError, InvalidFitOptionError, NoConvergenceError
from finkportal_fitter.lightcurve import BAND_NAMES, FloatArray, LightCurve

# The fitter must never download at run time (IERS tables would be fetched on demand).
iers.conf.auto_download = False

METHODS = ("TRF", "LM", "DE")
MIN_POINTS = 10
MIN_POINTS_PER_BAND = 3  # a band brings two fluxes: fewer points cannot constrain them
# Issue 5 and Fink count t0, u0, tE, fs, fb: dof = N - 5 whatever the number of bands.
DOF_PARAMETERS = 5
MODEL_POINTS = 400
FALLBACK_TE_DAYS = 25.0  # typical of the ZTF events (10-80 d)
# DE: a population of DE_POPULATION x 3 trial (t0, u0, tE), at most DE_GENERATIONS
# generations: <= 30 x 81 = 2,430 model evaluations, ~1-2 s for ~100 points.
DE_POPULATION = 10
DE_GENERATIONS = 80


@dataclass(frozen=True)
class BandFluxes:
    """Source and blend fluxes of one telescope (pyLIMA units: mag = zero_point - 2.5 log10 f)."""

    fsource: float
    fsource_err: float
    fblend: float
    fblend_err: float


@dataclass(frozen=True)
class PsplFit:
    """A PSPL fit: parameters with 1-sigma errors, fluxes per telescope, chi^2 and model."""

    method: str
    t0: float
    t0_err: float
    u0: float
    u0_err: float
    tE: float
    tE_err: float
    fluxes: dict[str, BandFluxes]  # by telescope name, e.g. "ZTF_r"
    chi2: float  # in flux, as pyLIMA minimises it
    n_points: int
    bands: list[int]
    model_jd: FloatArray
    model_mags: dict[int, FloatArray]  # per fid, on model_jd
    zero_point: float = ZERO_POINT

    @property
    def dof(self) -> int:
        """N - 5, as issue 5 and Fink count it (t0, u0, tE, fs, fb)."""
        return self.n_points - DOF_PARAMETERS

    @property
    def n_fitted_parameters(self) -> int:
        """What the fit really adjusts: t0, u0, tE and (fs, fb) per band."""
        return 3 + 2 * len(self.bands)

    @property
    def reduced_chi2(self) -> float:
        return self.chi2 / self.dof

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (lists and floats) for the service's answers and cache."""
        return {
            "method": self.method, "t0": self.t0, "t0_err": self.t0_err, "u0": self.u0,
            "u0_err": self.u0_err, "tE": self.tE, "tE_err": self.tE_err,
            "fluxes": {name: f.__dict__.copy() for name, f in self.fluxes.items()},
            "zero_point": self.zero_point, "chi2": self.chi2, "dof": self.dof,
            "reduced_chi2": self.reduced_chi2, "n_points": self.n_points, "bands": self.bands,
            "n_fitted_parameters": self.n_fitted_parameters,
            "model": {"jd": self.model_jd.tolist(),
                      "mag": {str(f): m.tolist() for f, m in self.model_mags.items()}},
        }


def telescope_name(fid: int) -> str:
    return f"ZTF_{BAND_NAMES[fid]}"


def fit_pspl(lc: LightCurve, *, method: str = "TRF") -> PsplFit:
    """Fit a PSPL model to ``lc`` (DC magnitudes: the lens magnifies the total flux).

    Bands with fewer than 3 points are left out (``bands`` lists the ones used).
    """
    name = str(method).upper()
    if name not in METHODS:
        raise InvalidFitOptionError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    used = fitted_light_curve(lc)
    return _result(_solve(used, name), used, name)


def fitted_light_curve(lc: LightCurve) -> LightCurve:
    """``lc`` without its sparse bands, or BadLightCurveError if too little is left."""
    bands = [fid for fid in lc.bands if np.count_nonzero(lc.fid == fid) >= MIN_POINTS_PER_BAND]
    keep = np.isin(lc.fid, bands)
    if np.count_nonzero(keep) < MIN_POINTS:
        raise BadLightCurveError(
            f"{np.count_nonzero(keep)} usable detections (bands with at least "
            f"{MIN_POINTS_PER_BAND} points) are too few for a PSPL fit: at least {MIN_POINTS} "
            "are needed, ideally covering the rise, the peak and the baseline")
    return LightCurve(lc.jd[keep], lc.mag[keep], lc.magerr[keep], lc.fid[keep], lc.kind)


def _result(solution: _Solution, lc: LightCurve, method: str) -> PsplFit:
    values, errors = solution.values, solution.errors
    t0, u0, tE = values["t0"], values["u0"], values["tE"]
    fluxes = {telescope_name(fid): BandFluxes(
        values[f"fsource_{telescope_name(fid)}"], errors[f"fsource_{telescope_name(fid)}"],
        values[f"fblend_{telescope_name(fid)}"], errors[f"fblend_{telescope_name(fid)}"])
        for fid in lc.bands}
    model_jd = _model_grid(lc, t0, tE)
    model_mags = {fid: pspl_mag(model_jd, t0, u0, tE, fluxes[telescope_name(fid)])
                  for fid in lc.bands}
    return PsplFit(method, t0, errors["t0"], u0, errors["u0"], tE, errors["tE"], fluxes,
                   solution.chi2, len(lc), lc.bands, model_jd, model_mags)


def _checked(solution: _Solution) -> _Solution:
    """``solution`` with u0, tE made positive, if it passes ``_check_solution``."""
    # Both enter the magnification squared; LM, unbounded, may end on either sign.
    values = {**solution.values, "u0": abs(solution.values["u0"]),
              "tE": abs(solution.values["tE"])}
    checked = _Solution(values, solution.errors, solution.chi2, solution.bounds)
    _check_solution(checked)
    return checked


def _check_solution(solution: _Solution) -> None:
    """NoConvergenceError unless t0, u0, tE are finite, inside pyLIMA's domain, constrained.

    LM is unbounded: on a weak event it can run to u0 >> 1 with tE -> 0 (a nearly flat
    curve scaled by a huge source flux). TRF stops on the domain's edge instead, typically
    tE = 500 d with a vanishing source flux: the data cannot tell a faint, long, blended
    event from the real one, and the covariance there means nothing.
    """
    for name in ("t0", "u0", "tE"):
        value, error = solution.values[name], solution.errors[name]
        low, high = solution.bounds[name]
        margin = 1e-6 * (high - low)
        # An error wider than the whole domain: the data do not constrain the parameter
        # (a flat light curve ends on u0 ~ 1e-4 +/- 1e5).
        if not (math.isfinite(value) and math.isfinite(error)
                and low + margin < value < high - margin and error < high - low):
            raise NoConvergenceError(
                f"the PSPL fit found no constrained optimum inside the physical domain: "
                f"{name} = {value:.6g} +/- {error:.3g} (allowed {low:g}..{high:g}): the light "
                "curve does not constrain a lens (peak, wings or blending); try another method "
                "or wait for more data")
    if solution.values["u0"] == 0:
        raise NoConvergenceError("the PSPL fit ended on u0 = 0 (infinite magnification)")


def _model_grid(lc: LightCurve, t0: float, tE: float) -> FloatArray:
    start = min(float(lc.jd[0]), t0 - 2 * tE)
    stop = max(float(lc.jd[-1]), t0 + 2 * tE)
    return np.linspace(start, stop, MODEL_POINTS)


def pspl_magnification(jd: FloatArray, t0: float, u0: float, tE: float) -> FloatArray:
    """Paczynski's A(u) = (u^2 + 2) / (u sqrt(u^2 + 4)), u^2 = u0^2 + ((t - t0) / tE)^2."""
    u = np.hypot(u0, (jd - t0) / tE)
    magnification: FloatArray = (u**2 + 2) / (u * np.sqrt(u**2 + 4))
    return magnification


def pspl_mag(jd: FloatArray, t0: float, u0: float, tE: float, fluxes: BandFluxes) -> FloatArray:
    """The model magnitude of one band (NaN where the model flux is not positive)."""
    flux = fluxes.fsource * pspl_magnification(jd, t0, u0, tE) + fluxes.fblend
    with np.errstate(divide="ignore", invalid="ignore"):
        mag: FloatArray = np.where(
            flux > 0, ZERO_POINT - 2.5 * np.log10(np.where(flux > 0, flux, 1.0)), np.nan)
    return mag


def fallback_guess(lc: LightCurve) -> list[float]:
    """(t0, u0, tE) from the brightest point, as if unblended over the faintest one."""
    fids, counts = np.unique(lc.fid, return_counts=True)
    band = lc.band(int(fids[np.argmax(counts)]))
    brightest = int(np.argmin(band.mag))
    amplification = 10 ** (0.4 * max(float(band.mag.max() - band.mag[brightest]), 0.1))
    # Inverse of A(u) = (u^2 + 2) / (u sqrt(u^2 + 4)).
    u0 = math.sqrt(2.0 * (amplification / math.sqrt(amplification**2 - 1.0) - 1.0))
    return [float(band.jd[brightest]), min(u0, 0.9), FALLBACK_TE_DAYS]


# -- pyLIMA, quiet and process-local ------------------------------------------------------


def _discard(*args: object, **kwargs: object) -> None:
    """pyLIMA reports progress with print(): the service's stdout is its log, not a console."""


class _LocalLists:
    """Stands in for ``multiprocessing.Manager`` inside pyLIMA's fit objects.

    ``MLfit.__init__`` starts three Managers to share trial lists with DE worker processes
    we never use: each is a server process (~40 ms to start), every objective evaluation
    becomes an IPC round trip (TRF 220 -> 40 ms, DE 3.7 -> 1.1 s), and a daemonic
    worker (``multiprocessing.Pool``) may not start one at all.
    """

    def list(self) -> list[Any]:
        return []


def _quiet_pylima() -> None:
    # A module-level name shadows the builtin: silences these modules' print() calls only.
    for module in (pylima_event, pylima_telescopes, pylima_guess, ML_fit, LM_fit, TRF_fit, DE_fit):
        module.print = _discard
    ML_fit.Manager = _LocalLists


_quiet_pylima()


class _QuietTRF(TRF_fit.TRFfit):
    def print_fit_results(self) -> None:
        """pyLIMA pprints the best model to stdout; we return it instead."""


class _QuietLM(LM_fit.LMfit):
    def print_fit_results(self) -> None:
        """pyLIMA pprints the best model to stdout; we return it instead."""


class _QuietDE(DE_fit.DEfit):
    def print_fit_results(self) -> None:
        """pyLIMA pprints the best model to stdout; we return it instead."""


_PYLIMA_FAILURES = (ML_fit.FitException, ValueError, ArithmeticError, IndexError,
                    np.linalg.LinAlgError)


@dataclass(frozen=True)
class _Solution:
    values: dict[str, float]  # by pyLIMA parameter name (t0, u0, tE, fsource_ZTF_g...)
    errors: dict[str, float]
    chi2: float
    bounds: dict[str, tuple[float, float]]  # pyLIMA's search domain (t0 within the data)


def _event_for(lc: LightCurve) -> Any:
    event = pylima_event.Event()
    event.name = "finkportal"
    for fid in lc.bands:
        band = lc.band(fid)
        event.telescopes.append(pylima_telescopes.Telescope(
            name=telescope_name(fid), camera_filter=BAND_NAMES[fid],
            lightcurve=np.column_stack([band.jd, band.mag, band.magerr]),
            lightcurve_names=["time", "mag", "err_mag"], lightcurve_units=["JD", "mag", "mag"]))
    return event


def _pspl_model(event: Any) -> Any:
    # No parallax: nothing needs the Earth's ephemerides, so nothing is downloaded.
    return PSPL_model.PSPLmodel(event, parallax=["None", 0.0], blend_flux_parameter="fblend")


def _solve(lc: LightCurve, method: str) -> _Solution:
    """The fit by ``method``; DE is polished by TRF and must beat TRF from pyLIMA's guess.

    DE (pyLIMA hard-codes its stop at a population chi^2 spread < 1) sometimes settles in
    the wrong basin; its fluxes are also unbounded where TRF's are not. The local fit from
    pyLIMA's guess costs ~2 % of the DE run, so the lower chi^2 of the two is returned.
    TRF and LM start from pyLIMA's guess, and from ``fallback_guess`` if that fails.
    """
    event = _event_for(lc)
    if method == "DE":
        solutions = _converged([lambda: _run_gradient(event, "TRF", guess=_run_de(event)),
                                lambda: _run_gradient(event, "TRF", guess=None)], every=True)
        return min(solutions, key=lambda solution: solution.chi2)
    return _converged([lambda: _run_gradient(event, method, guess=None),
                       lambda: _run_gradient(event, method, guess=fallback_guess(lc))],
                      every=False)[0]


def _converged(attempts: list[Callable[[], _Solution]], *, every: bool) -> list[_Solution]:
    """The attempts that converge inside the domain (all, or the first), else the first error."""
    solutions: list[_Solution] = []
    first_error: NoConvergenceError | None = None
    for attempt in attempts:
        try:
            solutions.append(_checked(attempt()))
        except NoConvergenceError as exc:
            first_error = first_error or exc
            continue
        if not every:
            break
    if not solutions:
        raise first_error or NoConvergenceError("no fit was attempted")
    return solutions


def _run(fitter: Any, method: str) -> None:
    try:
        with np.errstate(all="ignore"):
            fitter.fit()
    except _PYLIMA_FAILURES as exc:
        raise NoConvergenceError(f"the pyLIMA {method} fit failed: {exc}") from exc
    if not fitter.fit_results:
        raise NoConvergenceError(
            f"pyLIMA found no starting point for the {method} fit: no peak stands out of the "
            "light curve")


def _run_gradient(event: Any, method: str, guess: list[float] | None) -> _Solution:
    fitter = (_QuietTRF if method == "TRF" else _QuietLM)(_pspl_model(event))
    if guess is not None:
        fitter.model_parameters_guess = guess
    _run(fitter, method)
    results = fitter.fit_results
    if not results["fit_object"].success:
        raise NoConvergenceError(
            f"the {method} fit stopped without converging: {results['fit_object'].message}")
    names = list(fitter.fit_parameters)
    best = np.asarray(results["best_model"], dtype=np.float64)
    chi2 = float(results["chi2"])
    errors = _errors(np.asarray(results["covariance_matrix"], dtype=np.float64), chi2,
                     int(event.total_number_of_data_points()) - len(names))
    return _Solution({n: float(v) for n, v in zip(names, best, strict=True)},
                     {n: float(e) for n, e in zip(names, errors, strict=True)}, chi2,
                     {n: tuple(fitter.fit_parameters[n][1]) for n in names})


def _errors(covariance: FloatArray, chi2: float, dof: int) -> FloatArray:
    """1-sigma errors: the formal (J^T J)^-1 ones, inflated by sqrt(chi^2/dof) if above 1.

    pyLIMA multiplies its covariance by chi^2/dof both ways; a fit better than its error
    bars (chi^2/dof < 1, e.g. error floors) must not shrink the uncertainties.
    """
    reduced = chi2 / dof if dof > 0 else math.nan
    formal = covariance / reduced if reduced > 0 else covariance
    variances = np.diag(formal) * max(1.0, reduced)
    errors: FloatArray = np.sqrt(np.where(variances >= 0, variances, np.nan))
    return errors


def _run_de(event: Any) -> list[float]:
    """The DE optimum (t0, u0, tE), fluxes solved linearly at each trial (3-d search)."""
    fitter = _QuietDE(_pspl_model(event), telescopes_fluxes_method="polyfit",
                      loss_function="chi2", DE_population_size=DE_POPULATION,
                      max_iteration=DE_GENERATIONS)
    _run(fitter, "DE")
    t0, u0, tE = (float(v) for v in fitter.fit_results["best_model"][:3])
    return [t0, abs(u0), tE]
