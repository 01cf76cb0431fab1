"""Light-curve models of the simulated populations (pure numpy, no randomness).

Every model returns the *total* apparent magnitude of the object (transient plus
anything static at its position that the survey would see blended with it) so
that the photometry layer can form the difference-image flux the way ZTF does:
``total flux - reference flux``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

# Flux of a supernova at explosion, relative to its peak (defines rise_time).
EXPLOSION_FLUX_FRACTION = 0.01
FILTER_NAMES = {1: "g", 2: "r"}


def _bazin_shape(dt_peak: float, trise: float, tfall: float) -> float:
    """Pure-Python Bazin shape at ``dt_peak`` days from the peak, 1 at the peak."""
    t0_offset = trise * math.log(max(tfall / trise - 1.0, 1.0 + 1e-9))  # peak - t0

    def raw(dt: float) -> float:
        return math.exp(-dt / tfall) / (1.0 + math.exp(min(-dt / trise, 700.0)))

    return raw(dt_peak + t0_offset) / raw(t0_offset)


@lru_cache(maxsize=4096)
def rise_efold(rise_time: float, tfall: float) -> float:
    """Bazin ``trise`` making the flux 1 % of peak ``rise_time`` days before the peak."""
    low, high = 1e-3, min(rise_time, tfall / 2.0 - 1e-6)
    for _ in range(60):  # bisection: the early flux grows with trise
        mid = 0.5 * (low + high)
        if _bazin_shape(-rise_time, mid, tfall) > EXPLOSION_FLUX_FRACTION:
            high = mid
        else:
            low = mid
    return 0.5 * (low + high)


def bazin_flux(t: FloatArray, t_peak: float, rise_time: float, tfall: float) -> FloatArray:
    """Bazin (2009) transient shape scaled to 1 at ``t_peak``.

    ``rise_time`` is explosion-to-peak (days): the flux is 1 % of its peak then.
    """
    trise = rise_efold(rise_time, tfall)
    # Place the Bazin t0 so that the maximum of the curve falls at t_peak.
    t0 = t_peak - trise * np.log(max(tfall / trise - 1.0, 1.0 + 1e-9))
    dt = np.asarray(t, dtype=np.float64) - t0
    raw = np.exp(-dt / tfall) / (1.0 + np.exp(np.clip(-dt / trise, -700, 700)))
    peak_dt = t_peak - t0
    peak = np.exp(-peak_dt / tfall) / (1.0 + np.exp(-peak_dt / trise))
    shape: FloatArray = raw / peak
    return shape


def sn_ia_mag(t: ArrayLike, fid: ArrayLike, params: Mapping[str, Any]) -> FloatArray:
    """SN Ia-like magnitude: the Bazin shape per band, g fading faster than r.

    ``params``: ``t_peak``, ``rise_time``, ``peak_mag_g``, ``peak_mag_r``,
    ``tfall_g``, ``tfall_r``. Returns +inf where the flux vanishes.
    """
    t = np.asarray(t, dtype=np.float64)
    fid = np.asarray(fid)
    mags = np.empty_like(t)
    for band, name in FILTER_NAMES.items():
        sel = fid == band
        shape = bazin_flux(t[sel], params["t_peak"], params["rise_time"], params[f"tfall_{name}"])
        with np.errstate(divide="ignore"):
            mags[sel] = params[f"peak_mag_{name}"] - 2.5 * np.log10(np.maximum(shape, 0.0))
    return mags


def _fourier_shape(phase: FloatArray, amplitudes: list[float], phases: list[float]) -> FloatArray:
    shape = np.zeros_like(phase)
    for k, (amp, phi) in enumerate(zip(amplitudes, phases, strict=True), start=1):
        shape += amp * np.sin(2.0 * np.pi * k * phase + phi)
    return shape


def _sawtooth_harmonics(amplitude: float, n_harmonics: int, decay: float) -> list[float]:
    """Fourier amplitudes of an asymmetric pulsator (fast rise, slow decline)."""
    raw = [decay ** (k - 1) / k for k in range(1, n_harmonics + 1)]
    # Scale so that the peak-to-peak range of the curve is close to ``amplitude``.
    phase = np.linspace(0.0, 1.0, 512, endpoint=False)
    shape = _fourier_shape(phase, raw, [0.0] * n_harmonics)
    scale = amplitude / float(np.ptp(shape))
    return [a * scale for a in raw]


def periodic_mag(t: ArrayLike, fid: ArrayLike, params: Mapping[str, Any]) -> FloatArray:
    """Periodic variable: pulsator (sinusoid plus harmonics) or eclipsing binary.

    ``params``: ``subtype`` ("rrlyrae", "cepheid", "eclipsing"), ``period`` (d),
    ``epoch`` (jd of phase 0), ``mean_mag_g``, ``mean_mag_r``, ``amplitude``
    (peak-to-peak in g, mag); pulsators use ``harmonic_decay``, binaries
    ``secondary_depth`` and ``eclipse_width`` (phase units).
    """
    t = np.asarray(t, dtype=np.float64)
    fid = np.asarray(fid)
    phase = np.mod((t - params["epoch"]) / params["period"], 1.0)
    if params["subtype"] == "eclipsing":
        delta = _eclipse_dips(phase, params)
    else:
        amps = _sawtooth_harmonics(params["amplitude"], 4, params["harmonic_decay"])
        # sin(2πkφ) with positive amplitudes is brightest late in phase; minus sign
        # gives the fast rise to maximum of RR Lyrae and Cepheids.
        delta = -_fourier_shape(phase, amps, [0.0] * 4)
    # Pulsators have a smaller amplitude in r than in g; eclipses are near-grey.
    r_scale = 1.0 if params["subtype"] == "eclipsing" else 0.7
    scale = np.where(fid == 1, 1.0, r_scale)
    base = np.where(fid == 1, params["mean_mag_g"], params["mean_mag_r"])
    mags: FloatArray = base + scale * delta
    return mags


def _eclipse_dips(phase: FloatArray, params: Mapping[str, Any]) -> FloatArray:
    width = params["eclipse_width"]
    primary = params["amplitude"] * np.exp(-0.5 * (_wrap(phase) / width) ** 2)
    secondary = params["secondary_depth"] * np.exp(-0.5 * (_wrap(phase - 0.5) / width) ** 2)
    dips: FloatArray = primary + secondary
    return dips


def _wrap(phase: FloatArray) -> FloatArray:
    """Phase distance to 0 in [-0.5, 0.5)."""
    wrapped: FloatArray = np.mod(phase + 0.5, 1.0) - 0.5
    return wrapped


def pspl_magnification(t: ArrayLike, t0: float, u0: float, tE: float) -> FloatArray:
    """Paczyński point-source point-lens magnification A(t)."""
    tau = (np.asarray(t, dtype=np.float64) - t0) / tE
    u = np.sqrt(u0 * u0 + tau * tau)
    magnification: FloatArray = (u * u + 2.0) / (u * np.sqrt(u * u + 4.0))
    return magnification


def microlensing_mag(t: ArrayLike, fid: ArrayLike, params: Mapping[str, Any]) -> FloatArray:
    """Blended PSPL event: ``F = Fs·A(t) + Fb`` with ``fs = Fs/(Fs+Fb)`` per band.

    ``params``: ``t0``, ``u0``, ``tE``, ``baseline_mag_g``, ``baseline_mag_r``,
    ``blend_fraction`` (source fraction of the baseline flux, achromatic here).
    """
    t = np.asarray(t, dtype=np.float64)
    fid = np.asarray(fid)
    amp = pspl_magnification(t, params["t0"], params["u0"], params["tE"])
    fs = params["blend_fraction"]
    base = np.where(fid == 1, params["baseline_mag_g"], params["baseline_mag_r"])
    mags: FloatArray = base - 2.5 * np.log10(fs * amp + (1.0 - fs))
    return mags


def constant_mag(t: ArrayLike, fid: ArrayLike, params: Mapping[str, Any]) -> FloatArray:
    """A source that does not vary (asteroid over one night, bogus artefact)."""
    fid = np.asarray(fid)
    mags: FloatArray = np.where(fid == 1, params["mag_g"], params["mag_r"]).astype(np.float64)
    return np.broadcast_to(mags, np.shape(t)).copy()


MODELS = {
    "sn_ia": sn_ia_mag,
    "periodic": periodic_mag,
    "microlensing": microlensing_mag,
    "constant": constant_mag,
}


def model_mag(kind: str, t: ArrayLike, fid: ArrayLike, params: Mapping[str, Any]) -> FloatArray:
    """Magnitudes of model ``kind``: ``sn_ia``, ``periodic``, ``microlensing``, ``constant``."""
    try:
        model = MODELS[kind]
    except KeyError:
        raise ValueError(f"unknown light-curve model {kind!r}; expected one of {sorted(MODELS)}")\
            from None
    return model(t, fid, params)
