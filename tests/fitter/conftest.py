"""Shared helpers for the fitting-layer tests: simulated light curves with known truth."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from finkportal_fitter.lightcurve import LightCurve, light_curve_from_arrays
from finkportal_tools.sim import simulate_light_curve

Simulated = Callable[..., tuple[LightCurve, dict[str, Any]]]


@pytest.fixture
def simulated() -> Simulated:
    """``simulated(kind, params, seed)`` -> (fitter light curve of the DC magnitudes, truth)."""

    def make(kind: str, params: dict[str, Any], seed: int) -> tuple[LightCurve, dict[str, Any]]:
        sim = simulate_light_curve(kind, params, seed=seed)
        return light_curve_from_arrays(sim.jd, sim.fid, sim.mag, sim.magerr), sim.truth

    return make
