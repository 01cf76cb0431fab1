"""A source placed in a field and observed at every visit of that field.

Everything an alert reports about one epoch (difference photometry, astrometric
scatter, real-bogus scores, shape parameters) is drawn once, for all epochs, when
the object is created. Tonight's second alert of an object then repeats the
first one exactly in its ``prv_candidates``, as ZTF does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from finkportal_tools.sim.models import model_mag
from finkportal_tools.sim.photometry import Observation, observe
from finkportal_tools.sim.population import Source
from finkportal_tools.sim.survey import (
    FIELD_HALF_WIDTH_DEG,
    Epochs,
    Field,
    Placement,
    place,
    sky_position,
)

FloatArray = NDArray[np.float64]
TONIGHT_G, TONIGHT_R = -2, -1  # tonight's visits are the last two epochs
_ARCSEC = 1.0 / 3600.0


@dataclass(frozen=True)
class EpochQuality:
    """Per-epoch measurement side values (arrays over the field's epochs)."""

    rb: FloatArray
    drb: FloatArray
    chipsf: FloatArray
    dra_arcsec: FloatArray
    ddec_arcsec: FloatArray
    aperture_noise: FloatArray  # standard normals for magap
    sky: FloatArray
    elong: FloatArray
    nbad: NDArray[np.int64]


@dataclass
class SimObject:
    """A source at a fixed position (or a moving one) with all its epochs realised."""

    source: Source
    slot: int  # tonight's field visit pair it belongs to
    index: int  # draw order within the field: the tblid of its candidates
    field: Field
    u_deg: float
    v_deg: float
    ra: float
    dec: float
    placement: Placement
    epochs: Epochs
    true_mag: FloatArray
    reference_mag: FloatArray
    obs: Observation
    quality: EpochQuality
    object_id: str | None = None
    truth: dict[str, Any] | None = None

    def detected_at(self, epoch: int) -> bool:
        return bool(self.obs.detected[epoch])

    def position_at(self, epoch: int) -> tuple[float, float]:
        """Sky position at an epoch (moving sources drift along their track)."""
        if not self.source.moving or "rate_deg_per_day" not in self.source.truth:
            return self.ra, self.dec
        dt = float(self.epochs.jd[epoch] - self.epochs.jd[TONIGHT_G])
        truth = self.source.truth
        angle = math.radians(truth["position_angle_deg"])
        step = truth["rate_deg_per_day"] * dt
        dec = self.dec + step * math.cos(angle)
        ra = self.ra + step * math.sin(angle) / max(math.cos(math.radians(dec)), 0.05)
        return ra % 360.0, dec


def realise(
    source: Source, slot: int, index: int, field: Field, epochs: Epochs, rng: np.random.Generator,
    visit: int | None = None,
) -> SimObject:
    """Place ``source`` in ``field`` and observe it at every epoch.

    Moving and artefact sources exist only tonight; ``visit`` restricts an
    artefact to the one exposure it appears in.
    """
    u, v = rng.uniform(-FIELD_HALF_WIDTH_DEG * 0.98, FIELD_HALF_WIDTH_DEG * 0.98, 2)
    ra, dec = sky_position(field, float(u), float(v))
    true_mag = model_mag(source.model, epochs.jd, epochs.fid, source.params)
    reference = np.where(epochs.fid == 1, *source.reference_mag)
    obs = observe(true_mag, reference, epochs.diffmaglim, rng)
    if source.moving:
        _only_tonight(obs, visit)
    quality = _draw_quality(source, len(epochs), rng)
    return SimObject(source, slot, index, field, float(u), float(v), ra, dec,
                     place(field, float(u), float(v)), epochs, true_mag, reference, obs, quality)


def _only_tonight(obs: Observation, visit: int | None) -> None:
    """Nothing was at this position before tonight (and artefacts last one exposure)."""
    keep = np.zeros_like(obs.detected)
    if visit is None:
        keep[TONIGHT_G:] = True
    else:
        keep[visit] = True
    obs.detected[:] = obs.detected & keep
    obs.magpsf[~keep] = np.nan


def _draw_quality(source: Source, n: int, rng: np.random.Generator) -> EpochQuality:
    if source.real:
        rb = rng.beta(9.0, 1.2, n)
        drb = 1.0 - rng.beta(1.0, 60.0, n)
        chipsf, elong = rng.gamma(4.0, 0.3, n), 1.0 + rng.exponential(0.08, n)
        nbad = (rng.random(n) < 0.05).astype(np.int64)
        astrometry = 0.08
    else:
        rb, drb = rng.uniform(0.0, 0.35, n), rng.uniform(0.0, 0.1, n)
        chipsf, elong = rng.gamma(3.0, 4.0, n), 1.0 + rng.exponential(1.2, n)
        nbad = rng.integers(0, 6, n)
        astrometry = 0.5
    return EpochQuality(
        rb=rb, drb=drb, chipsf=chipsf,
        dra_arcsec=rng.normal(0.0, astrometry, n), ddec_arcsec=rng.normal(0.0, astrometry, n),
        aperture_noise=rng.standard_normal(n), sky=rng.normal(0.0, 1.5, n),
        elong=elong, nbad=nbad,
    )


def measured_position(obj: SimObject, epoch: int) -> tuple[float, float]:
    """Position of the detection, with its astrometric scatter."""
    ra, dec = obj.position_at(epoch)
    q = obj.quality
    ddec = float(q.ddec_arcsec[epoch]) * _ARCSEC
    dra = float(q.dra_arcsec[epoch]) * _ARCSEC / max(math.cos(math.radians(dec)), 0.05)
    return (ra + dra) % 360.0, dec + ddec
