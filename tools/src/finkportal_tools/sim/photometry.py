"""Difference-image photometry as ZTF reports it.

Fluxes are in units where ``mag = ZERO_POINT - 2.5 log10(flux)``. The survey
measures the flux of the science image minus the reference image at the
position: ``magpsf`` is the magnitude of ``|difference|``, ``isdiffpos`` its sign,
``magnr`` the reference source. A 5-sigma difference is the detection threshold,
so ``diffmaglim`` is where the background noise alone gives SNR 5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
ZERO_POINT = 25.0
DETECTION_SNR = 5.0
# Electrons per flux unit: sets the source Poisson noise (SNR ~ 200 at mag 14).
_GAIN = 1.6
# Calibration floor, added in quadrature (mag).
_FLOOR_MAG = 0.01
MAG_PER_LN = 2.5 / math.log(10.0)


def mag_to_flux(mag: FloatArray | float) -> FloatArray:
    flux: FloatArray = np.power(10.0, -0.4 * (np.asarray(mag, dtype=np.float64) - ZERO_POINT))
    return flux


def flux_to_mag(flux: FloatArray | float) -> FloatArray:
    with np.errstate(divide="ignore"):
        mag: FloatArray = ZERO_POINT - 2.5 * np.log10(np.asarray(flux, dtype=np.float64))
    return mag


def flux_sigma(total_flux: FloatArray, diffmaglim: FloatArray) -> FloatArray:
    """Noise on the difference flux: background at the limit plus source Poisson."""
    background = mag_to_flux(diffmaglim) / DETECTION_SNR
    poisson = np.maximum(total_flux, 0.0) / _GAIN
    sigma: FloatArray = np.sqrt(background**2 + poisson)
    return sigma


def mag_error(flux: FloatArray, sigma: FloatArray) -> FloatArray:
    """Magnitude error for a flux measured with ``sigma``, with a calibration floor."""
    err: FloatArray = np.hypot(MAG_PER_LN * sigma / np.abs(flux), _FLOOR_MAG)
    return err


@dataclass(frozen=True)
class Observation:
    """What the pipeline reports for a set of epochs of one object."""

    diff_flux: FloatArray  # measured science - reference flux
    magpsf: FloatArray  # of |diff_flux| (nan where not detected)
    sigmapsf: FloatArray
    positive: NDArray[np.bool_]  # isdiffpos == "t"
    detected: NDArray[np.bool_]


def observe(
    true_mag: FloatArray, reference_mag: FloatArray | float, diffmaglim: FloatArray,
    rng: np.random.Generator,
) -> Observation:
    """Measure the difference flux of a source whose total magnitude is ``true_mag``.

    ``reference_mag`` is what the reference image holds at the position (``inf``
    for nothing): it is subtracted, so only the change shows in the difference.
    """
    total = mag_to_flux(true_mag)
    reference = mag_to_flux(reference_mag)
    sigma = flux_sigma(total, diffmaglim)
    measured = total - reference + rng.standard_normal(total.shape) * sigma
    # diffmaglim is the 5-sigma background flux: detected means magpsf <= diffmaglim.
    detected = np.abs(measured) >= mag_to_flux(diffmaglim)
    magpsf = np.where(detected, flux_to_mag(np.abs(measured)), np.nan)
    sigmapsf = np.where(detected, mag_error(measured, sigma), np.nan)
    return Observation(measured, magpsf, sigmapsf, measured > 0, detected)


def dc_mag(
    magpsf: FloatArray, magnr: FloatArray | float, positive: NDArray[np.bool_],
) -> FloatArray:
    """Total (DC) magnitude from a difference measurement, as Fink computes it."""
    sign = np.where(positive, 1.0, -1.0)
    total = mag_to_flux(magnr) + sign * mag_to_flux(magpsf)
    return flux_to_mag(np.where(total > 0, total, np.nan))
