"""The fit figures read the fitter's own result documents.

The results are built with the fitter's dataclasses (``PeriodFit``, ``PsplFit``), their
``as_dict()``, the ``light_curve`` its worker adds and its JSON cleaning (NaN -> None), so
a renamed key in the fitter breaks these tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from finkportal_portal.figures.science import (
    fit_payload,
    folded_figure,
    microlensing_figure,
    periodogram_figure,
)
from finkportal_portal.photometry import jd_to_iso

G, R = "#15284F", "#F5622E"
# Eight points (a PSPL fit counts N - 5 degrees of freedom), g and r alternating.
JD = 2459000.5 + np.arange(8.0)
FID = np.array([1, 2, 1, 2, 1, 2, 1, 2])
MAG = np.array([18.0, 17.5, 18.2, 17.7, 18.1, 17.6, 18.3, 17.4])
MAGERR = np.array([0.05, 0.04, 0.06, 0.05, 0.05, 0.04, 0.07, 0.04])


def light_curve() -> Any:
    from finkportal_fitter.lightcurve import LightCurve

    return LightCurve(JD, MAG, MAGERR, FID, "dc")


def service_result(fit: Any) -> dict[str, Any]:
    """What ``GET /fits/{id}`` returns: the job, its result with the light curve the fit used."""
    from finkportal_fitter.worker import finite, light_curve_dict

    result = {**fit.as_dict(), "light_curve": light_curve_dict(light_curve())}
    return {"id": "job", "status": "done", "model": "period", "result": finite(result)}


@pytest.fixture(scope="module")
def period_result() -> dict[str, Any]:
    from finkportal_fitter.periods import PeriodFit, PeriodOptions

    model_phases = np.linspace(0.0, 1.0, 4)
    fit = PeriodFit(
        best_period=0.75, best_power=0.9, method="LombScargleMultiband",
        options=PeriodOptions(), periods=np.array([0.2, 0.5, 0.75, 1.0]),
        powers=np.array([0.1, np.nan, 0.9, 0.3]), epoch=2459000.4,
        phases=np.array([0.1, 0.3, 0.5, 0.7, 0.9, 0.2, 0.4, 0.6]), model_phases=model_phases,
        model_mags={1: np.array([18.0, 18.2, 18.1, 18.0]), 2: np.array([17.5, 17.7, 17.6, 17.5])},
        chi2=3.0, n_points=8, n_parameters=6, bands=[1, 2])
    return service_result(fit)


@pytest.fixture(scope="module")
def pspl_result() -> dict[str, Any]:
    from finkportal_fitter.microlensing import BandFluxes, PsplFit

    fluxes = {"ZTF_g": BandFluxes(100.0, 5.0, 10.0, 2.0), "ZTF_r": BandFluxes(150.0, 6.0, 5.0, 1.0)}
    fit = PsplFit(
        method="TRF", t0=2459002.5, t0_err=0.1, u0=0.3, u0_err=0.02, tE=12.0, tE_err=0.5,
        fluxes=fluxes, chi2=4.0, n_points=8, bands=[1, 2],
        model_jd=np.array([2459000.0, 2459002.5, 2459005.0]),
        model_mags={1: np.array([18.2, 17.0, 18.2]), 2: np.array([17.8, 16.6, np.nan])})
    return service_result(fit)


def test_whole_job_or_bare_result_both_work(period_result: dict[str, Any]) -> None:
    assert fit_payload(period_result) is period_result["result"]
    assert fit_payload(period_result["result"]) is period_result["result"]
    assert fit_payload(None) == {}


def test_periodogram_on_a_log_axis_with_the_best_period(period_result: dict[str, Any]) -> None:
    figure = periodogram_figure(period_result)
    (curve,) = figure.data
    assert list(curve.x) == [0.2, 0.5, 0.75, 1.0]
    assert np.isnan(curve.y[1])  # the fitter's null comes back as a gap
    assert figure.layout.xaxis.type == "log"
    (mark,) = figure.layout.shapes
    assert (mark.x0, mark.x1, mark.line.dash) == (0.75, 0.75, "dash")
    assert "0.75 d" in figure.layout.title.text
    assert not periodogram_figure({}).data


def test_folded_points_and_model_over_two_cycles(period_result: dict[str, Any]) -> None:
    figure = folded_figure(period_result)
    traces = {trace.name: trace for trace in figure.data}
    assert set(traces) == {"g", "r", "g model", "r model"}
    # g points are light-curve points 0, 2, 4, 6 at phases 0.1, 0.5, 0.9, 0.4, then one
    # cycle later.
    assert list(traces["g"].x) == pytest.approx([0.1, 0.5, 0.9, 0.4, 1.1, 1.5, 1.9, 1.4])
    assert list(traces["g"].y) == [18.0, 18.2, 18.1, 18.3] * 2
    assert list(traces["g"].error_y.array) == [0.05, 0.06, 0.05, 0.07] * 2
    assert (traces["g"].marker.color, traces["r model"].line.color) == (G, R)
    assert list(traces["r model"].x) == pytest.approx(
        [0.0, 1 / 3, 2 / 3, 1.0, 1.0, 4 / 3, 5 / 3, 2.0])
    assert figure.layout.yaxis.autorange == "reversed"
    assert figure.layout.yaxis.title.text == "DC magnitude"
    assert "0.75 d" in figure.layout.xaxis.title.text
    broken = {**period_result["result"], "phases": [0.1]}  # phases of another light curve
    assert not folded_figure(broken).data


def test_microlensing_points_model_and_t0(pspl_result: dict[str, Any]) -> None:
    figure = microlensing_figure(pspl_result)
    traces = {trace.name: trace for trace in figure.data}
    assert set(traces) == {"g", "r", "g model", "r model"}
    assert list(traces["r"].x) == jd_to_iso(JD[1::2])
    assert list(traces["r"].y) == [17.5, 17.7, 17.6, 17.4]
    assert list(traces["g model"].y) == [18.2, 17.0, 18.2]
    assert np.isnan(traces["r model"].y[2])
    assert list(traces["g model"].x) == jd_to_iso([2459000.0, 2459002.5, 2459005.0])
    (mark,) = figure.layout.shapes
    assert mark.x0 == jd_to_iso([2459002.5])[0]
    assert "u0 = 0.3" in figure.layout.title.text
    assert "tE = 12 d" in figure.layout.title.text
    assert figure.layout.yaxis.autorange == "reversed"
    assert not microlensing_figure(None).data
