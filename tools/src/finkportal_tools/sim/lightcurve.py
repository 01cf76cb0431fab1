"""Single multi-band light curves with known truth, for fitter recovery tests.

``simulate_light_curve("microlensing", {"tE": 30.0}, seed=1)`` returns a ZTF-like
g/r light curve whose parameters not given are drawn from the same populations
as the night simulator. The photometry is the survey's: difference flux with
5-sigma detections, so faint epochs are upper limits, and ``mag``/``magerr`` are
the total (DC) magnitudes a fitter works with (for supernovae, which have no
reference flux, DC equals ``magpsf``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from finkportal_tools.sim.models import model_mag
from finkportal_tools.sim.photometry import dc_mag, mag_to_flux, observe
from finkportal_tools.sim.population import DRAWS, Source, draw_periodic, mean_mags

LIGHT_CURVE_KINDS = ("sn_ia", "periodic", "microlensing")
DEFAULT_START_JD = 2460200.5
_LIMIT_MEAN = {1: 20.35, 2: 20.25}


@dataclass(frozen=True)
class LightCurve:
    """Detections (and upper limits) of one simulated object, oldest first."""

    jd: NDArray[np.float64]
    fid: NDArray[np.int64]
    mag: NDArray[np.float64]  # total (DC) magnitude
    magerr: NDArray[np.float64]
    magpsf: NDArray[np.float64]  # difference magnitude, as in alerts
    sigmapsf: NDArray[np.float64]
    isdiffpos: NDArray[np.str_]
    magnr: NDArray[np.float64]  # reference magnitude per point (inf: none)
    true_mag: NDArray[np.float64]
    limit_jd: NDArray[np.float64]  # epochs without detection
    limit_fid: NDArray[np.int64]
    diffmaglim: NDArray[np.float64]
    truth: dict[str, Any]

    def __len__(self) -> int:
        return len(self.jd)


def survey_cadence(
    rng: np.random.Generator, start_jd: float, duration_days: float, cadence_days: float,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
    """ZTF-like visits: a night every ``cadence_days`` on average, g and r most nights."""
    nights = np.arange(int(duration_days))
    nights = nights[rng.random(len(nights)) < min(1.0, 1.0 / cadence_days)]
    jd, fid = [], []
    for night in nights:
        when = start_jd + night + rng.uniform(0.15, 0.45)
        bands = (1, 2) if rng.random() < 0.75 else ((1,) if rng.random() < 0.5 else (2,))
        for k, band in enumerate(bands):
            jd.append(when + 0.03 * k)
            fid.append(band)
    fids = np.array(fid, dtype=np.int64)
    limits = np.clip(rng.normal(np.where(fids == 1, *_LIMIT_MEAN.values()), 0.3), 18.8, 21.2)
    return np.array(jd, dtype=np.float64), fids, limits


def _source_for(kind: str, params: Mapping[str, Any] | None, rng: np.random.Generator,
                reference_jd: float) -> Source:
    if kind not in LIGHT_CURVE_KINDS:
        raise ValueError(f"kind must be one of {LIGHT_CURVE_KINDS}, got {kind!r}")
    if kind == "periodic":
        source = draw_periodic(rng, reference_jd, (params or {}).get("subtype"))
    else:
        source = DRAWS[kind](rng, reference_jd)
    unknown = set(params or {}) - set(source.params)
    if unknown:
        raise ValueError(f"unknown {kind} parameters {sorted(unknown)}; "
                         f"expected some of {sorted(source.params)}")
    source.params.update(params or {})
    if kind == "periodic":
        p = source.params
        source.reference_mag = mean_mags("periodic", p, p["period"], p["epoch"])
    elif kind == "microlensing":
        source.reference_mag = (source.params["baseline_mag_g"], source.params["baseline_mag_r"])
    source.truth.update(source.params, type=kind)
    return source


def simulate_light_curve(
    kind: str, params: Mapping[str, Any] | None = None, seed: int = 0, *,
    start_jd: float = DEFAULT_START_JD, duration_days: float = 120.0,
    cadence_days: float = 2.5,
) -> LightCurve:
    """A g/r light curve of a ``sn_ia``, ``periodic`` or ``microlensing`` source.

    ``params`` overrides the drawn parameters (names as in ``truth``: e.g.
    ``period``, ``amplitude``, ``subtype`` for periodic; ``t0``, ``u0``, ``tE``,
    ``blend_fraction``, ``baseline_mag_r`` for microlensing; ``t_peak``,
    ``rise_time``, ``peak_mag_g`` for SNe). Reproducible from ``seed``. The
    drawn times of peak fall inside the window.
    """
    rng = np.random.default_rng([seed, 0x4C43])
    source = _source_for(kind, params, rng, start_jd + 0.5 * duration_days)
    jd, fid, limit = survey_cadence(rng, start_jd, duration_days, cadence_days)
    true_mag = model_mag(source.model, jd, fid, source.params)
    reference = np.where(fid == 1, *source.reference_mag)
    obs = observe(true_mag, reference, limit, rng)
    det = obs.detected
    mag = dc_mag(obs.magpsf[det], reference[det], obs.positive[det])
    # Total-flux error: the difference flux error propagated to the DC magnitude.
    magerr = obs.sigmapsf[det] * mag_to_flux(obs.magpsf[det]) / mag_to_flux(mag)
    return LightCurve(
        jd=jd[det], fid=fid[det], mag=mag, magerr=magerr, magpsf=obs.magpsf[det],
        sigmapsf=obs.sigmapsf[det], isdiffpos=np.where(obs.positive[det], "t", "f"),
        magnr=reference[det], true_mag=true_mag[det], limit_jd=jd[~det], limit_fid=fid[~det],
        diffmaglim=limit[~det], truth=dict(source.truth),
    )
