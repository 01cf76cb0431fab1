"""gatspy multiband period fits on simulated variable stars with known periods."""

from __future__ import annotations

import numpy as np
import pytest
from gatspy.periodic import LombScargle, LombScargleMultiband

from finkportal_fitter import periods
from finkportal_fitter.errors import BadLightCurveError, InvalidFitOptionError
from finkportal_fitter.lightcurve import LightCurve
from finkportal_fitter.periods import MAX_PERIODOGRAM_POINTS, MODEL_PHASES, fit_period
from tests.fitter.conftest import Simulated

# Log-uniform from 0.2 to 10 d; pulsators (fundamental + 3 harmonics, as in the simulator).
PERIODS = [float(p) for p in np.geomspace(0.2, 10.0, 7)]


def period_range(period: float) -> tuple[float, float]:
    """Fink's default range for short periods, a wider one on request for long ones."""
    return (0.1, 1.2) if period < 1.0 else (0.5, 12.0)


@pytest.mark.parametrize("fast", [False, True], ids=["multiband", "fast"])
@pytest.mark.parametrize("period", PERIODS, ids=[f"P{p:.2f}" for p in PERIODS])
def test_period_is_recovered_within_one_percent(
    simulated: Simulated, period: float, fast: bool,
) -> None:
    seed = PERIODS.index(period)
    lc, truth = simulated("periodic", {"period": period, "subtype": "cepheid"}, seed)
    low, high = period_range(period)
    fit = fit_period(lc, fast=fast, period_min=low, period_max=high)
    assert abs(fit.best_period / truth["period"] - 1) < 0.01
    assert fit.method == ("LombScargleMultibandFast" if fast else "LombScargleMultiband")


def test_eclipsing_binary_needs_harmonics_to_tell_its_two_eclipses_apart(
    simulated: Simulated,
) -> None:
    # One sinusoid folds the primary and secondary eclipses together (P/2, as in Fink);
    # a 4-term base model sees that they differ (secondary ~18 % of the primary here).
    lc, truth = simulated("periodic", {"subtype": "eclipsing"}, 0)
    one_term = fit_period(lc, nterms_base=1, period_min=0.1, period_max=12.0)
    four_terms = fit_period(lc, nterms_base=4, period_min=0.1, period_max=12.0)
    assert abs(one_term.best_period / (truth["period"] / 2) - 1) < 0.01
    assert abs(four_terms.best_period / truth["period"] - 1) < 0.01


@pytest.mark.parametrize("fast", [False, True], ids=["multiband", "fast"])
def test_reduced_chi2_is_one_when_the_model_has_the_simulated_shape(
    simulated: Simulated, fast: bool,
) -> None:
    lc, _ = simulated("periodic", {"period": 3.3, "subtype": "cepheid"}, 1)
    exact = fit_period(lc, fast=fast, nterms_base=0 if fast else 4, nterms_band=4,
                       period_min=0.5, period_max=12.0)
    sinusoid = fit_period(lc, fast=fast, period_min=0.5, period_max=12.0)
    assert 0.7 < exact.reduced_chi2 < 1.4
    assert sinusoid.reduced_chi2 > 10  # a sinusoid misses the sawtooth shape
    n_bands = len(lc.bands)
    expected = (n_bands * 9 + 1) if fast else (n_bands + 8 + 8 * n_bands + 1)
    assert exact.n_parameters == expected
    assert exact.dof == len(lc) - expected


def test_result_holds_periodogram_model_and_folded_phases(simulated: Simulated) -> None:
    lc, truth = simulated("periodic", {"period": 0.61, "subtype": "rrlyrae"}, 3)
    fit = fit_period(lc, nterms_base=4, period_min=0.1, period_max=12.0, oversampling=10)
    assert len(fit.periods) == len(fit.powers) <= MAX_PERIODOGRAM_POINTS
    assert np.all(np.diff(fit.periods) > 0)
    assert fit.periods[0] >= 0.1
    assert fit.periods[-1] <= 12.0
    # The downsampling keeps the peaks: the highest one is at the best period.
    assert abs(fit.periods[np.argmax(fit.powers)] / fit.best_period - 1) < 0.01
    assert set(fit.model_mags) == set(lc.bands) == {1, 2}
    assert all(len(m) == MODEL_PHASES for m in fit.model_mags.values())
    assert np.all((fit.phases >= 0) & (fit.phases < 1))
    assert len(fit.phases) == len(lc)
    # Phase 0 is maximum light (exactly in the best-sampled band, nearly in the other one:
    # the per-band terms may shift it), and the folded data sit on the model curve.
    fids, counts = np.unique(lc.fid, return_counts=True)
    assert np.argmin(fit.model_mags[int(fids[np.argmax(counts)])]) in (0, MODEL_PHASES - 1)
    for fid in lc.bands:
        model = fit.model_mags[fid]
        peak_phase = fit.model_phases[np.argmin(model)]
        assert min(peak_phase, 1 - peak_phase) < 0.05
        on_curve = np.interp(fit.phases[lc.fid == fid], fit.model_phases, model)
        residual = (lc.mag[lc.fid == fid] - on_curve) / lc.magerr[lc.fid == fid]
        assert np.sqrt(np.mean(residual**2)) < 3
    assert abs(fit.best_period / truth["period"] - 1) < 0.01
    as_json = fit.as_dict()
    assert as_json["dof"] == fit.dof
    assert len(as_json["periodogram"]["period"]) == len(fit.periods)


@pytest.mark.parametrize("options", [
    {"period_min": 1.2, "period_max": 0.1}, {"period_min": 0.0}, {"period_max": float("inf")},
    {"nterms_base": 7}, {"nterms_band": -1}, {"nterms_base": 0, "nterms_band": 0},
    {"fast": True, "nterms_band": 0}, {"fast": True, "nterms_base": 3}, {"oversampling": 0.5},
])
def test_out_of_range_options_are_refused(simulated: Simulated, options: dict) -> None:
    lc, _ = simulated("periodic", {"period": 0.5}, 0)
    with pytest.raises(InvalidFitOptionError) as raised:
        fit_period(lc, **options)
    assert isinstance(raised.value, ValueError)


def test_too_few_points_or_too_short_a_light_curve_is_a_bad_light_curve(
    simulated: Simulated,
) -> None:
    lc, _ = simulated("periodic", {"period": 0.5}, 0)
    nine = LightCurve(lc.jd[:9], lc.mag[:9], lc.magerr[:9], lc.fid[:9], lc.kind)
    with pytest.raises(BadLightCurveError, match="too few"):
        fit_period(nine)
    first_nights = lc.jd < lc.jd[0] + 25
    short = LightCurve(lc.jd[first_nights], lc.mag[first_nights], lc.magerr[first_nights],
                       lc.fid[first_nights], lc.kind)
    with pytest.raises(BadLightCurveError, match="spans"):
        fit_period(short, period_min=1.0, period_max=30.0)


def test_a_grid_too_fine_for_the_light_curve_is_refused(simulated: Simulated) -> None:
    lc, _ = simulated("periodic", {"period": 0.5}, 0)
    with pytest.raises(InvalidFitOptionError, match="trial frequencies"):
        fit_period(lc, period_min=0.001, period_max=100.0, oversampling=100)


@pytest.mark.parametrize(("nterms_base", "nterms_band", "atol"),
                         [(1, 1, 1e-9), (4, 1, 1e-6), (0, 3, 1e-6), (6, 6, 1e-3)])
def test_batched_scores_are_gatspys_own(
    simulated: Simulated, nterms_base: int, nterms_band: int, atol: float,
) -> None:
    # 6 + 6 terms are 39 parameters for 60 points: at a few frequencies the normal matrix is
    # nearly singular and any two roundings of sin(k w t) at JD-sized t differ by ~1e-4.
    lc, _ = simulated("periodic", {"period": 0.61, "subtype": "rrlyrae"}, 3)
    data = (lc.jd, lc.mag, lc.magerr, lc.fid)
    ours = periods._BatchedMultiband(Nterms_base=nterms_base, Nterms_band=nterms_band).fit(*data)
    theirs = LombScargleMultiband(Nterms_base=nterms_base, Nterms_band=nterms_band).fit(*data)
    trial = np.geomspace(0.1, 12.0, 300)
    np.testing.assert_allclose(ours.score(trial), theirs.score(trial), rtol=0, atol=atol)
    # On a regular grid the phasors are stepped from one frequency to the next.
    np.testing.assert_allclose(ours.score_frequency_grid(0.08, 1e-3, 3000),
                               theirs.score_frequency_grid(0.08, 1e-3, 3000), rtol=0, atol=atol)
    band = lc.band(2)
    single = periods._BatchedLombScargle(Nterms=nterms_band).fit(band.jd, band.mag, band.magerr)
    reference = LombScargle(Nterms=nterms_band).fit(band.jd, band.mag, band.magerr)
    np.testing.assert_allclose(single.score(trial), reference.score(trial), rtol=0, atol=atol)


def test_fast_mode_leaves_out_a_band_too_sparse_for_its_series(simulated: Simulated) -> None:
    lc, truth = simulated("periodic", {"period": 2.2, "subtype": "cepheid"}, 5)
    keep = (lc.fid == 2) | (np.arange(len(lc)) < np.flatnonzero(lc.fid == 1)[4])
    sparse_g = LightCurve(lc.jd[keep], lc.mag[keep], lc.magerr[keep], lc.fid[keep], lc.kind)
    assert np.count_nonzero(sparse_g.fid == 1) == 4
    fit = fit_period(sparse_g, fast=True, nterms_band=2, period_min=0.5, period_max=12.0)
    assert fit.bands == [2]
    assert fit.n_points == np.count_nonzero(lc.fid == 2)
    assert abs(fit.best_period / truth["period"] - 1) < 0.01
    # The multiband model shares the base series: it keeps the 4 g points.
    assert fit_period(sparse_g, period_min=0.5, period_max=12.0).bands == [1, 2]
