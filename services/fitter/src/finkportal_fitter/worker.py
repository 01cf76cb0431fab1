"""What runs inside a pool worker: alert rows in, a JSON-ready outcome out.

Importing this module imports gatspy, scipy and pyLIMA (~4 s): the pool's fork server
preloads it once, so every worker (and every replacement of a killed one) starts with
them already in memory. Expected failures come back as data, ``{"status": "failed",
"error": {"kind", "message"}}``, never as exceptions: a result crosses the process
boundary by pickling, and the service maps nothing it does not expect.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from finkportal_core.logging import configure_logging
from finkportal_fitter.errors import (
    BadLightCurveError,
    FitError,
    InvalidFitOptionError,
    NoConvergenceError,
)
from finkportal_fitter.lightcurve import LightCurve, light_curve_from_rows
from finkportal_fitter.microlensing import fit_pspl, fitted_light_curve
from finkportal_fitter.periods import PeriodOptions, fit_period, usable_bands

log = logging.getLogger(__name__)
_KINDS: tuple[tuple[type[FitError], str], ...] = (
    (BadLightCurveError, "bad_light_curve"),
    (InvalidFitOptionError, "invalid_options"),
    (NoConvergenceError, "no_convergence"),
)


@dataclass(frozen=True)
class FitTask:
    """One fit: the model, its normalised options, the object's alert rows."""

    model: str
    options: dict[str, Any]
    rows: list[dict[str, Any]]


def initialize_worker(log_level: str, log_json: bool) -> None:
    """Pool initializer: the worker logs like the service (its stderr is the service's)."""
    configure_logging(log_level, log_json)


def run_fit(task: FitTask) -> dict[str, Any]:
    """``{"outcome": ..., "started": unix time, "fit_s": seconds}``; never raises FitError."""
    started, clock = time.time(), time.perf_counter()
    try:
        outcome = {"status": "done", "result": finite(_fit(task))}
    except FitError as exc:
        outcome = {"status": "failed", "error": {"kind": failure_kind(exc),
                                                 "message": exc.message}}
    except Exception as exc:  # a bug, not the data's fault: report it, keep the worker
        log.exception("fit raised an unexpected error", extra={"model": task.model})
        outcome = {"status": "failed", "error": {
            "kind": "internal", "message": f"unexpected {type(exc).__name__}: {exc}"}}
    return {"outcome": outcome, "started": started, "fit_s": time.perf_counter() - clock}


def failure_kind(exc: FitError) -> str:
    for error_type, kind in _KINDS:
        if isinstance(exc, error_type):
            return kind
    return "internal"


def _fit(task: FitTask) -> dict[str, Any]:
    lc = light_curve_from_rows(task.rows, use_dc=task.options["use_dc"])
    if task.model == "microlensing":
        result = fit_pspl(lc, method=task.options["method"]).as_dict()
        used = fitted_light_curve(lc)
    else:
        options = PeriodOptions(*(task.options[name] for name in (
            "fast", "nterms_base", "nterms_band", "period_min", "period_max")))
        result = fit_period(lc, **options.__dict__).as_dict()
        used = usable_bands(lc, options)
    # The points the fit used, in its order: the period fit's "phases" are theirs.
    return {**result, "light_curve": light_curve_dict(used)}


def light_curve_dict(lc: LightCurve) -> dict[str, Any]:
    return {"kind": lc.kind, "jd": lc.jd.tolist(), "mag": lc.mag.tolist(),
            "magerr": lc.magerr.tolist(), "fid": lc.fid.tolist()}


def finite(value: Any) -> Any:
    """``value`` in plain Python types, NaN and infinities as None (JSON has neither)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value
