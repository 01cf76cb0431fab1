"""Fink added values consistent with each simulated population.

Names and types follow the columns Fink adds to ZTF alerts: ``cdsxmatch``
(SIMBAD type, ``Unknown`` when no match), ``roid`` (3 = known solar-system
object), ``mulens`` (microlensing score), ``snn_*`` (SuperNNova), ``rf_*``
(random forests; 0 when the light curve is too short), ``anomaly_score``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Fink's early SN Ia classifier needs at least this many detections.
RF_MIN_DETECTIONS = 3


def _zero_scores() -> dict[str, Any]:
    return {"cdsxmatch": "Unknown", "roid": 0, "mulens": 0.0, "snn_snia_vs_nonia": 0.0,
            "snn_sn_vs_all": 0.0, "rf_snia_vs_nonia": 0.0, "rf_kn_vs_nonkn": 0.0,
            "anomaly_score": 0.0, "tracklet": ""}


def fink_values(
    kind: str, truth: dict[str, Any], ndethist: int, rng: np.random.Generator,
) -> dict[str, Any]:
    """Added values for one alert of a source of type ``kind``."""
    values = _zero_scores()
    values["nalerthist"] = ndethist
    values["anomaly_score"] = float(rng.uniform(-0.55, -0.25))
    if kind == "sn_ia":
        values.update(
            snn_snia_vs_nonia=float(rng.beta(6.0, 1.5)), snn_sn_vs_all=float(rng.beta(6.0, 1.5)),
            rf_kn_vs_nonkn=float(rng.beta(1.0, 20.0)),
            rf_snia_vs_nonia=float(rng.beta(4.0, 1.5)) if ndethist >= RF_MIN_DETECTIONS else 0.0,
        )
    elif kind == "periodic":
        values.update(cdsxmatch=truth["simbad_type"],
                      snn_snia_vs_nonia=float(rng.beta(1.0, 6.0)),
                      snn_sn_vs_all=float(rng.beta(1.0, 8.0)))
    elif kind == "microlensing":
        values.update(mulens=float(rng.beta(8.0, 2.0)),
                      snn_snia_vs_nonia=float(rng.beta(2.0, 4.0)),
                      snn_sn_vs_all=float(rng.beta(1.5, 4.0)))
    elif kind == "asteroid":
        values.update(roid=3)
    elif kind == "bogus":
        values.update(snn_snia_vs_nonia=float(rng.beta(1.0, 10.0)),
                      snn_sn_vs_all=float(rng.beta(1.0, 12.0)),
                      anomaly_score=float(rng.uniform(-0.75, -0.5)))
    return values
