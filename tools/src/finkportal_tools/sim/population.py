"""The simulated populations and their true parameters.

Each draw returns a :class:`Source`: the light-curve model and its parameters,
what the reference image holds at the position (subtracted from every epoch),
catalogue context (nearest reference source, Pan-STARRS and Gaia neighbours) and
the ground truth that tests and recovery studies compare against.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from finkportal_tools.sim.models import model_mag
from finkportal_tools.sim.photometry import flux_to_mag, mag_to_flux
from finkportal_tools.sim.survey import night_jd0

KINDS = ("sn_ia", "periodic", "microlensing", "asteroid", "bogus")
# Share of *objects* of each kind; asteroids and bogus give one alert per object,
# the others up to two a night, so alert shares differ a little.
DEFAULT_MIX: Mapping[str, float] = {
    "sn_ia": 0.2, "periodic": 0.3, "microlensing": 0.05, "asteroid": 0.2, "bogus": 0.25,
}
SPEED_OF_LIGHT_KM_S = 299_792.458
HUBBLE_CONSTANT = 70.0
ABS_MAG_SN_IA = -19.3
ZTF_FIRST_YEAR = 2018


@dataclass
class Source:
    """One simulated astrophysical (or artefact) source."""

    kind: str
    model: str
    params: dict[str, Any]
    reference_mag: tuple[float, float]  # (g, r) flux already in the reference image
    catalog: dict[str, Any]  # static candidate fields (magnr per band, neighbours...)
    truth: dict[str, Any]
    real: bool = True  # False for artefacts: low real-bogus scores
    moving: bool = False  # new objectId at every detection
    extra: dict[str, Any] = field(default_factory=dict)


def _earlier_detections(rng: np.random.Generator, low: int, high: int) -> dict[str, Any]:
    """Detections of a long-lived source before the simulated history window."""
    year = int(rng.integers(ZTF_FIRST_YEAR, ZTF_FIRST_YEAR + 3))
    first_jd = night_jd0(date(year, 1, 1)) + float(rng.uniform(60.0, 300.0))
    return {"prior_detections": int(rng.integers(low, high + 1)), "first_detection_jd": first_jd}


def _uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _star_catalog(rng: np.random.Generator, mag_g: float, mag_r: float) -> dict[str, Any]:
    """A point source coincident with the alert (variables, microlensing)."""
    dist = _uniform(rng, 0.02, 0.45)
    return {
        "magnr": (mag_g, mag_r), "distnr": dist, "sgscore1": _uniform(rng, 0.93, 1.0),
        "distpsnr1": dist + _uniform(rng, 0.0, 0.1), "srmag1": mag_r + 0.02,
        "sgmag1": mag_g + 0.02, "neargaia": dist + _uniform(rng, 0.0, 0.15),
        "maggaia": 0.5 * (mag_g + mag_r) - 0.1, "chinr": _uniform(rng, 0.3, 1.5),
        "sharpnr": _uniform(rng, -0.05, 0.05), "classtar": _uniform(rng, 0.9, 1.0),
    }


def _galaxy_catalog(rng: np.random.Generator, mag_g: float, mag_r: float, dist: float) -> dict:
    """An extended host galaxy ``dist`` arcsec away (supernovae)."""
    return {
        "magnr": (mag_g, mag_r), "distnr": dist, "sgscore1": _uniform(rng, 0.0, 0.15),
        "distpsnr1": dist + _uniform(rng, 0.0, 0.3), "srmag1": mag_r - 0.1,
        "sgmag1": mag_g - 0.1, "neargaia": _uniform(rng, 5.0, 60.0),
        "maggaia": _uniform(rng, 14.0, 20.5), "chinr": _uniform(rng, 2.0, 9.0),
        "sharpnr": _uniform(rng, 0.1, 0.6), "classtar": _uniform(rng, 0.0, 0.3),
    }


def _field_star_catalog(rng: np.random.Generator) -> dict[str, Any]:
    """Whatever unrelated source is nearest (asteroids, artefacts)."""
    mag_r = _uniform(rng, 15.0, 21.0)
    catalog = _star_catalog(rng, mag_r + 0.6, mag_r)
    dist = _uniform(rng, 2.0, 25.0)
    catalog.update(distnr=dist, distpsnr1=dist + _uniform(rng, 0.0, 0.5), neargaia=dist + 0.2)
    return catalog


def luminosity_distance_mpc(z: float) -> float:
    """Low-redshift luminosity distance (second order in z)."""
    return SPEED_OF_LIGHT_KM_S * z / HUBBLE_CONSTANT * (1.0 + 0.5 * z)


def draw_sn_ia(rng: np.random.Generator, jd_tonight: float) -> Source:
    z = max(0.12 * rng.random() ** (1.0 / 3.0), 0.015)  # uniform in volume
    mu = 5.0 * math.log10(luminosity_distance_mpc(z) * 1e6 / 10.0)
    peak_g = ABS_MAG_SN_IA + rng.normal(0.0, 0.15) + mu + _uniform(rng, 0.0, 0.3)
    stretch = 1.0 + z  # cosmological time dilation
    params = {
        "t_peak": jd_tonight + _uniform(rng, -30.0, 15.0),
        "rise_time": _uniform(rng, 15.0, 20.0) * stretch,
        "peak_mag_g": peak_g, "peak_mag_r": peak_g + rng.normal(0.0, 0.05),
        "tfall_g": _uniform(rng, 12.0, 18.0) * stretch,
        "tfall_r": _uniform(rng, 22.0, 32.0) * stretch,
    }
    host_r = _uniform(rng, 16.5, 21.0)
    host_offset = _uniform(rng, 0.3, 3.0)
    truth = {**params, "redshift": z, "explosion_jd": params["t_peak"] - params["rise_time"],
             "host_offset_arcsec": host_offset, "host_mag_r": host_r}
    catalog = _galaxy_catalog(rng, host_r + _uniform(rng, 0.4, 1.0), host_r, host_offset)
    return Source("sn_ia", "sn_ia", params, (math.inf, math.inf), catalog, truth,
                  extra={"host_angle": _uniform(rng, 0.0, 2 * math.pi)})


_PERIODIC_SUBTYPES = {"rrlyrae": 0.45, "eclipsing": 0.40, "cepheid": 0.15}
_SIMBAD_TYPES = {"rrlyrae": "RRLyr", "eclipsing": "EB*", "cepheid": "Ce*"}


def draw_periodic(
    rng: np.random.Generator, jd_tonight: float, subtype: str | None = None,
) -> Source:
    drawn = str(rng.choice(list(_PERIODIC_SUBTYPES), p=list(_PERIODIC_SUBTYPES.values())))
    subtype = subtype or drawn
    if subtype not in _PERIODIC_SUBTYPES:
        raise ValueError(f"periodic subtype must be one of {sorted(_PERIODIC_SUBTYPES)}")
    params = _PERIODIC_DRAWS[subtype](rng)
    params.update(subtype=subtype, epoch=jd_tonight - _uniform(rng, 0.0, params["period"]))
    reference = mean_mags("periodic", params, params["period"], params["epoch"])
    truth = {**params, "simbad_type": _SIMBAD_TYPES[subtype]}
    catalog = _star_catalog(rng, *reference)
    return Source("periodic", "periodic", params, reference, catalog, truth,
                  extra=_earlier_detections(rng, 40, 600))


def _rrlyrae(rng: np.random.Generator) -> dict[str, Any]:
    mean_g = _uniform(rng, 14.5, 18.5)
    return {"period": _uniform(rng, 0.45, 0.85), "amplitude": _uniform(rng, 0.5, 1.1),
            "harmonic_decay": _uniform(rng, 0.5, 0.7), "mean_mag_g": mean_g,
            "mean_mag_r": mean_g - _uniform(rng, 0.1, 0.35)}


def _cepheid(rng: np.random.Generator) -> dict[str, Any]:
    mean_g = _uniform(rng, 12.5, 16.5)
    return {"period": _log_uniform(rng, 1.0, 10.0), "amplitude": _uniform(rng, 0.3, 0.9),
            "harmonic_decay": _uniform(rng, 0.4, 0.55), "mean_mag_g": mean_g,
            "mean_mag_r": mean_g - _uniform(rng, 0.4, 0.9)}


def _eclipsing(rng: np.random.Generator) -> dict[str, Any]:
    mean_g, depth = _uniform(rng, 14.0, 18.5), _uniform(rng, 0.3, 1.2)
    return {"period": _log_uniform(rng, 0.2, 10.0), "amplitude": depth,
            "secondary_depth": depth * _uniform(rng, 0.1, 0.8),
            "eclipse_width": _uniform(rng, 0.02, 0.06), "mean_mag_g": mean_g,
            "mean_mag_r": mean_g - _uniform(rng, 0.2, 0.8)}


_PERIODIC_DRAWS: dict[str, Callable[[np.random.Generator], dict[str, Any]]] = {
    "rrlyrae": _rrlyrae, "cepheid": _cepheid, "eclipsing": _eclipsing,
}


def mean_mags(model: str, params: Mapping[str, Any], period: float, epoch: float) -> tuple:
    """Flux-averaged magnitude per band over one period: what a deep reference sees."""
    t = epoch + np.linspace(0.0, period, 256, endpoint=False)
    means = []
    for fid in (1, 2):
        flux = mag_to_flux(model_mag(model, t, np.full(t.shape, fid), params))
        means.append(float(flux_to_mag(float(np.mean(flux)))))
    return means[0], means[1]


def draw_microlensing(rng: np.random.Generator, jd_tonight: float) -> Source:
    base_r = _uniform(rng, 16.5, 19.5)
    params = {
        "t0": jd_tonight + _uniform(rng, -25.0, 5.0), "u0": _uniform(rng, 0.05, 0.9),
        "tE": _log_uniform(rng, 10.0, 80.0), "baseline_mag_r": base_r,
        "baseline_mag_g": base_r + _uniform(rng, 0.5, 1.5),
        "blend_fraction": _uniform(rng, 0.2, 1.0),
    }
    reference = (params["baseline_mag_g"], base_r)
    return Source("microlensing", "microlensing", params, reference,
                  _star_catalog(rng, *reference), dict(params),
                  extra=_earlier_detections(rng, 1, 8))


def draw_asteroid(rng: np.random.Generator, jd_tonight: float) -> Source:
    mag_r = _uniform(rng, 17.5, 20.4)
    params = {"mag_r": mag_r, "mag_g": mag_r + _uniform(rng, 0.4, 0.7)}
    truth = {
        "ssnamenr": str(int(rng.integers(1_000, 700_000))),
        "rate_deg_per_day": _log_uniform(rng, 0.05, 1.0),
        "position_angle_deg": _uniform(rng, 0.0, 360.0), "mag_r": mag_r,
        "ssdistnr": _uniform(rng, 0.0, 2.5), "ssmagnr": mag_r + rng.normal(0.2, 0.3),
    }
    return Source("asteroid", "constant", params, (math.inf, math.inf),
                  _field_star_catalog(rng), truth, moving=True)


def draw_bogus(rng: np.random.Generator, jd_tonight: float) -> Source:
    artefact_mag = _uniform(rng, 16.5, 20.3)
    negative = bool(rng.random() < 0.4)  # bad subtraction of a bright star
    catalog = _field_star_catalog(rng)
    reference: tuple[float, float] = (math.inf, math.inf)
    mags = (artefact_mag, artefact_mag)
    if negative:
        star = _uniform(rng, 12.0, 15.5)
        catalog.update(magnr=(star + 0.5, star), distnr=_uniform(rng, 0.1, 1.0))
        reference = (star + 0.5, star)
        mags = tuple(float(flux_to_mag(mag_to_flux(s) - mag_to_flux(artefact_mag)))
                     for s in reference)  # type: ignore[assignment]
    params = {"mag_g": mags[0], "mag_r": mags[1]}
    truth = {"artefact_mag": artefact_mag, "negative": negative}
    return Source("bogus", "constant", params, reference, catalog, truth, real=False,
                  moving=True)


DRAWS: dict[str, Callable[[np.random.Generator, float], Source]] = {
    "sn_ia": draw_sn_ia, "periodic": draw_periodic, "microlensing": draw_microlensing,
    "asteroid": draw_asteroid, "bogus": draw_bogus,
}


def normalised_mix(mix: Mapping[str, float] | None) -> tuple[list[str], np.ndarray]:
    """Kinds and probabilities from a (partial) mix; unknown kinds are an error."""
    mix = dict(DEFAULT_MIX if mix is None else mix)
    unknown = set(mix) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown population kinds {sorted(unknown)}; expected {KINDS}")
    if any(v < 0 for v in mix.values()) or sum(mix.values()) <= 0:
        raise ValueError("population mix needs non-negative weights with a positive sum")
    kinds = [k for k in KINDS if mix.get(k, 0) > 0]
    weights = np.array([mix[k] for k in kinds], dtype=np.float64)
    return kinds, weights / weights.sum()


def draw_source(
    rng: np.random.Generator, kinds: list[str], probs: np.ndarray, jd_tonight: float,
) -> Source:
    index = int(np.searchsorted(np.cumsum(probs), rng.random(), side="right"))
    kind = kinds[min(index, len(kinds) - 1)]
    source = DRAWS[kind](rng, jd_tonight)
    source.truth["type"] = kind
    return source
