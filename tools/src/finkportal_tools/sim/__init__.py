"""Synthetic ZTF alert nights with known ground truth.

- :func:`generate_night` / :func:`generate_night_with_truth`: a night of alerts
  (SN Ia-like transients, periodic variables, microlensing events, asteroids,
  bogus detections), lazily and reproducibly from a seed.
- :func:`simulate_light_curve`: one multi-band light curve with known truth, for
  recovery tests of light-curve fitters.

See ``docs/simulator.md`` for the models, parameters and measured speed.
"""

from finkportal_tools.sim.command import add_generate_parser, run_generate_command, write_night
from finkportal_tools.sim.lightcurve import LIGHT_CURVE_KINDS, LightCurve, simulate_light_curve
from finkportal_tools.sim.night import (
    NightConfig,
    NightSimulator,
    generate_night,
    generate_night_with_truth,
)
from finkportal_tools.sim.population import DEFAULT_MIX, KINDS

__all__ = [
    "DEFAULT_MIX",
    "KINDS",
    "LIGHT_CURVE_KINDS",
    "LightCurve",
    "NightConfig",
    "NightSimulator",
    "add_generate_parser",
    "generate_night",
    "generate_night_with_truth",
    "run_generate_command",
    "simulate_light_curve",
    "write_night",
]
